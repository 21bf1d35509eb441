"""The dock side of the worker protocol: a :class:`LoadedModel` that talks to a worker.

:class:`ProtocolModel` holds what every runtime shares (the request, deadlines, errors,
restart on the next call after a crash or timeout); a subclass starts, watches and stops
the worker (a sandboxed process in the ``venv`` container, a container in ``docker``).
"""

from __future__ import annotations

import contextlib
import time
from abc import abstractmethod
from pathlib import Path
from typing import TYPE_CHECKING, Any, Self

import numpy as np

from learnware_dock.errors import ContainerError
from learnware_dock.interfaces.container import MODEL_METHODS, LoadedModel, ModelInfo
from learnware_dock.protocol.worker import wire

if TYPE_CHECKING:
    from learnware_dock.package.manifest import Manifest


def worker_request(root: Path | str, manifest: Manifest) -> dict[str, Any]:
    """What the worker needs to build the model of the package at ``root`` (the path as
    the worker sees it): the JSON argument of ``worker.py``, to which a runtime may add
    the limits the worker sets on itself (see the worker's docstring)."""
    return {
        "root": str(root),
        "module_path": manifest.model.module_path,
        "class_name": manifest.model.class_name,
        "kwargs": manifest.model.kwargs,
    }


def _text(value: Any, limit: int = 2000) -> str:
    """A worker-provided message as bounded text."""
    return (value if isinstance(value, str) else "" if value is None else repr(value))[:limit]


def as_payload(value: Any) -> np.ndarray:
    """An input as it is sent: a list of texts becomes a 1-D object array (sent as UTF-8,
    never as a fixed-width unicode array as wide as its longest text), anything else
    ``np.asarray``."""
    if isinstance(value, list | tuple) and value and all(isinstance(v, str) for v in value):
        out = np.empty(len(value), dtype=object)
        out[:] = list(value)
        return out
    return np.asarray(value)


class ProtocolModel(LoadedModel):
    """A model served by a worker; subclasses start and stop the worker.

    A subclass implements :meth:`_spawn` (start a worker, return the :class:`wire.Stream`
    to it), :meth:`_alive`, :meth:`_kill` (stop it now, with everything it started; called
    also when none runs), :meth:`_exit_status` and :meth:`_stderr_tail` (for error
    messages), and optionally :meth:`_limit_exceeded`. Call :meth:`started` to return a
    running model from ``Container.load``. ``label`` names the model in errors; the
    timeouts are seconds per call and for loading.
    """

    #: the largest reply accepted from a worker (bytes of arrays); larger ones are refused
    #: before anything is allocated
    max_reply_bytes: int = 1 << 30

    def __init__(self, label: str, timeout: float, load_timeout: float) -> None:
        self.label, self.timeout, self.load_timeout = label, timeout, load_timeout
        #: the worker's last ``ready`` report, as sent (see :attr:`info`)
        self.ready: dict[str, Any] = {}
        self._info = ModelInfo(methods=())
        self.stream: wire.Stream | None = None
        self.restarts = -1

    # -- what a runtime provides -----------------------------------------------------------
    @abstractmethod
    def _spawn(self) -> wire.Stream:
        """Start a worker; return the stream to it."""

    @abstractmethod
    def _alive(self) -> bool: ...

    @abstractmethod
    def _kill(self) -> None:
        """Stop the worker now (and everything it started)."""

    @abstractmethod
    def _exit_status(self) -> str:
        """How the worker ended, e.g. 'killed by SIGSEGV' (after it ended)."""

    @abstractmethod
    def _stderr_tail(self) -> str: ...

    def _limit_exceeded(self) -> str | None:
        """Which of the runtime's limits the worker's processes hit (then it is stopped)."""
        return None

    # -- the protocol ----------------------------------------------------------------------
    def started(self) -> Self:
        """:meth:`start`, closing everything it began if it fails; returns ``self``."""
        try:
            self.start()
        except BaseException:
            self.close()
            raise
        return self

    def start(self) -> None:
        """(Re)start the worker and wait until the model is built."""
        self._kill()
        self.restarts += 1
        self.stream = self._spawn()
        header, _ = self._receive("load", self.load_timeout)
        if not header.get("ok"):
            self._kill()
            raise ContainerError(
                f"cannot load model {self.label}: {_text(header.get('error'))}\n"
                f"{_text(header.get('traceback'))[-1500:]}{self._stderr_part()}"
            )
        self._info = self._checked_info(header)
        self.ready = header

    @property
    def info(self) -> ModelInfo:
        """What the worker reported in its last ``ready`` report (no methods before the
        first start)."""
        return self._info

    def _checked_info(self, header: dict[str, Any]) -> ModelInfo:
        """The worker's ``ready`` report, refused unless it has the expected types."""
        methods = header.get("methods")
        shapes = [header.get("input_shape"), header.get("output_shape")]
        if not (
            isinstance(methods, list)
            and all(isinstance(m, str) for m in methods)
            and all(
                s is None
                or (isinstance(s, list) and len(s) <= 8 and all(type(v) is int for v in s))
                for s in shapes
            )
        ):
            self._kill()
            raise ContainerError(
                f"{self.label}: the worker sent a malformed ready report; it was stopped"
            )
        return ModelInfo(
            None if shapes[0] is None else tuple(shapes[0]),
            None if shapes[1] is None else tuple(shapes[1]),
            tuple(m for m in MODEL_METHODS if m in methods),
        )

    def _stderr_part(self) -> str:
        tail = self._stderr_tail().strip()
        return f"\nmodel stderr (last lines):\n{tail}" if tail else ""

    def _receive(self, op: str, timeout: float) -> tuple[dict[str, Any], list[np.ndarray]]:
        assert self.stream is not None
        try:
            return wire.receive(self.stream, time.monotonic() + timeout, self.max_reply_bytes)
        except TimeoutError:
            self._kill()
            raise ContainerError(
                f"{self.label}: {op} did not finish within {timeout:g} s; the worker was "
                f"stopped (it restarts on the next call){self._stderr_part()}"
            ) from None
        except wire.StreamClosed as exc:
            self._kill()
            raise ContainerError(
                f"{self.label}: the worker died during {op} ({self._exit_status()})"
                f"{self._stderr_part()}"
            ) from exc
        except wire.WireError as exc:
            self._kill()
            raise ContainerError(
                f"{self.label}: the worker sent a malformed reply to {op} ({exc}); it was "
                "stopped (it restarts on the next call)"
            ) from None
        except OSError as exc:
            self._kill()
            raise ContainerError(
                f"{self.label}: the worker died during {op} ({self._exit_status()})"
                f"{self._stderr_part()}"
            ) from exc

    def call(self, op: str, *arrays: Any) -> list[np.ndarray]:
        """One request; restarts a dead worker first."""
        if self.stream is None or not self._alive():
            self.start()
        assert self.stream is not None
        if op not in ("ping", *self._info.methods):
            raise ContainerError(f"model {self.label} has no {op}()")
        try:
            wire.send(self.stream, {"op": op}, tuple(as_payload(a) for a in arrays))
        except wire.WireError as exc:
            raise ContainerError(f"{self.label}: cannot send {op} input: {exc}") from exc
        except OSError as exc:
            self._kill()
            raise ContainerError(
                f"{self.label}: the worker died before {op} ({self._exit_status()})"
                f"{self._stderr_part()}"
            ) from exc
        header, out = self._receive(op, self.timeout)
        exceeded = self._limit_exceeded()
        if exceeded:
            self._kill()
            raise ContainerError(f"{self.label}: {op} stopped: {exceeded}{self._stderr_part()}")
        if header.get("exiting"):  # the model ended its worker (sys.exit): restart next time
            self._kill()
        if not header.get("ok"):
            raise ContainerError(
                f"model {self.label}.{op}() failed: {_text(header.get('error'))}\n"
                f"{_text(header.get('traceback'))[-1500:]}{self._stderr_part()}"
            )
        if op not in ("fit", "finetune", "ping") and len(out) != 1:
            self._kill()
            raise ContainerError(
                f"{self.label}: the worker answered {op} with {len(out)} arrays, not one"
            )
        return out

    def predict(self, X: np.ndarray) -> np.ndarray:
        return self.call("predict", X)[0]

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        return self.call("predict_proba", X)[0]

    def fit(self, X: np.ndarray, y: np.ndarray) -> None:
        self.call("fit", X, y)

    def finetune(self, X: np.ndarray, y: np.ndarray) -> None:
        self.call("finetune", X, y)

    def has(self, op: str) -> bool:
        """Whether the model offers ``op`` (predict, predict_proba, fit, finetune)."""
        if self.stream is None or not self._alive():
            self.start()
        return op in self._info.methods

    def close(self) -> None:
        self._kill()
        self.stream = None

    def __del__(self) -> None:
        with contextlib.suppress(Exception):
            self.close()

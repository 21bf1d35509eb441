"""The dock side of the worker protocol: a :class:`LoadedModel` that talks to a worker.

:class:`ProtocolModel` holds what every runtime shares (requests, deadlines, errors,
restart on the next call after a crash or timeout); :class:`ProcessModel` runs the worker
as a local process (the ``venv`` container), and the docker contrib runs it in a container.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
from abc import abstractmethod
from pathlib import Path
from typing import Any, Self

import numpy as np

from learnware_dock.errors import ContainerError
from learnware_dock.interfaces import LoadedModel
from learnware_dock.package.manifest import Manifest
from learnware_dock_isolation import wire

HERE = Path(__file__).resolve().parent
WORKER = HERE / "worker.py"


def worker_request(root: Path | str, manifest: Manifest) -> dict[str, Any]:
    """What the worker needs to build the model (the argument of ``worker.py``)."""
    return {
        "root": str(root),
        "module_path": manifest.model.module_path,
        "class_name": manifest.model.class_name,
        "kwargs": manifest.model.kwargs,
    }


class ProtocolModel(LoadedModel):
    """A model served by a worker; subclasses start and stop the worker."""

    def __init__(self, label: str, timeout: float, load_timeout: float) -> None:
        self.label, self.timeout, self.load_timeout = label, timeout, load_timeout
        self.info: dict[str, Any] = {}
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
                f"cannot load model {self.label}: {header.get('error')}\n"
                f"{header.get('traceback', '')[-1500:]}{self._stderr_part()}"
            )
        self.info = header

    def _stderr_part(self) -> str:
        tail = self._stderr_tail().strip()
        return f"\nmodel stderr (last lines):\n{tail}" if tail else ""

    def _receive(self, op: str, timeout: float) -> tuple[dict[str, Any], list[np.ndarray]]:
        assert self.stream is not None
        try:
            return wire.receive(self.stream, time.monotonic() + timeout)
        except TimeoutError:
            self._kill()
            raise ContainerError(
                f"{self.label}: {op} did not finish within {timeout:g} s; the worker was "
                f"stopped (it restarts on the next call){self._stderr_part()}"
            ) from None
        except (wire.WireError, OSError) as exc:
            self._kill()
            raise ContainerError(
                f"{self.label}: the worker died during {op} ({self._exit_status()})"
                f"{self._stderr_part()}"
            ) from exc

    def call(self, op: str, *arrays: np.ndarray) -> list[np.ndarray]:
        """One request; restarts a dead worker first."""
        if self.stream is None or not self._alive():
            self.start()
        assert self.stream is not None
        if op not in ("ping", *self.info.get("methods", ())):
            raise ContainerError(f"model {self.label} has no {op}()")
        try:
            wire.send(self.stream, {"op": op}, tuple(np.asarray(a) for a in arrays))
        except wire.WireError as exc:
            raise ContainerError(f"{self.label}: cannot send {op} input: {exc}") from exc
        except OSError as exc:
            self._kill()
            raise ContainerError(
                f"{self.label}: the worker died before {op} ({self._exit_status()})"
                f"{self._stderr_part()}"
            ) from exc
        header, out = self._receive(op, self.timeout)
        if header.get("exiting"):  # the model ended its worker (sys.exit): restart next time
            self._kill()
        if not header.get("ok"):
            raise ContainerError(
                f"model {self.label}.{op}() failed: {header.get('error')}\n"
                f"{header.get('traceback', '')[-1500:]}{self._stderr_part()}"
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
        return op in self.info.get("methods", ())

    def close(self) -> None:
        self._kill()
        self.stream = None

    def __del__(self) -> None:
        with contextlib.suppress(Exception):
            self.close()


class ProcessModel(ProtocolModel):
    """The worker as a local process of ``python`` (the ``venv`` container)."""

    def __init__(
        self,
        python: Path,
        root: Path,
        manifest: Manifest,
        *,
        timeout: float = 60.0,
        load_timeout: float = 120.0,
        memory_limit: int | None = 4 << 30,
        network: bool = False,
    ) -> None:
        super().__init__(f"{manifest.model.class_name} ({root.name})", timeout, load_timeout)
        self.python, self.root, self.manifest = python, root, manifest
        self.memory_limit, self.network = memory_limit, network
        self.proc: subprocess.Popen[bytes] | None = None
        self.private = Path(tempfile.mkdtemp(prefix="dock-worker-"))
        self.sandbox = self.private / "sandbox"  # the worker's cwd, HOME and TMPDIR
        self.stderr_path = self.private / "stderr.log"

    def _spawn(self) -> wire.Stream:
        self.sandbox.mkdir(parents=True, exist_ok=True)
        env = {
            "PATH": "/usr/local/bin:/usr/bin:/bin",
            "HOME": str(self.sandbox),
            "TMPDIR": str(self.sandbox),
            "LANG": "C.UTF-8",
            "no_proxy": "*",
        }
        limits = {"memory_limit": self.memory_limit, "network": self.network}
        request = json.dumps({**worker_request(self.root, self.manifest), **limits})
        with open(self.stderr_path, "wb") as stderr:
            self.proc = subprocess.Popen(
                [str(self.python), "-I", "-B", str(WORKER), request],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=stderr,
                cwd=self.sandbox,
                env=env,
                close_fds=True,
                # its own session and process group; no preexec_fn: Python code between
                # fork and exec deadlocks a threaded dock (OpenBLAS's fork handler)
                start_new_session=True,
            )
        assert self.proc.stdin is not None and self.proc.stdout is not None
        return wire.FileStream(self.proc.stdout.fileno(), self.proc.stdin.fileno())

    def _alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def _kill(self) -> None:
        proc, self.proc = self.proc, None
        if proc is None:
            return
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        for pipe in (proc.stdin, proc.stdout):
            if pipe is not None:
                pipe.close()
        self._last_status = proc.returncode

    def _exit_status(self) -> str:
        code = getattr(self, "_last_status", None)
        if code is None and self.proc is not None:
            code = self.proc.poll()
        if code is None:
            return "still running"
        if code < 0:
            return f"killed by {signal.Signals(-code).name}"
        return f"exit code {code}"

    def _stderr_tail(self) -> str:
        try:
            data = self.stderr_path.read_bytes()[-3000:]
        except OSError:
            return ""
        return data.decode(errors="replace")

    def close(self) -> None:
        super().close()
        shutil.rmtree(self.private, ignore_errors=True)

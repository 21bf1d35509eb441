"""Containers: runtimes that execute a learnware's model code.

A container declares its options as an attrs class derived from :class:`ContainerOptions`
(see :mod:`learnware_dock.options`); the kernel builds it from the keywords of
``Market.load(lw, container=None, **options)`` (or ``dock run``'s ``--timeout``) and hands
the built object to :meth:`Container.load`. Without a ``container`` name the kernel picks
the highest-``priority`` container that is not ``trusted_only``.

Containers that run the model out of the dock process speak the worker protocol of
:mod:`learnware_dock.protocol` (see ``docs/containers.md``).
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, ClassVar, Self

import attrs

from learnware_dock.options import option

if TYPE_CHECKING:
    import numpy as np

    from learnware_dock.package.manifest import Manifest

#: what a model may offer besides ``predict`` (the worker protocol's ops, too)
MODEL_METHODS = ("predict", "predict_proba", "fit", "finetune")
#: the smallest memory limit accepted (a Python process with numpy needs about this much)
MIN_MEMORY = 64 << 20


def _positive_seconds(_: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    number = isinstance(value, int | float) and not isinstance(value, bool)
    if not (number and math.isfinite(value) and value > 0):
        raise ValueError(f"{attribute.name} must be a positive number of seconds, not {value!r}")


def _memory(_: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int) or value < MIN_MEMORY:
        raise ValueError(
            f"{attribute.name} must be None (no limit) or a number of bytes of at least "
            f"{MIN_MEMORY} ({MIN_MEMORY >> 20} MiB), not {value!r}"
        )


def _flag(_: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if not isinstance(value, bool):
        raise ValueError(f"{attribute.name} must be True or False, not {value!r}")


@attrs.frozen
class ContainerOptions:
    """The options every container takes. A container with more derives a frozen attrs
    subclass, declaring each field with :func:`learnware_dock.options.option`, and names
    it as its :attr:`Container.options_class`."""

    timeout: float = option(60.0, help="Seconds allowed per call.", validator=_positive_seconds)
    load_timeout: float = option(
        120.0,
        help="Seconds allowed to start the model (import and constructor).",
        validator=_positive_seconds,
    )
    memory_limit: int | None = option(
        4 << 30,
        help="Bytes of memory the model may use (None: no limit).",
        validator=_memory,
    )
    network: bool = option(False, help="Allow network access.", validator=_flag)

    @classmethod
    def from_options(cls, options: ContainerOptions) -> Self:
        """``options`` as an instance of this class: itself when it is one, else its
        :class:`ContainerOptions` fields with this class's defaults for the rest."""
        if isinstance(options, cls):
            return options
        shared = {f.name: getattr(options, f.name) for f in attrs.fields(ContainerOptions)}
        return cls(**shared)


def _shape(value: Any) -> tuple[int, ...] | None:
    try:
        return tuple(int(v) for v in value)
    except (TypeError, ValueError):
        return None


@attrs.frozen
class ModelInfo:
    """What a loaded model declares: its shapes (None: unknown) and which of
    ``predict``, ``predict_proba``, ``fit`` and ``finetune`` it has."""

    input_shape: tuple[int, ...] | None = None
    output_shape: tuple[int, ...] | None = None
    methods: tuple[str, ...] = ("predict",)

    @classmethod
    def of(cls, model: object) -> ModelInfo:
        """The info of a model object: its ``input_shape``/``output_shape`` attributes
        (as the `learnware` package's ``BaseModel`` has them) and its callable methods."""
        return cls(
            _shape(getattr(model, "input_shape", None)),
            _shape(getattr(model, "output_shape", None)),
            tuple(m for m in MODEL_METHODS if callable(getattr(model, m, None))),
        )


class LoadedModel(ABC):
    """A running model. ``predict`` takes and returns numpy arrays; close when done."""

    @property
    def info(self) -> ModelInfo:
        """What the model declares (default: unknown shapes, ``predict`` only)."""
        return ModelInfo()

    @abstractmethod
    def predict(self, X: np.ndarray) -> np.ndarray:
        """Model output for ``X``."""

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        """Class probabilities, when the model has them."""
        from learnware_dock.errors import ContainerError

        raise ContainerError(f"{type(self).__name__} has no predict_proba")

    def fit(self, X: np.ndarray, y: np.ndarray) -> None:
        from learnware_dock.errors import ContainerError

        raise ContainerError(f"{type(self).__name__} does not support fit")

    def finetune(self, X: np.ndarray, y: np.ndarray) -> None:
        from learnware_dock.errors import ContainerError

        raise ContainerError(f"{type(self).__name__} does not support finetune")

    def close(self) -> None:  # noqa: B027  (optional)
        """Release the runtime (processes, containers)."""

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


class Container(ABC):
    """Base class of containers. ``trusted_only`` containers run code without isolating
    it and must only be used for packages the user trusts: they are never chosen by
    default. Otherwise the default is the container of highest ``priority`` (``venv``: 20,
    ``docker``: 10). ``options_class`` declares the options :meth:`load` receives.

    A complete minimal plugin (the worker as a plain child process; counts loads)::

        import json
        import subprocess
        import sys

        from learnware_dock import hookimpl
        from learnware_dock.interfaces import Container
        from learnware_dock.protocol import WORKER_DIR, ProtocolModel, wire, worker_request

        class ChildModel(ProtocolModel):
            def __init__(self, request, options):
                super().__init__(request["class_name"], options.timeout, options.load_timeout)
                self.request, self.proc = request, None

            def _spawn(self):
                argv = [sys.executable, "-I", str(WORKER_DIR / "worker.py")]
                self.proc = subprocess.Popen(
                    [*argv, json.dumps(self.request)],
                    stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE,
                )
                return wire.FileStream(self.proc.stdout.fileno(), self.proc.stdin.fileno())

            def _alive(self):
                return self.proc is not None and self.proc.poll() is None

            def _kill(self):
                if self.proc is not None:
                    self.proc.kill()
                    self.proc.wait()
                    self.proc.stdin.close()
                    self.proc.stdout.close()

            def _exit_status(self):
                return f"exit code {self.proc.returncode}" if self.proc else "not started"

            def _stderr_tail(self):
                return ""

        class CountingContainer(Container):
            name = "counting"
            trusted_only = True  # no sandbox: the package's code runs as the dock's user
            loads = 0

            def load(self, root, manifest, options):
                type(self).loads += 1
                return ChildModel(worker_request(root, manifest), options).started()

        @hookimpl
        def dock_register_containers():
            return [CountingContainer]
    """

    name: ClassVar[str]
    trusted_only: ClassVar[bool] = False
    priority: ClassVar[int] = 0
    options_class: ClassVar[type[ContainerOptions]] = ContainerOptions

    @abstractmethod
    def load(self, root: Path, manifest: Manifest, options: ContainerOptions) -> LoadedModel:
        """Start the model of the package extracted at ``root``; ``options`` is an instance
        of :attr:`options_class`."""

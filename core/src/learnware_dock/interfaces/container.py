"""Containers: runtimes that execute a learnware's model code."""

from __future__ import annotations

from abc import ABC, abstractmethod
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, ClassVar, Self

if TYPE_CHECKING:
    import numpy as np

    from learnware_dock.package.manifest import Manifest


class LoadedModel(ABC):
    """A running model. ``predict`` takes and returns numpy arrays; close when done."""

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
    """Base class of containers. ``trusted_only`` containers run code in the dock process
    and must only be used for packages the user trusts.

    A complete minimal plugin (wraps another container and counts loads)::

        from learnware_dock import hookimpl
        from learnware_dock.defaults.runtime import InProcessContainer
        from learnware_dock.interfaces import Container

        class CountingContainer(Container):
            name = "counting"
            trusted_only = True
            loads = 0

            def load(self, root, manifest, **options):
                type(self).loads += 1
                return InProcessContainer().load(root, manifest, **options)

        @hookimpl
        def dock_register_containers():
            return [CountingContainer]
    """

    name: ClassVar[str]
    trusted_only: ClassVar[bool] = False

    @abstractmethod
    def load(self, root: Path, manifest: Manifest, **options: Any) -> LoadedModel:
        """Start the model of the package extracted at ``root``."""

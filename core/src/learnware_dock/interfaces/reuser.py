"""Reusers: turn found learnwares into a model for the user's task."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, ClassVar, Self

if TYPE_CHECKING:
    import numpy as np


class Reuser(ABC):
    """Base class of reusers, with scikit-learn conventions (``fit``, ``predict``).

    ``models`` are runnable learnwares (anything with ``predict``); ``weights`` are the
    mixture weights of a search result, when the reuser uses them.

    A complete minimal plugin (first model wins)::

        from learnware_dock import hookimpl
        from learnware_dock.interfaces import Reuser

        class FirstReuser(Reuser):
            name = "first"

            def predict(self, X):
                return self.models[0].predict(X)

        @hookimpl
        def dock_register_reusers():
            return [FirstReuser]
    """

    name: ClassVar[str]

    def __init__(self, models: Sequence[Any], weights: Sequence[float] | None = None) -> None:
        from learnware_dock.errors import DockError

        if not models:
            raise DockError(f"reuser {self.name!r} needs at least one learnware")
        self.models = list(models)
        self.weights = None if weights is None else list(weights)

    def fit(self, X: np.ndarray, y: np.ndarray | None = None) -> Self:
        """Data-free reusers ignore labelled data."""
        return self

    @abstractmethod
    def predict(self, X: np.ndarray) -> np.ndarray:
        """Predictions for ``X``."""

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        return {"models": self.models, "weights": self.weights}

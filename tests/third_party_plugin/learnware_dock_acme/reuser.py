"""The ``acme-median`` reuser: the median of the predictions of the best few learnwares."""

from __future__ import annotations

from typing import Self

import attrs
import numpy as np

from learnware_dock import DockError
from learnware_dock.interfaces import ReuseContext, Reuser
from learnware_dock.options import option


@attrs.frozen
class MedianOptions:
    members: int = option(
        0,
        help="How many learnwares vote, highest mixture weight first (0: all of them).",
        validator=attrs.validators.ge(0),
    )


class MedianReuser(Reuser):
    """Predicts the per-row median of its models' predictions (regression)."""

    name = "acme-median"
    options_class = MedianOptions

    @classmethod
    def from_search(cls, context: ReuseContext, options: MedianOptions) -> Self:
        if context.task != "regression":
            raise DockError(f"{cls.name} reuses regression learnwares, not {context.task}")
        count = min(options.members or len(context.models), len(context.models))
        order = sorted(range(len(context.models)), key=lambda i: -context.weights[i])[:count]
        return cls([context.models[i] for i in order], [context.weights[i] for i in order])

    def predict(self, X: np.ndarray) -> np.ndarray:
        votes = [np.asarray(model.predict(X), dtype=np.float64) for model in self.models]
        return np.median(np.stack(votes), axis=0)

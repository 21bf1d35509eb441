"""``averaging`` (data-free): mean of values per output column (regression), or of class
votes (majority vote on labels, mean of probabilities), optionally weighted by the
mixture weights of a search."""

from __future__ import annotations

from typing import Any, Self

import attrs
import numpy as np

from learnware_dock.interfaces import ReuseContext
from learnware_dock.options import option
from learnware_dock_reuse.base import CombiningReuser
from learnware_dock_reuse.outputs import normalised_weights


@attrs.frozen
class AveragingOptions:
    weighted: bool = option(True, help="Weight by the mixture weights (false: plain mean).")


class AveragingReuser(CombiningReuser):
    """Pass ``weights`` (e.g. ``result.mixtures[0].weights``) for a weighted average."""

    name = "averaging"
    options_class = AveragingOptions

    @classmethod
    def from_search(cls, context: ReuseContext, options: AveragingOptions) -> Self:
        weights = list(context.weights) if options.weighted else None
        return cls(list(context.models), weights, task=context.task, classes=context.classes)

    def _combined(self, X: Any) -> np.ndarray:
        outs = self.member_outputs(X)
        return self.combine(outs, normalised_weights(self.weights, len(self.models)))

    def predict(self, X: Any) -> np.ndarray:
        return self.finish(self._combined(X))

    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities: the averaged votes, normalised per row."""
        if self.task != "classification":
            from learnware_dock_reuse.outputs import ReuseError

            raise ReuseError("predict_proba is for classification")
        combined = np.clip(self._combined(X), 0.0, None)
        totals = combined.sum(axis=1, keepdims=True)
        return np.asarray(
            np.divide(combined, totals, where=totals > 0, out=np.zeros_like(combined))
        )

"""``averaging`` (data-free): mean of values per output column (regression), or of class
votes (majority vote on labels, mean of probabilities), optionally weighted by the
mixture weights of a search and optionally after a softmax of each learnware's class
scores (the `learnware` package's ``vote_by_prob``).

Built from a search (``dock reuse --method averaging``, ``Market.reuser``) the default is
the rule that measured best on both protocols: the unweighted mean of softmaxed
probabilities. On the search's default mixtures, digits
(``benchmarks/protocols/table_digits.py``, 20 users): 0.874 mean accuracy, as the
`learnware` package's ``vote_by_prob`` on the same members (0.874), against 0.858 for the
plain mean and 0.769 weighted by the mixture without softmax; MNIST (``image_mnist.py``,
100 users): 0.816 against 0.802 and 0.799 (weighted). Weighting by the mixture
(``weighted=true``) does not help: the MMD-optimal weights describe the user's
distribution, not how right each learnware is on it.
"""

from __future__ import annotations

from typing import Any, Self

import attrs
import numpy as np

from learnware_dock.interfaces import ReuseContext
from learnware_dock.options import option
from learnware_dock_reuse.base import CombiningReuser


@attrs.frozen
class AveragingOptions:
    weighted: bool = option(False, help="Weight by the mixture weights (false: plain mean).")
    softmax: bool = option(True, help="Softmax each learnware's class scores before the mean.")


class AveragingReuser(CombiningReuser):
    """Pass ``weights`` (e.g. ``result.mixtures[0].weights``) for a weighted average, and
    ``softmax=True`` to average softmaxed class scores (see the module docstring)."""

    name = "averaging"
    options_class = AveragingOptions

    @classmethod
    def from_search(cls, context: ReuseContext, options: AveragingOptions) -> Self:
        weights = list(context.weights) if options.weighted else None
        return cls(
            list(context.models),
            weights,
            task=context.task,
            classes=context.classes,
            softmax=options.softmax,
        )

    def __init__(self, *args: Any, softmax: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.softmax = softmax

    def _combined(self, X: Any) -> np.ndarray:
        outs = self.member_outputs(X)
        if self.softmax and self.task == "classification":
            outs = [softmax_rows(out) for out in outs]
        return self.weighted_mean(outs)

    def predict(self, X: Any) -> np.ndarray:
        return self.finish(self._combined(X))

    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities: the averaged votes, normalised per row."""
        return self.vote_shares(self._combined, X)


def softmax_rows(scores: np.ndarray) -> np.ndarray:
    """Each row's softmax."""
    shifted = np.exp(scores - scores.max(axis=1, keepdims=True))
    return np.asarray(shifted / shifted.sum(axis=1, keepdims=True))

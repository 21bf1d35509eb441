"""``job-selector`` (data-free): route each user row to the learnware whose training
distribution it most likely comes from.

1. Mixture weights: given (a search's mixture), or estimated from the user's data: the
   simplex QP that best matches the user's RKME with a weighted sum of the learnwares'.
2. Pseudo-samples: kernel herding from each learnware's RKME, in proportion to the weights.
3. A selector (scikit-learn's ``HistGradientBoostingClassifier``, ``selector_iterations``
   boosting rounds) learns which learnware a sample comes from; each user row goes to the
   learnware it picks.

Herding picks points from a pool around the RKME's own points (see
``RKMETableSpecification.herding_samples``), so its cost is linear in the samples drawn,
not cubic as in the `learnware` package's herding. Deterministic for a ``seed``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Self

import attrs
import numpy as np

from learnware_dock.interfaces import ReuseContext
from learnware_dock.options import option
from learnware_dock_reuse.base import CombiningReuser
from learnware_dock_reuse.outputs import (
    OutputKind,
    ReuseError,
    Task,
    check_rows,
    normalised_weights,
)
from learnware_dock_rkme import RKMETableSpecification, inner_products, simplex_weights


@attrs.frozen
class JobSelectorOptions:
    samples: int = option(
        1000, help="Pseudo-samples herded from the RKMEs.", validator=attrs.validators.ge(1)
    )
    selector_iterations: int = option(
        50, help="Boosting rounds of the selector.", validator=attrs.validators.ge(1)
    )
    seed: int = option(0, help="Random seed.", validator=attrs.validators.ge(0))


class JobSelectorReuser(CombiningReuser):
    """See the module docstring. ``specs`` are the learnwares' RKMEs, in model order.

    Built from a search, it takes the mixture weights and each learnware's stored spec of
    the type the user searched with (an RKME)."""

    name = "job-selector"
    options_class = JobSelectorOptions

    def __init__(
        self,
        models: Sequence[Any],
        weights: Sequence[float] | None = None,
        *,
        specs: Sequence[RKMETableSpecification],
        task: Task = "classification",
        outputs: OutputKind | Sequence[OutputKind] = "auto",
        classes: int | None = None,
        samples: int = 1000,
        selector_iterations: int = 50,
        seed: int = 0,
    ) -> None:
        super().__init__(models, weights, task=task, outputs=outputs, classes=classes)
        if len(specs) != len(self.models):
            raise ReuseError(f"{len(specs)} RKMEs given for {len(self.models)} learnwares")
        dims = {s.dimension for s in specs}
        gammas = {s.gamma for s in specs}
        if len(dims) != 1 or len(gammas) != 1:
            raise ReuseError(
                f"the learnwares' RKMEs must share one dimension and gamma: {dims}, {gammas}"
            )
        if samples < len(self.models):
            raise ReuseError(f"samples must be at least the number of learnwares ({samples})")
        self.specs = list(specs)
        self.samples, self.seed = samples, seed
        self.selector_iterations = selector_iterations
        self.dimension, self.gamma = dims.pop(), gammas.pop()
        self.selector: Any = None
        self.mixture: np.ndarray | None = None

    @classmethod
    def search_arguments(cls, context: ReuseContext, options: Any) -> dict[str, Any]:
        """The mixture's RKMEs (``specs``)."""
        specs = context.stat_specs()
        wrong = sorted({type(s).__name__ for s in specs} - {RKMETableSpecification.__name__})
        if any(not isinstance(s, RKMETableSpecification) for s in specs):
            raise ReuseError(f"job-selector needs RKMETableSpecification specs, not {wrong}")
        return {"specs": specs}

    def estimate_weights(self, X: np.ndarray) -> np.ndarray:
        """Simplex weights of the learnwares' RKMEs that best match the user's data."""
        user = RKMETableSpecification.generate(
            X, K=min(100, len(X)), gamma=self.gamma, seed=self.seed
        )
        gram, h = inner_products(
            [(s.z, s.beta) for s in self.specs], (user.z, user.beta), self.gamma
        )
        return simplex_weights(gram, h) if len(self.specs) > 1 else np.ones(1)

    def fit(self, X: Any, y: Any = None) -> Self:
        """Estimate the weights (if none were given) and train the selector on ``X``'s
        distribution; labels are not used."""
        from sklearn.ensemble import HistGradientBoostingClassifier

        X = check_rows(X, self.dimension)
        weights = (
            normalised_weights(self.weights, len(self.models))
            if self.weights is not None
            else self.estimate_weights(X)
        )
        self.mixture = weights
        counts = np.floor(weights * self.samples).astype(int)
        counts[(weights > 0) & (counts < 5)] = 5  # every member the mixture uses is seen
        used = np.flatnonzero(counts > 0)
        if len(used) == 1:
            self.selector = int(used[0])
            return self
        parts = [
            self.specs[i].herding_samples(int(counts[i]), seed=self.seed + int(i)) for i in used
        ]
        labels = np.concatenate([np.full(len(p), i) for p, i in zip(parts, used, strict=True)])
        self.selector = HistGradientBoostingClassifier(
            max_iter=self.selector_iterations, random_state=self.seed
        ).fit(np.vstack(parts), labels)
        return self

    def route(self, X: Any) -> np.ndarray:
        """The learnware chosen for each row."""
        X = check_rows(X, self.dimension)
        if self.selector is None:
            self.fit(X)
        if isinstance(self.selector, int):
            return np.full(len(X), self.selector)
        return np.asarray(self.selector.predict(X)).astype(int)

    def predict(self, X: Any) -> np.ndarray:
        X = check_rows(X, self.dimension)
        routes = self.route(X)
        members = sorted(set(routes.tolist()))
        outs = self.member_outputs(X[:1], members)  # learn the output width
        result = np.zeros((len(X), outs[0].shape[1]))
        for member in members:
            rows = np.flatnonzero(routes == member)
            result[rows] = self.member_outputs(X[rows], [member])[0]
        return self.finish(result)

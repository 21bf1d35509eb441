"""``job-selector`` (data-free): route each user row to the learnware whose training
distribution it most likely comes from.

1. Mixture weights: given (a search's mixture), or estimated from the user's data: the
   simplex QP that best matches the user's RKME with a weighted sum of the learnwares'.
2. Training rows for the router: by default each learnware's RKME reduced set itself
   (``pseudo_samples="reduced-set"``), each point weighted by its learnware's mixture weight
   times its own beta: the reduced set is already a weighted sample that summarises the
   training data. ``"herding"`` draws ``samples`` pseudo-samples by kernel herding instead,
   in proportion to the weights (:meth:`RKMETableSpecification.herding_samples`).
3. A router learns which learnware a row comes from; each user row goes to the learnware
   it picks. By default (``router="kernel-logistic"``) an L2-regularised multinomial
   logistic regression on the RKMEs' own kernel, ``k(x, z) = exp(-gamma |x - z|^2)`` to
   every training point (standardised; inverse strength ``regularisation`` = 0.1): a
   kernel logistic regression, so the boundaries between learnwares can curve as their
   distributions do. ``"logistic"`` is the same on the raw (standardised) features;
   ``"boosting"`` is scikit-learn's ``HistGradientBoostingClassifier``
   (``selector_iterations`` rounds). Routers fit on one thread and route in chunks of
   :data:`ROUTE_ROWS` rows (bounded memory for big user tables).

Measured (mean accuracy of the reused mixture, median seconds per user on this 2-core
machine while it ran two other jobs; the search's default mixtures): digits
(``benchmarks/protocols/table_digits.py``, 20 users) 0.967 in 1.8 s, MNIST
(``image_mnist.py``, 100 users) 0.861 in 1.3 s, against 0.939 / 0.834 for the linear
router and 0.854 (digits) for boosting on herded samples (the first default); the
`learnware` package's job selector on the first user of each: 0.960 in 522 s and 0.833 in
1,426 s (ours 0.977 and 0.873). The linear router standardised with C = 0.1 beat its
unstandardised C = 1 version (0.931 / 0.775). With the `learnware` package's own RKME
files the boosted router collapsed (0.67; 0.63 boosting on the reduced sets) while the
logistic ones route >= 95% right (``tests/compat``). Deterministic for a ``seed``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal, Self

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
from learnware_dock_rkme import (
    RKMETableSpecification,
    gaussian_kernel,
    inner_products,
    simplex_weights,
)

#: the most user rows whose exact embedding estimates the mixture weights
WEIGHT_ROWS = 5000

#: user rows routed per batch (the kernel router holds rows x training points floats)
ROUTE_ROWS = 4096

Router = Literal["kernel-logistic", "logistic", "boosting"]
ROUTERS = ("kernel-logistic", "logistic", "boosting")
PseudoSamples = Literal["reduced-set", "herding"]


@attrs.frozen
class JobSelectorOptions:
    router: Router = option(
        "kernel-logistic",
        help="Which model routes rows: kernel-logistic, logistic (regression) or boosting.",
        validator=attrs.validators.in_(ROUTERS),
    )
    pseudo_samples: PseudoSamples = option(
        "reduced-set",
        help="What the router learns from: reduced-set (the RKMEs' points) or herding.",
        validator=attrs.validators.in_(("reduced-set", "herding")),
    )
    regularisation: float = option(
        0.1,
        help="Inverse L2 strength C of the logistic routers (on standardised features).",
        validator=attrs.validators.gt(0),
    )
    samples: int = option(
        1000, help="Pseudo-samples herded (with herding).", validator=attrs.validators.ge(1)
    )
    selector_iterations: int = option(
        50, help="Boosting rounds (with boosting).", validator=attrs.validators.ge(1)
    )
    seed: int = option(0, help="Random seed.", validator=attrs.validators.ge(0))


@attrs.frozen(eq=False)
class KernelFeatures:
    """Rows to their RKME-kernel values at the router's training points."""

    centres: np.ndarray
    gamma: float

    def __call__(self, X: np.ndarray) -> np.ndarray:
        return gaussian_kernel(np.asarray(X, dtype=np.float64), self.centres, self.gamma)


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
        router: Router = "kernel-logistic",
        pseudo_samples: PseudoSamples = "reduced-set",
        regularisation: float = 0.1,
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
        if router not in ROUTERS:
            raise ReuseError(f"router must be one of {', '.join(ROUTERS)}, not {router!r}")
        if pseudo_samples not in ("reduced-set", "herding"):
            raise ReuseError(
                f"pseudo_samples must be reduced-set or herding, not {pseudo_samples!r}"
            )
        self.router, self.pseudo_samples = router, pseudo_samples
        self.regularisation = regularisation
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
        """Simplex weights of the learnwares' RKMEs that best match the user's data: the
        exact embedding of its rows (at most :data:`WEIGHT_ROWS`, drawn with the seed), as
        the `learnware` package does (``reduce=False``)."""
        if len(self.specs) == 1:
            return np.ones(1)
        if len(X) > WEIGHT_ROWS:
            X = X[np.random.default_rng(self.seed).choice(len(X), WEIGHT_ROWS, replace=False)]
        user = (X, np.full(len(X), 1.0 / len(X)))
        gram, h = inner_products([(s.z, s.beta) for s in self.specs], user, self.gamma)
        return simplex_weights(gram, h)

    def fit(self, X: Any, y: Any = None) -> Self:
        """Estimate the weights (if none were given) and train the selector on ``X``'s
        distribution; labels are not used."""
        X = check_rows(X, self.dimension)
        weights = (
            normalised_weights(self.weights, len(self.models))
            if self.weights is not None
            else self.estimate_weights(self.space_rows(X))
        )
        self.mixture = weights
        used = np.flatnonzero(weights > 0)
        if len(used) == 1:
            self.selector = int(used[0])
            return self
        rows, labels, row_weights = self.training_rows(weights, used)
        self.selector = self.fit_router(rows, labels, row_weights)
        return self

    def training_rows(
        self, weights: np.ndarray, used: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The router's rows, their learnware, and each row's weight (mean 1)."""
        if self.pseudo_samples == "herding":
            counts = np.maximum(np.floor(weights[used] * self.samples).astype(int), 5)
            parts = [
                self.specs[i].herding_samples(int(n), seed=self.seed + int(i))
                for i, n in zip(used, counts, strict=True)
            ]
            shares = [np.ones(len(p)) for p in parts]
        else:
            parts, shares = [], []
            for i in used:
                beta = np.clip(self.specs[i].beta, 0.0, None)
                keep = beta > 0
                parts.append(self.specs[i].z[keep])
                shares.append(weights[i] * beta[keep] / beta[keep].sum())
        labels = np.concatenate([np.full(len(p), i) for p, i in zip(parts, used, strict=True)])
        row_weights = np.concatenate(shares)
        return np.vstack(parts), labels, row_weights * (len(row_weights) / row_weights.sum())

    def fit_router(self, rows: np.ndarray, labels: np.ndarray, row_weights: np.ndarray) -> Any:
        """The router, trained with one thread (thread pools fighting for cores slow it
        ~10x under load)."""
        from threadpoolctl import threadpool_limits

        with threadpool_limits(1):
            if self.router in ("logistic", "kernel-logistic"):
                from sklearn.linear_model import LogisticRegression
                from sklearn.pipeline import make_pipeline
                from sklearn.preprocessing import FunctionTransformer, StandardScaler

                steps: list[Any] = [StandardScaler()]
                if self.router == "kernel-logistic":
                    features = KernelFeatures(rows.copy(), self.gamma)
                    steps.insert(0, FunctionTransformer(features))
                model: Any = make_pipeline(
                    *steps, LogisticRegression(C=self.regularisation, max_iter=3000)
                )
                return model.fit(
                    rows,
                    labels,
                    standardscaler__sample_weight=row_weights,
                    logisticregression__sample_weight=row_weights,
                )
            else:
                from sklearn.ensemble import HistGradientBoostingClassifier

                model = HistGradientBoostingClassifier(
                    max_iter=self.selector_iterations, random_state=self.seed
                )
            return model.fit(rows, labels, sample_weight=row_weights)

    def space_rows(self, X: np.ndarray) -> np.ndarray:
        """``X``'s rows in the RKMEs' space, where the selector routes: the rows
        themselves for tables; for documents, the specs' embedding of them
        (``RKMETableSpecification.embed_rows``, e.g. a text RKME's sentence encoder)."""
        if X.ndim == 2:
            return X
        rows = np.asarray(self.specs[0].embed_rows(list(X)), dtype=np.float64)
        return check_rows(rows, self.dimension)

    def route(self, X: Any) -> np.ndarray:
        """The learnware chosen for each row."""
        X = check_rows(X, self.dimension)
        if self.selector is None:
            self.fit(X)
        if isinstance(self.selector, int):
            return np.full(len(X), self.selector)
        X = self.space_rows(X)
        parts = [
            np.asarray(self.selector.predict(X[start : start + ROUTE_ROWS]))
            for start in range(0, len(X), ROUTE_ROWS)
        ]
        return np.concatenate(parts).astype(int) if parts else np.zeros(0, dtype=int)

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

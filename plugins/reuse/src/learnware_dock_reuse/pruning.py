"""``ensemble-pruning`` (data-dependent): MDEP, multi-objective evolutionary ensemble
pruning guided by margin distribution (Wu, He, Qian, Zhou, PPSN 2022).

A subset of the learnwares is a binary inclusion vector; NSGA-II (pymoo) minimises, on the
user's labelled validation data, for classification (std / mean of the ensemble's margin
distribution, validation error, ensemble size) and for regression (validation MSE, size).
From the Pareto front the subset with the lowest validation error is kept (ties: better
margin ratio, then fewer members), and never one worse than the best single learnware.
The initial population holds every single learnware and the whole ensemble.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Self

import attrs
import numpy as np

from learnware_dock.options import option
from learnware_dock_reuse.base import CombiningReuser
from learnware_dock_reuse.outputs import OutputKind, ReuseError, Task, check_rows

PENALTY = 1e6


def objectives(outs: np.ndarray, y: np.ndarray, mask: np.ndarray, task: Task) -> tuple[float, ...]:
    """MDEP's objectives of one subset (``outs``: members x rows x columns)."""
    size = int(mask.sum())
    if size == 0:
        return (PENALTY, PENALTY, PENALTY) if task == "classification" else (PENALTY, PENALTY)
    mean = outs[mask].mean(axis=0)
    if task == "regression":
        return (float(((mean - y.reshape(len(y), -1)) ** 2).mean()), float(size))
    rows = np.arange(len(y))
    true = mean[rows, y]
    others = mean.copy()
    others[rows, y] = -np.inf
    margin = true - others.max(axis=1)
    error = float((mean.argmax(axis=1) != y).mean())
    spread = float(margin.std() / margin.mean()) if margin.mean() > 0 else PENALTY - margin.mean()
    return (spread, error, float(size))


@attrs.frozen
class EnsemblePruningOptions:
    population: int = option(40, help="NSGA-II population size.", validator=attrs.validators.ge(2))
    generations: int = option(40, help="NSGA-II generations.", validator=attrs.validators.ge(1))
    seed: int = option(0, help="Random seed.", validator=attrs.validators.ge(0))


class EnsemblePruningReuser(CombiningReuser):
    """See the module docstring; ``fit(X, y)`` on the user's labelled data, then predict
    with the unweighted average of the chosen learnwares."""

    name = "ensemble-pruning"
    options_class = EnsemblePruningOptions
    needs_labels = True

    def __init__(
        self,
        models: Sequence[Any],
        weights: Sequence[float] | None = None,
        *,
        task: Task = "classification",
        outputs: OutputKind | Sequence[OutputKind] = "auto",
        classes: int | None = None,
        population: int = 40,
        generations: int = 40,
        seed: int = 0,
    ) -> None:
        super().__init__(models, weights, task=task, outputs=outputs, classes=classes)
        self.population, self.generations, self.seed = population, generations, seed
        self.selected: list[int] | None = None
        self.front: list[tuple[list[int], tuple[float, ...]]] = []

    def fit(self, X: Any, y: Any = None) -> Self:
        from pymoo.algorithms.moo.nsga2 import NSGA2
        from pymoo.core.problem import Problem
        from pymoo.operators.crossover.pntx import TwoPointCrossover
        from pymoo.operators.mutation.bitflip import BitflipMutation
        from pymoo.optimize import minimize

        if y is None:
            raise ReuseError("ensemble-pruning needs labels: fit(X, y)")
        X = check_rows(X)
        y = np.asarray(y)
        if len(y) != len(X):
            raise ReuseError(f"{len(y)} labels for {len(X)} rows")
        outs = np.stack(self.member_outputs(X))
        task = self.task
        if task == "classification":
            if not np.array_equal(y, np.round(y)) or y.min() < 0 or y.max() >= outs.shape[2]:
                raise ReuseError(f"labels must be integers in [0, {outs.shape[2]})")
            y = y.astype(int)
        m = len(self.models)
        n_obj = 3 if task == "classification" else 2

        class Pruning(Problem):  # type: ignore[misc]
            def __init__(self) -> None:
                super().__init__(n_var=m, n_obj=n_obj, xl=0, xu=1, vtype=bool)

            def _evaluate(self, x: np.ndarray, out: dict[str, Any], *a: Any, **k: Any) -> None:
                out["F"] = np.array([objectives(outs, y, row.astype(bool), task) for row in x])

        rng = np.random.default_rng(self.seed)
        size = max(self.population, m + 2)
        start = np.vstack([np.eye(m, dtype=bool), np.ones((1, m), dtype=bool)])
        start = np.vstack([start, rng.random((size - len(start), m)) < 0.5])
        result = minimize(
            Pruning(),
            NSGA2(
                pop_size=size,
                sampling=start,
                crossover=TwoPointCrossover(),
                mutation=BitflipMutation(),
                eliminate_duplicates=True,
            ),
            ("n_gen", self.generations),
            seed=self.seed,
            verbose=False,
        )
        masks = np.atleast_2d(result.X).astype(bool)
        candidates = [(m_, objectives(outs, y, m_, task)) for m_ in masks if m_.any()]
        error_at = 1 if task == "classification" else 0

        def rank(item: tuple[np.ndarray, tuple[float, ...]]) -> tuple[float, ...]:
            f = item[1]
            return (f[error_at], *(v for i, v in enumerate(f) if i != error_at))

        best_mask, best_f = min(candidates, key=rank)
        singles = [
            (np.eye(m, dtype=bool)[i], objectives(outs, y, np.eye(m, dtype=bool)[i], task))
            for i in range(m)
        ]
        best_single = min(singles, key=rank)
        if best_single[1][error_at] < best_f[error_at]:
            best_mask, best_f = best_single
        self.selected = [int(i) for i in np.flatnonzero(best_mask)]
        self.front = [([int(i) for i in np.flatnonzero(mk)], f) for mk, f in candidates]
        return self

    def predict(self, X: Any) -> np.ndarray:
        if self.selected is None:
            raise ReuseError("call fit(X, y) before predict")
        outs = self.member_outputs(X, self.selected)
        weights = np.full(len(outs), 1.0 / len(outs))
        return self.finish(self.combine(outs, weights))

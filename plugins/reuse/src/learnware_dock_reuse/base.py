"""What every reuser here shares: the task, each learnware's output kind, combining."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Self

import numpy as np

from learnware_dock.interfaces import ReuseContext, Reuser
from learnware_dock.options import options_dict
from learnware_dock_reuse.outputs import (
    OutputKind,
    Task,
    check_rows,
    check_task,
    class_count,
    kinds_for,
    normalised_weights,
    predictions,
    values,
    votes,
)


class CombiningReuser(Reuser):
    """A reuser that runs its learnwares and combines their outputs."""

    def __init__(
        self,
        models: Sequence[Any],
        weights: Sequence[float] | None = None,
        *,
        task: Task = "classification",
        outputs: OutputKind | Sequence[OutputKind] = "auto",
        classes: int | None = None,
    ) -> None:
        super().__init__(models, weights)
        self.task = check_task(task)
        self.kinds = kinds_for(outputs, len(self.models))
        self.classes = classes
        normalised_weights(self.weights, len(self.models))  # validate early

    @classmethod
    def from_search(cls, context: ReuseContext, options: Any) -> Self:
        """The mixture's models and weights, its task and class count, the declared options
        as keyword arguments, and what :meth:`search_arguments` adds."""
        return cls(
            list(context.models),
            list(context.weights),
            task=context.task,
            classes=context.classes,
            **cls.search_arguments(context, options),
            **options_dict(options),
        )

    @classmethod
    def search_arguments(cls, context: ReuseContext, options: Any) -> dict[str, Any]:
        """Constructor arguments beyond the options that a search result provides."""
        return {}

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        return {
            **super().get_params(deep),
            "task": self.task,
            "outputs": self.kinds,
            "classes": self.classes,
        }

    def member_outputs(self, X: Any, members: Sequence[int] | None = None) -> list[np.ndarray]:
        """Each (chosen) learnware's output, as class votes or value columns."""
        X = check_rows(X)
        chosen = list(range(len(self.models))) if members is None else list(members)
        raw = predictions([self.models[i] for i in chosen], X)
        if self.task == "regression":
            return [values(out) for out in raw]
        kinds = [self.kinds[i] for i in chosen]
        if self.classes is None:
            self.classes = class_count(raw, kinds, None)
        return [votes(out, kind, self.classes) for out, kind in zip(raw, kinds, strict=True)]

    @staticmethod
    def combine(outs: Sequence[np.ndarray], weights: np.ndarray) -> np.ndarray:
        shapes = {o.shape for o in outs}
        if len(shapes) != 1:
            raise_shapes(shapes)
        return np.asarray(np.tensordot(weights, np.stack(outs), axes=1))

    def weighted_mean(self, outs: Sequence[np.ndarray]) -> np.ndarray:
        """The members' outputs averaged with the (normalised) weights; uniform without."""
        return self.combine(outs, normalised_weights(self.weights, len(self.models)))

    def vote_shares(self, combine: Callable[[Any], np.ndarray], X: Any) -> np.ndarray:
        """Class probabilities from the class votes ``combine(X)`` combines: clipped at 0,
        normalised per row (a row of no votes stays 0). Classification only, checked
        before any learnware runs."""
        if self.task != "classification":
            from learnware_dock_reuse.outputs import ReuseError

            raise ReuseError("predict_proba is for classification")
        combined = np.clip(combine(X), 0.0, None)
        totals = combined.sum(axis=1, keepdims=True)
        return np.asarray(
            np.divide(combined, totals, where=totals > 0, out=np.zeros_like(combined))
        )

    def finish(self, combined: np.ndarray) -> np.ndarray:
        """Labels from combined votes, or the combined values (one column: 1-D)."""
        if self.task == "classification":
            return np.asarray(combined.argmax(axis=1))
        return combined[:, 0] if combined.shape[1] == 1 else combined


def raise_shapes(shapes: set[tuple[int, ...]]) -> None:
    from learnware_dock_reuse.outputs import ReuseError

    raise ReuseError(f"the learnwares' outputs have different shapes: {sorted(shapes)}")

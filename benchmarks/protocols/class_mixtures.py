"""What the digit protocols share: drawing rows of chosen classes in chosen shares, a
learnware model that returns probabilities over all 10 digits, and its semantic spec."""

from __future__ import annotations

from typing import Any

import numpy as np


class ProbaModel:
    """A learnware's model: probabilities over all 10 digits (zeros for unseen ones)."""

    def __init__(self, model: Any) -> None:
        self.model = model

    def predict(self, X: np.ndarray) -> np.ndarray:
        out = np.zeros((len(X), 10))
        out[:, self.model.classes_] = self.model.predict_proba(X)
        return out


def draw(
    pool_by_class: dict[int, np.ndarray],
    classes: list[int],
    shares: list[float],
    n: int,
    rng: np.random.Generator,
    exclude: set[int] | None = None,
) -> np.ndarray:
    """Row indices: ``n`` samples of ``classes`` in ``shares`` (with replacement only when
    a class has too few rows), none of them in ``exclude``."""
    rows = []
    for c, share in zip(classes, shares, strict=True):
        count = max(1, round(n * share))
        available = np.array([i for i in pool_by_class[c] if not exclude or i not in exclude])
        rows.append(rng.choice(available, count, replace=count > len(available)))
    return np.concatenate(rows)


def digit_semantic(name: str, features: int) -> Any:
    """The semantic spec of a protocol's learnware: a 10-digit table classifier."""
    from learnware_dock.semantic import IOSpec, SemanticSpec

    return SemanticSpec(
        name=name,
        data=("Table",),
        task=("Classification",),
        library=("Scikit-learn",),
        scenario=("Education",),
        license=("MIT",),
        model=("Others",),
        input=IOSpec(features),
        output=IOSpec(10),
    )

"""``AcmeMeanSpecification``: the per-feature mean and spread of a table."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self

import numpy as np

from learnware_dock.errors import SpecificationError
from learnware_dock.interfaces import StatSpecification


class AcmeMeanSpecification(StatSpecification):
    """Per-feature mean and standard deviation; two specs are as far apart as their means."""

    name = "AcmeMeanSpecification"

    def __init__(self, mean: np.ndarray, scale: np.ndarray) -> None:
        self.mean, self.scale = mean, scale

    @classmethod
    def generate(cls, X: Any, **options: Any) -> Self:
        data = np.asarray(X, dtype=np.float64)
        if data.ndim != 2 or len(data) == 0:
            raise SpecificationError(f"{cls.name} summarises a non-empty table, not {data.shape}")
        return cls(data.mean(axis=0), data.std(axis=0))

    @property
    def dimension(self) -> int:
        return int(self.mean.shape[0])

    def to_json(self) -> dict[str, Any]:
        return {"type": self.name, "mean": self.mean.tolist(), "scale": self.scale.tolist()}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Self:
        try:
            mean = np.asarray(data["mean"], dtype=np.float64)
            scale = np.asarray(data["scale"], dtype=np.float64)
        except (KeyError, TypeError, ValueError) as exc:
            raise SpecificationError(f"{cls.name} needs numeric 'mean' and 'scale': {exc}") from exc
        if mean.ndim != 1 or mean.shape != scale.shape or len(mean) == 0:
            raise SpecificationError(f"{cls.name}: 'mean' and 'scale' are vectors of one length")
        if not (np.isfinite(mean).all() and np.isfinite(scale).all()) or (scale < 0).any():
            raise SpecificationError(f"{cls.name}: values must be finite, scales non-negative")
        return cls(mean, scale)

    def dist(self, other: Self) -> float:
        return float(np.linalg.norm(self.mean - other.mean))

    def probe_rows(self, count: int) -> np.ndarray:
        """The mean, then the mean one spread above and below it, cycling: ``count`` rows."""
        steps = np.resize(np.array([0.0, 1.0, -1.0]), count)
        rows: np.ndarray = self.mean[None, :] + steps[:, None] * self.scale[None, :]
        return rows

"""`RKMETableSpecification`: K weighted points summarising a table's distribution.

Phi = sum_j beta_j k(z_j, .) approximates the kernel mean (1/n) sum_i k(x_i, .) with the
Gaussian kernel k(x, y) = exp(-gamma ||x - y||^2). The JSON file uses the `learnware`
package's keys (``z``, ``beta``, ``gamma``, ``num_points``, ``type``), both ways.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self

import numpy as np

from learnware_dock.errors import SpecificationError
from learnware_dock.interfaces import StatSpecification
from learnware_dock_rkme.kernel import gaussian_kernel, simplex_weights

DEFAULT_GAMMA = 0.1
DEFAULT_K = 100
BETA_TOLERANCE = 1e-4


def clean_table(X: Any) -> np.ndarray:
    """float64 copy of ``X`` (n x d) with +-inf and NaN replaced by column means."""
    if hasattr(X, "detach"):
        X = X.detach().cpu().numpy()
    data = np.array(X, dtype=np.float64)
    if data.ndim == 1:
        data = data[:, None]
    if data.ndim != 2 or data.shape[0] == 0 or data.shape[1] == 0:
        raise SpecificationError(f"RKME needs a non-empty n x d table, got shape {data.shape}")
    data[~np.isfinite(data)] = np.nan
    bad = np.isnan(data).all(axis=0)
    if bad.any():
        raise SpecificationError(
            f"column(s) {np.flatnonzero(bad).tolist()} hold no finite value; drop them first"
        )
    means = np.nanmean(data, axis=0)
    rows, cols = np.nonzero(np.isnan(data))
    data[rows, cols] = means[cols]
    return data


class RKMETableSpecification(StatSpecification):
    """Reduced kernel mean embedding of a table."""

    name = "RKMETableSpecification"

    def __init__(self, z: np.ndarray, beta: np.ndarray, gamma: float, num_points: int) -> None:
        self.z, self.beta, self.gamma, self.num_points = z, beta, gamma, num_points

    @classmethod
    def generate(
        cls,
        X: Any,
        *,
        K: int = DEFAULT_K,
        gamma: float = DEFAULT_GAMMA,
        seed: int = 0,
        max_herding_points: int = 3000,
        **options: Any,
    ) -> Self:
        """Kernel herding picks K points of (a subsample of) X, then the simplex QP sets
        beta. Deterministic for a given ``seed``; global RNGs are not touched."""
        if options:
            raise SpecificationError(f"unknown RKME options: {', '.join(sorted(options))}")
        data = clean_table(X)
        rng = np.random.default_rng(seed)
        pool = data
        if pool.shape[0] > max_herding_points:
            pool = pool[rng.choice(pool.shape[0], max_herding_points, replace=False)]
        k = max(1, min(K, pool.shape[0]))
        gram = gaussian_kernel(pool, pool, gamma)
        target = gram.mean(axis=1)  # kernel mean embedding evaluated at each pool point
        chosen: list[int] = []
        running = np.zeros(pool.shape[0])
        for t in range(k):
            scores = target - running / (t + 1)
            scores[chosen] = -np.inf
            best = int(np.argmax(scores))
            chosen.append(best)
            running += gram[:, best]
        z = pool[chosen]
        beta = simplex_weights(gram[np.ix_(chosen, chosen)], target[chosen])
        return cls(z, beta, float(gamma), int(data.shape[0]))

    @property
    def dimension(self) -> int:
        return int(self.z.shape[1])

    def to_json(self) -> dict[str, Any]:
        """The `learnware` package's key order: z, beta, gamma, num_points, type."""
        return {
            "z": self.z.tolist(),
            "beta": self.beta.tolist(),
            "gamma": self.gamma,
            "num_points": self.num_points,
            "type": self.name,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Self:
        missing = [k for k in ("z", "beta") if k not in data]  # as the anchor: gamma defaults
        if missing:
            raise SpecificationError(f"RKME JSON is missing {', '.join(missing)}")
        kind = data.get("type", cls.name)
        if kind != cls.name:
            raise SpecificationError(f"RKME JSON has type {kind!r}, expected {cls.name!r}")
        try:
            z = np.asarray(data["z"], dtype=np.float64)
            beta = np.asarray(data["beta"], dtype=np.float64).reshape(-1)
            gamma = float(data.get("gamma", DEFAULT_GAMMA))
            num_points = int(data.get("num_points", 0) or 0)
        except (TypeError, ValueError) as exc:
            raise SpecificationError(f"RKME JSON holds non-numeric values: {exc}") from exc
        if z.ndim != 2 or z.shape[0] == 0 or z.shape[0] != beta.shape[0]:
            raise SpecificationError(
                f"RKME z must be K x d and beta K, got z {z.shape} and beta {beta.shape}"
            )
        if not (np.isfinite(z).all() and np.isfinite(beta).all()):
            raise SpecificationError("RKME z and beta must be finite (found NaN or inf)")
        if not np.isfinite(gamma) or gamma <= 0:
            raise SpecificationError(f"RKME gamma must be positive, got {gamma}")
        if (beta < -BETA_TOLERANCE).any() or abs(beta.sum() - 1.0) > BETA_TOLERANCE:
            raise SpecificationError(
                f"RKME beta must be >= 0 and sum to 1 (sum is {beta.sum():.6f})"
            )
        return cls(z, beta, gamma, num_points)

    def inner(self, other: RKMETableSpecification) -> float:
        """<Phi_self, Phi_other> in the kernel's feature space."""
        return float(self.beta @ gaussian_kernel(self.z, other.z, self.gamma) @ other.beta)

    def dist(self, other: Self) -> float:
        """Squared MMD between the two embeddings (float64)."""
        if other.dimension != self.dimension or other.gamma != self.gamma:
            raise SpecificationError(
                f"cannot compare RKMEs of dimension/gamma {self.dimension}/{self.gamma} "
                f"and {other.dimension}/{other.gamma}"
            )
        value = self.inner(self) - 2 * self.inner(other) + other.inner(other)
        return max(value, 0.0)

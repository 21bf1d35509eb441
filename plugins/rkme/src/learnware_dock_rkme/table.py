"""`RKMETableSpecification`: K weighted points summarising a table's distribution.

Phi = sum_j beta_j k(z_j, .) approximates the kernel mean (1/n) sum_i k(x_i, .) with the
Gaussian kernel k(x, y) = exp(-gamma ||x - y||^2). The JSON file uses the `learnware`
package's keys (``z``, ``beta``, ``gamma``, ``num_points``, ``type``), both ways.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Literal, Self

import numpy as np

from learnware_dock.errors import SpecificationError
from learnware_dock.interfaces import StatSpecification
from learnware_dock_rkme.kernel import gaussian_kernel, herd, simplex_weights
from learnware_dock_rkme.limits import SpecLimits

DEFAULT_GAMMA = 0.1
DEFAULT_K = 100
BETA_TOLERANCE = 1e-4
#: below this median kernel value between data points, every RKME looks alike.
DEGENERATE_KERNEL = 1e-8


class DegenerateKernelWarning(UserWarning):
    """gamma is so large for the data's scale that the kernel is ~0 between points."""


def median_gamma(data: np.ndarray) -> float:
    """The median heuristic: 1 / median of the non-zero pairwise squared distances."""
    sq = (data * data).sum(1)[:, None] + (data * data).sum(1)[None, :] - 2.0 * data @ data.T
    positive = sq[np.triu_indices_from(sq, k=1)]
    positive = positive[positive > 1e-12]
    if positive.size == 0:
        raise SpecificationError("the median heuristic needs at least two distinct rows")
    return float(1.0 / np.median(positive))


def check_kernel(gram: np.ndarray, gamma: float) -> None:
    """Warn when the kernel between distinct data points is numerically zero."""
    if gram.shape[0] < 2:
        return
    median = float(np.median(gram[np.triu_indices_from(gram, k=1)]))
    if median < DEGENERATE_KERNEL:
        warnings.warn(
            DegenerateKernelWarning(
                f"gamma={gamma:g} is too large for this data: the median kernel value between "
                f"points is {median:.1e}, so this RKME cannot tell distributions apart. Scale "
                "the features (e.g. to [0, 1]) or use gamma='median' (the median heuristic)."
            ),
            stacklevel=3,
        )


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


def refine(
    data: np.ndarray,
    z: np.ndarray,
    beta: np.ndarray,
    gamma: float,
    steps: int,
    progress: Callable[[int, int], None] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Minimise MMD^2(data, (z, beta)) jointly: Adam on z and on beta = softmax(theta)."""
    import torch

    x = torch.as_tensor(data, dtype=torch.float64)
    zt = torch.tensor(z, dtype=torch.float64, requires_grad=True)
    theta = torch.tensor(np.log(beta + 1e-6), dtype=torch.float64, requires_grad=True)
    scale = float(np.median(np.abs(data - np.median(data, axis=0)))) or 1.0
    optimiser = torch.optim.Adam(
        [{"params": [zt], "lr": 0.05 * scale}, {"params": [theta], "lr": 0.05}]
    )

    def kernel(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        sq = (a * a).sum(1)[:, None] + (b * b).sum(1)[None, :] - 2.0 * a @ b.T
        return torch.exp(-gamma * sq.clamp(min=0.0))

    for step in range(steps):
        optimiser.zero_grad()
        weights = torch.softmax(theta, 0)
        loss = weights @ kernel(zt, zt) @ weights - 2.0 * weights @ kernel(zt, x).mean(1)
        loss.backward()  # type: ignore[no-untyped-call]
        optimiser.step()
        if progress is not None:
            progress(step + 1, steps)
    z_new = zt.detach().numpy()
    target = gaussian_kernel(z_new, data, gamma).mean(axis=1)
    return z_new, simplex_weights(gaussian_kernel(z_new, z_new, gamma), target)


class RKMETableSpecification(StatSpecification):
    """Reduced kernel mean embedding of a table."""

    name = "RKMETableSpecification"
    data_type = "table"

    def __init__(self, z: np.ndarray, beta: np.ndarray, gamma: float, num_points: int) -> None:
        self.z, self.beta, self.gamma, self.num_points = z, beta, gamma, num_points

    @classmethod
    def generate(
        cls,
        X: Any,
        *,
        K: int = DEFAULT_K,
        gamma: float | Literal["median"] = DEFAULT_GAMMA,
        seed: int = 0,
        max_herding_points: int = 3000,
        quality: Literal["fast", "high"] = "fast",
        steps: int = 300,
        progress: Callable[[int, int], None] | None = None,
        **options: Any,
    ) -> Self:
        """Kernel herding picks K points of (a subsample of) X, then the simplex QP sets
        beta. Deterministic for a given ``seed``; global RNGs are not touched.

        gamma: the kernel width (0.1 = the `learnware` package's default), or "median"
            for the median heuristic on the data; the value used is saved in the file.
        quality: "fast" (herding + QP) or "high": then ``steps`` Adam steps on Z jointly
            with softmax-parameterised beta against (a subsample of) the data, and a final
            QP for beta; much closer to the data at a few seconds' cost.
        progress: called as ``progress(done, total)`` during herding (and optimisation).
        Warns :class:`DegenerateKernelWarning` when gamma makes the kernel vanish.
        Raises :class:`SpecificationError` for a K or d over the :class:`SpecLimits`.
        """
        if options:
            raise SpecificationError(f"unknown RKME options: {', '.join(sorted(options))}")
        data = clean_table(X)
        rng = np.random.default_rng(seed)
        pool = data
        if pool.shape[0] > max_herding_points:
            pool = pool[rng.choice(pool.shape[0], max_herding_points, replace=False)]
        if gamma == "median":
            gamma = median_gamma(pool)
        if not isinstance(gamma, int | float) or not gamma > 0:
            raise SpecificationError(f"gamma must be a positive number or 'median', not {gamma!r}")
        k = max(1, min(K, pool.shape[0]))
        SpecLimits.from_env().check_shape(k, data.shape[1], f"the {cls.name}")
        gram = gaussian_kernel(pool, pool, gamma)
        check_kernel(gram, gamma)
        target = gram.mean(axis=1)  # kernel mean embedding evaluated at each pool point
        chosen = herd(gram, target, k, progress)
        z = pool[chosen]
        beta = simplex_weights(gram[np.ix_(chosen, chosen)], target[chosen])
        if quality == "high":
            z, beta = refine(pool, z, beta, float(gamma), steps, progress)
        elif quality != "fast":
            raise SpecificationError(f"quality must be 'fast' or 'high', not {quality!r}")
        return cls(z, beta, float(gamma), int(data.shape[0]))

    def herding_samples(self, n: int, *, seed: int = 0, pool_size: int = 2000) -> np.ndarray:
        """``n`` pseudo-samples of the data this RKME summarises, by kernel herding over a
        pool of candidates: its own points, and points drawn around them in proportion to
        beta with a quarter of the points' per-feature spread. Deterministic for a seed."""
        if n < 1:
            raise SpecificationError(f"n must be at least 1, not {n}")
        rng = np.random.default_rng(seed)
        size = max(pool_size, 2 * n)
        picks = rng.choice(len(self.z), size=size, p=self.beta / self.beta.sum())
        spread = 0.25 * self.z.std(axis=0) + 1e-12
        jittered = self.z[picks] + rng.standard_normal((size, self.z.shape[1])) * spread
        pool = np.vstack([self.z, jittered])
        target = gaussian_kernel(pool, self.z, self.gamma) @ self.beta
        chosen = herd(gaussian_kernel(pool, pool, self.gamma), target, n)
        return np.asarray(pool[chosen])

    @property
    def dimension(self) -> int:
        return int(self.z.shape[1])

    def embed_rows(self, X: Any) -> np.ndarray:
        """Data rows in the space of ``z`` (n x d float64), where reusers compare rows
        with the reduced set (e.g. the job selector's router): a table's own rows (NaN
        and inf replaced by column means); subclasses over other data (texts) embed it."""
        return clean_table(X)

    def probe_rows(self, count: int) -> np.ndarray:
        """The ``count`` heaviest reduced-set points (herding samples of the data)."""
        order = np.argsort(-self.beta, kind="stable")[: max(count, 0)]
        return np.asarray(self.z[order], dtype=np.float64)

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
    def load(cls, path: str | Path) -> Self:
        """Read a JSON file; one over the :class:`SpecLimits` ``max_file_bytes`` (from the
        environment) is refused before it is read."""
        limits = SpecLimits.from_env()
        try:
            size = Path(path).stat().st_size
        except OSError as exc:
            raise SpecificationError(f"cannot read {cls.name} file {path}: {exc}") from exc
        limits.check_bytes(size, f"{cls.name} file {Path(path).name}")
        return super().load(path)

    @classmethod
    def from_json(cls, data: Mapping[str, Any], *, limits: SpecLimits | None = None) -> Self:
        """Rebuild and validate; the :class:`SpecLimits` (default: from the environment)
        are checked on the JSON lists' lengths before any array is built."""
        missing = [k for k in ("z", "beta") if k not in data]  # as the anchor: gamma defaults
        if missing:
            raise SpecificationError(f"RKME JSON is missing {', '.join(missing)}")
        kind = data.get("type", cls.name)
        if kind != cls.name:
            raise SpecificationError(f"RKME JSON has type {kind!r}, expected {cls.name!r}")
        limits = limits or SpecLimits.from_env()
        limits.check_json(data["z"], data["beta"], f"the {cls.name}")
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
        limits.check_shape(z.shape[0], z.shape[1], f"the {cls.name}")
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

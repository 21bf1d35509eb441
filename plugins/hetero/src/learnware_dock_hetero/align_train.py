"""Training one feature map from a user's feature space into a learnware's input space.

Both sides are standardised by their RKME's weighted moments: user points ``u = (x - m_u) /
s_u``, learnware points ``t = (z_l - m_l) / s_l``. The map is ``f(x) = m_l + s_l * g(u)``
with ``g`` an affine map ``A u + c`` plus, when ``hidden > 0``, a one-hidden-layer ReLU
correction ``W2 relu(W1 u + b1)`` whose output layer starts at zero.

The objective is the squared MMD between the mapped user reduced set ``(g(u_z), beta_u)``
and the learnware's ``(t, beta_l)``, in the standardised learnware space with the Gaussian
kernel's gamma set by the median heuristic on ``t``. The learnware RKME's own gamma is not
used: it was chosen for the raw columns, where the widest ones dominate the kernel (on raw
MASS/Boston with gamma="median", a matching under it recovered 1-2 of the user's 7
columns, against 5-7 of 7 standardised, K = 50 and 100). A reduced set is ~100 points:
everything is full batch and no user row is ever paired with another; the matching costs
about ``(restarts + 1) * d_u * d_u * d_l`` kernel evaluations of ``K_u x (K_u + K_l)``.

Two steps. (1) Matching (``init="match"``, the default): MMD is blind to the symmetries of
a distribution and gradient descent from a collapsed map cannot find which column is
which, so ``A`` starts at the best column assignment found by best-improvement local search
(move a user column to another learnware column, swapping with its holder) from the
closest-marginal assignment (1-D Wasserstein-2 distance between raw weighted quantiles over
the pooled spread, solved exactly) and from ``restarts`` random ones. An assignment copies
each assigned column and sets every other learnware column to its weighted ridge
regression on the assigned ones, fitted on the learnware's points: the conditional mean of
what the user lacks given what it has. ``init="mean"`` starts at ``A = 0`` (every row at
the learnware's mean, the `learnware` package's start up to its random network). (2)
``epochs`` steps of Adam in float64 on all parameters; the parameters of the lowest MMD
seen are kept. Deterministic for a seed; torch's global RNG is not touched.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING

import numpy as np
import torch

from learnware_dock_reuse import ReuseError

if TYPE_CHECKING:
    from learnware_dock_hetero.align import Init
    from learnware_dock_rkme import RKMETableSpecification

#: probability levels at which the columns' weighted marginals are compared
LEVELS = np.linspace(0.025, 0.975, 39)
#: ridge penalty of the imputation of unassigned learnware columns (standardised units)
RIDGE = 1e-2


@contextmanager
def one_torch_thread() -> Iterator[None]:
    """Run torch on one thread, then restore the count. Its tensors here are tiny: on a
    loaded 2-core machine 100 Adam steps took 0.3 s on one thread and 19 s on two."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def weighted_moments(z: np.ndarray, beta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-column weighted mean and standard deviation (1 where a column is constant)."""
    weights = beta / beta.sum()
    mean = weights @ z
    spread = np.sqrt(np.maximum(weights @ (z - mean) ** 2, 0.0))
    spread[spread <= 1e-12 * (1.0 + np.abs(mean))] = 1.0
    return np.asarray(mean), np.asarray(spread)


def weighted_quantiles(z: np.ndarray, beta: np.ndarray, levels: np.ndarray) -> np.ndarray:
    """``len(levels) x d``: each column's quantiles under the weights ``beta``."""
    weights = beta / beta.sum()
    out = np.empty((len(levels), z.shape[1]))
    for column in range(z.shape[1]):
        order = np.argsort(z[:, column], kind="stable")
        mass = np.cumsum(weights[order]) - 0.5 * weights[order]
        out[:, column] = np.interp(levels, mass, z[order, column])
    return out


def marginal_start(user: RKMETableSpecification, target: RKMETableSpecification) -> list[int]:
    """Each user column's learnware column (-1: none) in an optimal assignment of the
    closest weighted marginals (raw scale, over the pooled spread)."""
    from scipy.optimize import linear_sum_assignment

    q_user = weighted_quantiles(user.z, user.beta, LEVELS)
    q_target = weighted_quantiles(target.z, target.beta, LEVELS)
    _, s_user = weighted_moments(user.z, user.beta)
    _, s_target = weighted_moments(target.z, target.beta)
    gaps = q_user[:, :, None] - q_target[:, None, :]
    costs = np.sqrt((gaps**2).mean(axis=0)) / (0.5 * (s_user[:, None] + s_target[None, :]))
    assigned = [-1] * user.dimension
    for i, j in zip(*linear_sum_assignment(costs), strict=True):
        assigned[int(i)] = int(j)
    return assigned


def standardised_gamma(points: np.ndarray) -> float:
    """The median heuristic on standardised points (1 / (2 d) when they are all equal)."""
    from learnware_dock.errors import SpecificationError
    from learnware_dock_rkme import median_gamma

    try:
        return float(median_gamma(points))
    except SpecificationError:
        return 1.0 / (2.0 * int(points.shape[1]))


class Matching:
    """Both reduced sets standardised, the objective's kernel, and column assignments
    (``assigned[i]``: the learnware column user column ``i`` is copied to, -1 for none),
    each scored by the squared MMD of the affine map it starts."""

    #: candidate assignments scored per batched kernel evaluation
    CHUNK = 32

    def __init__(self, user: RKMETableSpecification, target: RKMETableSpecification) -> None:
        from learnware_dock_rkme import gaussian_kernel

        self.user_mean, self.user_scale = weighted_moments(user.z, user.beta)
        self.mean, self.scale = weighted_moments(target.z, target.beta)
        self.units = (user.z - self.user_mean) / self.user_scale
        self.target = (target.z - self.mean) / self.scale
        self.beta_u, self.beta_l = user.beta / user.beta.sum(), target.beta / target.beta.sum()
        self.gamma = standardised_gamma(self.target)
        self.signed = np.concatenate([self.beta_u, -2.0 * self.beta_l])
        gram = gaussian_kernel(self.target, self.target, self.gamma)
        self.self_target = float(self.beta_l @ gram @ self.beta_l)
        self.moments = self.target.T @ (self.beta_l[:, None] * self.target)
        self._coefs: dict[tuple[int, ...], tuple[list[int], np.ndarray]] = {}

    def _imputation(self, columns: tuple[int, ...]) -> tuple[list[int], np.ndarray]:
        """The learnware columns outside ``columns`` and their weighted ridge regression
        coefficients on ``columns`` (|columns| x |rest|), cached by column set."""
        key = tuple(sorted(columns))
        if key not in self._coefs:
            rest = sorted(set(range(self.target.shape[1])) - set(key))
            gram = self.moments[np.ix_(key, key)] + RIDGE * np.eye(len(key))
            coef = np.linalg.solve(gram, self.moments[np.ix_(key, rest)]) if key else None
            self._coefs[key] = rest, np.zeros((0, len(rest))) if coef is None else coef
        rest, coef = self._coefs[key]
        order = np.argsort(np.argsort(columns)) if columns else np.zeros(0, dtype=int)
        return rest, coef[order]

    def linear(self, assigned: Sequence[int]) -> np.ndarray:
        """``A`` (d_l x d_u): assigned columns copied, every other learnware column its
        weighted ridge regression on the assigned ones, fitted on the learnware's points."""
        A = np.zeros((self.target.shape[1], len(assigned)))
        users = [i for i, j in enumerate(assigned) if j >= 0]
        columns = tuple(assigned[i] for i in users)
        A[list(columns), users] = 1.0
        rest, coef = self._imputation(columns)
        if rest and users:
            A[np.ix_(rest, users)] = coef.T
        return A

    def mmds(self, candidates: Sequence[Sequence[int]]) -> np.ndarray:
        """The squared MMD of each assignment's affine map, batched."""
        out = []
        target_sq = (self.target**2).sum(1)
        for start in range(0, len(candidates), self.CHUNK):
            maps = np.stack([self.linear(c) for c in candidates[start : start + self.CHUNK]])
            mapped = np.einsum("kd,mld->mkl", self.units, maps)
            both = np.concatenate(
                [mapped, np.broadcast_to(self.target, (len(maps), *self.target.shape))], axis=1
            )
            sq_m = (mapped**2).sum(2)
            sq_b = np.concatenate(
                [sq_m, np.broadcast_to(target_sq, (len(maps), len(target_sq)))], axis=1
            )
            dist = sq_m[:, :, None] + sq_b[:, None, :] - 2.0 * mapped @ both.transpose(0, 2, 1)
            gram = np.exp(-self.gamma * np.maximum(dist, 0.0))
            out.append(np.einsum("k,mkj,j->m", self.beta_u, gram, self.signed))
        return np.maximum(np.concatenate(out) + self.self_target, 0.0)

    def climb(self, assigned: Sequence[int]) -> tuple[float, list[int]]:
        """Best-improvement local search: move a user column to another learnware column
        (swapping with the one holding it) while the MMD falls."""
        current, best = list(assigned), float(self.mmds([assigned])[0])
        for _ in range(3 * len(current)):
            moves = []
            for i in range(len(current)):
                for j in range(self.target.shape[1]):
                    if current[i] != j:
                        moved = list(current)
                        if j in moved:
                            moved[moved.index(j)] = moved[i]
                        moved[i] = j
                        moves.append(moved)
            if not moves:
                break
            values = self.mmds(moves)
            pick = int(np.argmin(values))
            if not values[pick] < best - 1e-12:
                break
            best, current = float(values[pick]), moves[pick]
        return best, current

    def search(self, start: Sequence[int], restarts: int, seed: int) -> list[int]:
        """The lowest-MMD assignment climbed to from ``start`` and ``restarts`` random ones."""
        rng = np.random.default_rng(seed)
        d_user, d_target = len(start), self.target.shape[1]
        starts = [list(start)]
        for _ in range(restarts):
            picked = [*rng.permutation(d_target)[:d_user], *[-1] * (d_user - d_target)]
            starts.append([int(j) for j in rng.permutation(picked)])
        return min((self.climb(s) for s in starts), key=lambda found: found[0])[1]


class FeatureMap:
    """A map from the user's space into one learnware's (see the module docstring), started
    by ``init`` and trained by :meth:`train`. ``matched``: the column assignment it started
    from (``init="match"``); ``losses``: the squared MMD before each Adam step, then the one
    kept (the lowest seen)."""

    def __init__(
        self,
        user: RKMETableSpecification,
        target: RKMETableSpecification,
        *,
        hidden: int = 0,
        init: Init = "match",
        restarts: int = 8,
        seed: int = 0,
    ) -> None:
        if init not in ("match", "mean"):
            raise ReuseError(f"init must be 'match' or 'mean', not {init!r}")
        self.user_dimension, self.dimension = user.dimension, target.dimension
        self._matching = matching = Matching(user, target)
        self.user_mean, self.user_scale = matching.user_mean, matching.user_scale
        self.matched: list[int] | None = None
        self.losses: list[float] = []
        A = np.zeros((target.dimension, user.dimension))
        if init == "match":
            from threadpoolctl import threadpool_limits

            with threadpool_limits(limits=1, user_api="blas"):  # small batched products
                self.matched = matching.search(marginal_start(user, target), restarts, seed)
            A = matching.linear(self.matched)
        f64 = torch.float64
        self.params: dict[str, torch.Tensor] = {
            "A": torch.tensor(A, dtype=f64),
            "c": torch.zeros(target.dimension, dtype=f64),
        }
        if hidden > 0:
            generator = torch.Generator().manual_seed(seed)
            W1 = torch.randn(hidden, user.dimension, generator=generator, dtype=f64)
            self.params |= {
                "W1": W1 * float(np.sqrt(2.0 / user.dimension)),
                "b1": torch.zeros(hidden, dtype=f64),
                "W2": torch.zeros(target.dimension, hidden, dtype=f64),
            }

    def _g(self, units: torch.Tensor) -> torch.Tensor:
        """The map in standardised units."""
        p = self.params
        out = units @ p["A"].T + p["c"]
        if "W1" in p:
            out = out + torch.relu(units @ p["W1"].T + p["b1"]) @ p["W2"].T
        return out

    def _mmd(self) -> torch.Tensor:
        m = self._matching
        beta_u, signed = torch.as_tensor(m.beta_u), torch.as_tensor(m.signed)
        mapped = self._g(torch.as_tensor(m.units))
        both = torch.cat([mapped, torch.as_tensor(m.target)])
        sq = (mapped * mapped).sum(1)[:, None] + (both * both).sum(1)[None, :]
        gram = torch.exp(-m.gamma * (sq - 2.0 * mapped @ both.T).clamp(min=0.0))
        return beta_u @ gram @ signed + m.self_target

    def train(self, epochs: int, learning_rate: float) -> FeatureMap:
        """``epochs`` full-batch Adam steps on the squared MMD; keeps the best parameters."""
        with one_torch_thread():
            for tensor in self.params.values():
                tensor.requires_grad_(True)
            optimiser = torch.optim.Adam(list(self.params.values()), lr=learning_rate)
            best_value, best = np.inf, self.params
            self.losses = []
            for step in range(epochs + 1):
                optimiser.zero_grad()
                loss = self._mmd()
                value = max(loss.item(), 0.0)
                if value < best_value:
                    best_value = value
                    best = {k: v.detach().clone() for k, v in self.params.items()}
                if step == epochs:
                    break
                self.losses.append(value)
                loss.backward()  # type: ignore[no-untyped-call]
                optimiser.step()
        self.params = {k: v.detach() for k, v in best.items()}
        self.losses.append(float(best_value))
        return self

    def mmd(self) -> float:
        """The current squared MMD (the objective, see the module docstring)."""
        with one_torch_thread(), torch.no_grad():
            return max(self._mmd().item(), 0.0)

    def transform(self, X: np.ndarray) -> np.ndarray:
        """``X`` (finite, n x d_u) in the learnware's input space (n x d_l, float64)."""
        units = torch.as_tensor((X - self.user_mean) / self.user_scale, dtype=torch.float64)
        with one_torch_thread(), torch.no_grad():
            out = self._g(units).numpy()
        return np.asarray(self._matching.mean + self._matching.scale * out, dtype=np.float64)

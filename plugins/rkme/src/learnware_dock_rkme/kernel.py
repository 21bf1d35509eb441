"""Gaussian-kernel helpers (numpy, float64) and the simplex QP for RKME weights."""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import numpy as np

from learnware_dock.errors import SpecificationError

F = TypeVar("F", bound=Callable[..., Any])


@functools.cache
def _blas() -> Any:
    from threadpoolctl import ThreadpoolController

    return ThreadpoolController()


def one_blas_thread(func: F) -> F:
    """Run ``func`` with numpy's BLAS on one thread. Its float64 kernels here are small
    and gain nothing from more, while a BLAS pool spinning beside torch's oversubscribes
    the cores: searches ran 1.5x slower on 2 cores."""

    @functools.wraps(func)
    def limited(*args: Any, **kwargs: Any) -> Any:
        with _blas().limit(limits=1, user_api="blas"):
            return func(*args, **kwargs)

    return limited  # type: ignore[return-value]


def gaussian_kernel(a: np.ndarray, b: np.ndarray, gamma: float) -> np.ndarray:
    """``exp(-gamma * ||a_i - b_j||^2)`` for every pair of rows."""
    sq = (a * a).sum(1)[:, None] + (b * b).sum(1)[None, :] - 2.0 * a @ b.T
    return np.asarray(np.exp(-gamma * np.maximum(sq, 0.0)))


def squared_mmd(self_a: Any, cross: Any, self_b: Any) -> Any:
    """``||Phi_a - Phi_b||^2 = <a, a> - 2 <a, b> + <b, b>``, clipped at 0 (rounding);
    elementwise on arrays."""
    return np.maximum(self_a - 2.0 * cross + self_b, 0.0)


def embedding_products(
    left: Sequence[tuple[np.ndarray, np.ndarray]],
    right: Sequence[tuple[np.ndarray, np.ndarray]],
    gamma: float,
) -> np.ndarray:
    """``<Phi_a, Phi_b>`` for every embedding ``a = (z, beta)`` of ``left`` and ``b`` of
    ``right``, from one kernel matrix over all their points (one BLAS call, not one per
    pair)."""
    kernel = gaussian_kernel(
        np.vstack([z for z, _ in left]), np.vstack([z for z, _ in right]), gamma
    )
    return np.asarray(_blocks(left) @ kernel @ _blocks(right).T)


def _blocks(embeddings: Sequence[tuple[np.ndarray, np.ndarray]]) -> np.ndarray:
    """The weights as a (count x total points) block-diagonal matrix."""
    sizes = [len(beta) for _, beta in embeddings]
    out = np.zeros((len(sizes), sum(sizes)))
    start = 0
    for row, (_, beta) in enumerate(embeddings):
        out[row, start : start + len(beta)] = beta
        start += len(beta)
    return out


def herd(
    gram: np.ndarray,
    target: np.ndarray,
    k: int,
    progress: Callable[[int, int], None] | None = None,
) -> list[int]:
    """Kernel herding over a pool: ``k`` distinct pool indices, each maximising the
    target embedding minus the running mean embedding of those already chosen.

    ``gram`` is the pool's kernel matrix and ``target`` the embedding to match, evaluated
    at each pool point.
    """
    chosen: list[int] = []
    running = np.zeros(gram.shape[0])
    for t in range(min(k, gram.shape[0])):
        scores = target - running / (t + 1)
        scores[chosen] = -np.inf
        best = int(np.argmax(scores))
        chosen.append(best)
        running += gram[:, best]
        if progress is not None:
            progress(t + 1, k)
    return chosen


def simplex_weights(gram: np.ndarray, target: np.ndarray) -> np.ndarray:
    """argmin_b  b' G b - 2 b' t  subject to b >= 0, sum(b) = 1 (daqp via qpsolvers)."""
    from qpsolvers import solve_qp

    k = gram.shape[0]
    P = gram + 1e-10 * np.eye(k)
    solution = solve_qp(P, -target, A=np.ones((1, k)), b=np.ones(1), lb=np.zeros(k), solver="daqp")
    if solution is None or not np.isfinite(solution).all():
        raise SpecificationError("the simplex QP for RKME weights did not converge")
    if solution.min() < -1e-6 or abs(solution.sum() - 1.0) > 1e-6:
        raise SpecificationError(
            f"the simplex QP broke its constraints (min {solution.min():.2e}, "
            f"sum {solution.sum():.8f})"
        )
    weights = np.clip(solution, 0.0, None)
    return np.asarray(weights / weights.sum())

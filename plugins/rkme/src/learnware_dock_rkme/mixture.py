"""Mixtures of learnwares: simplex weights w minimising ||Phi_user - sum_j w_j Phi_j||^2.

With G_jk = <Phi_j, Phi_k> and h_j = <Phi_user, Phi_j>, the residual is
``self_user - 2 w.h + w'Gw``; the weights come from the simplex QP of
:func:`learnware_dock_rkme.kernel.simplex_weights` (daqp, constraints checked).
"""

from __future__ import annotations

from collections.abc import Sequence

import attrs
import numpy as np

from learnware_dock_rkme.kernel import embedding_products, simplex_weights, squared_mmd


@attrs.frozen
class Mixture:
    members: tuple[int, ...]  # indices into the candidate list
    weights: tuple[float, ...]
    residual: float  # squared MMD between the user's RKME and the mixture
    norm: float  # <Phi_mix, Phi_mix>


def inner_products(
    vectors: Sequence[tuple[np.ndarray, np.ndarray]],
    user: tuple[np.ndarray, np.ndarray],
    gamma: float,
) -> tuple[np.ndarray, np.ndarray]:
    """(G, h) in float64 for candidate embeddings (z, beta) and the user's."""
    gram = embedding_products(vectors, vectors, gamma)
    gram = (gram + gram.T) / 2.0  # exactly symmetric for the QP
    return gram, embedding_products(vectors, [user], gamma)[:, 0]


def distinct(gram: np.ndarray, tolerance: float = 1e-9) -> list[int]:
    """The candidates whose embedding differs from every earlier one's. Identical ones (a
    package published twice) add nothing to a mixture and make the QP singular."""
    diag = np.diag(gram)
    keep: list[int] = []
    for j, own in enumerate(diag):
        gaps = diag[keep] + own - 2.0 * gram[keep, j]
        if not (gaps <= tolerance * np.maximum(diag[keep], own)).any():
            keep.append(j)
    return keep


def _solve(members: list[int], gram: np.ndarray, h: np.ndarray, self_user: float) -> Mixture:
    sub = np.ix_(members, members)
    weights = simplex_weights(gram[sub], h[members]) if len(members) > 1 else np.ones(1)
    norm = float(weights @ gram[sub] @ weights)
    residual = float(squared_mmd(self_user, float(weights @ h[members]), norm))
    return Mixture(tuple(members), tuple(float(w) for w in weights), residual, norm)


def greedy(
    gram: np.ndarray, h: np.ndarray, self_user: float, max_size: int, min_improvement: float
) -> Mixture:
    """The anchor's greedy mixture: start from the best single, add the candidate that
    most reduces the residual, stop when the relative improvement is below
    ``min_improvement`` or ``max_size`` learnwares are in."""
    candidates = distinct(gram)
    singles = [_solve([j], gram, h, self_user) for j in candidates]
    best = min(singles, key=lambda m: m.residual)
    while len(best.members) < min(max_size, len(candidates)):
        trials = [
            _solve([*best.members, j], gram, h, self_user)
            for j in candidates
            if j not in best.members
        ]
        trial = min(trials, key=lambda m: m.residual)
        if best.residual <= 0 or (best.residual - trial.residual) / best.residual < min_improvement:
            break
        best = trial
    return best


def one_shot(
    gram: np.ndarray, h: np.ndarray, self_user: float, max_size: int, min_weight: float = 0.01
) -> Mixture:
    """Weights over all candidates at once; members below ``min_weight`` are dropped and
    the weights re-solved; at most ``max_size`` largest are kept."""
    full = _solve(distinct(gram), gram, h, self_user)
    ranked = sorted(zip(full.weights, full.members, strict=True), reverse=True)
    keep = [j for w, j in ranked[:max_size] if w >= min_weight] or [ranked[0][1]]
    return _solve(sorted(keep), gram, h, self_user)

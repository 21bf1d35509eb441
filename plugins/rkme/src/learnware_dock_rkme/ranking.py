"""The batched ranking engine of RKME search, over one :class:`Group` of stacked RKMEs.

:func:`search_group` scans a group (exactly pruned by pivot bounds when it pays), re-ranks
the best rows in float64 and fits the mixture; the ``rkme`` searcher runs it on the
market's RKME groups and other plugins (the ``hetero`` searcher) on groups of their own
embeddings. See :mod:`learnware_dock_rkme.searcher` for precision, scores and defaults.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

import attrs
import numpy as np

from learnware_dock.domain import MixtureMatch, SearchResult, SingleMatch
from learnware_dock_rkme import mixture as mix
from learnware_dock_rkme.index import Group
from learnware_dock_rkme.kernel import embedding_products, squared_mmd
from learnware_dock_rkme.vectors import Vector

if TYPE_CHECKING:
    from learnware_dock.market import Market

MixtureMethod = Literal["greedy", "oneshot", "none"]
PRUNE_MIN = 2000  # below this many candidates a full scan is as fast
#: share of candidate rows above which a pruned search falls back to one plain scan
FUTILE = 0.5
#: slack on the pivot bounds for float32 error in the scanned distances (sqrt scale)
BOUND_SLACK = 3e-3


@attrs.frozen(eq=False)
class GroupRanking:
    """What :func:`search_group` found: ``singles`` (row, float64 squared MMD) best first,
    and ``mixtures`` (the mixture, the candidate rows its member indices refer to)."""

    group: Group
    user: Vector
    singles: list[tuple[int, float]]
    mixtures: list[tuple[mix.Mixture, list[int]]]
    total: int

    def ids(self) -> list[str]:
        """The learnware ids of every single and mixture member, singles first."""
        wanted = [self.group.ids[row] for row, _ in self.singles]
        for found, rows in self.mixtures:
            wanted += [self.group.ids[rows[j]] for j in found.members]
        return list(dict.fromkeys(wanted))

    def matches(
        self, market: Market, space: str = ""
    ) -> tuple[tuple[SingleMatch, ...], tuple[MixtureMatch, ...]]:
        """Singles and mixtures with the learnwares read from ``market`` and absolute
        scores; ``space`` names the space the distances were measured in."""
        group, user = self.group, self.user
        learnwares = {lw.id: lw for lw in market.organizer.get_many(self.ids())}
        singles = tuple(
            SingleMatch(
                learnwares[group.ids[row]],
                score=score(dist, user.self_term, float(group.self_terms[row])),
                distance=dist,
                space=space,
            )
            for row, dist in self.singles
        )
        mixtures = tuple(
            MixtureMatch(
                tuple(learnwares[group.ids[rows[j]]] for j in found.members),
                found.weights,
                score=score(found.residual, user.self_term, found.norm),
                distance=found.residual,
            )
            for found, rows in self.mixtures
        )
        return singles, mixtures

    def result(self, market: Market, searcher: str) -> SearchResult:
        singles, mixtures = self.matches(market)
        return SearchResult(singles, mixtures, searcher=searcher, total=self.total)


def search_group(
    group: Group,
    user: Vector,
    selected: np.ndarray,
    *,
    limit: int = 10,
    mixture: MixtureMethod = "oneshot",
    max_search_num: int = 10,
    mixture_candidates: int = 20,
    min_improvement: float = 0.05,
    prune: bool = True,
) -> GroupRanking:
    """Rank the ``selected`` rows of ``group`` against ``user`` (the options are
    :meth:`RKMESearcher.search`'s). ``selected`` must not be empty."""
    keep = max(limit, mixture_candidates)
    if (
        prune
        and group.pivots
        and len(selected) >= PRUNE_MIN
        and not np.isnan(group.pivot_dist[selected]).any()
    ):
        rows_scanned, approx = pruned_scan(group, user, selected, keep)
    else:
        rows_scanned, approx = selected, full_scan(group, user, selected)
    exact = rerank(user, group, rows_scanned, approx, keep)
    mixtures: list[tuple[mix.Mixture, list[int]]] = []
    if mixture != "none":
        rows_m = [row for row, _ in exact[:mixture_candidates]]
        gram, h = mix.inner_products(
            [group.vector(r) for r in rows_m],
            (user.z.astype(np.float64), user.beta.astype(np.float64)),
            group.gamma,
        )
        if mixture == "greedy":
            found = mix.greedy(gram, h, user.self_term, max_search_num, min_improvement)
        else:
            found = mix.one_shot(gram, h, user.self_term, max_search_num)
        mixtures.append((found, rows_m))
    return GroupRanking(group, user, exact[:limit], mixtures, len(selected))


def pruned_scan(
    group: Group, user: Vector, selected: np.ndarray, keep: int
) -> tuple[np.ndarray, np.ndarray]:
    """Exact top-``keep`` by best-first search on pivot bounds.

    sqrt(MMD^2) is a metric, so for every pivot p, |d(u, p) - d(i, p)| <= d(u, i) <=
    d(u, p) + d(i, p). The ``keep``-th smallest upper bound caps the ``keep``-th best
    distance, so rows whose lower bound exceeds it are never scanned; when that leaves
    more than ``FUTILE`` of the rows, one plain scan of all is cheaper (random markets).
    Otherwise rows are scanned in order of their lower bound, in growing batches, until
    the next bound exceeds the current ``keep``-th best distance. Returns the scanned
    rows and their squared MMDs.
    """
    uz, ub = user.z.astype(np.float64), user.beta.astype(np.float64)
    pivots = [(z, b) for z, b, _ in group.pivots]
    cross = embedding_products([(uz, ub)], pivots, group.gamma)[0]
    selfs = np.array([s for _, _, s in group.pivots])
    to_pivots = np.sqrt(squared_mmd(user.self_term, cross, selfs))
    dist = group.pivot_dist[selected]
    bound = np.abs(dist - to_pivots).max(axis=1) - BOUND_SLACK
    upper = (dist + to_pivots).min(axis=1) + BOUND_SLACK
    cap = np.partition(upper, min(keep, len(upper)) - 1)[min(keep, len(upper)) - 1]
    candidates = np.flatnonzero(bound <= cap)
    if len(candidates) > FUTILE * len(selected):
        return selected, full_scan(group, user, selected)
    order = candidates[np.argsort(bound[candidates], kind="stable")]
    scanned_rows: list[np.ndarray] = []
    scanned: list[np.ndarray] = []
    best = np.full(0, np.inf)
    start, batch = 0, 256
    while start < len(order):
        if len(best) >= keep and bound[order[start]] > np.sqrt(best[keep - 1]):
            break
        rows = selected[order[start : start + batch]]
        distances = group.distances(user.z, user.beta, user.self_term, rows)
        scanned_rows.append(rows)
        scanned.append(distances)
        best = np.sort(np.concatenate([best, distances]))[:keep]
        start, batch = start + batch, batch * 2
    return np.concatenate(scanned_rows), np.concatenate(scanned)


def score(distance: float, self_a: float, self_b: float) -> float:
    """The absolute score of the module docstring."""
    total = self_a + self_b
    return float(min(1.0, max(0.0, 1.0 - distance / total))) if total > 0 else 0.0


def full_scan(group: Group, user: Vector, selected: np.ndarray) -> np.ndarray:
    """Approximate squared MMDs of the selected rows (scan all rows when most are in)."""
    if len(selected) < len(group) // 4:  # a selective filter: scan only those rows
        return group.distances(user.z, user.beta, user.self_term, selected)
    return np.asarray(group.distances(user.z, user.beta, user.self_term)[selected])


def rerank(
    user: Vector, group: Group, selected: np.ndarray, approx: np.ndarray, keep: int
) -> list[tuple[int, float]]:
    """The best ``keep`` rows by float64 squared MMD (from a float32 shortlist)."""
    shortlist = min(len(selected), 2 * keep + 8)
    best = np.argpartition(approx, shortlist - 1)[:shortlist]
    uz, ub = user.z.astype(np.float64), user.beta.astype(np.float64)
    rows = [int(selected[position]) for position in best]
    cross = embedding_products([(uz, ub)], [group.vector(r) for r in rows], group.gamma)[0]
    exact = [
        (row, float(squared_mmd(user.self_term, c, group.self_terms[row])))
        for row, c in zip(rows, cross, strict=True)
    ]
    exact.sort(key=lambda pair: (pair[1], group.ids[pair[0]]))
    return exact[:keep]

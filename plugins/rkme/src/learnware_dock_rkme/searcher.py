"""The ``rkme`` searcher: semantic filters first, then exact squared-MMD ranking.

Distances are squared MMDs between the user's RKME and each learnware's, over the
learnwares that pass the semantic filters (:meth:`Market.semantic_matches`, whichever
searchers are installed) and share the user's feature dimension and gamma. A batched
float32 scan (the compute backend) ranks everyone; the best few are re-ranked in float64.

Precision: the re-rank is float64 arithmetic on the index's copy of each RKME, whose Z and
beta are kept as float32 (the arrays the scan reads), so a reported distance agrees with
``user_spec.dist(stored_spec)`` (float64 on the spec file's values) to about 1e-7
relative (5e-9 measured on digits RKMEs), not to the last float64 bit. Call ``dist`` on
``market.stat_spec(learnware, name)`` when the exact value matters.

Score (absolute, in [0, 1], comparable across queries and markets)::

    score = 1 - MMD^2 / (|Phi_u|^2 + |Phi_i|^2) = 2 <Phi_u, Phi_i> / (|Phi_u|^2 + |Phi_i|^2)

It is 1 for identical embeddings and falls to 0 as they stop overlapping (Gaussian
kernels are positive, so it never goes below 0). Mixtures are scored the same way with
the mixture's embedding.

Mixture defaults: the mixture is for reuse, so its defaults are the ones that reuse best,
not the anchor's (greedy, at most 5 of the 10 best, stop below 5% improvement). Larger
mixtures reuse better on both protocols, and one simplex QP over the 20 best
(``mixture="oneshot"``, at most 10 members, weights under 0.01 dropped) gives them in
one solve. Averaging (unweighted softmax, which does not depend on the router) went from
0.820 to 0.874 mean accuracy on digits (``benchmarks/protocols/table_digits.py``, 20
users) and from 0.756 to 0.816 on MNIST (``image_mnist.py``, 100 users);
``benchmarks/protocols/mixture_sweep.py`` compares sizes and methods side by side. Pass
``mixture="greedy", max_search_num=5, mixture_candidates=10`` for the anchor's mixture.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

import numpy as np

from learnware_dock.domain import MixtureMatch, SearchResult, SingleMatch, UserInfo
from learnware_dock.errors import SearchError
from learnware_dock.interfaces import Backend, Searcher
from learnware_dock_rkme import mixture as mix
from learnware_dock_rkme.backend import best_backend
from learnware_dock_rkme.index import TABLE_SPEC_NAME, Group, RKMEIndex
from learnware_dock_rkme.kernel import embedding_products, one_blas_thread, squared_mmd
from learnware_dock_rkme.limits import SpecLimits
from learnware_dock_rkme.table import RKMETableSpecification
from learnware_dock_rkme.vectors import Vector

if TYPE_CHECKING:
    from learnware_dock.market import Market

MixtureMethod = Literal["greedy", "oneshot", "none"]
PRUNE_MIN = 2000  # below this many candidates a full scan is as fast
#: share of candidate rows above which a pruned search falls back to one plain scan
FUTILE = 0.5
#: slack on the pivot bounds for float32 error in the scanned distances (sqrt scale)
BOUND_SLACK = 3e-3


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
        return selected, RKMESearcher._full_scan(group, user, selected)
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


class RKMESearcher(Searcher):
    """Statistical search over RKME table specifications (see the module docstring)."""

    name = "rkme"
    priority = 10

    def __init__(self, market: Market) -> None:
        super().__init__(market)
        self._index: RKMEIndex | None = None
        #: queries over these are refused; stored specs over them are left out
        self.limits = SpecLimits.from_env()

    @property
    def index(self) -> RKMEIndex:
        if self._index is None:
            self._index = RKMEIndex(self.market, self.backend(), self.limits)
        return self._index

    def supports(self, user_info: UserInfo) -> bool:
        return TABLE_SPEC_NAME in user_info.stat_specs

    def backend(self) -> Backend:
        """The available compute backend with the highest priority."""
        return best_backend(self.market.components)

    @one_blas_thread
    def search(
        self,
        user_info: UserInfo,
        *,
        limit: int = 10,
        mixture: MixtureMethod = "oneshot",
        max_search_num: int = 10,
        mixture_candidates: int = 20,
        min_improvement: float = 0.05,
        prune: bool = True,
    ) -> SearchResult:
        """RKME search.

        limit: singles to return, best (lowest squared MMD) first.
        mixture: "oneshot" (simplex weights over all mixture candidates at once, the
            default), "greedy" (the anchor's method) or "none".
        max_search_num: the most learnwares in the mixture. The defaults reuse best (see
            "Mixture defaults" in the module docstring).
        mixture_candidates: how many of the best singles the mixture chooses from.
        min_improvement: greedy stops when adding a learnware improves the residual by less
            than this fraction.
        prune: skip learnwares that provably cannot reach the best ones, using
            triangle-inequality bounds from the group's pivot RKMEs, whose distances are
            computed at submission (see :mod:`learnware_dock_rkme.pivots`). Exact: the
            ranking is unchanged. Used when at least PRUNE_MIN learnwares pass the
            filters; on markets whose RKMEs are all at similar distances the bounds skip
            little and a plain scan is as fast (see benchmarks/bench_search.py).
        Raises :class:`SpecificationError` for a query over the :class:`SpecLimits`.
        """
        spec = user_info.stat_specs.get(TABLE_SPEC_NAME)
        if not isinstance(spec, RKMETableSpecification):
            raise SearchError(f"the rkme searcher needs a {TABLE_SPEC_NAME} in the user info")
        if mixture not in ("greedy", "oneshot", "none"):
            raise SearchError(f"mixture must be greedy, oneshot or none, not {mixture!r}")
        self.limits.check_shape(len(spec.z), spec.dimension, f"the query's {TABLE_SPEC_NAME}")
        allowed = set(self.market.semantic_matches(user_info).ids)
        self.index.sync()
        group = self.index.group(spec.dimension, spec.gamma)
        rows = (
            np.array([i in allowed for i in group.ids], dtype=bool) if group else np.zeros(0, bool)
        )
        if group is None or not rows.any():
            return SearchResult(searcher=self.name, total=0)
        user = Vector.of(spec)
        selected = np.flatnonzero(rows)
        keep = max(limit, mixture_candidates)
        if (
            prune
            and group.pivots
            and len(selected) >= PRUNE_MIN
            and not np.isnan(group.pivot_dist[selected]).any()
        ):
            rows_scanned, approx = pruned_scan(group, user, selected, keep)
        else:
            rows_scanned, approx = selected, self._full_scan(group, user, selected)
        exact = self._rerank(user, group, rows_scanned, approx, keep)
        ids = [group.ids[row] for row, _ in exact]
        wanted = ids[:limit]
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
            wanted += [group.ids[rows_m[j]] for j in found.members]
        learnwares = {
            lw.id: lw for lw in self.market.organizer.get_many(list(dict.fromkeys(wanted)))
        }
        singles = tuple(
            SingleMatch(
                learnwares[group.ids[row]],
                score=score(dist, user.self_term, float(group.self_terms[row])),
                distance=dist,
            )
            for row, dist in exact[:limit]
        )
        matches = tuple(
            MixtureMatch(
                tuple(learnwares[group.ids[rows_m[j]]] for j in found.members),
                found.weights,
                score=score(found.residual, user.self_term, found.norm),
                distance=found.residual,
            )
            for found, rows_m in mixtures
        )
        return SearchResult(singles, matches, searcher=self.name, total=len(selected))

    @staticmethod
    def _full_scan(group: Group, user: Vector, selected: np.ndarray) -> np.ndarray:
        """Approximate squared MMDs of the selected rows (scan all rows when most are in)."""
        if len(selected) < len(group) // 4:  # a selective filter: scan only those rows
            return group.distances(user.z, user.beta, user.self_term, selected)
        return np.asarray(group.distances(user.z, user.beta, user.self_term)[selected])

    @staticmethod
    def _rerank(
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

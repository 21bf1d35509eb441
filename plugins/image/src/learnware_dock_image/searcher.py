"""The ``rkme-image`` searcher: semantic filters, a sketch scan, then exact NNGP re-ranking.

1. Candidates: the learnwares passing the semantic filters
   (:meth:`Market.semantic_matches`) whose image RKME uses the query's kernel (channels
   and net_depth). Image and table specs never mix: this searcher reads only
   ``RKMEImageSpecification`` s, from their own index.
2. Scan: every candidate's squared MMD estimated from the sketches
   (:mod:`learnware_dock_image.index`), one matrix-vector product.
3. Re-rank: the ``shortlist`` best (default ``max(2 * limit, 10)``) get the exact NNGP
   squared MMD in float64 (self terms cached at submission). The exact kernel costs about
   30,000 image pairs a second on two CPU cores, K^2 = 2,500 pairs per candidate at
   K = 50, so the shortlist is what bounds a search's time; ``exact=True`` re-ranks all.
4. Mixture: simplex weights (the rkme plugin's QP) on the exact Gram matrix of the
   ``mixture_candidates`` best (pairs cached in the sidecar once computed).

Scores are the rkme searcher's absolute ones: ``1 - MMD^2 / (|Phi_u|^2 + |Phi_i|^2)``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

import numpy as np

from learnware_dock.domain import MixtureMatch, SearchResult, SingleMatch, UserInfo
from learnware_dock.errors import SearchError
from learnware_dock.interfaces import Searcher
from learnware_dock_image.index import Group, ImageIndex, SketchStore
from learnware_dock_image.spec import RKMEImageSpecification
from learnware_dock_rkme import SpecLimits

if TYPE_CHECKING:
    from learnware_dock.domain import Learnware
    from learnware_dock.market import Market

NAME = RKMEImageSpecification.name


class ImageSearcher(Searcher):
    """See the module docstring."""

    name = "rkme-image"
    priority = 10

    def __init__(self, market: Market) -> None:
        super().__init__(market)
        self.limits = SpecLimits.from_env()
        self._index: ImageIndex | None = None

    @property
    def index(self) -> ImageIndex:
        if self._index is None:
            self._index = ImageIndex(self.market, self.limits)
        return self._index

    def supports(self, user_info: UserInfo) -> bool:
        return isinstance(user_info.stat_specs.get(NAME), RKMEImageSpecification)

    def search(
        self,
        user_info: UserInfo,
        *,
        limit: int = 10,
        shortlist: int | None = None,
        exact: bool = False,
        mixture: Literal["oneshot", "greedy", "none"] = "oneshot",
        max_search_num: int = 5,
        mixture_candidates: int = 8,
        min_improvement: float = 0.05,
    ) -> SearchResult:
        """Image RKME search.

        limit: singles to return, best (lowest squared MMD) first.
        shortlist: how many of the best by sketch are re-ranked exactly (default
            ``max(2 * limit, 10)``); exact: re-rank every candidate.
        mixture: "oneshot" (one simplex QP over the candidates), "greedy" or "none";
        max_search_num: the most learnwares in it; mixture_candidates: how many of the
            best (exact) singles it chooses from; min_improvement: greedy's stop.
        """
        spec = user_info.stat_specs.get(NAME)
        if not isinstance(spec, RKMEImageSpecification):
            raise SearchError(f"the {self.name} searcher needs a {NAME} in the user info")
        if mixture not in ("oneshot", "greedy", "none"):
            raise SearchError(f"mixture must be oneshot, greedy or none, not {mixture!r}")
        if limit < 1:
            raise SearchError(f"limit must be at least 1, not {limit}")
        self.limits.check_shape(len(spec.beta), spec.channels * 1024, f"the query's {NAME}")
        allowed = set(self.market.semantic_matches(user_info).ids)
        self.index.sync()
        group = self.index.groups.get((spec.channels, spec.depth))
        rows = np.flatnonzero([i in allowed for i in group.ids]) if group else np.zeros(0, int)
        if group is None or not len(rows):
            return SearchResult(searcher=self.name, total=0)
        from learnware_dock_image.index import SKETCH

        approx = group.approx(SKETCH(spec), rows)
        count = len(rows) if exact else min(len(rows), shortlist or max(2 * limit, 10))
        chosen = rows[np.argsort(approx, kind="stable")[:count]]
        store = self.index.store
        candidates = [store.spec(group.shas[r]) for r in chosen]
        user_self = spec.inner(spec)
        cross = cross_terms(spec, candidates)
        dists = np.maximum(user_self - 2.0 * cross + group.self_terms[chosen], 0.0)
        order = sorted(range(count), key=lambda j: (dists[j], group.ids[chosen[j]]))
        wanted = [group.ids[chosen[j]] for j in order]
        learnwares = {lw.id: lw for lw in self.market.organizer.get_many(wanted)}
        singles = tuple(
            SingleMatch(
                learnwares[group.ids[chosen[j]]],
                score=_score(float(dists[j]), user_self, float(group.self_terms[chosen[j]])),
                distance=float(dists[j]),
            )
            for j in order[:limit]
        )
        mixtures: tuple[MixtureMatch, ...] = ()
        if mixture != "none":
            members = order[:mixture_candidates]
            mixtures = (
                self._mixture(
                    group,
                    store,
                    [chosen[j] for j in members],
                    cross[members],
                    user_self,
                    [learnwares[group.ids[chosen[j]]] for j in members],
                    mixture,
                    max_search_num,
                    min_improvement,
                ),
            )
        note = (
            f"{count} of {len(rows)} learnwares compared exactly (NNGP kernel), "
            "chosen by random-feature sketches"
        )
        return SearchResult(singles, mixtures, searcher=self.name, total=len(rows), notes=(note,))

    def _mixture(
        self,
        group: Group,
        store: SketchStore,
        rows: list[int],
        h: np.ndarray,
        user_self: float,
        learnwares: list[Learnware],
        method: str,
        max_size: int,
        min_improvement: float,
    ) -> MixtureMatch:
        from learnware_dock_rkme import greedy, one_shot

        gram = pair_gram(group, store, rows)
        if method == "greedy":
            found = greedy(gram, h, user_self, max_size, min_improvement)
        else:
            found = one_shot(gram, h, user_self, max_size)
        return MixtureMatch(
            tuple(learnwares[j] for j in found.members),
            found.weights,
            score=_score(found.residual, user_self, found.norm),
            distance=found.residual,
        )


def _score(distance: float, self_a: float, self_b: float) -> float:
    from learnware_dock_rkme import score

    return float(score(distance, self_a, self_b))


def cross_terms(
    spec: RKMEImageSpecification, candidates: list[RKMEImageSpecification]
) -> np.ndarray:
    """<Phi_user, Phi_i> for every candidate, from one exact kernel matrix."""
    from learnware_dock_image.nngp import embedding_products

    z, beta = spec.tensors()
    products = embedding_products([(z, beta)], [c.tensors() for c in candidates], depth=spec.depth)
    return np.asarray(products[0].numpy())


def pair_gram(group: Group, store: SketchStore, rows: list[int]) -> np.ndarray:
    """The exact Gram matrix <Phi_i, Phi_j> of ``rows`` (self terms on the diagonal;
    other entries from the sidecar's pair cache, or computed and cached)."""
    from learnware_dock_image.nngp import embedding_inner

    shas = [group.shas[r] for r in rows]
    keys = {
        (i, j): (min(shas[i], shas[j]), max(shas[i], shas[j]))
        for i in range(len(rows))
        for j in range(i)
    }
    known = store.pairs(set(keys.values()))
    gram = np.diag(group.self_terms[rows]).astype(np.float64)
    computed: dict[tuple[str, str], float] = {}
    specs: dict[int, RKMEImageSpecification] = {}
    for (i, j), key in keys.items():
        value = known.get(key, computed.get(key))
        if value is None:
            for n in (i, j):
                specs.setdefault(n, store.spec(shas[n]))
            (za, ba), (zb, bb) = specs[i].tensors(), specs[j].tensors()
            value = embedding_inner(za, ba, zb, bb, depth=specs[i].depth)
            computed[key] = value
        gram[i, j] = gram[j, i] = value
    store.put_pairs(computed)
    return gram

"""The ``acme-nearest`` searcher: the semantic pre-filter, ranked by distance of means."""

from __future__ import annotations

from learnware_dock import MixtureMatch, SearchError, SearchResult, SingleMatch, UserInfo
from learnware_dock.interfaces import Searcher
from learnware_dock_acme.spec import AcmeMeanSpecification


class NearestSearcher(Searcher):
    """Ranks the learnwares passing the user's semantic filters (``market.semantic_matches``)
    by the distance of their ``AcmeMeanSpecification`` to the user's (score ``1 / (1 + d)``);
    the mixture is the nearest ``max_search_num``, weighted by score. Chosen automatically
    for queries with that spec (priority above the built-in searchers')."""

    name = "acme-nearest"
    priority = 30

    def supports(self, user_info: UserInfo) -> bool:
        return AcmeMeanSpecification.name in user_info.stat_specs

    def search(
        self, user_info: UserInfo, *, limit: int = 10, max_search_num: int = 3
    ) -> SearchResult:
        query = user_info.stat_specs.get(AcmeMeanSpecification.name)
        if not isinstance(query, AcmeMeanSpecification):
            raise SearchError(f"{self.name} searches with an {AcmeMeanSpecification.name}")
        ranked = []
        for learnware_id in self.market.semantic_matches(user_info).ids:
            learnware = self.market.get(learnware_id)
            if learnware.stat_spec_ref(AcmeMeanSpecification.name) is None:
                continue
            spec = self.market.stat_spec(learnware, AcmeMeanSpecification.name)
            if isinstance(spec, AcmeMeanSpecification) and spec.dimension == query.dimension:
                ranked.append((query.dist(spec), learnware))
        ranked.sort(key=lambda pair: (pair[0], pair[1].id))
        singles = tuple(SingleMatch(lw, 1.0 / (1.0 + d), d) for d, lw in ranked[:limit])
        members = singles[:max_search_num]
        mixtures: tuple[MixtureMatch, ...] = ()
        if members:
            total = sum(m.score for m in members)
            mixtures = (
                MixtureMatch(
                    tuple(m.learnware for m in members),
                    tuple(m.score / total for m in members),
                    score=total / len(members),
                ),
            )
        return SearchResult(singles, mixtures, searcher=self.name, total=len(ranked))

"""Semantic search: tag/class filters with the `learnware` package's rules, plus free text.

Which learnwares match is :mod:`learnware_dock.prefilter`'s job (the same
:meth:`Market.semantic_matches` that every searcher can call); this searcher pages and
scores them.

Scores are absolute, in [0, 1]: with text, the share of the query's words found in the
learnware's text; for corrected (fuzzy) matches, the same share with each word weighted by
its correction's similarity / 100; without text, 1.0 (every filter is satisfied).
``distance`` is the raw rank: bm25 for text matches (lower is better), ``1 - score`` for
fuzzy ones, none for filters alone.
"""

from __future__ import annotations

from collections.abc import Sequence

from learnware_dock.domain import Learnware, SearchResult, SingleMatch, UserInfo
from learnware_dock.interfaces import Searcher
from learnware_dock.prefilter import FUZZY_CUTOFF, query_text, semantic_filters, text_shares
from learnware_dock.prefilter import Hit as Candidate
from learnware_dock.semantic import words

__all__ = ["Candidate", "SemanticSearcher", "query_text", "semantic_filters"]


class SemanticSearcher(Searcher):
    """Filters and free text over the organizer's index."""

    name = "semantic"
    priority = 0

    def candidates(
        self, user_info: UserInfo, *, fuzzy_cutoff: float = FUZZY_CUTOFF
    ) -> tuple[list[Candidate], str]:
        """Every matching ``(id, raw rank)``, best first, and how they matched.

        Kept for older callers; searchers should call :meth:`Market.semantic_matches`.
        """
        found = self.market.semantic_matches(user_info, fuzzy_cutoff=fuzzy_cutoff)
        return list(found.hits), found.how

    def scores(self, user_info: UserInfo, page: Sequence[Candidate], how: str) -> list[float]:
        """Absolute scores of some candidates (see the module docstring)."""
        if how == "filter":
            return [1.0] * len(page)
        if how == "fuzzy":
            return [1.0 - (rank or 0.0) for _, rank in page]
        query = words(query_text(user_info.semantic_spec))
        ids = [i for i, _ in page]
        shares = text_shares(self.market.organizer, dict.fromkeys(query, 1.0), len(query), {}, ids)
        return [shares[i] for i in ids]

    def search(
        self,
        user_info: UserInfo,
        *,
        limit: int = 50,
        offset: int = 0,
        fuzzy_cutoff: float = FUZZY_CUTOFF,
    ) -> SearchResult:
        """Semantic search.

        limit, offset: the page of results to return (``total`` counts every match).
        fuzzy_cutoff: minimum rapidfuzz ratio (0-100) between a query word and the indexed
            word it is corrected to, when FTS finds nothing.
        """
        found = self.market.semantic_matches(user_info, fuzzy_cutoff=fuzzy_cutoff)
        page = found.hits[offset : offset + limit]
        learnwares: list[Learnware] = self.market.organizer.get_many([i for i, _ in page])
        scores = self.scores(user_info, page, found.how)
        singles = tuple(
            SingleMatch(lw, score=score, distance=rank)
            for lw, (_, rank), score in zip(learnwares, page, scores, strict=True)
        )
        return SearchResult(singles, searcher=self.name, total=len(found))

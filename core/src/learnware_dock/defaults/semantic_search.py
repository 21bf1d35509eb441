"""Semantic search: tag/class filters with the `learnware` package's rules, plus free text.

Rules: for each Class or Tag key the user gives values for, a learnware must carry at
least one of them (several Class values = OR; Tag = non-empty intersection); a key the
user leaves empty matches everything. Free text (the user's Name and Description) is
searched with SQLite FTS5 (bm25) over name, description and feature descriptions; when
FTS finds nothing, rapidfuzz matches the same texts approximately.

When FTS finds nothing, each query word is corrected to the closest word of the index's
vocabulary (rapidfuzz ratio >= ``fuzzy_cutoff``) and FTS runs again with the corrections.

Scores are absolute, in [0, 1]: with text, the share of the query's words found in the
learnware's text; for corrected (fuzzy) matches, the same share with each word weighted by
its correction's similarity / 100; without text, 1.0 (every filter is satisfied).
``distance`` is the raw rank: bm25 for text matches (lower is better), ``1 - score`` for
fuzzy ones, none for filters alone.
"""

from __future__ import annotations

from collections.abc import Sequence

from rapidfuzz import fuzz, process

from learnware_dock.domain import Learnware, SearchResult, SingleMatch, UserInfo
from learnware_dock.interfaces import Searcher
from learnware_dock.semantic import FIELDS, SemanticSpec, words


def semantic_filters(spec: SemanticSpec) -> dict[str, tuple[str, ...]]:
    """The Class/Tag filters of a user's spec (keys with no values are wildcards)."""
    return {
        key: spec.values_of(key)
        for key, (_, kind) in FIELDS.items()
        if kind != "String" and spec.values_of(key)
    }


def query_text(spec: SemanticSpec) -> str:
    return " ".join(part for part in (spec.name, spec.description) if part and part.strip())


Candidate = tuple[str, float | None]


class SemanticSearcher(Searcher):
    """Filters and free text over the organizer's index."""

    name = "semantic"
    priority = 0

    def candidates(
        self, user_info: UserInfo, *, fuzzy_cutoff: float = 65.0
    ) -> tuple[list[Candidate], str]:
        """Every matching ``(id, raw rank)``, best first, and how they matched.

        How: ``"filter"`` (no text), ``"text"`` (FTS5, rank = bm25) or ``"fuzzy"``
        (rapidfuzz fallback, rank = 1 - similarity). Statistical searchers call this to
        apply the semantic filters first; it is cheap (no scoring, no learnware objects).
        """
        spec = user_info.semantic_spec
        organizer = self.market.organizer
        filters = semantic_filters(spec)
        text = query_text(spec)
        ids: Sequence[str] | None = user_info.learnware_ids
        if not text:
            return organizer.find(filters, None, ids), "filter"
        hits = organizer.find(filters, text, ids)
        if hits:
            return hits, "text"
        return self._corrected(text, filters, ids, fuzzy_cutoff), "fuzzy"

    def _corrected(
        self,
        text: str,
        filters: dict[str, tuple[str, ...]],
        ids: Sequence[str] | None,
        cutoff: float,
    ) -> list[Candidate]:
        """FTS with each query word replaced by its closest indexed word, best score first."""
        organizer = self.market.organizer
        vocabulary = organizer.terms()
        query = words(text)
        weights: dict[str, float] = {}
        for word in query:
            match = process.extractOne(word, vocabulary, scorer=fuzz.ratio, score_cutoff=cutoff)
            if match is not None:
                weights[match[0]] = max(weights.get(match[0], 0.0), match[1] / 100.0)
        if not weights:
            return []
        ranked = organizer.find(filters, " ".join(weights), ids)
        score = self._shares(weights, len(query), filters, [i for i, _ in ranked])
        ranked.sort(key=lambda hit: (-score[hit[0]], hit[1] or 0.0))
        return [(key, 1.0 - score[key]) for key, _ in ranked]

    def _shares(
        self,
        weights: dict[str, float],
        words: int,
        filters: dict[str, tuple[str, ...]],
        ids: Sequence[str],
    ) -> dict[str, float]:
        """Per id: the sum of the weights of the words the index matches, over ``words``.

        Uses the same full-text index as ``find``, so a score never disagrees with a match.
        """
        shares = dict.fromkeys(ids, 0.0)
        for term, weight in weights.items():
            for key, _ in self.market.organizer.find(filters, term, ids):
                shares[key] += weight / words
        return shares

    def scores(self, user_info: UserInfo, page: Sequence[Candidate], how: str) -> list[float]:
        """Absolute scores of some candidates (see the module docstring)."""
        if how == "filter":
            return [1.0] * len(page)
        if how == "fuzzy":
            return [1.0 - (rank or 0.0) for _, rank in page]
        query = words(query_text(user_info.semantic_spec))
        shares = self._shares(dict.fromkeys(query, 1.0), len(query), {}, [i for i, _ in page])
        return [shares[i] for i, _ in page]

    def search(
        self,
        user_info: UserInfo,
        *,
        limit: int = 50,
        offset: int = 0,
        fuzzy_cutoff: float = 65.0,
    ) -> SearchResult:
        """Semantic search.

        limit, offset: the page of results to return (``total`` counts every match).
        fuzzy_cutoff: minimum rapidfuzz ratio (0-100) between a query word and the indexed
            word it is corrected to, when FTS finds nothing.
        """
        found, how = self.candidates(user_info, fuzzy_cutoff=fuzzy_cutoff)
        page = found[offset : offset + limit]
        learnwares: list[Learnware] = self.market.organizer.get_many([i for i, _ in page])
        scores = self.scores(user_info, page, how)
        singles = tuple(
            SingleMatch(lw, score=score, distance=rank)
            for lw, (_, rank), score in zip(learnwares, page, scores, strict=True)
        )
        return SearchResult(singles, searcher=self.name, total=len(found))

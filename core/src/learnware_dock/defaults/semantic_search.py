"""Semantic search: tag/class filters with the `learnware` package's rules, plus free text.

Rules: for each Class or Tag key the user gives values for, a learnware must carry at
least one of them (several Class values = OR; Tag = non-empty intersection); a key the
user leaves empty matches everything. Free text (the user's Name and Description) is
searched with SQLite FTS5 (bm25) over name, description and feature descriptions; when
FTS finds nothing, rapidfuzz matches the same texts approximately.

Scores are absolute, in [0, 1]: with text, the share of the query's words found in the
learnware's text; for fuzzy matches, the rapidfuzz similarity / 100 (the better of WRatio
against the name and partial_ratio against the other text); without text, 1.0 (every
filter is satisfied). ``distance`` is the raw rank: bm25 for text matches (lower is
better), ``1 - score`` for fuzzy ones, none for filters alone.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from rapidfuzz import fuzz, process, utils

from learnware_dock.domain import Learnware, SearchResult, SingleMatch, UserInfo
from learnware_dock.interfaces import Searcher
from learnware_dock.semantic import FIELDS, SemanticSpec

_WORD = re.compile(r"\w+", re.UNICODE)


def semantic_filters(spec: SemanticSpec) -> dict[str, tuple[str, ...]]:
    """The Class/Tag filters of a user's spec (keys with no values are wildcards)."""
    return {
        key: spec.values_of(key)
        for key, (_, kind) in FIELDS.items()
        if kind != "String" and spec.values_of(key)
    }


def query_text(spec: SemanticSpec) -> str:
    return " ".join(part for part in (spec.name, spec.description) if part and part.strip())


def coverage(query: str, text: str) -> float:
    """Share of the query's words that prefix some word of ``text``."""
    words = {w.lower() for w in _WORD.findall(query)}
    if not words:
        return 1.0
    have = {w.lower() for w in _WORD.findall(text)}
    return sum(any(h.startswith(w) for h in have) for w in words) / len(words)


Candidate = tuple[str, float | None]


class SemanticSearcher(Searcher):
    """Filters and free text over the organizer's index."""

    name = "semantic"
    priority = 0

    def candidates(
        self, user_info: UserInfo, *, fuzzy_cutoff: float = 60.0
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
        return self._fuzzy(text, organizer.texts(filters, ids), fuzzy_cutoff), "fuzzy"

    @staticmethod
    def _fuzzy(query: str, texts: dict[str, tuple[str, str]], cutoff: float) -> list[Candidate]:
        best: dict[str, float] = {}
        names = {i: name for i, (name, _) in texts.items()}
        others = {i: other for i, (_, other) in texts.items()}
        for choices, scorer in ((names, fuzz.WRatio), (others, fuzz.partial_ratio)):
            for _, score, key in process.extract(
                query,
                choices,
                scorer=scorer,
                processor=utils.default_process,
                limit=None,
                score_cutoff=cutoff,
            ):
                best[key] = max(best.get(key, 0.0), score)
        ranked = sorted(best.items(), key=lambda item: (-item[1], item[0]))
        return [(key, 1.0 - score / 100.0) for key, score in ranked]

    def scores(self, user_info: UserInfo, page: Sequence[Candidate], how: str) -> list[float]:
        """Absolute scores of some candidates (see the module docstring)."""
        if how == "filter":
            return [1.0] * len(page)
        if how == "fuzzy":
            return [1.0 - (rank or 0.0) for _, rank in page]
        texts = self.market.organizer.texts(ids=[i for i, _ in page])
        query = query_text(user_info.semantic_spec)
        return [coverage(query, "\n".join(texts[i])) for i, _ in page]

    def search(
        self,
        user_info: UserInfo,
        *,
        limit: int = 50,
        offset: int = 0,
        fuzzy_cutoff: float = 60.0,
    ) -> SearchResult:
        """Semantic search.

        limit, offset: the page of results to return (``total`` counts every match).
        fuzzy_cutoff: minimum rapidfuzz similarity (0-100) for the fuzzy fallback.
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

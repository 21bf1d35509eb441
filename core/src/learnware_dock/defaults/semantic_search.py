"""Semantic search: tag/class filters with the `learnware` package's rules, plus free text.

Rules: for each Class or Tag key the user gives values for, a learnware must carry at
least one of them (several Class values = OR; Tag = non-empty intersection); a key the
user leaves empty matches everything. Free text (the user's Name and Description) is
searched with SQLite FTS5 (bm25) over name, description and feature descriptions; when
FTS finds nothing, rapidfuzz matches the same texts approximately.

Scores are absolute, in [0, 1]: with text, the share of the query's words found in the
learnware's text (or the rapidfuzz WRatio / 100 for fuzzy matches); without text, 1.0
(every filter is satisfied). ``distance`` is the raw bm25 rank (lower is better).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from rapidfuzz import fuzz, process

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


class SemanticSearcher(Searcher):
    """Filters and free text over the organizer's index."""

    name = "semantic"
    priority = 0

    def candidates(
        self, user_info: UserInfo, *, fuzzy_cutoff: float = 60.0
    ) -> tuple[list[tuple[str, float | None, float]], str]:
        """All matching ``(id, raw rank, score)`` best first, and how they matched.

        How: ``"filter"`` (no text), ``"text"`` (FTS5) or ``"fuzzy"`` (rapidfuzz fallback).
        Statistical searchers call this to apply the semantic filters first.
        """
        spec = user_info.semantic_spec
        organizer = self.market.organizer
        filters = semantic_filters(spec)
        text = query_text(spec)
        ids: Sequence[str] | None = user_info.learnware_ids
        if not text:
            return [(i, None, 1.0) for i, _ in organizer.find(filters, None, ids)], "filter"
        hits = organizer.find(filters, text, ids)
        if hits:
            texts = organizer.texts([i for i, _ in hits])
            return [(i, rank, coverage(text, texts[i])) for i, rank in hits], "text"
        allowed = [i for i, _ in organizer.find(filters, None, ids)]
        texts = organizer.texts(allowed)
        matches = process.extract(
            text, texts, scorer=fuzz.WRatio, limit=None, score_cutoff=fuzzy_cutoff
        )
        matches.sort(key=lambda m: (-m[1], m[2]))
        return [(str(key), None, score / 100.0) for _, score, key in matches], "fuzzy"

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
        fuzzy_cutoff: minimum rapidfuzz WRatio (0-100) for the fuzzy fallback.
        """
        found, _ = self.candidates(user_info, fuzzy_cutoff=fuzzy_cutoff)
        page = found[offset : offset + limit]
        learnwares: list[Learnware] = self.market.organizer.get_many([i for i, _, _ in page])
        singles = tuple(
            SingleMatch(lw, score=score, distance=rank)
            for lw, (_, rank, score) in zip(learnwares, page, strict=True)
        )
        return SearchResult(singles, searcher=self.name, total=len(found))

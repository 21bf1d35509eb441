"""Semantic pre-filtering: the learnwares that pass a user's semantic spec.

Every searcher gets these through :meth:`Market.semantic_matches`, which needs only the
market's organizer (``find`` and ``terms``), not the built-in ``semantic`` searcher.

Rules (the ``learnware`` package's): for each Class or Tag key the user gives values for,
a learnware must carry at least one of them (several Class values = OR; Tag = non-empty
intersection); a key the user leaves empty matches everything. Free text (the user's Name
and Description) goes to the organizer's full-text ``find``; when that finds nothing, each
query word is corrected to the closest word of the index's vocabulary (rapidfuzz ratio >=
``fuzzy_cutoff``) and ``find`` runs again with the corrections. ``UserInfo.learnware_ids``,
when given, restricts the matches to those ids.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Literal

import attrs
from rapidfuzz import fuzz, process

from learnware_dock.domain import UserInfo
from learnware_dock.interfaces import Organizer
from learnware_dock.semantic import FIELDS, SemanticSpec, words

#: default minimum rapidfuzz ratio (0-100) for correcting a query word
FUZZY_CUTOFF = 65.0

#: one match: ``(learnware id, raw rank)``; lower ranks are better, ``None`` without text
Hit = tuple[str, float | None]
How = Literal["filter", "text", "fuzzy"]


@attrs.frozen
class SemanticMatches:
    """The learnwares that pass a user's semantic filters (and free text), best first.

    ``hits``: ``(id, raw rank)`` pairs. ``how``: ``"filter"`` (no free text; ranks are
    ``None``), ``"text"`` (full-text hits; rank = the organizer's, bm25 for SQLite) or
    ``"fuzzy"`` (corrected query words; rank = 1 - the share of words matched).
    """

    hits: tuple[Hit, ...]
    how: How

    @property
    def ids(self) -> tuple[str, ...]:
        """The matching ids, best first."""
        return tuple(i for i, _ in self.hits)

    def __len__(self) -> int:
        return len(self.hits)

    def __contains__(self, learnware_id: object) -> bool:
        return any(i == learnware_id for i, _ in self.hits)


def semantic_filters(spec: SemanticSpec) -> dict[str, tuple[str, ...]]:
    """The Class/Tag filters of a user's spec (keys with no values are wildcards)."""
    return {
        key: spec.values_of(key)
        for key, (_, field_type) in FIELDS.items()
        if field_type != "String" and spec.values_of(key)
    }


def query_text(spec: SemanticSpec) -> str:
    """The free text of a user's spec: its Name and Description, space-separated."""
    return " ".join(part for part in (spec.name, spec.description) if part and part.strip())


def semantic_matches(
    organizer: Organizer, user_info: UserInfo, *, fuzzy_cutoff: float = FUZZY_CUTOFF
) -> SemanticMatches:
    """The learnwares of ``organizer`` that pass ``user_info``'s semantic spec (see the
    module docstring). Cheap: no scoring, no learnware objects."""
    spec = user_info.semantic_spec
    filters = semantic_filters(spec)
    text = query_text(spec)
    ids = user_info.learnware_ids
    if not text:
        return SemanticMatches(tuple(organizer.find(filters, None, ids)), "filter")
    hits = organizer.find(filters, text, ids)
    if hits:
        return SemanticMatches(tuple(hits), "text")
    return SemanticMatches(_corrected(organizer, text, filters, ids, fuzzy_cutoff), "fuzzy")


def text_shares(
    organizer: Organizer,
    weights: Mapping[str, float],
    n_words: int,
    filters: Mapping[str, Sequence[str]],
    ids: Sequence[str],
) -> dict[str, float]:
    """Per id: the sum of the weights of the words ``find`` matches, over ``n_words``.

    Uses the same full-text index as ``find``, so a share never disagrees with a match.
    """
    shares = dict.fromkeys(ids, 0.0)
    for term, weight in weights.items():
        for key, _ in organizer.find(filters, term, ids):
            shares[key] += weight / n_words
    return shares


def _corrected(
    organizer: Organizer,
    text: str,
    filters: Mapping[str, Sequence[str]],
    ids: Sequence[str] | None,
    cutoff: float,
) -> tuple[Hit, ...]:
    """``find`` with each query word replaced by its closest indexed word, best first."""
    vocabulary = organizer.terms()
    query = words(text)
    weights: dict[str, float] = {}
    for word in query:
        match = process.extractOne(word, vocabulary, scorer=fuzz.ratio, score_cutoff=cutoff)
        if match is not None:
            weights[match[0]] = max(weights.get(match[0], 0.0), match[1] / 100.0)
    if not weights:
        return ()
    ranked = organizer.find(filters, " ".join(weights), ids)
    score = text_shares(organizer, weights, len(query), filters, [i for i, _ in ranked])
    ranked.sort(key=lambda hit: (-score[hit[0]], hit[1] or 0.0))
    return tuple((key, 1.0 - score[key]) for key, _ in ranked)

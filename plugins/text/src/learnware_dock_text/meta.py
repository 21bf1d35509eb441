"""Per-spec encoder and languages: a small side table, so search never re-parses JSON.

``<market>/rkme/RKMETextSpecification/text_meta.db`` maps a text spec's sha256 to its
encoder and languages. It is filled at submission (the ``dock_learnware_added`` hook)
and on first sight (a spec stored before this plugin was installed); rows are keyed by
content, so they never go stale. Safe for several processes (WAL, upserts).
"""

from __future__ import annotations

import json
import logging
import sqlite3
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import attrs

from learnware_dock.errors import DockError, SpecificationError
from learnware_dock_text.encoders import ANCHOR_ENCODER, canonical_name
from learnware_dock_text.spec import RKMETextSpecification, _languages

if TYPE_CHECKING:
    from learnware_dock.domain import StatSpecRef
    from learnware_dock.market import Market

log = logging.getLogger(__name__)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS text_meta (
    sha256 TEXT PRIMARY KEY,
    encoder TEXT NOT NULL,
    languages TEXT NOT NULL
);
"""


@attrs.frozen
class TextMeta:
    """What a text spec needs from a query: the same encoder, and the user's languages."""

    encoder: str
    languages: frozenset[str]


def meta_of(data: dict[str, Any]) -> TextMeta:
    """The encoder and languages of a text spec's JSON (no arrays are built)."""
    encoder = data.get("encoder", ANCHOR_ENCODER)
    if not isinstance(encoder, str) or not encoder.strip():
        raise SpecificationError(f"text spec 'encoder' must be a name, not {encoder!r:.40}")
    return TextMeta(canonical_name(encoder.strip()), frozenset(_languages(data.get("language"))))


class MetaStore:
    """The side table of one market (see the module docstring)."""

    def __init__(self, market: Market) -> None:
        folder = market.root / "rkme" / RKMETextSpecification.name
        folder.mkdir(parents=True, exist_ok=True)
        self.market = market
        self.conn = sqlite3.connect(folder / "text_meta.db", timeout=60, isolation_level=None)
        self.conn.execute("PRAGMA journal_mode=WAL")
        self.conn.executescript(_SCHEMA)

    def get_many(self, shas: Iterable[str]) -> dict[str, TextMeta]:
        wanted = list(dict.fromkeys(shas))
        found: dict[str, TextMeta] = {}
        for start in range(0, len(wanted), 900):
            part = wanted[start : start + 900]
            rows = self.conn.execute(
                "SELECT sha256, encoder, languages FROM text_meta "
                f"WHERE sha256 IN ({','.join('?' * len(part))})",
                part,
            )
            for sha, encoder, languages in rows:
                found[sha] = TextMeta(encoder, frozenset(json.loads(languages)))
        return found

    def put(self, sha: str, meta: TextMeta) -> None:
        self.conn.execute(
            "INSERT OR REPLACE INTO text_meta VALUES (?, ?, ?)",
            (sha, meta.encoder, json.dumps(sorted(meta.languages))),
        )

    def read(self, ref: StatSpecRef) -> TextMeta:
        """Read one stored spec's JSON and record its meta."""
        meta = meta_of(self.market.organizer.read_stat_spec(ref))
        self.put(ref.sha256, meta)
        return meta

    def metas(self, refs: dict[str, StatSpecRef]) -> dict[str, TextMeta]:
        """``id -> TextMeta`` for these learnwares; specs not seen yet are read once (one
        that cannot be read is logged and left out)."""
        known = self.get_many(ref.sha256 for ref in refs.values())
        out: dict[str, TextMeta] = {}
        for learnware_id, ref in refs.items():
            meta = known.get(ref.sha256)
            if meta is None:
                try:
                    meta = known[ref.sha256] = self.read(ref)
                except DockError as exc:
                    log.warning("learnware %s: its text spec is left out: %s", learnware_id, exc)
                    continue
            out[learnware_id] = meta
        return out

    def close(self) -> None:
        self.conn.close()

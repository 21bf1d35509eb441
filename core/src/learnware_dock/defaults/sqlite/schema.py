"""The SQLite store's schema and the helpers its queries share (ids, rows, FTS5 and tag
filters)."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from learnware_dock.domain import converter
from learnware_dock.errors import UnknownLearnwareError
from learnware_dock.interfaces import NewLearnware
from learnware_dock.semantic import words

SCHEMA_VERSION = 1

SCHEMA = """
CREATE TABLE IF NOT EXISTS learnwares (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL, description TEXT NOT NULL, io_text TEXT NOT NULL,
    semantic TEXT NOT NULL, status INTEGER NOT NULL, sha256 TEXT NOT NULL,
    package TEXT NOT NULL, version INTEGER NOT NULL,
    created TEXT NOT NULL, updated TEXT NOT NULL, report TEXT
);
CREATE INDEX IF NOT EXISTS learnwares_status ON learnwares(status);
CREATE TABLE IF NOT EXISTS tags (
    learnware_id INTEGER NOT NULL REFERENCES learnwares(id) ON DELETE CASCADE,
    key TEXT NOT NULL, value TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS tags_key_value ON tags(key, value, learnware_id);
CREATE INDEX IF NOT EXISTS tags_learnware ON tags(learnware_id);
CREATE TABLE IF NOT EXISTS stat_specs (
    learnware_id INTEGER NOT NULL REFERENCES learnwares(id) ON DELETE CASCADE,
    type TEXT NOT NULL, file TEXT NOT NULL, sha256 TEXT NOT NULL, path TEXT NOT NULL,
    PRIMARY KEY (learnware_id, type)
);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""


def format_id(number: int) -> str:
    return f"{number:08d}"


def parse_id(learnware_id: str) -> int:
    text = str(learnware_id).strip()
    if not (text.isascii() and text.isdigit() and len(text) <= 18):
        raise UnknownLearnwareError(f"no learnware {learnware_id!r}: ids are numbers like 00000001")
    return int(text)


def fts_query(text: str) -> str | None:
    """An FTS5 query matching any word of ``text`` (as a prefix); None if no words."""
    return " OR ".join(f'"{t}"*' for t in words(text)) or None


def archive_suffix(path: Path) -> str:
    """File suffix matching the archive's real format (zip, or tar as gzip/plain)."""
    import zipfile

    if zipfile.is_zipfile(path):
        return ".zip"
    with open(path, "rb") as fh:
        return ".tar.gz" if fh.read(2) == b"\x1f\x8b" else ".tar"


def learnware_row(new: NewLearnware, sha: str, package: str) -> dict[str, Any]:
    """The ``learnwares`` columns of ``new`` (id, version and times aside)."""
    spec = new.semantic_spec
    io_text = "\n".join(
        text for io in (spec.input, spec.output) if io for text in io.description.values()
    )
    report = None if new.report is None else json.dumps(converter.unstructure(new.report))
    return {
        "name": spec.name or "",
        "description": spec.description or "",
        "io_text": io_text,
        "semantic": json.dumps(spec.to_dict()),
        "status": int(new.status),
        "sha256": sha,
        "package": package,
        "report": report,
    }


def where_sql(
    filters: Mapping[str, Sequence[str]], ids: Sequence[str] | None
) -> tuple[str, list[Any]]:
    """SQL conditions on ``l`` for tag filters (via the tags index) and an id list."""
    clauses: list[str] = []
    params: list[Any] = []
    for key, values in filters.items():
        if not values:
            continue  # an empty user value is a wildcard
        marks = ",".join("?" * len(values))
        clauses.append(
            f"l.id IN (SELECT learnware_id FROM tags WHERE key = ? AND value IN ({marks}))"
        )
        params += [key, *values]
    if ids is not None:
        clauses.append("l.id IN (SELECT value FROM json_each(?))")
        params.append(json.dumps([parse_id(i) for i in ids]))
    return "".join(f" AND {c}" for c in clauses), params

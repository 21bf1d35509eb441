"""Documents in and out of files, and checking the documents a spec is made of.

Files are read as a stream (one line or row at a time): ``.txt`` (one document per line),
``.jsonl`` (one JSON object per line with a string ``text`` field) and ``.csv`` (a
``text`` column, or the only column). Blank documents are skipped. Each document is cut
to ``MAX_CHARS`` characters (the encoders read a few hundred tokens) and a file holds at
most ``DOCK_TEXT_MAX_DOCUMENTS`` documents, so memory stays bounded.
"""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, TextIO

from learnware_dock.config import setting
from learnware_dock.errors import DockError, SpecificationError

SUFFIXES = (".txt", ".jsonl", ".csv")
#: characters kept of each document read from a file
MAX_CHARS = 20_000
#: the most documents a file may hold (``DOCK_TEXT_MAX_DOCUMENTS``)
MAX_DOCUMENTS = 1_000_000
TEXT_FIELD = "text"
#: the longest line of a .jsonl file
MAX_JSON_LINE = 1_000_000


def clean_texts(texts: Any) -> list[str]:
    """``texts`` as a list of its non-blank documents; a :class:`SpecificationError`
    naming the first row that is not a string (None, NaN, a number...), or saying that
    there are none or that all are blank."""
    if isinstance(texts, str | bytes):
        raise SpecificationError(
            "a text specification needs a list of documents, not one "
            f"{type(texts).__name__}; wrap it in a list"
        )
    if not isinstance(texts, Iterable):
        raise SpecificationError(
            f"a text specification needs a list of strings, not {type(texts).__name__}"
        )
    kept: list[str] = []
    rows = 0
    for row, text in enumerate(texts):
        rows += 1
        if not isinstance(text, str):
            what = "None" if text is None else f"a {type(text).__name__} ({text!r:.40})"
            if isinstance(text, float) and math.isnan(text):
                what = "NaN (a missing value)"
            raise SpecificationError(f"document {row} is {what}, not a string")
        if text.strip():
            kept.append(text)
    if rows == 0:
        raise SpecificationError("a text specification needs at least one document, got none")
    if not kept:
        raise SpecificationError(f"all {rows} documents are empty or blank")
    return kept


def _open(path: Path) -> TextIO:
    try:
        return path.open(encoding="utf-8-sig", newline="")
    except OSError as exc:
        raise DockError(f"cannot read {path}: {exc}") from exc


def _lines(stream: TextIO, limit: int) -> Iterator[tuple[int, str, bool]]:
    """(number, at most ``limit`` characters of the line, whether it was longer); the
    rest of an overlong line is read in pieces and dropped."""
    number = 0
    while True:
        line = stream.readline(limit)
        if not line:
            return
        number += 1
        longer = len(line) == limit and not line.endswith("\n")
        while longer and (rest := stream.readline(limit)) and not rest.endswith("\n"):
            pass
        yield number, line.rstrip("\r\n"), longer


def _txt(stream: TextIO) -> Iterator[tuple[int, str]]:
    for number, line, _ in _lines(stream, MAX_CHARS):
        yield number, line


def _jsonl(stream: TextIO, name: str) -> Iterator[tuple[int, str]]:
    for number, line, longer in _lines(stream, MAX_JSON_LINE):
        if longer:
            raise DockError(f"{name} line {number} is longer than {MAX_JSON_LINE} characters")
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except ValueError as exc:
            raise DockError(f"{name} line {number} is not JSON: {exc}") from None
        if not isinstance(row, dict) or TEXT_FIELD not in row:
            raise DockError(
                f"{name} line {number} has no {TEXT_FIELD!r} field: a .jsonl file of texts "
                f'holds one object per line, like {{"{TEXT_FIELD}": "..."}}'
            )
        text = row[TEXT_FIELD]
        if text is not None and not isinstance(text, str):
            raise DockError(
                f"{name} line {number}: {TEXT_FIELD!r} is a {type(text).__name__}, not a string"
            )
        yield number, text or ""


def _csv(stream: TextIO, name: str) -> Iterator[tuple[int, str]]:
    reader = csv.reader(stream)
    try:
        header = next(reader, None)
        if header is None:
            return
        columns = [c.strip() for c in header]
        if TEXT_FIELD in columns:
            column = columns.index(TEXT_FIELD)
        elif len(columns) == 1:
            column = 0
        else:
            raise DockError(
                f"{name} has no {TEXT_FIELD!r} column (columns: {', '.join(columns)}); name "
                f"the column of documents {TEXT_FIELD!r}, or keep only that column"
            )
        for row in reader:
            if not row:
                continue
            if column >= len(row):
                raise DockError(f"{name} line {reader.line_num} has no column {column + 1}")
            yield reader.line_num, row[column]
    except csv.Error as exc:
        raise DockError(f"{name} line {reader.line_num} is not valid CSV: {exc}") from None


def read_texts(path: str | Path) -> list[str]:
    """The non-blank documents of a ``.txt``, ``.jsonl`` or ``.csv`` file (see the module
    docstring); a :class:`DockError` naming the file and line when it cannot be read."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        raise DockError(
            f"{path.name}: texts are read from {', '.join(SUFFIXES)} files, not {suffix or path}"
        )
    if not path.is_file():
        raise DockError(f"{path} is not a file")
    limit = setting("DOCK_TEXT_MAX_DOCUMENTS", int, default=MAX_DOCUMENTS, minimum=1)
    texts: list[str] = []
    line = 0
    with _open(path) as stream:
        rows = {
            ".txt": lambda: _txt(stream),
            ".jsonl": lambda: _jsonl(stream, path.name),
            ".csv": lambda: _csv(stream, path.name),
        }[suffix]()
        try:
            for number, text in rows:
                line = number
                if not text.strip():
                    continue
                if len(texts) >= limit:
                    raise DockError(
                        f"{path.name} holds more than {limit} documents; set "
                        "DOCK_TEXT_MAX_DOCUMENTS to read more, or sample it"
                    )
                texts.append(text[:MAX_CHARS])
        except UnicodeDecodeError as exc:
            raise DockError(
                f"{path.name} is not UTF-8 text (undecodable byte after line {line}: {exc}); "
                "convert it to UTF-8"
            ) from None
    if not texts:
        raise DockError(f"{path.name} holds no documents (it is empty or blank)")
    return texts

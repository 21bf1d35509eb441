"""The default organizer: SQLite (through sqlite-utils) plus content-addressed files.

Layout of a market folder::

    market.db        learnwares, tags, stat_specs, FTS5 index, meta (schema version)
    market.lock      file lock serialising writers across processes
    packages/ab/<sha256>.zip
    specs/cd/<sha256>.json

Writes: files are stored first (atomically), then the rows are committed in one
transaction; a failed write removes the files it stored, and a writer killed in between
leaves only orphan files and the ``market.dirty`` marker, which the next open or write
sweeps (opening a clean market does no per-learnware work). Ids come from an
AUTOINCREMENT key and are never reused. File-system and SQLite failures (a full disk, a
read-only or damaged store) raise :class:`StoreError` (see :mod:`.faults`).
"""

from __future__ import annotations

import builtins
import json
import sqlite3
import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import filelock
import sqlite_utils

from learnware_dock.defaults.sqlite.blobs import BlobStore
from learnware_dock.defaults.sqlite.faults import check_market_path, open_error, store_faults
from learnware_dock.defaults.sqlite.schema import (
    SCHEMA,
    SCHEMA_VERSION,
    archive_suffix,
    format_id,
    fts_query,
    learnware_row,
    parse_id,
    where_sql,
)
from learnware_dock.domain import CheckReport, Learnware, StatSpecRef, Status, converter
from learnware_dock.errors import StoreError, UnknownLearnwareError
from learnware_dock.interfaces import NewLearnware, Organizer
from learnware_dock.semantic import FIELDS, SemanticSpec

DB_FILE = "market.db"
LOCK_FILE = "market.lock"
#: present while a write is between its first file and its last cleanup; a writer killed
#: in between leaves it behind, and the next open (or write) sweeps orphan files.
DIRTY_FILE = "market.dirty"
BLOB_KINDS = ("packages", "specs")


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds")


@dataclass
class _Write:
    """Blob files one write stored (``created``) and its committed change left behind
    (``replaced``); :meth:`SQLiteOrganizer._writing` removes those no row references."""

    created: builtins.list[str] = field(default_factory=builtins.list)
    replaced: builtins.list[str] = field(default_factory=builtins.list)


class SQLiteOrganizer(Organizer):
    """Market storage in one folder: SQLite database plus content-addressed files."""

    name = "sqlite"

    def __init__(self, root: Path, *, create: bool = True) -> None:
        self.root = Path(root)
        db_path = self.root / DB_FILE
        check_market_path(self.root, db_path)
        if not db_path.exists() and not create:
            raise StoreError(f"no market at {self.root} (no {DB_FILE}); add a learnware first")
        with store_faults(self.root, "creating the market folder"):
            self.root.mkdir(parents=True, exist_ok=True)
        self.blobs = BlobStore(self.root)
        self._lock = filelock.FileLock(self.root / LOCK_FILE, timeout=120)
        self._thread_lock = threading.RLock()
        # Autocommit connection: every write below runs inside an explicit
        # BEGIN IMMEDIATE ... COMMIT (see _transaction), never a library's implicit one.
        try:
            conn = sqlite3.connect(
                db_path, timeout=60, check_same_thread=False, isolation_level=None
            )
        except sqlite3.Error as exc:
            raise open_error(exc, db_path) from exc
        try:
            self.db = sqlite_utils.Database(conn)
            self.db.execute("PRAGMA foreign_keys = ON")
            self._init_schema()
            self._sweep()
        except (OSError, sqlite3.Error) as exc:
            conn.close()
            raise open_error(exc, db_path) from exc
        except BaseException:
            conn.close()
            raise

    # -- setup -----------------------------------------------------------------------------
    def _init_schema(self) -> None:
        version = self._schema_version()
        if version is not None:
            if version > SCHEMA_VERSION:
                raise StoreError(
                    f"market {self.root} has schema version {version}; this learnware-dock "
                    f"reads up to {SCHEMA_VERSION}: upgrade learnware-dock"
                )
            return
        with self._lock:
            if self.db.journal_mode != "wal":
                self.db.enable_wal()
            self.db.executescript(SCHEMA)
            if "learnwares_fts" not in self.db.table_names():
                self.db.table("learnwares").enable_fts(
                    ["name", "description", "io_text"],
                    fts_version="FTS5",
                    create_triggers=True,
                    tokenize="porter",
                )
            self.db.execute(
                "CREATE VIRTUAL TABLE IF NOT EXISTS learnwares_terms "
                "USING fts5vocab(learnwares_fts, 'row')"
            )
            with self._transaction() as conn:
                conn.execute(
                    "INSERT OR IGNORE INTO meta(key, value) VALUES ('schema_version', ?)",
                    [str(SCHEMA_VERSION)],
                )

    def _schema_version(self) -> int | None:
        if "meta" not in self.db.table_names():
            return None
        row = self.db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        return None if row is None else int(row[0])

    def _sweep(self) -> None:
        """After an interrupted write (``market.dirty`` left behind), remove temp files and
        files no row references, unless another process is writing now."""
        if not (self.root / DIRTY_FILE).exists():
            return
        try:
            self._lock.acquire(timeout=0)
        except filelock.Timeout:
            return  # another process is writing; it may own those files (its next write,
            # or the next open, sweeps them)
        try:
            self._sweep_locked()
        finally:
            self._lock.release()

    def _sweep_locked(self) -> None:
        """With the file lock held: sweep orphan files if a writer left the dirty marker."""
        dirty = self.root / DIRTY_FILE
        if dirty.exists():
            self.blobs.sweep(BLOB_KINDS, self._referenced())
            dirty.unlink(missing_ok=True)

    def _referenced(self) -> set[str]:
        keep = {r[0] for r in self.db.execute("SELECT package FROM learnwares")}
        return keep | {r[0] for r in self.db.execute("SELECT path FROM stat_specs")}

    @contextmanager
    def _writing(self, doing: str) -> Iterator[_Write]:
        """Serialise writers (threads and processes) and mark the market dirty meanwhile.

        A marker already there is a killed writer's: its orphan files are swept first.
        Afterwards the files the write replaced (and, if it failed, those it stored) that
        no row references are removed; only if that fails does the marker stay, for a later
        sweep. Errors come out as :class:`StoreError` naming the market folder.
        """
        with self._thread_lock, store_faults(self.root, doing), self._lock:
            self._sweep_locked()
            dirty = self.root / DIRTY_FILE
            dirty.touch()
            write, failed = _Write(), True
            try:
                yield write
                failed = False
            finally:
                leftovers = write.replaced + (write.created if failed else [])
                if self._drop_unreferenced(leftovers):
                    with suppress(OSError):  # a marker left behind only costs a sweep
                        dirty.unlink(missing_ok=True)

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        """One atomic write: BEGIN IMMEDIATE, then COMMIT, or ROLLBACK on any error (a
        failed COMMIT too). Each write bumps the market's revision (see :meth:`revision`)."""
        conn = self.db.conn
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
            conn.execute(
                "INSERT INTO meta(key, value) VALUES ('revision', '1') ON CONFLICT(key) "
                "DO UPDATE SET value = CAST(value AS INTEGER) + 1"
            )
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                with suppress(sqlite3.Error):  # keep the original error
                    conn.execute("ROLLBACK")
            raise

    def revision(self) -> int:
        row = self.db.execute("SELECT value FROM meta WHERE key = 'revision'").fetchone()
        return int(row[0]) if row else 0

    # -- writes ----------------------------------------------------------------------------
    def _store_files(
        self, new: NewLearnware, write: _Write
    ) -> tuple[str, str, list[dict[str, str]]]:
        suffix = archive_suffix(new.package)
        sha, package = self.blobs.put("packages", suffix, new.package, write.created)
        specs = []
        for spec in new.stat_specs:
            spec_sha, rel = self.blobs.put("specs", ".json", spec.content, write.created)
            specs.append({"type": spec.type, "file": spec.file, "sha256": spec_sha, "path": rel})
        return sha, package, specs

    def _write_children(
        self, conn: sqlite3.Connection, number: int, new: NewLearnware, specs: list[dict[str, str]]
    ) -> None:
        """Replace a learnware's tag and stat-spec rows (inside the caller's transaction)."""
        conn.execute("DELETE FROM tags WHERE learnware_id = ?", [number])
        conn.execute("DELETE FROM stat_specs WHERE learnware_id = ?", [number])
        conn.executemany(
            "INSERT INTO tags (learnware_id, key, value) VALUES (?, ?, ?)",
            [
                (number, key, value)
                for key, (_, field_type) in FIELDS.items()
                if field_type != "String"
                for value in new.semantic_spec.values_of(key)
            ],
        )
        conn.executemany(
            "INSERT INTO stat_specs (learnware_id, type, file, sha256, path) "
            "VALUES (:learnware_id, :type, :file, :sha256, :path)",
            [{"learnware_id": number, **spec} for spec in specs],
        )

    def reserve_id(self) -> str:
        """Advance the id sequence by one and return that id (AUTOINCREMENT never hands
        it out again)."""
        with (
            self._thread_lock,
            store_faults(self.root, "reserving a learnware id"),
            self._transaction() as conn,
        ):
            seq = self._sequence(conn)
            if seq is None:
                conn.execute("INSERT INTO sqlite_sequence(name, seq) VALUES ('learnwares', 1)")
            else:
                conn.execute(
                    "UPDATE sqlite_sequence SET seq = ? WHERE name = 'learnwares'", [seq + 1]
                )
        return format_id((seq or 0) + 1)

    @staticmethod
    def _sequence(conn: sqlite3.Connection) -> int | None:
        row = conn.execute("SELECT seq FROM sqlite_sequence WHERE name = 'learnwares'").fetchone()
        return None if row is None else int(row[0])

    def _reserved_number(self, conn: sqlite3.Connection, learnware_id: str) -> int:
        number = parse_id(learnware_id)
        taken = conn.execute("SELECT 1 FROM learnwares WHERE id = ?", [number]).fetchone()
        if taken or number > (self._sequence(conn) or 0):
            why = "is taken" if taken else "was never reserved (use reserve_id())"
            raise StoreError(f"learnware id {learnware_id!r} {why}")
        return number

    def _insert(
        self, new: NewLearnware, sha: str, package: str, specs: list[dict[str, str]]
    ) -> int:
        """Commit the rows of a new learnware in one transaction; return its number."""
        now = _now()
        with self._transaction() as conn:
            number = None if new.id is None else self._reserved_number(conn, new.id)
            cursor = conn.execute(
                "INSERT INTO learnwares (id, name, description, io_text, semantic, status, "
                "sha256, package, version, created, updated, report) VALUES (:id, :name, "
                ":description, :io_text, :semantic, :status, :sha256, :package, 1, :now, :now, "
                ":report)",
                {**learnware_row(new, sha, package), "now": now, "id": number},
            )
            number = int(cursor.lastrowid or 0)
            self._write_children(conn, number, new, specs)
        return number

    def add(self, new: NewLearnware) -> Learnware:
        with self._writing(f"adding {new.package.name}") as write:
            sha, package, specs = self._store_files(new, write)
            number = self._insert(new, sha, package, specs)
        return self.get(format_id(number))

    def update(self, learnware_id: str, new: NewLearnware) -> Learnware:
        with self._writing(f"updating learnware {learnware_id}") as write:
            old = self.get(learnware_id)
            number = parse_id(learnware_id)
            sha, package, specs = self._store_files(new, write)
            with self._transaction() as conn:
                conn.execute(
                    "UPDATE learnwares SET name=:name, description=:description, "
                    "io_text=:io_text, semantic=:semantic, status=:status, sha256=:sha256, "
                    "package=:package, report=:report, version=version + 1, updated=:now "
                    "WHERE id=:id",
                    {**learnware_row(new, sha, package), "now": _now(), "id": number},
                )
                self._write_children(conn, number, new, specs)
            write.replaced += self._files_of(old)
        return self.get(learnware_id)

    def delete(self, learnware_id: str) -> None:
        with self._writing(f"deleting learnware {learnware_id}") as write:
            old = self.get(learnware_id)
            with self._transaction() as conn:
                conn.execute("DELETE FROM learnwares WHERE id = ?", [parse_id(learnware_id)])
            write.replaced += self._files_of(old)

    def _files_of(self, lw: Learnware) -> builtins.list[str]:
        rel = lw.package_path.relative_to(self.root).as_posix()
        return [rel, *(ref.path for ref in lw.stat_specs)]

    def _drop_unreferenced(self, candidates: Iterable[str]) -> bool:
        """Remove those of ``candidates`` (relative blob paths) no row references; False
        if that failed (the dirty marker then stays, for a later sweep)."""
        candidates = builtins.list(dict.fromkeys(candidates))
        if not candidates:
            return True
        marks = ",".join("?" * len(candidates))
        try:
            in_use = {
                r[0]
                for r in self.db.execute(
                    f"SELECT package FROM learnwares WHERE package IN ({marks}) "
                    f"UNION SELECT path FROM stat_specs WHERE path IN ({marks})",
                    [*candidates, *candidates],
                )
            }
            self.blobs.remove(c for c in candidates if c not in in_use)
        except (OSError, sqlite3.Error):
            return False
        return True

    # -- reads -----------------------------------------------------------------------------
    def _learnware(self, row: Mapping[str, Any], specs: list[StatSpecRef]) -> Learnware:
        report = None
        if row["report"]:
            report = converter.structure(json.loads(row["report"]), CheckReport)
        return Learnware(
            id=format_id(row["id"]),
            semantic_spec=SemanticSpec.from_dict(json.loads(row["semantic"])),
            status=Status(row["status"]),
            sha256=row["sha256"],
            package_path=self.root / row["package"],
            stat_specs=tuple(specs),
            version=row["version"],
            created=datetime.fromisoformat(row["created"]),
            updated=datetime.fromisoformat(row["updated"]),
            report=report,
        )

    def _load(self, where: str, params: Sequence[Any]) -> builtins.list[Learnware]:
        rows = list(self.db.query(f"SELECT * FROM learnwares {where}", params))
        if not rows:
            return []
        specs: dict[int, list[StatSpecRef]] = {}
        ids = [r["id"] for r in rows]
        for chunk in range(0, len(ids), 900):
            part = ids[chunk : chunk + 900]
            marks = ",".join("?" * len(part))
            for s in self.db.query(
                f"SELECT * FROM stat_specs WHERE learnware_id IN ({marks}) ORDER BY type", part
            ):
                specs.setdefault(s["learnware_id"], []).append(
                    StatSpecRef(s["type"], s["file"], s["sha256"], s["path"])
                )
        return [self._learnware(r, specs.get(r["id"], [])) for r in rows]

    def get(self, learnware_id: str) -> Learnware:
        found = self._load("WHERE id = ?", [parse_id(learnware_id)])
        if not found:
            raise UnknownLearnwareError(f"no learnware {learnware_id!r} in market {self.root}")
        return found[0]

    def get_many(self, ids: Sequence[str]) -> builtins.list[Learnware]:
        numbers = [parse_id(i) for i in ids]
        by_id: dict[int, Learnware] = {}
        for chunk in range(0, len(numbers), 900):
            part = numbers[chunk : chunk + 900]
            for lw in self._load(f"WHERE id IN ({','.join('?' * len(part))})", part):
                by_id[int(lw.id)] = lw
        missing = [format_id(n) for n in numbers if n not in by_id]
        if missing:
            raise UnknownLearnwareError(f"no learnware {missing[0]!r} in market {self.root}")
        return [by_id[n] for n in numbers]

    def list(
        self, status: Status | None = None, limit: int | None = None, offset: int = 0
    ) -> builtins.list[Learnware]:
        where, params = ("WHERE status = ?", [int(status)]) if status is not None else ("", [])
        return self._load(f"{where} ORDER BY id LIMIT ? OFFSET ?", [*params, limit or -1, offset])

    def count(self, status: Status | None = None) -> int:
        if status is None:
            return int(self.db.execute("SELECT count(*) FROM learnwares").fetchone()[0])
        sql = "SELECT count(*) FROM learnwares WHERE status = ?"
        return int(self.db.execute(sql, [int(status)]).fetchone()[0])

    def find(
        self,
        filters: Mapping[str, Sequence[str]],
        text: str | None = None,
        ids: Sequence[str] | None = None,
        limit: int | None = None,
    ) -> builtins.list[tuple[str, float | None]]:
        where, params = where_sql(filters, ids)
        query = fts_query(text) if text else None
        if query:
            sql = (
                "SELECT l.id, bm25(learnwares_fts, 10.0, 4.0, 1.0) AS rank FROM learnwares_fts "
                "JOIN learnwares l ON l.id = learnwares_fts.rowid "
                f"WHERE learnwares_fts MATCH ?{where} ORDER BY rank, l.id LIMIT ?"
            )
            params.insert(0, query)
        else:
            sql = f"SELECT l.id, NULL FROM learnwares l WHERE 1{where} ORDER BY l.id LIMIT ?"
        params.append(limit if limit is not None else -1)
        try:
            rows = self.db.execute(sql, params).fetchall()
        except sqlite3.OperationalError as exc:
            raise StoreError(f"semantic query failed: {exc}") from exc
        return [(format_id(r[0]), r[1]) for r in rows]

    def spec_refs(self, type_name: str) -> dict[str, StatSpecRef]:
        rows = self.db.execute(
            "SELECT learnware_id, type, file, sha256, path FROM stat_specs WHERE type = ?",
            [type_name],
        )
        return {format_id(r[0]): StatSpecRef(*r[1:]) for r in rows}

    def terms(self) -> builtins.list[str]:
        """The full-text index's vocabulary (porter-stemmed words)."""
        return [r[0] for r in self.db.execute("SELECT term FROM learnwares_terms")]

    def read_stat_spec(self, ref: StatSpecRef) -> dict[str, Any]:
        path = self.root / ref.path
        try:
            data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise StoreError(f"stored spec {ref.path} cannot be read: {exc}") from exc
        return data

    def close(self) -> None:
        self.db.conn.close()

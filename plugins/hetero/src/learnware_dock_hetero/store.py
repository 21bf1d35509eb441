"""The plugin's part of a market folder: ``<market>/hetero/``.

- ``mapping-v<N>.safetensors``: the market mapping of version N (see :mod:`.artifact`);
- ``hetero.db`` (SQLite, WAL): ``versions`` (N, file, kernel width, when, trained on how
  many learnwares), ``state`` (the current version) and ``specs``: every learnware's
  :class:`HeteroMapTableSpecification` arrays per mapping version, keyed by learnware id
  with the sha256 of the RKME and of the descriptions it was made from;
- ``columns.db``: cached description embeddings (see :mod:`.columns`).

A training writes the new version's specs beside the current ones, then switches
``state.current`` and drops the older rows in one transaction: a search reads the current
version and its rows in one read transaction, so it never sees half-updated specs.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import attrs
import numpy as np

from learnware_dock.errors import StoreError
from learnware_dock_hetero.spec import HeteroMapTableSpecification

_SCHEMA = """
CREATE TABLE IF NOT EXISTS versions (
    version INTEGER PRIMARY KEY, file TEXT NOT NULL, gamma REAL NOT NULL,
    created TEXT NOT NULL, trained_on INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS state (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS specs (
    learnware_id TEXT NOT NULL, version INTEGER NOT NULL, rkme_sha TEXT NOT NULL,
    columns_sha TEXT NOT NULL, k INTEGER NOT NULL, dim INTEGER NOT NULL, gamma REAL NOT NULL,
    num_points INTEGER NOT NULL, z BLOB NOT NULL, beta BLOB NOT NULL,
    PRIMARY KEY (learnware_id, version)
);
"""


@attrs.frozen
class MappingVersion:
    """One trained mapping: its number, file (relative to the hetero folder), kernel width."""

    version: int
    file: str
    gamma: float
    created: str
    trained_on: int


@attrs.frozen(eq=False)
class StoredSpec:
    """A stored hetero spec and what it was made from."""

    learnware_id: str
    rkme_sha: str
    columns_sha: str
    spec: HeteroMapTableSpecification


class HeteroStore:
    """``<market>/hetero/hetero.db`` (see the module docstring)."""

    def __init__(self, market_root: Path) -> None:
        self.folder = market_root / "hetero"
        self.folder.mkdir(parents=True, exist_ok=True)
        self.path = self.folder / "hetero.db"
        try:
            self.db = sqlite3.connect(self.path, timeout=60, isolation_level=None)
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.executescript(_SCHEMA)
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"the hetero store {self.path} is unreadable: {exc}") from exc

    @contextmanager
    def transaction(self) -> Iterator[None]:
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")

    @contextmanager
    def snapshot(self) -> Iterator[None]:
        """One consistent read of the store (a read transaction)."""
        self.db.execute("BEGIN")
        try:
            self.db.execute("SELECT 1 FROM state LIMIT 1").fetchall()  # starts the snapshot
            yield
        finally:
            self.db.execute("COMMIT")

    def current(self) -> MappingVersion | None:
        """The mapping searches use now; None before the first training."""
        row = self.db.execute(
            "SELECT v.version, v.file, v.gamma, v.created, v.trained_on FROM state s "
            "JOIN versions v ON v.version = s.value WHERE s.key = 'current'"
        ).fetchone()
        return None if row is None else MappingVersion(*row)

    def next_version(self) -> int:
        row = self.db.execute("SELECT MAX(version) FROM versions").fetchone()
        return int(row[0] or 0) + 1

    def add_version(self, version: MappingVersion) -> None:
        """Record a trained mapping (not current yet: see :meth:`publish`)."""
        self.db.execute(
            "INSERT INTO versions VALUES (?, ?, ?, ?, ?)",
            (version.version, version.file, version.gamma, version.created, version.trained_on),
        )

    def put(self, stored: StoredSpec) -> None:
        spec = stored.spec
        if spec.mapping_version is None:
            raise StoreError(f"learnware {stored.learnware_id}: a hetero spec without a version")
        z, beta = spec.z.astype(np.float32), spec.beta.astype(np.float32)
        self.db.execute(
            "INSERT OR REPLACE INTO specs VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                stored.learnware_id,
                spec.mapping_version,
                stored.rkme_sha,
                stored.columns_sha,
                z.shape[0],
                z.shape[1],
                spec.gamma,
                spec.num_points,
                z.tobytes(),
                beta.tobytes(),
            ),
        )

    def put_current(self, stored: StoredSpec) -> bool:
        """Store a spec only if its mapping version is still the current one (a training
        may have switched meanwhile); returns whether it was stored."""
        with self.transaction():
            current = self.current()
            if current is None or current.version != stored.spec.mapping_version:
                return False
            self.put(stored)
        return True

    def specs(self, version: int, ids: Sequence[str] | None = None) -> dict[str, StoredSpec]:
        """The stored specs of mapping ``version`` (only ``ids``, if given), by id."""
        query = (
            "SELECT learnware_id, rkme_sha, columns_sha, k, dim, gamma, num_points, z, beta "
            "FROM specs WHERE version = ?"
        )
        if ids is None:
            rows = list(self.db.execute(query, (version,)))
        else:
            rows = []
            for start in range(0, len(ids), 500):
                chunk = list(ids[start : start + 500])
                marks = ",".join("?" * len(chunk))
                sql = f"{query} AND learnware_id IN ({marks})"
                rows += self.db.execute(sql, (version, *chunk)).fetchall()
        found = {}
        for lw_id, rkme_sha, columns_sha, k, dim, gamma, num_points, z, beta in rows:
            zs = np.frombuffer(z, dtype=np.float32).astype(np.float64).reshape(k, dim)
            betas = np.frombuffer(beta, dtype=np.float32).astype(np.float64)
            spec = HeteroMapTableSpecification(zs, betas, gamma, num_points, version)
            found[lw_id] = StoredSpec(lw_id, rkme_sha, columns_sha, spec)
        return found

    def ids(self, version: int) -> dict[str, tuple[str, str]]:
        """``learnware id -> (rkme sha, columns sha)`` of the specs of ``version``."""
        rows = self.db.execute(
            "SELECT learnware_id, rkme_sha, columns_sha FROM specs WHERE version = ?", (version,)
        )
        return {lw_id: (rkme, cols) for lw_id, rkme, cols in rows}

    def publish(self, version: int) -> list[str]:
        """Make ``version`` current and drop older versions' specs, atomically; returns
        the files of the versions dropped (for the caller to delete)."""
        with self.transaction():
            self.db.execute("INSERT OR REPLACE INTO state VALUES ('current', ?)", (version,))
            old = [
                row[0]
                for row in self.db.execute(
                    "SELECT file FROM versions WHERE version < ?", (version,)
                )
            ]
            self.db.execute("DELETE FROM specs WHERE version < ?", (version,))
            self.db.execute("DELETE FROM versions WHERE version < ?", (version,))
        return old

    def discard(self, version: int) -> None:
        """Forget an unpublished version (a training that failed)."""
        with self.transaction():
            self.db.execute("DELETE FROM specs WHERE version = ?", (version,))
            self.db.execute("DELETE FROM versions WHERE version = ?", (version,))

    def remove(self, learnware_id: str) -> None:
        self.db.execute("DELETE FROM specs WHERE learnware_id = ?", (learnware_id,))

    def close(self) -> None:
        self.db.close()


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")

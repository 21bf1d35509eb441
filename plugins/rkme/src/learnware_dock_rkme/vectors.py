"""Binary cache of indexed RKME arrays: ``<market>/rkme/vectors.db`` (one per spec type,
see :meth:`VectorStore.of`), keyed by spec sha256.

Each row holds Z (float32), beta (float32) and the self term <Phi, Phi> computed in float64
from those float32 values, so every later computation refers to the same embedding. Rows
are written at submission (the ``dock_learnware_added`` hook) or, for learnwares stored
before the plugin was installed, on first search.

The same database keeps each group's pivot set (``pivots``: the embeddings, numbered by a
``generation`` that changes whenever a group's pivots are re-chosen) and every vector's
distances to its group's pivots (``pivot_dist``), see :mod:`learnware_dock_rkme.pivots`.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

import attrs
import numpy as np

from learnware_dock_rkme.kernel import gaussian_kernel
from learnware_dock_rkme.limits import SpecLimits
from learnware_dock_rkme.table import RKMETableSpecification

_SCHEMA = """
CREATE TABLE IF NOT EXISTS vectors (
    sha256 TEXT PRIMARY KEY, dim INTEGER NOT NULL, gamma REAL NOT NULL, k INTEGER NOT NULL,
    z BLOB NOT NULL, beta BLOB NOT NULL, self_term REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS vectors_group ON vectors (dim, gamma);
CREATE TABLE IF NOT EXISTS pivots (
    dim INTEGER NOT NULL, gamma REAL NOT NULL, generation INTEGER NOT NULL,
    slot INTEGER NOT NULL, chosen_at INTEGER NOT NULL, k INTEGER NOT NULL,
    z BLOB NOT NULL, beta BLOB NOT NULL, self_term REAL NOT NULL,
    PRIMARY KEY (dim, gamma, slot)
);
CREATE TABLE IF NOT EXISTS pivot_dist (
    sha256 TEXT PRIMARY KEY, generation INTEGER NOT NULL, dist BLOB NOT NULL
);
"""


@attrs.frozen(eq=False)
class PivotSet:
    """A group's pivots: float64 (z, beta, self term) each, and when they were chosen."""

    generation: int
    chosen_at: int  # group size at the time
    pivots: list[tuple[np.ndarray, np.ndarray, float]]


@attrs.frozen(eq=False)
class Vector:
    """One indexed embedding."""

    z: np.ndarray  # K x d float32
    beta: np.ndarray  # K float32
    gamma: float
    self_term: float

    @classmethod
    def of(cls, spec: RKMETableSpecification) -> Vector:
        z = spec.z.astype(np.float32)
        beta = spec.beta.astype(np.float32)
        z64, b64 = z.astype(np.float64), beta.astype(np.float64)
        self_term = float(b64 @ gaussian_kernel(z64, z64, spec.gamma) @ b64)
        return cls(z, beta, float(spec.gamma), self_term)

    @property
    def key(self) -> tuple[int, float]:
        return int(self.z.shape[1]), self.gamma


#: the rows within a :class:`SpecLimits` (parameters: max points, dimension, values)
_FITS = "k <= ? AND dim <= ? AND k * dim <= ?"


def _fits(limits: SpecLimits) -> list[int]:
    return [limits.max_points, limits.max_dimension, limits.max_values]


def _pivot_blobs(z: np.ndarray, beta: np.ndarray) -> tuple[bytes, bytes]:
    return z.astype(np.float64).tobytes(), beta.astype(np.float64).tobytes()


class VectorStore:
    """The sidecar database of one market (safe for several processes: WAL, upserts)."""

    def __init__(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.folder = folder
        self.conn = sqlite3.connect(folder / "vectors.db", timeout=60, isolation_level=None)
        self.conn.execute("PRAGMA journal_mode=WAL")
        self.conn.executescript(_SCHEMA)

    @classmethod
    def of(cls, market_root: Path, spec_type: type[RKMETableSpecification]) -> VectorStore:
        """The store of one spec type: ``<market>/rkme`` for tables, ``<market>/rkme/<type
        name>`` for the other types (so their groups and pivots never mix)."""
        folder = market_root / "rkme"
        if spec_type.name != RKMETableSpecification.name:
            folder = folder / spec_type.name
        return cls(folder)

    def get_many(self, shas: Iterable[str]) -> dict[str, Vector]:
        wanted = list(dict.fromkeys(shas))
        found: dict[str, Vector] = {}
        for start in range(0, len(wanted), 900):
            part = wanted[start : start + 900]
            rows = self.conn.execute(
                "SELECT sha256, dim, gamma, k, z, beta, self_term FROM vectors "
                f"WHERE sha256 IN ({','.join('?' * len(part))})",
                part,
            )
            for sha, dim, gamma, k, z, beta, self_term in rows:
                found[sha] = Vector(
                    np.frombuffer(z, dtype=np.float32).reshape(k, dim).copy(),
                    np.frombuffer(beta, dtype=np.float32).copy(),
                    gamma,
                    self_term,
                )
        return found

    def put(self, sha: str, spec: RKMETableSpecification) -> Vector:
        vector = Vector.of(spec)
        k, dim = vector.z.shape
        self.conn.execute(
            "INSERT OR REPLACE INTO vectors VALUES (?, ?, ?, ?, ?, ?, ?)",
            [
                sha,
                dim,
                vector.gamma,
                k,
                vector.z.tobytes(),
                vector.beta.tobytes(),
                vector.self_term,
            ],
        )
        return vector

    def too_large(self, shas: Iterable[str], limits: SpecLimits) -> dict[str, tuple[int, int]]:
        """The cached vectors among ``shas`` over ``limits``: sha -> (K, d), blobs unread."""
        wanted = list(dict.fromkeys(shas))
        found: dict[str, tuple[int, int]] = {}
        for start in range(0, len(wanted), 900):
            part = wanted[start : start + 900]
            rows = self.conn.execute(
                f"SELECT sha256, k, dim FROM vectors WHERE NOT ({_FITS}) "
                f"AND sha256 IN ({','.join('?' * len(part))})",
                [*_fits(limits), *part],
            )
            found.update((sha, (int(k), int(dim))) for sha, k, dim in rows)
        return found

    def group_shas(self, key: tuple[int, float], limits: SpecLimits) -> list[str]:
        """Every cached vector of a group within ``limits`` (in a stable order)."""
        query = f"SELECT sha256 FROM vectors WHERE dim = ? AND gamma = ? AND {_FITS}"
        rows = self.conn.execute(f"{query} ORDER BY sha256", [*key, *_fits(limits)])
        return [sha for (sha,) in rows]

    def count(self, key: tuple[int, float], limits: SpecLimits) -> int:
        query = f"SELECT count(*) FROM vectors WHERE dim = ? AND gamma = ? AND {_FITS}"
        return int(self.conn.execute(query, [*key, *_fits(limits)]).fetchone()[0])

    def pivot_set(self, key: tuple[int, float]) -> PivotSet | None:
        rows = self.conn.execute(
            "SELECT generation, chosen_at, k, z, beta, self_term FROM pivots "
            "WHERE dim = ? AND gamma = ? ORDER BY slot",
            key,
        ).fetchall()
        if not rows:
            return None
        pivots = [
            (
                np.frombuffer(z, dtype=np.float64).reshape(k, key[0]).copy(),
                np.frombuffer(beta, dtype=np.float64).copy(),
                float(self_term),
            )
            for _, _, k, z, beta, self_term in rows
        ]
        return PivotSet(int(rows[0][0]), int(rows[0][1]), pivots)

    @contextmanager
    def _transaction(self) -> Iterator[None]:
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        self.conn.execute("COMMIT")

    def replace_pivots(
        self,
        key: tuple[int, float],
        chosen_at: int,
        pivots: list[tuple[np.ndarray, np.ndarray, float]],
        dists: dict[str, np.ndarray],
    ) -> PivotSet:
        """Store a group's new pivot set and its vectors' distances (one transaction)."""
        with self._transaction():
            row = self.conn.execute("SELECT max(generation) FROM pivots").fetchone()
            generation = int(row[0] or 0) + 1
            self.conn.execute("DELETE FROM pivots WHERE dim = ? AND gamma = ?", key)
            self.conn.executemany(
                "INSERT INTO pivots VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    (*key, generation, slot, chosen_at, len(beta), *_pivot_blobs(z, beta), s)
                    for slot, (z, beta, s) in enumerate(pivots)
                ],
            )
            self._put_dists(generation, dists)
        return PivotSet(generation, chosen_at, pivots)

    def pivot_dists(self, shas: Iterable[str], generation: int) -> dict[str, np.ndarray]:
        """Stored distances to the pivots of ``generation``, by sha (missing ones left out)."""
        wanted = list(dict.fromkeys(shas))
        found: dict[str, np.ndarray] = {}
        for start in range(0, len(wanted), 900):
            part = wanted[start : start + 900]
            rows = self.conn.execute(
                "SELECT sha256, dist FROM pivot_dist WHERE generation = ? AND "
                f"sha256 IN ({','.join('?' * len(part))})",
                [generation, *part],
            )
            found.update((sha, np.frombuffer(d, dtype=np.float64).copy()) for sha, d in rows)
        return found

    def put_pivot_dists(self, generation: int, dists: dict[str, np.ndarray]) -> None:
        with self._transaction():
            self._put_dists(generation, dists)

    def _put_dists(self, generation: int, dists: dict[str, np.ndarray]) -> None:
        self.conn.executemany(
            "INSERT OR REPLACE INTO pivot_dist VALUES (?, ?, ?)",
            [(sha, generation, d.astype(np.float64).tobytes()) for sha, d in dists.items()],
        )

    def close(self) -> None:
        self.conn.close()

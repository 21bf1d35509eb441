"""Binary cache of indexed RKME arrays: ``<market>/rkme/vectors.db``, keyed by spec sha256.

Each row holds Z (float32), beta (float32) and the self term <Phi, Phi> computed in float64
from those float32 values, so every later computation refers to the same embedding. Rows
are written at submission (the ``dock_learnware_added`` hook) or, for learnwares stored
before the plugin was installed, on first search.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from pathlib import Path

import attrs
import numpy as np

from learnware_dock_rkme.kernel import gaussian_kernel
from learnware_dock_rkme.table import RKMETableSpecification

_SCHEMA = """
CREATE TABLE IF NOT EXISTS vectors (
    sha256 TEXT PRIMARY KEY, dim INTEGER NOT NULL, gamma REAL NOT NULL, k INTEGER NOT NULL,
    z BLOB NOT NULL, beta BLOB NOT NULL, self_term REAL NOT NULL
)
"""


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


class VectorStore:
    """The sidecar database of one market (safe for several processes: WAL, upserts)."""

    def __init__(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.conn = sqlite3.connect(folder / "vectors.db", timeout=60, isolation_level=None)
        self.conn.execute("PRAGMA journal_mode=WAL")
        self.conn.execute(_SCHEMA)

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

    def close(self) -> None:
        self.conn.close()

"""The image search index: a fixed-length sketch of every image RKME, and its arrays.

Sketch: ``phi = sum_j beta_j f(z_j)`` with ``f`` a fixed, seeded random-feature map
(:data:`SKETCH`: random ConvNets with random pooling, whose GP limit is the exact kernel
of ``dist``), so ``|phi_u - phi_i|^2`` estimates the squared MMD and a scan over N
learnwares is one matrix-vector product. Rows live in a sidecar SQLite database,
``<market>/rkme/RKMEImageSpecification/sketches.db``, keyed by the spec file's sha256:
the sketch (float32), the exact self term (float64), z (float32) and beta (float64), and
exact inner products between pairs of specs once a mixture needed them. Rows are
written at submission (``dock_learnware_added``) or, for learnwares stored before the
plugin was installed, on the first search; the in-memory index follows the organizer
incrementally (stacked sketches per (channels, net_depth) group).
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

import attrs
import numpy as np

from learnware_dock.errors import DockError
from learnware_dock_image.spec import RKMEImageSpecification
from learnware_dock_rkme import SpecLimits

if TYPE_CHECKING:
    from learnware_dock.domain import Learnware, StatSpecRef
    from learnware_dock.market import Market

log = logging.getLogger(__name__)
NAME = RKMEImageSpecification.name
#: (channels, net_depth): specs compare only within a group (same kernel)
Key = tuple[int, int]


@attrs.frozen
class SketchMap:
    """The fixed random-feature map of the sketches (its ``tag`` is stored per row, so
    changing it re-sketches the market)."""

    seed: int = 20240607
    nets: int = 4
    width: int = 64

    @property
    def tag(self) -> str:
        return f"v1:{self.seed}:{self.nets}:{self.width}"

    def __call__(self, spec: RKMEImageSpecification) -> np.ndarray:
        """The spec's sketch, float32."""
        import torch

        from learnware_dock_image.features import draw_nets, random_features
        from learnware_dock_image.nngp import DIST_KERNEL

        seed = self.seed + 1000 * spec.channels + spec.depth
        generator = torch.Generator().manual_seed(seed)
        nets = draw_nets(
            self.nets,
            spec.channels,
            self.width,
            spec.depth,
            DIST_KERNEL,
            generator,
            pooling="random",
        )
        with torch.no_grad():
            features = random_features(nets, torch.from_numpy(spec.z)).double()
            phi = torch.from_numpy(spec.beta) @ features
        return np.asarray(phi.numpy(), dtype=np.float32)


SKETCH = SketchMap()

_SCHEMA = """
CREATE TABLE IF NOT EXISTS sketches (
    sha256 TEXT PRIMARY KEY, channels INTEGER NOT NULL, depth INTEGER NOT NULL,
    k INTEGER NOT NULL, map TEXT NOT NULL, sketch BLOB NOT NULL, self_term REAL NOT NULL,
    z BLOB NOT NULL, beta BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS pairs (
    a TEXT NOT NULL, b TEXT NOT NULL, value REAL NOT NULL, PRIMARY KEY (a, b)
);
"""


@attrs.frozen(eq=False)
class Row:
    """One indexed spec: its group, sketch and exact self term."""

    key: Key
    sketch: np.ndarray
    self_term: float


class SketchStore:
    """The sidecar database of one market (WAL; safe for several processes)."""

    def __init__(self, market_root: Path) -> None:
        folder = market_root / "rkme" / NAME
        folder.mkdir(parents=True, exist_ok=True)
        self.conn = sqlite3.connect(folder / "sketches.db", timeout=60, isolation_level=None)
        self.conn.execute("PRAGMA journal_mode=WAL")
        self.conn.executescript(_SCHEMA)

    def put(self, sha: str, spec: RKMEImageSpecification) -> Row:
        row = Row((spec.channels, spec.depth), SKETCH(spec), spec.inner(spec))
        self.conn.execute(
            "INSERT OR REPLACE INTO sketches VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                sha,
                spec.channels,
                spec.depth,
                len(spec.beta),
                SKETCH.tag,
                row.sketch.tobytes(),
                row.self_term,
                spec.z.astype(np.float32).tobytes(),
                spec.beta.astype(np.float64).tobytes(),
            ],
        )
        return row

    def rows(self, shas: Iterable[str]) -> dict[str, Row]:
        """The rows of the current sketch map among ``shas``."""
        found: dict[str, Row] = {}
        wanted = list(dict.fromkeys(shas))
        for start in range(0, len(wanted), 900):
            part = wanted[start : start + 900]
            cursor = self.conn.execute(
                "SELECT sha256, channels, depth, sketch, self_term FROM sketches "
                f"WHERE map = ? AND sha256 IN ({','.join('?' * len(part))})",
                [SKETCH.tag, *part],
            )
            for sha, channels, depth, sketch, self_term in cursor:
                found[sha] = Row((channels, depth), np.frombuffer(sketch, np.float32), self_term)
        return found

    def spec(self, sha: str) -> RKMEImageSpecification:
        """The stored spec arrays as a spec (for exact kernels), without the JSON."""
        got = self.conn.execute(
            "SELECT channels, depth, k, z, beta FROM sketches WHERE sha256 = ?", [sha]
        ).fetchone()
        if got is None:
            raise DockError(f"the image index has no spec {sha[:12]}")
        channels, depth, k, z, beta = got
        z_array = np.frombuffer(z, np.float32).reshape(k, channels, 32, 32)
        config = {"net_depth": depth}
        return RKMEImageSpecification(z_array, np.frombuffer(beta, np.float64), model_config=config)

    def pairs(self, pairs: Iterable[tuple[str, str]]) -> dict[tuple[str, str], float]:
        """Cached exact inner products of spec pairs (each pair given as (a, b), a < b)."""
        out: dict[tuple[str, str], float] = {}
        for a, b in pairs:
            got = self.conn.execute("SELECT value FROM pairs WHERE a = ? AND b = ?", [a, b])
            row = got.fetchone()
            if row is not None:
                out[(a, b)] = float(row[0])
        return out

    def put_pairs(self, values: dict[tuple[str, str], float]) -> None:
        self.conn.executemany(
            "INSERT OR REPLACE INTO pairs VALUES (?, ?, ?)",
            [(a, b, v) for (a, b), v in values.items()],
        )

    def close(self) -> None:
        self.conn.close()


class Group:
    """Stacked sketches of the learnwares of one (channels, depth) key."""

    def __init__(self, key: Key) -> None:
        self.key = key
        self.ids: list[str] = []
        self.shas: list[str] = []
        self.sketches = np.zeros((0, 0), dtype=np.float32)
        self.squares = np.zeros(0)
        self.self_terms = np.zeros(0)

    def __len__(self) -> int:
        return len(self.ids)

    def append(self, ids: list[str], shas: list[str], rows: list[Row]) -> None:
        stacked = np.stack([r.sketch for r in rows])
        self.sketches = stacked if not len(self) else np.vstack([self.sketches, stacked])
        squares = (stacked.astype(np.float64) ** 2).sum(1)
        self.squares = np.concatenate([self.squares, squares])
        self.self_terms = np.concatenate([self.self_terms, [r.self_term for r in rows]])
        self.ids += ids
        self.shas += shas

    def keep(self, mask: np.ndarray) -> None:
        self.ids = [i for i, k in zip(self.ids, mask, strict=True) if k]
        self.shas = [s for s, k in zip(self.shas, mask, strict=True) if k]
        self.sketches, self.squares = self.sketches[mask], self.squares[mask]
        self.self_terms = self.self_terms[mask]

    def approx(self, sketch: np.ndarray, rows: np.ndarray) -> np.ndarray:
        """Estimated squared MMDs from a sketch to ``rows`` (one matrix-vector product)."""
        cross = self.sketches[rows] @ sketch
        own = float((sketch.astype(np.float64) ** 2).sum())
        return np.asarray(np.maximum(own + self.squares[rows] - 2.0 * cross, 0.0))


class ImageIndex:
    """Every indexed image RKME of a market, by group; stored specs that cannot be read
    (or are over the limits) are left out with a logged warning."""

    def __init__(self, market: Market, limits: SpecLimits) -> None:
        self.market, self.limits = market, limits
        self.store = SketchStore(market.root)
        self.groups: dict[Key, Group] = {}
        self.loaded: dict[str, str] = {}  # learnware id -> spec sha256
        self.skipped: dict[str, str] = {}
        self.revision: int | None = None

    def sync(self) -> None:
        revision = self.market.organizer.revision()
        if revision is not None and revision == self.revision:
            return
        refs = self.market.organizer.spec_refs(NAME)
        current = {i: ref.sha256 for i, ref in refs.items()}
        self.skipped = {i: s for i, s in self.skipped.items() if current.get(i) == s}
        stale = {i for i, sha in self.loaded.items() if current.get(i) != sha}
        for group in self.groups.values():
            mask = np.array([i not in stale for i in group.ids], dtype=bool)
            if not mask.all():
                group.keep(mask)
        for i in stale:
            del self.loaded[i]
        fresh = [i for i in current if i not in self.loaded and i not in self.skipped]
        stored = self.store.rows(current[i] for i in fresh)
        added: dict[Key, tuple[list[str], list[str], list[Row]]] = {}
        for i in fresh:
            sha = current[i]
            row = stored.get(sha)
            if row is None:
                try:
                    row = cache(self.market, self.store, refs[i], self.limits)
                except DockError as exc:
                    log.warning("the image index leaves out learnware %s: %s", i, exc)
                    self.skipped[i] = sha
                    continue
            ids, shas, rows = added.setdefault(row.key, ([], [], []))
            ids.append(i)
            shas.append(sha)
            rows.append(row)
        for key, (ids, shas, rows) in added.items():
            self.groups.setdefault(key, Group(key)).append(ids, shas, rows)
            self.loaded.update(zip(ids, shas, strict=True))
        self.revision = revision

    def close(self) -> None:
        self.store.close()


def cache(market: Market, store: SketchStore, ref: StatSpecRef, limits: SpecLimits) -> Row:
    """Read a stored spec's JSON, check it and store its row."""
    path = market.root / ref.path
    if path.is_file():
        limits.check_bytes(path.stat().st_size, f"the {NAME} {ref.file}")
    spec = RKMEImageSpecification.from_json(market.organizer.read_stat_spec(ref), limits=limits)
    return store.put(ref.sha256, spec)


def index_submission(market: Market, learnware: Learnware) -> None:
    """At submission: store the learnware's image RKME row (if it has one)."""
    ref = learnware.stat_spec_ref(NAME)
    if ref is None:
        return
    store = SketchStore(market.root)
    try:
        if ref.sha256 not in store.rows([ref.sha256]):
            cache(market, store, ref, SpecLimits.from_env())
    except DockError as exc:
        log.warning("learnware %s: its %s is not indexed: %s", learnware.id, NAME, exc)
    finally:
        store.close()

"""The in-memory RKME index of one market: stacked arrays per (dimension, gamma) group.

Loaded lazily on the first search and kept in step with the store incrementally: each
search compares the organizer's (id -> spec sha) list with what is loaded, drops what
left and appends what arrived (reading the binary vector cache, never re-parsing JSON of
indexed learnwares). The stacked tensors are what a GPU backend would take over.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import numpy as np
import torch

from learnware_dock_rkme.kernel import squared_mmd
from learnware_dock_rkme.table import RKMETableSpecification
from learnware_dock_rkme.vectors import Vector, VectorStore

if TYPE_CHECKING:
    from learnware_dock.interfaces import Backend
    from learnware_dock.market import Market

SPEC = RKMETableSpecification.name
#: a pivot: float64 z (K x d), beta (K) and self term
Pivot = tuple[np.ndarray, np.ndarray, float]


class Group:
    """Learnwares whose RKMEs share a feature dimension and gamma (so they compare).

    ``pivots`` (float64 z, beta, self term) and ``pivot_dist`` (each row's sqrt(MMD^2) to
    each pivot, N x P; NaN where not known yet) serve exact pruning; ``generation`` names
    the stored pivot set they come from (0: none).
    """

    def __init__(self, dim: int, gamma: float, backend: Backend | None = None) -> None:
        from learnware_dock_rkme.backend import TorchCPUBackend

        self.dim, self.gamma = dim, gamma
        self.backend = backend or TorchCPUBackend()
        self.ids: list[str] = []
        self.z = torch.zeros((0, 1, dim), dtype=torch.float32)  # N x M x d (zero-padded)
        self.beta = torch.zeros((0, 1), dtype=torch.float32)  # N x M (padding has weight 0)
        self.self_terms = np.zeros(0)
        self.generation = 0
        self.pivots: list[Pivot] = []
        self.pivot_dist = np.zeros((0, 0))

    def __len__(self) -> int:
        return len(self.ids)

    def append(self, ids: Sequence[str], vectors: Sequence[Vector]) -> None:
        """Add rows (their pivot distances start unknown: see :meth:`fill_pivot_dist`)."""
        width = max([self.z.shape[1], *(v.z.shape[0] for v in vectors)])
        # np.zeros maps zero pages lazily: no second pass over the memory, unlike torch.zeros
        z = np.zeros((len(vectors), width, self.dim), dtype=np.float32)
        beta = np.zeros((len(vectors), width), dtype=np.float32)
        for row, vector in enumerate(vectors):
            k = vector.z.shape[0]
            z[row, :k] = vector.z
            beta[row, :k] = vector.beta
        pad = width - self.z.shape[1]
        if pad:
            self.z = torch.nn.functional.pad(self.z, (0, 0, 0, pad))
            self.beta = torch.nn.functional.pad(self.beta, (0, pad))
        if len(self):
            self.z = torch.cat([self.z, torch.from_numpy(z)])
            self.beta = torch.cat([self.beta, torch.from_numpy(beta)])
        else:
            self.z, self.beta = torch.from_numpy(z), torch.from_numpy(beta)
        self.ids += list(ids)
        self.self_terms = np.concatenate([self.self_terms, [v.self_term for v in vectors]])
        unknown = np.full((len(vectors), len(self.pivots)), np.nan)
        self.pivot_dist = np.vstack([self.pivot_dist, unknown]) if self.pivots else unknown

    def keep(self, mask: np.ndarray) -> None:
        rows = torch.from_numpy(np.flatnonzero(mask))
        self.z, self.beta = self.z[rows], self.beta[rows]
        self.ids = [i for i, kept in zip(self.ids, mask, strict=True) if kept]
        self.self_terms = self.self_terms[mask]
        self.pivot_dist = self.pivot_dist[mask]

    def distances(
        self, z: np.ndarray, beta: np.ndarray, self_term: float, rows: np.ndarray | None = None
    ) -> np.ndarray:
        """Approximate (float32 scan) squared MMDs from one embedding to ``rows`` (or all)."""
        zs, betas = (self.z, self.beta) if rows is None else (self.z[rows], self.beta[rows])
        cross = self.backend.cross_terms(z, beta, zs, betas, self.gamma)
        selfs = self.self_terms if rows is None else self.self_terms[rows]
        return np.asarray(squared_mmd(self_term, cross, selfs))

    def vector(self, row: int) -> tuple[np.ndarray, np.ndarray]:
        """One learnware's (z, beta) as float64, padding removed."""
        beta = self.beta[row].numpy().astype(np.float64)
        used = beta > 0
        return self.z[row].numpy().astype(np.float64)[used], beta[used]

    # -- pivots --------------------------------------------------------------------------
    def set_pivots(self, generation: int, pivots: list[Pivot]) -> None:
        """Use these pivots; every row's distances to them become unknown."""
        self.generation, self.pivots = generation, list(pivots)
        self.pivot_dist = np.full((len(self), len(pivots)), np.nan)

    def fill_pivot_dist(self, known: Mapping[int, np.ndarray]) -> dict[int, np.ndarray]:
        """Set the ``known`` rows' pivot distances, compute the other unknown rows' (one
        scan of those rows per pivot) and return what was computed, by row."""
        for row, dist in known.items():
            self.pivot_dist[row] = dist
        missing = np.flatnonzero(np.isnan(self.pivot_dist).any(axis=1))
        if missing.size and self.pivots:
            if missing.size <= len(self.pivots):  # a few rows (a submission): one pass each
                self.pivot_dist[missing] = self._rows_to_pivots(missing)
            else:  # many rows: one scan of them per pivot
                self.pivot_dist[missing] = np.stack(
                    [self._to_pivot(pivot, missing) for pivot in self.pivots], axis=1
                )
        return {int(row): self.pivot_dist[row] for row in missing}

    def _rows_to_pivots(self, rows: np.ndarray) -> np.ndarray:
        """A few rows' distances to every pivot: the pivots stacked once, then one batched
        kernel pass per row."""
        width = max(len(beta) for _, beta, _ in self.pivots)
        zs = np.zeros((len(self.pivots), width, self.dim))
        betas = np.zeros((len(self.pivots), width))
        for slot, (z, beta, _) in enumerate(self.pivots):
            zs[slot, : len(beta)], betas[slot, : len(beta)] = z, beta
        selfs = np.array([self_term for _, _, self_term in self.pivots])
        out = []
        for row in rows:
            z, beta = self.vector(int(row))
            cross = self.backend.cross_terms(z, beta, zs, betas, self.gamma)
            out.append(np.sqrt(squared_mmd(self.self_terms[row], cross, selfs)))
        return np.stack(out)

    def choose_pivots(self, count: int, sample: np.ndarray | None = None) -> None:
        """Choose ``count`` pivots farthest-first among the ``sample`` rows (default: all),
        then compute every row's distances to them."""
        rows = np.arange(len(self)) if sample is None else np.asarray(sample)
        count = min(count, len(rows))
        pivots: list[Pivot] = []
        columns: list[np.ndarray] = []
        nearest = np.full(len(rows), np.inf)
        position = 0
        for _ in range(count):
            z, beta = self.vector(int(rows[position]))
            pivots.append((z, beta, float(self.self_terms[rows[position]])))
            columns.append(self._to_pivot(pivots[-1], rows))
            nearest = np.minimum(nearest, columns[-1])
            position = int(np.argmax(nearest))
        self.set_pivots(0, pivots)
        if count:
            sampled = np.stack(columns, axis=1)
            self.fill_pivot_dist({int(r): sampled[i] for i, r in enumerate(rows)})

    def _to_pivot(self, pivot: Pivot, rows: np.ndarray | None = None) -> np.ndarray:
        z, beta, self_term = pivot
        return np.asarray(np.sqrt(self.distances(z, beta, self_term, rows)))


class RKMEIndex:
    """All indexed RKMEs of a market, grouped; see the module docstring."""

    def __init__(self, market: Market, backend: Backend | None = None) -> None:
        self.market = market
        self.backend = backend
        self.store = VectorStore(market.root / "rkme")
        self.groups: dict[tuple[int, float], Group] = {}
        self.loaded: dict[str, str] = {}  # learnware id -> spec sha256
        self.where: dict[str, tuple[int, float]] = {}  # learnware id -> group key
        self.revision: int | None = None  # the organizer's, when last synced

    def sync(self) -> None:
        """Bring the index in step with the store (incremental; nothing to do, and no
        query beyond one, when the organizer's revision has not moved)."""
        revision = self.market.organizer.revision()
        if revision is not None and revision == self.revision:
            return
        self.revision = revision
        current = {i: ref.sha256 for i, ref in self.market.organizer.spec_refs(SPEC).items()}
        stale = {i for i, sha in self.loaded.items() if current.get(i) != sha}
        if stale:
            for key, group in self.groups.items():
                mask = np.array([i not in stale for i in group.ids], dtype=bool)
                if not mask.all():
                    group.keep(mask)
                self.groups[key] = group
            for i in stale:
                del self.loaded[i], self.where[i]
        fresh = [i for i in current if i not in self.loaded]
        if fresh:
            for key in self._add(fresh, current):
                self._sync_pivots(key)

    def _sync_pivots(self, key: tuple[int, float]) -> None:
        """Take the group's stored pivot set (choosing one if due) and fill in the pivot
        distances of rows that lack them: stored ones are read, missing ones computed
        (learnwares cached before pivots existed) and stored."""
        from learnware_dock_rkme import pivots

        group = self.groups[key]
        pivot_set = pivots.maintain(self.store, key, group.backend)
        if pivot_set is None:
            return
        if group.generation != pivot_set.generation:
            group.set_pivots(pivot_set.generation, pivot_set.pivots)
        pending = np.flatnonzero(np.isnan(group.pivot_dist).any(axis=1))
        shas = {int(row): self.loaded[group.ids[row]] for row in pending}
        stored = self.store.pivot_dists(shas.values(), pivot_set.generation)
        computed = group.fill_pivot_dist(
            {row: stored[sha] for row, sha in shas.items() if sha in stored}
        )
        if computed:
            self.store.put_pivot_dists(
                pivot_set.generation, {shas[row]: dist for row, dist in computed.items()}
            )

    def _add(self, ids: list[str], current: dict[str, str]) -> list[tuple[int, float]]:
        """Append these learnwares to their groups; returns the groups touched."""
        vectors = self.store.get_many(current[i] for i in ids)
        by_group: dict[tuple[int, float], tuple[list[str], list[Vector]]] = {}
        for i in ids:
            sha = current[i]
            vector = vectors.get(sha)
            if vector is None:  # stored before this plugin was installed
                vector = self.store.put(sha, self.market.stat_spec(i, SPEC))  # type: ignore[arg-type]
                vectors[sha] = vector
            members = by_group.setdefault(vector.key, ([], []))
            members[0].append(i)
            members[1].append(vector)
        for key, (group_ids, group_vectors) in by_group.items():
            if key not in self.groups:
                self.groups[key] = Group(*key, backend=self.backend)
            self.groups[key].append(group_ids, group_vectors)
            self.loaded.update((i, current[i]) for i in group_ids)
            self.where.update((i, key) for i in group_ids)
        return list(by_group)

    def group(self, dim: int, gamma: float) -> Group | None:
        return self.groups.get((dim, gamma))

    def __len__(self) -> int:
        return len(self.loaded)

    def nbytes(self) -> int:
        """Memory held by the stacked arrays."""
        total = 0
        for group in self.groups.values():
            total += group.z.element_size() * group.z.nelement()
            total += group.beta.element_size() * group.beta.nelement()
            total += group.self_terms.nbytes
        return total

    def close(self) -> None:
        self.store.close()

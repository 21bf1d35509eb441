"""The in-memory RKME index of one market: stacked arrays per (dimension, gamma) group.

Loaded lazily on the first search and kept in step with the store incrementally: each
search compares the organizer's (id -> spec sha) list with what is loaded, drops what
left and appends what arrived (reading the binary vector cache, never re-parsing JSON of
indexed learnwares). The stacked tensors are what a GPU backend would take over.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from learnware_dock_rkme.table import RKMETableSpecification
from learnware_dock_rkme.vectors import Vector, VectorStore

if TYPE_CHECKING:
    from learnware_dock.interfaces import Backend
    from learnware_dock.market import Market

SPEC = RKMETableSpecification.name


class Group:
    """Learnwares whose RKMEs share a feature dimension and gamma (so they compare)."""

    def __init__(self, dim: int, gamma: float, backend: Backend | None = None) -> None:
        import torch

        from learnware_dock_rkme.backend import TorchCPUBackend

        self.dim, self.gamma = dim, gamma
        self.backend = backend or TorchCPUBackend()
        self.ids: list[str] = []
        self.z = torch.zeros((0, 1, dim), dtype=torch.float32)  # N x M x d (zero-padded)
        self.beta = torch.zeros((0, 1), dtype=torch.float32)  # N x M (padding has weight 0)
        self.self_terms = np.zeros(0)
        # pivots for exact pruning: float64 (z, beta, self term), and each row's
        # sqrt(MMD^2) to each pivot (N x P)
        self.pivots: list[tuple[np.ndarray, np.ndarray, float]] = []
        self.pivot_dist = np.zeros((0, 0))

    def __len__(self) -> int:
        return len(self.ids)

    def append(self, ids: Sequence[str], vectors: Sequence[Vector]) -> None:
        import torch

        width = max([self.z.shape[1], *(v.z.shape[0] for v in vectors)])
        z = torch.zeros((len(vectors), width, self.dim), dtype=torch.float32)
        beta = torch.zeros((len(vectors), width), dtype=torch.float32)
        for row, vector in enumerate(vectors):
            k = vector.z.shape[0]
            z[row, :k] = torch.from_numpy(vector.z)
            beta[row, :k] = torch.from_numpy(vector.beta)
        pad = width - self.z.shape[1]
        if pad:
            self.z = torch.nn.functional.pad(self.z, (0, 0, 0, pad))
            self.beta = torch.nn.functional.pad(self.beta, (0, pad))
        self.z = torch.cat([self.z, z])
        self.beta = torch.cat([self.beta, beta])
        self.ids += list(ids)
        self.self_terms = np.concatenate([self.self_terms, [v.self_term for v in vectors]])
        if self.pivots:
            rows = np.arange(len(self.ids) - len(vectors), len(self.ids))
            fresh = np.stack([self._to_pivot(p, rows) for p in range(len(self.pivots))], axis=1)
            self.pivot_dist = np.vstack([self.pivot_dist, fresh])

    def keep(self, mask: np.ndarray) -> None:
        import torch

        rows = torch.from_numpy(np.flatnonzero(mask))
        self.z, self.beta = self.z[rows], self.beta[rows]
        self.ids = [i for i, kept in zip(self.ids, mask, strict=True) if kept]
        self.self_terms = self.self_terms[mask]
        if self.pivots:
            self.pivot_dist = self.pivot_dist[mask]

    # -- pivots --------------------------------------------------------------------------
    def distances(
        self, z: np.ndarray, beta: np.ndarray, self_term: float, rows: np.ndarray | None = None
    ) -> np.ndarray:
        """Approximate (float32 scan) squared MMDs from one embedding to ``rows`` (or all)."""
        zs, betas = (self.z, self.beta) if rows is None else (self.z[rows], self.beta[rows])
        cross = self.backend.cross_terms(z, beta, zs, betas, self.gamma)
        selfs = self.self_terms if rows is None else self.self_terms[rows]
        return np.maximum(self_term - 2.0 * cross + selfs, 0.0)

    def _to_pivot(self, slot: int, rows: np.ndarray | None = None) -> np.ndarray:
        z, beta, self_term = self.pivots[slot]
        return np.asarray(np.sqrt(self.distances(z, beta, self_term, rows)))

    def ensure_pivots(self, count: int) -> None:
        """Choose ``count`` pivots farthest-first (one scan each) if none are chosen yet."""
        if self.pivots or len(self) < 2 * count:
            return
        columns: list[np.ndarray] = []
        nearest = np.full(len(self), np.inf)
        row = 0
        for _ in range(count):
            z, beta = self.vector(row)
            self.pivots.append((z, beta, float(self.self_terms[row])))
            columns.append(self._to_pivot(len(self.pivots) - 1))
            nearest = np.minimum(nearest, columns[-1])
            row = int(np.argmax(nearest))
        self.pivot_dist = np.stack(columns, axis=1)

    def vector(self, row: int) -> tuple[np.ndarray, np.ndarray]:
        """One learnware's (z, beta) as float64, padding removed."""
        beta = self.beta[row].numpy().astype(np.float64)
        used = beta > 0
        return self.z[row].numpy().astype(np.float64)[used], beta[used]


class RKMEIndex:
    """All indexed RKMEs of a market, grouped; see the module docstring."""

    def __init__(self, market: Market, backend: Backend | None = None) -> None:
        self.market = market
        self.backend = backend
        self.store = VectorStore(market.root / "rkme")
        self.groups: dict[tuple[int, float], Group] = {}
        self.loaded: dict[str, str] = {}  # learnware id -> spec sha256
        self.where: dict[str, tuple[int, float]] = {}  # learnware id -> group key

    def sync(self) -> None:
        """Bring the index in step with the store (incremental)."""
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
            self._add(fresh, current)

    def _add(self, ids: list[str], current: dict[str, str]) -> None:
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

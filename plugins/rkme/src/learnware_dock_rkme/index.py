"""The in-memory RKME index of one market: stacked arrays per (dimension, gamma) group.

One index per specification type (``spec_type``: :class:`RKMETableSpecification` or a
subclass another plugin registers, such as a text RKME over sentence embeddings): types
never mix in a group, and each keeps its own vector cache (:meth:`VectorStore.of`).

Loaded lazily on the first search and kept in step with the store incrementally: each
search compares the organizer's (id -> spec sha) list with what is loaded, drops what
left and appends what arrived (reading the binary vector cache, never re-parsing JSON of
indexed learnwares). The stacked tensors are what a GPU backend would take over.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import numpy as np
import torch

from learnware_dock.errors import DockError, SpecificationError
from learnware_dock_rkme.kernel import squared_mmd
from learnware_dock_rkme.limits import SpecLimits
from learnware_dock_rkme.table import RKMETableSpecification
from learnware_dock_rkme.vectors import Vector, VectorStore

if TYPE_CHECKING:
    from learnware_dock.domain import StatSpecRef
    from learnware_dock.interfaces import Backend
    from learnware_dock.market import Market

log = logging.getLogger(__name__)

#: the registered name of the table RKME type (the key of its spec in a UserInfo)
TABLE_SPEC_NAME = RKMETableSpecification.name
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
        self.pivot_dist = np.vstack([self.pivot_dist, unknown])
        self.check()

    def keep(self, mask: np.ndarray) -> None:
        """Keep only the rows where ``mask`` is true (every per-row array alike), and trim
        the padding no kept row needs (points of weight 0 add nothing to an embedding)."""
        mask = np.asarray(mask, dtype=bool)
        self.check()
        if mask.shape != (len(self),):
            raise ValueError(f"mask of shape {mask.shape} for a group of {len(self)} rows")
        rows = torch.from_numpy(np.flatnonzero(mask))
        beta = self.beta[rows]
        width = max(1, int(np.flatnonzero((beta != 0).any(dim=0).numpy()).max(initial=-1)) + 1)
        self.z, self.beta = self.z[rows, :width], beta[:, :width]
        self.ids = [i for i, kept in zip(self.ids, mask, strict=True) if kept]
        self.self_terms = self.self_terms[mask]
        self.pivot_dist = self.pivot_dist[mask]
        self.check()

    def check(self) -> None:
        """Raise if the per-row arrays disagree on the number of rows (an index bug)."""
        rows = {len(self.ids), self.z.shape[0], self.beta.shape[0], len(self.self_terms)}
        if len(rows) != 1 or self.pivot_dist.shape != (len(self.ids), len(self.pivots)):
            raise RuntimeError(
                f"RKME index group {self.dim}/{self.gamma} out of step: {len(self.ids)} ids, "
                f"z {tuple(self.z.shape)}, beta {tuple(self.beta.shape)}, self terms "
                f"{len(self.self_terms)}, pivot_dist {self.pivot_dist.shape} for "
                f"{len(self.pivots)} pivots"
            )

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
    """All indexed RKMEs of a market, grouped; see the module docstring.

    Stored specs over ``limits`` (default :meth:`SpecLimits.from_env`), or that cannot be
    read, are left out with a logged warning (in ``skipped``, id -> spec sha, until their
    spec changes) rather than failing every search of the market.
    """

    def __init__(
        self,
        market: Market,
        backend: Backend | None = None,
        limits: SpecLimits | None = None,
        spec_type: type[RKMETableSpecification] = RKMETableSpecification,
    ) -> None:
        self.market = market
        self.backend = backend
        self.limits = limits or SpecLimits.from_env()
        self.spec_type = spec_type
        self.store = VectorStore.of(market.root, spec_type)
        self._reset()

    def _reset(self) -> None:
        self.groups: dict[tuple[int, float], Group] = {}
        self.loaded: dict[str, str] = {}  # learnware id -> spec sha256
        self.where: dict[str, tuple[int, float]] = {}  # learnware id -> group key
        self.skipped: dict[str, str] = {}  # learnware id -> spec sha256, left out
        self.revision: int | None = None  # the organizer's, when last synced

    def sync(self) -> None:
        """Bring the index in step with the store (incremental; nothing to do, and no
        query beyond one, when the organizer's revision has not moved). A sync that fails
        half-way empties the index, so the next one reloads it instead of trusting it."""
        revision = self.market.organizer.revision()
        if revision is not None and revision == self.revision:
            return
        try:
            self._sync()
        except BaseException:
            self._reset()
            raise
        self.revision = revision

    def _sync(self) -> None:
        refs = self.market.organizer.spec_refs(self.spec_type.name)
        current = {i: ref.sha256 for i, ref in refs.items()}
        self.skipped = {i: sha for i, sha in self.skipped.items() if current.get(i) == sha}
        stale = {i for i, sha in self.loaded.items() if current.get(i) != sha}
        for group in self.groups.values():
            mask = np.array([i not in stale for i in group.ids], dtype=bool)
            if not mask.all():
                group.keep(mask)
        for i in stale:
            del self.loaded[i], self.where[i]
        fresh = [i for i in current if i not in self.loaded and i not in self.skipped]
        if fresh:
            for key in self._add(fresh, refs):
                self._sync_pivots(key)

    def _sync_pivots(self, key: tuple[int, float]) -> None:
        """Take the group's stored pivot set (choosing one if due) and fill in the pivot
        distances of rows that lack them: stored ones are read, missing ones computed
        (learnwares cached before pivots existed) and stored."""
        from learnware_dock_rkme import pivots

        group = self.groups[key]
        pivot_set = pivots.maintain(self.store, key, group.backend, self.limits)
        if pivot_set is None:
            if group.pivots:  # the store lost its pivots: rows without distances can't prune
                group.set_pivots(0, [])
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

    def _add(self, ids: list[str], refs: Mapping[str, StatSpecRef]) -> list[tuple[int, float]]:
        """Append these learnwares to their groups; returns the groups touched."""
        shas = {i: refs[i].sha256 for i in ids}
        too_large = self.store.too_large(shas.values(), self.limits)
        vectors = self.store.get_many(sha for sha in shas.values() if sha not in too_large)
        by_group: dict[tuple[int, float], tuple[list[str], list[Vector]]] = {}
        for i in ids:
            sha = shas[i]
            try:
                if sha in too_large:
                    what = f"learnware {i}'s {self.spec_type.name}"
                    self.limits.check_shape(*too_large[sha], what)
                vector = vectors.get(sha)
                if vector is None:  # stored before this plugin was installed
                    vector = vectors[sha] = self._cache(i, refs[i])
            except DockError as exc:
                log.warning("the RKME index leaves out learnware %s: %s", i, exc)
                self.skipped[i] = sha
                continue
            members = by_group.setdefault(vector.key, ([], []))
            members[0].append(i)
            members[1].append(vector)
        for key, (group_ids, group_vectors) in by_group.items():
            if key not in self.groups:
                self.groups[key] = Group(*key, backend=self.backend)
            self.groups[key].append(group_ids, group_vectors)
            self.loaded.update((i, shas[i]) for i in group_ids)
            self.where.update((i, key) for i in group_ids)
        return list(by_group)

    def _cache(self, learnware_id: str, ref: StatSpecRef) -> Vector:
        """Read, check and cache a spec stored before this plugin was installed."""
        what = f"learnware {learnware_id}'s {self.spec_type.name}"
        path = self.market.root / ref.path
        if path.is_file():
            self.limits.check_bytes(path.stat().st_size, what)
        data = self.market.organizer.read_stat_spec(ref)
        try:
            spec = self.spec_type.from_json(data, limits=self.limits)
        except SpecificationError as exc:
            raise SpecificationError(f"{what}: {exc}") from exc
        return self.store.put(ref.sha256, spec)

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

"""The in-memory index of the hetero searcher: one RKME-engine :class:`Group` of the current
mapping version's specs, and each learnware's feature space.

Kept in step with the market like the RKME index: each search reads the store's current
version and its (id -> RKME sha, descriptions sha) list in one snapshot, drops rows that
left or changed and appends new ones; a version switch (a training) reloads the group.
A described learnware with no spec of the current version (added during a training, or
stored before the plugin was installed) gets one made with the current mapping then.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import attrs
import numpy as np

from learnware_dock.errors import DockError
from learnware_dock_hetero.mapping import (
    RKME,
    MarketMapping,
    columns_sha,
    learnware_descriptions,
    open_mapping,
)
from learnware_dock_hetero.spec import HeteroMapTableSpecification
from learnware_dock_hetero.store import HeteroStore, StoredSpec
from learnware_dock_rkme import Group, RKMETableSpecification, Vector, best_backend

if TYPE_CHECKING:
    from learnware_dock.domain import Learnware
    from learnware_dock.market import Market

log = logging.getLogger(__name__)


@attrs.frozen
class Space:
    """A learnware's feature space: Input dimension (None: not declared) and the sha of
    its column descriptions (None: not every column described)."""

    dimension: int | None
    columns: str | None
    rkme_sha: str
    descriptions: tuple[str, ...] | None


def space_of(learnware: Learnware) -> Space | None:
    ref = learnware.stat_spec_ref(RKME)
    if ref is None:
        return None
    io = learnware.semantic_spec.input
    if io is None:
        return Space(None, None, ref.sha256, None)
    described = learnware_descriptions(learnware, io.dimension)
    sha = None if described is None else columns_sha(described)
    return Space(io.dimension, sha, ref.sha256, None if described is None else tuple(described))


def stored_spec(
    market: Market, learnware: Learnware, space: Space, mapping: MarketMapping
) -> StoredSpec | None:
    """A described learnware's hetero spec under ``mapping``; None (logged) if it cannot
    be made (its RKME does not load, say)."""
    assert space.descriptions is not None and space.columns is not None
    try:
        rkme = market.stat_spec(learnware, RKME)
        assert isinstance(rkme, RKMETableSpecification)
        spec = HeteroMapTableSpecification.from_rkme(rkme, list(space.descriptions), mapping)
    except DockError as exc:
        log.warning("learnware %s gets no hetero spec: %s", learnware.id, exc)
        return None
    return StoredSpec(learnware.id, space.rkme_sha, space.columns, spec)


class HeteroIndex:
    """See the module docstring."""

    def __init__(self, market: Market) -> None:
        self.market = market
        self.spaces: dict[str, Space] = {}
        self.revision: int | None = None
        self.version: int | None = None
        self.group: Group | None = None
        self.loaded: dict[str, tuple[str, str]] = {}  # group row id -> (rkme sha, columns sha)

    def same_space(self, learnware_id: str, dimension: int, columns: str) -> bool:
        """Whether the ``rkme`` searcher compares this learnware with the user exactly."""
        space = self.spaces.get(learnware_id)
        if space is None:
            return False
        if space.dimension is None:
            return True  # no Input declared: the rkme searcher matches by RKME dimension
        return space.dimension == dimension and space.columns in (None, columns)

    def _scan(self) -> None:
        revision = self.market.organizer.revision()
        if revision is not None and revision == self.revision:
            return
        spaces = {}
        for lw in self.market.list():
            space = space_of(lw)
            if space is not None:
                spaces[lw.id] = space
        self.spaces, self.revision = spaces, revision

    def sync(self) -> tuple[MarketMapping | None, Group | None]:
        """The current mapping and its group (None, None before any training)."""
        self._scan()
        store = HeteroStore(self.market.root)
        try:
            with store.snapshot():
                current = store.current()
                stored = store.ids(current.version) if current else {}
            if current is None:
                self.version, self.group, self.loaded = None, None, {}
                return None, None
            mapping = open_mapping(self.market.root, current)
            wanted = {
                i: (s.rkme_sha, s.columns) for i, s in self.spaces.items() if s.columns is not None
            }
            missing = [i for i, key in wanted.items() if stored.get(i) != key]
            for made in self._make(missing, mapping):
                if store.put_current(made):
                    stored[made.learnware_id] = (made.rkme_sha, made.columns_sha)
            if self.version != current.version or self.group is None:
                width = int(mapping.model.config.hidden_dim)
                backend = best_backend(self.market.components)
                self.group = Group(width, current.gamma, backend)
                self.version, self.loaded = current.version, {}
            keep = {i: key for i, key in stored.items() if wanted.get(i) == key}
            self._update(store, current.version, keep)
            return mapping, self.group
        finally:
            store.close()

    def _make(self, ids: list[str], mapping: MarketMapping) -> list[StoredSpec]:
        learnwares = self.market.organizer.get_many(ids) if ids else []
        made = [stored_spec(self.market, lw, self.spaces[lw.id], mapping) for lw in learnwares]
        return [m for m in made if m is not None]

    def _update(self, store: HeteroStore, version: int, keep: dict[str, tuple[str, str]]) -> None:
        group = self.group
        assert group is not None
        stale = [i for i in group.ids if keep.get(i) != self.loaded.get(i)]
        if stale:
            drop = set(stale)
            group.keep(np.array([i not in drop for i in group.ids], dtype=bool))
            for i in drop:
                self.loaded.pop(i, None)
        new = [i for i in keep if i not in self.loaded]
        if new:
            specs = store.specs(version, new)
            ids = [i for i in new if i in specs]
            group.append(ids, [Vector.of(specs[i].spec) for i in ids])
            self.loaded.update({i: keep[i] for i in ids})

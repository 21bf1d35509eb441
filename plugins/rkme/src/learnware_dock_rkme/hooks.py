"""Hook implementations of the ``rkme`` plugin."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from learnware_dock import hookimpl
from learnware_dock.interfaces import Backend, Searcher, StatSpecification

if TYPE_CHECKING:
    from learnware_dock.domain import Learnware
    from learnware_dock.market import Market

log = logging.getLogger(__name__)


@hookimpl
def dock_register_specifications() -> list[type[StatSpecification]]:
    from learnware_dock_rkme.table import RKMETableSpecification

    return [RKMETableSpecification]


@hookimpl
def dock_register_searchers() -> list[type[Searcher]]:
    from learnware_dock_rkme.searcher import RKMESearcher

    return [RKMESearcher]


@hookimpl
def dock_register_backends() -> list[type[Backend]]:
    from learnware_dock_rkme.backend import TorchCPUBackend

    return [TorchCPUBackend]


@hookimpl
def dock_learnware_added(market: Market, learnware: Learnware) -> None:
    """At submission: cache the indexed arrays and self term, and the pivot distances
    (a spec over the :class:`SpecLimits`, which the checks refuse, is never cached)."""
    ref = learnware.stat_spec_ref("RKMETableSpecification")
    if ref is None:
        return
    from learnware_dock.errors import SpecificationError
    from learnware_dock_rkme import pivots
    from learnware_dock_rkme.backend import best_backend
    from learnware_dock_rkme.limits import SpecLimits
    from learnware_dock_rkme.table import RKMETableSpecification
    from learnware_dock_rkme.vectors import VectorStore

    limits = SpecLimits.from_env()
    store = VectorStore(market.root / "rkme")
    try:
        if ref.sha256 in store.too_large([ref.sha256], limits):
            log.warning("learnware %s: its RKME is over the spec limits", learnware.id)
            return
        vector = store.get_many([ref.sha256]).get(ref.sha256)
        if vector is None:
            try:
                data = market.organizer.read_stat_spec(ref)
                spec = RKMETableSpecification.from_json(data, limits=limits)
            except SpecificationError as exc:
                log.warning("learnware %s: its RKME is not indexed: %s", learnware.id, exc)
                return
            vector = store.put(ref.sha256, spec)
        pivots.submit(store, ref.sha256, vector, best_backend(market.components), limits)
    finally:
        store.close()

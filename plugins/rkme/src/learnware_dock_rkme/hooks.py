"""Hook implementations of the ``rkme`` plugin."""

from __future__ import annotations

from typing import TYPE_CHECKING

from learnware_dock import hookimpl
from learnware_dock.interfaces import Backend, Searcher, StatSpecification

if TYPE_CHECKING:
    from learnware_dock.domain import Learnware
    from learnware_dock.market import Market


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
    """At submission: cache the indexed arrays and self term, and the pivot distances."""
    ref = learnware.stat_spec_ref("RKMETableSpecification")
    if ref is None:
        return
    from learnware_dock_rkme import pivots
    from learnware_dock_rkme.backend import best_backend
    from learnware_dock_rkme.table import RKMETableSpecification
    from learnware_dock_rkme.vectors import VectorStore

    store = VectorStore(market.root / "rkme")
    try:
        vector = store.get_many([ref.sha256]).get(ref.sha256)
        if vector is None:
            spec = market.stat_spec(learnware, RKMETableSpecification.name)
            vector = store.put(ref.sha256, spec)  # type: ignore[arg-type]
        pivots.submit(store, ref.sha256, vector, best_backend(market.components))
    finally:
        store.close()

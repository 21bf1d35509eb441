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
    """At submission: cache the indexed arrays and self term, and the pivot distances
    (a spec over the :class:`SpecLimits`, which the checks refuse, is never cached)."""
    from learnware_dock_rkme.submission import index_submission

    index_submission(market, learnware)

"""Hook implementations of the ``image`` plugin."""

from __future__ import annotations

from typing import TYPE_CHECKING

from learnware_dock import hookimpl

if TYPE_CHECKING:
    from learnware_dock.domain import Learnware
    from learnware_dock.interfaces import Searcher, StatSpecification
    from learnware_dock.market import Market


@hookimpl
def dock_register_specifications() -> list[type[StatSpecification]]:
    from learnware_dock_image.spec import RKMEImageSpecification

    return [RKMEImageSpecification]


@hookimpl
def dock_register_searchers() -> list[type[Searcher]]:
    from learnware_dock_image.searcher import ImageSearcher

    return [ImageSearcher]


@hookimpl
def dock_learnware_added(market: Market, learnware: Learnware) -> None:
    """At submission: cache the spec's sketch, self term and arrays for search."""
    from learnware_dock_image.index import index_submission

    index_submission(market, learnware)

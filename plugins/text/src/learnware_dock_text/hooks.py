"""Hook implementations of the ``text`` plugin."""

from __future__ import annotations

from typing import TYPE_CHECKING

from learnware_dock import hookimpl

if TYPE_CHECKING:
    from learnware_dock.domain import Learnware
    from learnware_dock.interfaces import Searcher, StatSpecification, TextEncoder
    from learnware_dock.market import Market


@hookimpl
def dock_register_specifications() -> list[type[StatSpecification]]:
    from learnware_dock_text.spec import RKMETextSpecification

    return [RKMETextSpecification]


@hookimpl
def dock_register_searchers() -> list[type[Searcher]]:
    from learnware_dock_text.searcher import RKMETextSearcher

    return [RKMETextSearcher]


@hookimpl
def dock_register_encoders() -> list[type[TextEncoder]]:
    from learnware_dock_text.encoders import BUILTIN

    return list(BUILTIN.values())


@hookimpl
def dock_learnware_added(market: Market, learnware: Learnware) -> None:
    """At submission: cache the text spec's RKME arrays, encoder and languages."""
    from learnware_dock_text.submission import text_submission

    text_submission(market, learnware)

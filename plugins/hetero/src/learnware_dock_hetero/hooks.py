"""Hook implementations of the ``hetero`` plugin."""

from __future__ import annotations

from typing import TYPE_CHECKING

from learnware_dock import hookimpl

if TYPE_CHECKING:
    import typer

    from learnware_dock.domain import Learnware
    from learnware_dock.interfaces import Reuser, Searcher, StatSpecification
    from learnware_dock.market import Market


@hookimpl
def dock_register_specifications() -> list[type[StatSpecification]]:
    from learnware_dock_hetero.spec import HeteroMapTableSpecification

    return [HeteroMapTableSpecification]


@hookimpl
def dock_register_searchers() -> list[type[Searcher]]:
    from learnware_dock_hetero.searcher import HeteroSearcher

    return [HeteroSearcher]


@hookimpl
def dock_register_reusers() -> list[type[Reuser]]:
    from learnware_dock_hetero.align import FeatureAlignReuser, HeteroMapAlignReuser

    return [FeatureAlignReuser, HeteroMapAlignReuser]


@hookimpl
def dock_register_commands(app: typer.Typer) -> None:
    from learnware_dock_hetero.cli import register

    register(app)


@hookimpl
def dock_learnware_added(market: Market, learnware: Learnware) -> None:
    """A described learnware gets its hetero spec from the current mapping (if any)."""
    from learnware_dock_hetero.submit import spec_on_submission

    spec_on_submission(market, learnware)


@hookimpl
def dock_learnware_removed(market: Market, learnware_id: str) -> None:
    from learnware_dock_hetero.submit import forget

    forget(market, learnware_id)

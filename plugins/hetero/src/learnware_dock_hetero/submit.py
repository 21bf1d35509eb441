"""What happens to the hetero store when a learnware arrives or leaves."""

from __future__ import annotations

from typing import TYPE_CHECKING

from learnware_dock_hetero.index import space_of, stored_spec
from learnware_dock_hetero.mapping import open_mapping
from learnware_dock_hetero.store import HeteroStore

if TYPE_CHECKING:
    from learnware_dock.domain import Learnware
    from learnware_dock.market import Market


def _has_store(market: Market) -> bool:
    return (market.root / "hetero" / "hetero.db").exists()


def spec_on_submission(market: Market, learnware: Learnware) -> None:
    """Store the learnware's hetero spec under the current mapping; without a trained
    mapping, or for a learnware that does not describe its columns, nothing happens."""
    space = space_of(learnware)
    if space is None or space.descriptions is None or space.columns is None:
        return
    if not _has_store(market):
        return
    store = HeteroStore(market.root)
    try:
        current = store.current()
        if current is None:
            return
        made = stored_spec(market, learnware, space, open_mapping(market.root, current))
        if made is not None:
            store.put_current(made)
    finally:
        store.close()


def forget(market: Market, learnware_id: str) -> None:
    if not _has_store(market):
        return
    store = HeteroStore(market.root)
    try:
        store.remove(learnware_id)
    finally:
        store.close()

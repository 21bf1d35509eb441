"""At submission: index a learnware's text spec (what ``dock_learnware_added`` runs)."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from learnware_dock.errors import DockError
from learnware_dock_rkme import index_submission
from learnware_dock_text.meta import MetaStore
from learnware_dock_text.spec import RKMETextSpecification

if TYPE_CHECKING:
    from learnware_dock.domain import Learnware
    from learnware_dock.market import Market

log = logging.getLogger(__name__)


def text_submission(market: Market, learnware: Learnware) -> None:
    """Cache the text spec's RKME arrays (the RKME index) and its encoder and languages
    (the side table); nothing happens for a learnware without a text spec."""
    ref = learnware.stat_spec_ref(RKMETextSpecification.name)
    if ref is None:
        return
    index_submission(market, learnware, RKMETextSpecification)
    store = MetaStore(market)
    try:
        store.read(ref)
    except DockError as exc:
        log.warning(
            "learnware %s: its text spec's languages are not recorded: %s", learnware.id, exc
        )
    finally:
        store.close()

"""Indexing at submission: what the ``dock_learnware_added`` hooks of the RKME family run."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from learnware_dock.errors import SpecificationError
from learnware_dock_rkme.limits import SpecLimits
from learnware_dock_rkme.table import RKMETableSpecification
from learnware_dock_rkme.vectors import VectorStore

if TYPE_CHECKING:
    from learnware_dock.domain import Learnware
    from learnware_dock.market import Market

log = logging.getLogger(__name__)


def index_submission(
    market: Market,
    learnware: Learnware,
    spec_type: type[RKMETableSpecification] = RKMETableSpecification,
) -> None:
    """At submission (a ``dock_learnware_added`` hook): cache the learnware's ``spec_type``
    spec (its indexed arrays and self term) and its pivot distances, so the first search
    does not parse it. A spec over the :class:`SpecLimits` (which the checks refuse) or one
    that does not parse is logged and left out; nothing happens without such a spec."""
    from learnware_dock_rkme import pivots
    from learnware_dock_rkme.backend import best_backend

    ref = learnware.stat_spec_ref(spec_type.name)
    if ref is None:
        return
    limits = SpecLimits.from_env()
    store = VectorStore.of(market.root, spec_type)
    try:
        if ref.sha256 in store.too_large([ref.sha256], limits):
            log.warning(
                "learnware %s: its %s is over the spec limits", learnware.id, spec_type.name
            )
            return
        vector = store.get_many([ref.sha256]).get(ref.sha256)
        if vector is None:
            try:
                data = market.organizer.read_stat_spec(ref)
                spec = spec_type.from_json(data, limits=limits)
            except SpecificationError as exc:
                log.warning(
                    "learnware %s: its %s is not indexed: %s", learnware.id, spec_type.name, exc
                )
                return
            vector = store.put(ref.sha256, spec)
        pivots.submit(store, ref.sha256, vector, best_backend(market.components), limits)
    finally:
        store.close()

"""Hook implementations of the ``rkme`` plugin."""

from __future__ import annotations

from learnware_dock import hookimpl
from learnware_dock.interfaces import StatSpecification
from learnware_dock_rkme.table import RKMETableSpecification


@hookimpl
def dock_register_specifications() -> list[type[StatSpecification]]:
    return [RKMETableSpecification]

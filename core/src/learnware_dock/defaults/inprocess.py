"""Built-in plugin: the ``inprocess`` container (trusted packages only)."""

from __future__ import annotations

from learnware_dock.defaults.runtime import InProcessContainer
from learnware_dock.hookspecs import hookimpl


@hookimpl(trylast=True)
def dock_register_containers() -> list[type[InProcessContainer]]:
    return [InProcessContainer]

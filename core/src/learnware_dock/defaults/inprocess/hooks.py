"""Hooks of the built-in plugin ``defaults.inprocess``: the ``inprocess`` container (trusted
packages only)."""

from __future__ import annotations

from learnware_dock.hookspecs import hookimpl
from learnware_dock.interfaces import Container


@hookimpl(trylast=True)
def dock_register_containers() -> list[type[Container]]:
    from learnware_dock.defaults.inprocess.container import InProcessContainer

    return [InProcessContainer]

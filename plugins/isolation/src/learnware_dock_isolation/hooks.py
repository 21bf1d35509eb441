"""Hook implementations of the ``isolation`` plugin."""

from __future__ import annotations

from learnware_dock import hookimpl
from learnware_dock.interfaces import Checker, Container


@hookimpl
def dock_register_containers() -> list[type[Container]]:
    from learnware_dock_isolation.container import VenvContainer

    return [VenvContainer]


@hookimpl
def dock_register_checkers() -> list[type[Checker]]:
    from learnware_dock_isolation.checker import StatChecker

    return [StatChecker]

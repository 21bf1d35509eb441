"""Hook implementations only; the entry point ``template`` points here."""

from __future__ import annotations

from learnware_dock import hookimpl
from learnware_dock.interfaces import Checker
from learnware_dock_template.checker import ReadmeChecker


@hookimpl
def dock_register_checkers() -> list[type[Checker]]:
    return [ReadmeChecker]

"""Hook implementations only; the entry point ``template`` points here.

Plugin discovery imports this module for every ``dock`` command and every market, so it
imports nothing heavy: each hook imports its implementation when it is called.
"""

from __future__ import annotations

from learnware_dock import hookimpl
from learnware_dock.interfaces import Checker


@hookimpl
def dock_register_checkers() -> list[type[Checker]]:
    from learnware_dock_template.checker import ReadmeChecker

    return [ReadmeChecker]

"""Built-in plugin: the semantic and package checkers."""

from __future__ import annotations

from learnware_dock.defaults.checks import PackageChecker, SemanticChecker
from learnware_dock.hookspecs import hookimpl
from learnware_dock.interfaces import Checker


@hookimpl(trylast=True)
def dock_register_checkers() -> list[type[Checker]]:
    return [SemanticChecker, PackageChecker]

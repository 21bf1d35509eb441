"""Hooks of the built-in plugin ``defaults.checkers``: the semantic and package checkers."""

from __future__ import annotations

from learnware_dock.hookspecs import hookimpl
from learnware_dock.interfaces import Checker


@hookimpl(trylast=True)
def dock_register_checkers() -> list[type[Checker]]:
    from learnware_dock.defaults.checkers.checks import PackageChecker, SemanticChecker

    return [SemanticChecker, PackageChecker]

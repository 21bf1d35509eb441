"""Hooks of the built-in plugin ``defaults.semantic``: the semantic searcher."""

from __future__ import annotations

from learnware_dock.hookspecs import hookimpl
from learnware_dock.interfaces import Searcher


@hookimpl(trylast=True)
def dock_register_searchers() -> list[type[Searcher]]:
    from learnware_dock.defaults.semantic.searcher import SemanticSearcher

    return [SemanticSearcher]

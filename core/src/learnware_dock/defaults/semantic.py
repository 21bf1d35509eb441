"""Built-in plugin: the semantic searcher."""

from __future__ import annotations

from learnware_dock.defaults.semantic_search import SemanticSearcher
from learnware_dock.hookspecs import hookimpl


@hookimpl(trylast=True)
def dock_register_searchers() -> list[type[SemanticSearcher]]:
    return [SemanticSearcher]

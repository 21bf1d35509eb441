"""Lazy package exports for plugins: names are imported on first use, so loading a
plugin (its ``hooks``) does not import its heavy modules.

In a plugin's ``__init__.py``::

    from learnware_dock.lazy import lazy_exports

    _WHERE = {"MySpecification": "learnware_dock_mine.spec"}
    __all__ = sorted(_WHERE)
    __getattr__ = lazy_exports(__name__, _WHERE)
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any


def lazy_exports(package: str, where: Mapping[str, str]) -> Callable[[str], Any]:
    """A module ``__getattr__`` that imports ``where[name]`` and returns its ``name``."""
    table = dict(where)

    def __getattr__(name: str) -> Any:
        if name not in table:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        return getattr(importlib.import_module(table[name]), name)

    return __getattr__

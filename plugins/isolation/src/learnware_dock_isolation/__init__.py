"""learnware-dock-isolation: the ``venv`` container and the ``stat`` checker.

Names are imported on first use, so loading the plugin (its ``hooks``) stays light.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from learnware_dock_isolation.container import VenvContainer

_WHERE = {
    "VenvContainer": "learnware_dock_isolation.container",
}

__all__ = ["VenvContainer"]


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(_WHERE[name]), name)

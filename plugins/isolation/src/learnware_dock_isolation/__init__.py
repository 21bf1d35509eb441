"""learnware-dock-isolation: the ``venv`` container and the ``stat`` checker.

Names are imported on first use, so loading the plugin (its ``hooks``) stays light.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from learnware_dock.lazy import lazy_exports

if TYPE_CHECKING:
    from learnware_dock_isolation.container import VenvContainer
    from learnware_dock_isolation.options import VenvOptions

_WHERE = {
    "VenvContainer": "learnware_dock_isolation.container",
    "VenvOptions": "learnware_dock_isolation.options",
}

__all__ = ["VenvContainer", "VenvOptions"]

__getattr__ = lazy_exports(__name__, _WHERE)

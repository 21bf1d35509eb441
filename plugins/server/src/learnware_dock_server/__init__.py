"""learnware-dock-server: the dock as a service (REST API, Python client, web page).

Names are imported on first use, so loading the plugin (its ``hooks``) stays light.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from learnware_dock.lazy import lazy_exports

if TYPE_CHECKING:
    from learnware_dock_server.app import create_app
    from learnware_dock_server.client import DockClient
    from learnware_dock_server.settings import ServerSettings

_WHERE = {
    "DockClient": "learnware_dock_server.client",
    "ServerSettings": "learnware_dock_server.settings",
    "create_app": "learnware_dock_server.app",
}

__all__ = ["DockClient", "ServerSettings", "create_app"]

__getattr__ = lazy_exports(__name__, _WHERE)

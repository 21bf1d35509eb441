"""learnware-dock-docker: the ``docker`` container (Docker, or Podman via DOCKER_HOST).

Names are imported on first use, so loading the plugin (its ``hooks``) stays light.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from learnware_dock_docker.container import DockerContainer

_WHERE = {
    "DockerContainer": "learnware_dock_docker.container",
}

__all__ = ["DockerContainer"]


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(_WHERE[name]), name)

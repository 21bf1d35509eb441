"""learnware-dock-docker: the ``docker`` container (Docker, or Podman via DOCKER_HOST).

Names are imported on first use, so loading the plugin (its ``hooks``) stays light.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from learnware_dock.lazy import lazy_exports

if TYPE_CHECKING:
    from learnware_dock_docker.container import DockerContainer, DockerOptions

_WHERE = {
    "DockerContainer": "learnware_dock_docker.container",
    "DockerOptions": "learnware_dock_docker.container",
}

__all__ = ["DockerContainer", "DockerOptions"]

__getattr__ = lazy_exports(__name__, _WHERE)

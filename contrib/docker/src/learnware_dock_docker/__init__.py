"""learnware-dock-docker: the ``docker`` container (Docker, or Podman via DOCKER_HOST)."""

from learnware_dock_docker.container import DockerContainer

__all__ = ["DockerContainer"]

"""Hook implementations of the ``docker`` plugin."""

from __future__ import annotations

from learnware_dock import hookimpl
from learnware_dock.interfaces import Container


@hookimpl
def dock_register_containers() -> list[type[Container]]:
    from learnware_dock_docker.container import DockerContainer

    return [DockerContainer]

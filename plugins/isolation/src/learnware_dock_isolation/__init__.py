"""learnware-dock-isolation: the ``venv`` container and the ``stat`` checker."""

from learnware_dock_isolation.container import VenvContainer

__all__ = ["VenvContainer"]

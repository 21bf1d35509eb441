"""learnware-dock-template: a copy-and-rename plugin skeleton."""

from learnware_dock_template.checker import ReadmeChecker

__all__ = ["ReadmeChecker"]

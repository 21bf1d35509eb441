"""learnware-dock-rkme: RKME table specifications."""

from learnware_dock_rkme.table import RKMETableSpecification

__all__ = ["RKMETableSpecification"]

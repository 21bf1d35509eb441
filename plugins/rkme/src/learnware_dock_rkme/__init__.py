"""learnware-dock-rkme: RKME table specifications."""

from learnware_dock_rkme.table import DegenerateKernelWarning, RKMETableSpecification

__all__ = ["DegenerateKernelWarning", "RKMETableSpecification"]

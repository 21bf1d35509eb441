"""learnware-dock-rkme: RKME table specifications.

Names are imported on first use, so loading the plugin (its ``hooks``) stays light.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from learnware_dock.lazy import lazy_exports

if TYPE_CHECKING:
    from learnware_dock_rkme.table import DegenerateKernelWarning, RKMETableSpecification

_WHERE = {
    "DegenerateKernelWarning": "learnware_dock_rkme.table",
    "RKMETableSpecification": "learnware_dock_rkme.table",
}

__all__ = ["DegenerateKernelWarning", "RKMETableSpecification"]

__getattr__ = lazy_exports(__name__, _WHERE)

"""learnware-dock-reuse: job selector, averaging, ensemble pruning, feature augmentation.

Names are imported on first use, so loading the plugin (its ``hooks``) stays light.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from learnware_dock.lazy import lazy_exports

if TYPE_CHECKING:
    from learnware_dock_reuse.augment import FeatureAugmentReuser
    from learnware_dock_reuse.averaging import AveragingReuser
    from learnware_dock_reuse.job_selector import JobSelectorReuser
    from learnware_dock_reuse.outputs import ReuseError
    from learnware_dock_reuse.pruning import EnsemblePruningReuser

_WHERE = {
    "AveragingReuser": "learnware_dock_reuse.averaging",
    "EnsemblePruningReuser": "learnware_dock_reuse.pruning",
    "FeatureAugmentReuser": "learnware_dock_reuse.augment",
    "JobSelectorReuser": "learnware_dock_reuse.job_selector",
    "ReuseError": "learnware_dock_reuse.outputs",
}

__all__ = [
    "AveragingReuser",
    "EnsemblePruningReuser",
    "FeatureAugmentReuser",
    "JobSelectorReuser",
    "ReuseError",
]

__getattr__ = lazy_exports(__name__, _WHERE)

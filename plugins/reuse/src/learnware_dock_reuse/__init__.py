"""learnware-dock-reuse: job selector, averaging, ensemble pruning, feature augmentation."""

from learnware_dock_reuse.augment import FeatureAugmentReuser
from learnware_dock_reuse.averaging import AveragingReuser
from learnware_dock_reuse.job_selector import JobSelectorReuser
from learnware_dock_reuse.outputs import ReuseError
from learnware_dock_reuse.pruning import EnsemblePruningReuser

__all__ = [
    "AveragingReuser",
    "EnsemblePruningReuser",
    "FeatureAugmentReuser",
    "JobSelectorReuser",
    "ReuseError",
]

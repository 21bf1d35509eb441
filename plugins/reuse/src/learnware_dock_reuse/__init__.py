"""learnware-dock-reuse: job selector, averaging, ensemble pruning, feature augmentation,
and ``CombiningReuser``, the base of reusers that run their learnwares and combine them.

Names are imported on first use, so loading the plugin (its ``hooks``) stays light.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from learnware_dock.lazy import lazy_exports

if TYPE_CHECKING:
    from learnware_dock_reuse.augment import FeatureAugmentOptions, FeatureAugmentReuser
    from learnware_dock_reuse.averaging import AveragingOptions, AveragingReuser
    from learnware_dock_reuse.base import CombiningReuser
    from learnware_dock_reuse.job_selector import JobSelectorOptions, JobSelectorReuser
    from learnware_dock_reuse.outputs import OutputKind, ReuseError
    from learnware_dock_reuse.pruning import EnsemblePruningOptions, EnsemblePruningReuser

_WHERE = {
    "AveragingOptions": "learnware_dock_reuse.averaging",
    "AveragingReuser": "learnware_dock_reuse.averaging",
    "CombiningReuser": "learnware_dock_reuse.base",
    "EnsemblePruningOptions": "learnware_dock_reuse.pruning",
    "EnsemblePruningReuser": "learnware_dock_reuse.pruning",
    "FeatureAugmentOptions": "learnware_dock_reuse.augment",
    "FeatureAugmentReuser": "learnware_dock_reuse.augment",
    "JobSelectorOptions": "learnware_dock_reuse.job_selector",
    "JobSelectorReuser": "learnware_dock_reuse.job_selector",
    "OutputKind": "learnware_dock_reuse.outputs",
    "ReuseError": "learnware_dock_reuse.outputs",
}

__all__ = [
    "AveragingOptions",
    "AveragingReuser",
    "CombiningReuser",
    "EnsemblePruningOptions",
    "EnsemblePruningReuser",
    "FeatureAugmentOptions",
    "FeatureAugmentReuser",
    "JobSelectorOptions",
    "JobSelectorReuser",
    "OutputKind",
    "ReuseError",
]

__getattr__ = lazy_exports(__name__, _WHERE)

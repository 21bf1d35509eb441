"""Hook implementations of the ``reuse`` plugin (``dock reuse --method NAME`` is core's)."""

from __future__ import annotations

from learnware_dock import hookimpl
from learnware_dock.interfaces import Reuser


@hookimpl
def dock_register_reusers() -> list[type[Reuser]]:
    from learnware_dock_reuse.augment import FeatureAugmentReuser
    from learnware_dock_reuse.averaging import AveragingReuser
    from learnware_dock_reuse.job_selector import JobSelectorReuser
    from learnware_dock_reuse.pruning import EnsemblePruningReuser

    return [AveragingReuser, EnsemblePruningReuser, FeatureAugmentReuser, JobSelectorReuser]

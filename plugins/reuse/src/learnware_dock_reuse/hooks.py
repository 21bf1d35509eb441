"""Hook implementations of the ``reuse`` plugin."""

from __future__ import annotations

from typing import TYPE_CHECKING

from learnware_dock import hookimpl
from learnware_dock.interfaces import Reuser

if TYPE_CHECKING:
    import typer


@hookimpl
def dock_register_reusers() -> list[type[Reuser]]:
    from learnware_dock_reuse.augment import FeatureAugmentReuser
    from learnware_dock_reuse.averaging import AveragingReuser
    from learnware_dock_reuse.job_selector import JobSelectorReuser
    from learnware_dock_reuse.pruning import EnsemblePruningReuser

    return [AveragingReuser, EnsemblePruningReuser, FeatureAugmentReuser, JobSelectorReuser]


@hookimpl
def dock_register_commands(app: typer.Typer) -> None:
    from learnware_dock_reuse.cli import register

    register(app)

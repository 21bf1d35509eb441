"""Checkers: verdicts on a submitted learnware before it is stored."""

from __future__ import annotations

import functools
from abc import ABC, abstractmethod
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

import attrs

from learnware_dock.domain import CheckResult
from learnware_dock.semantic import SemanticSpec

if TYPE_CHECKING:
    from learnware_dock.interfaces.specification import StatSpecification
    from learnware_dock.package.manifest import Manifest
    from learnware_dock.registry import Components


@attrs.define
class Submission:
    """A submitted package, safely extracted to ``root``, plus its semantic spec.

    Everything a checker needs is reachable from here, so a checker that must run the
    model can hand ``root`` and ``manifest`` to a container (``components.containers``).
    ``manifest`` and ``stat_specs`` parse lazily and raise :class:`DockError` subclasses.
    """

    root: Path
    semantic_spec: SemanticSpec
    components: Components
    archive: Path | None = None

    @functools.cached_property
    def manifest(self) -> Manifest:
        from learnware_dock.package.manifest import Manifest

        return Manifest.read(self.root)

    @functools.cached_property
    def stat_specs(self) -> dict[str, StatSpecification]:
        from learnware_dock.package.reader import load_stat_specs

        return load_stat_specs(self.root, self.manifest, self.components.specifications)


class Checker(ABC):
    """Base class of checkers. Every registered checker runs, in ascending ``order``.

    Return ``INVALID`` to reject (nothing is stored), ``NONUSABLE`` when the submission
    passes but this checker cannot vouch that the model works, ``USABLE`` when it ran the
    model successfully. A learnware is USABLE only if every checker with
    ``grants_usable = True`` says USABLE (so without such a checker installed, it is
    NONUSABLE, as in the `learnware` package).

    A complete minimal plugin::

        from learnware_dock import hookimpl
        from learnware_dock.domain import CheckResult, Status
        from learnware_dock.interfaces import Checker

        class HasReadmeChecker(Checker):
            name = "has-readme"
            order = 50

            def check(self, submission):
                if (submission.root / "README.md").is_file():
                    return CheckResult(self.name, Status.NONUSABLE, "README.md present")
                return CheckResult(self.name, Status.INVALID, "add a README.md to the package")

        @hookimpl
        def dock_register_checkers():
            return [HasReadmeChecker]
    """

    name: ClassVar[str]
    order: ClassVar[int] = 100
    grants_usable: ClassVar[bool] = False

    @abstractmethod
    def check(self, submission: Submission) -> CheckResult:
        """Judge ``submission``; raise nothing for bad input, return INVALID with a reason."""

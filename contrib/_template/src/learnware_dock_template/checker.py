"""The plugin's algorithm lives beside hooks.py: here, a checker for a package README."""

from __future__ import annotations

from learnware_dock.domain import CheckResult, Status
from learnware_dock.interfaces import Checker, Submission

README_NAMES = ("README.md", "README.rst", "README.txt", "README")


class ReadmeChecker(Checker):
    """Passes every package (NONUSABLE: it runs no model) and says whether it has a README."""

    name = "template-readme"
    order = 90

    def check(self, submission: Submission) -> CheckResult:
        found = [n for n in README_NAMES if (submission.root / n).is_file()]
        message = f"documented in {found[0]}" if found else "no README in the package"
        return CheckResult(self.name, Status.NONUSABLE, message)

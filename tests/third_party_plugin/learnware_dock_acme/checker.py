"""The ``acme-license`` checker: Acme stores learnwares under permissive licenses only."""

from __future__ import annotations

from learnware_dock import CheckResult, Status
from learnware_dock.interfaces import Checker, Submission

#: License values Acme refuses (copyleft), by prefix
COPYLEFT = ("GPL", "LGPL", "AGPL")


class LicenseChecker(Checker):
    """INVALID without a License or with a copyleft one; otherwise NONUSABLE (it does not
    run the model) with the accepted license in its message. Runs before model checks."""

    name = "acme-license"
    order = 30

    def check(self, submission: Submission) -> CheckResult:
        licenses = submission.semantic_spec.license or ()
        if not licenses:
            return CheckResult(self.name, Status.INVALID, "no License: Acme needs one")
        refused = [value for value in licenses if value.upper().startswith(COPYLEFT)]
        if refused:
            message = f"Acme accepts permissive licenses only, not {', '.join(refused)}"
            return CheckResult(self.name, Status.INVALID, message)
        return CheckResult(self.name, Status.NONUSABLE, f"license {', '.join(licenses)} accepted")

"""Run every registered checker on a package and combine their verdicts."""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path

import attrs

from learnware_dock.domain import CheckReport, CheckResult, Status
from learnware_dock.interfaces import Checker, NewStatSpec, Submission
from learnware_dock.package.reader import extracted, package_file
from learnware_dock.registry import Components
from learnware_dock.semantic import SemanticSpec


def combine(checkers: Sequence[type[Checker]], results: Sequence[CheckResult]) -> Status:
    """INVALID if any checker says so; USABLE only if every usability-granting checker
    says USABLE (and there is one); NONUSABLE otherwise."""
    if any(r.status is Status.INVALID for r in results):
        return Status.INVALID
    granting = [r for c, r in zip(checkers, results, strict=True) if c.grants_usable]
    if granting and all(r.status is Status.USABLE for r in granting):
        return Status.USABLE
    return Status.NONUSABLE


def run_checkers(submission: Submission, names: Sequence[str] | None = None) -> CheckReport:
    """Run the named checkers (default: all registered), in ``order``, and report.

    A checker that raises is recorded as INVALID with its error; an INVALID verdict stops
    the run (later checkers would only repeat the failure).
    """
    registry = submission.components.checkers
    classes = [registry.get(n) for n in names] if names is not None else registry.classes()
    classes.sort(key=lambda c: (c.order, c.name))
    results: list[CheckResult] = []
    for cls in classes:
        start = time.perf_counter()
        try:
            result = cls().check(submission)
        except Exception as exc:
            result = CheckResult(cls.name, Status.INVALID, f"checker crashed: {exc!r}")
        results.append(attrs.evolve(result, seconds=time.perf_counter() - start))
        if result.status is Status.INVALID:
            break
    return CheckReport(combine(classes[: len(results)], results), tuple(results))


def check_archive(
    archive: Path,
    semantic_spec: SemanticSpec,
    components: Components,
    names: Sequence[str] | None = None,
) -> CheckReport:
    """Safely extract ``archive`` and run the checkers on it; no market is involved."""
    with extracted(archive) as root:
        return run_checkers(Submission(root, semantic_spec, components, archive), names)


def stat_spec_files(submission: Submission) -> tuple[NewStatSpec, ...]:
    """The checked submission's spec files, as stored (original bytes, anchor-compatible)."""
    return tuple(
        NewStatSpec(
            e.class_name, e.file_name, package_file(submission.root, e.file_name).read_bytes()
        )
        for e in submission.manifest.stat_specifications
    )

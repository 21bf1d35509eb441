"""``dock pack``: zip a learnware folder and validate the result."""

from __future__ import annotations

from pathlib import Path

from learnware_dock.checking import check_archive
from learnware_dock.domain import CheckReport, Status
from learnware_dock.errors import PackageError
from learnware_dock.package.writer import zip_folder
from learnware_dock.plugins import get_plugin_manager
from learnware_dock.registry import Components
from learnware_dock.semantic import SemanticSpec


def pack_folder(
    folder: str | Path, output: str | Path, semantic_spec: SemanticSpec | None = None
) -> CheckReport:
    """Zip ``folder`` into ``output`` and run the package checker (and the semantic one
    when a spec is given). An INVALID package is deleted and raises :class:`PackageError`."""
    output = Path(output)
    zip_folder(folder, output)
    components = Components(get_plugin_manager())
    names = ["package"] + (["semantic"] if semantic_spec is not None else [])
    report = check_archive(output, semantic_spec or SemanticSpec(), components, names)
    if report.status is Status.INVALID:
        output.unlink(missing_ok=True)
        raise PackageError(f"{folder} is not a valid learnware: {report.message}")
    return report

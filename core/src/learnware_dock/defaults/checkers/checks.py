"""The built-in checkers: ``semantic`` (the spec) and ``package`` (the files)."""

from __future__ import annotations

from learnware_dock.domain import CheckResult, Status
from learnware_dock.errors import DockError, PackageError
from learnware_dock.interfaces import Checker, Submission
from learnware_dock.package.manifest import read_yaml
from learnware_dock.package.reader import check_layout, package_file


class SemanticChecker(Checker):
    """Validates the semantic spec against the vocabulary (NONUSABLE on success)."""

    name = "semantic"
    order = 10

    def check(self, submission: Submission) -> CheckResult:
        try:
            submission.semantic_spec.validate(submission.components.vocabulary)
        except DockError as exc:
            return CheckResult(self.name, Status.INVALID, str(exc))
        return CheckResult(self.name, Status.NONUSABLE, "semantic spec is valid")


class PackageChecker(Checker):
    """Structure, manifest schema, referenced files, and loadable, finite stat specs
    whose dimension matches the semantic ``Input.Dimension``."""

    name = "package"
    order = 20

    def check(self, submission: Submission) -> CheckResult:
        try:
            manifest = submission.manifest
            problems = check_layout(submission.root, manifest)
            for env_name in ("environment.yaml", "environment.yml"):
                env = submission.root / env_name
                if env.is_file():
                    try:
                        read_yaml(env)  # bounded: size, depth, no aliases
                    except PackageError as exc:
                        problems.append(str(exc))
            for entry in manifest.stat_specifications:
                package_file(submission.root, entry.file_name)
            if problems:
                return CheckResult(self.name, Status.INVALID, "; ".join(problems))
            specs = submission.stat_specs
        except DockError as exc:
            return CheckResult(self.name, Status.INVALID, str(exc))
        semantic_input = submission.semantic_spec.input
        for type_name, spec in specs.items():
            dim = spec.dimension
            if semantic_input is not None and dim is not None and dim != semantic_input.dimension:
                return CheckResult(
                    self.name,
                    Status.INVALID,
                    f"{type_name} describes {dim} features but the semantic spec's "
                    f"Input.Dimension is {semantic_input.dimension}",
                )
        names = ", ".join(specs) or "no statistical specs"
        return CheckResult(self.name, Status.NONUSABLE, f"package is well formed ({names})")

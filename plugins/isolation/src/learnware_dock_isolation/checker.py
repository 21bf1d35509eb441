"""The ``stat`` checker: run the submitted model in a container and check what it returns.

It builds the model (``venv`` by default), checks ``input_shape``/``output_shape`` against
the semantic spec as the `learnware` package does (Table: input_shape = (Input.Dimension,);
Classification: output (1,) for labels in [0, C) or (C,) scores; Regression: (Output
.Dimension,)), then predicts on probe rows drawn from the learnware's own RKME (its
points are herding samples of the training data) rather than pure noise, and checks the
output's length, shape and finiteness. Passing makes the learnware USABLE.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from learnware_dock.config import setting
from learnware_dock.domain import CheckResult, Status
from learnware_dock.errors import DockError
from learnware_dock.interfaces import Checker, Submission

PROBES = 16


def _first(values: tuple[str, ...] | None) -> str | None:
    return values[0] if values else None


def probe_rows(submission: Submission, dim: int, seed: int = 0) -> tuple[np.ndarray, str]:
    """Up to PROBES input rows and where they come from."""
    for name, spec in submission.stat_specs.items():
        z = getattr(spec, "z", None)
        if isinstance(z, np.ndarray) and z.ndim == 2 and z.shape[1] == dim:
            beta = np.asarray(getattr(spec, "beta", np.ones(len(z))), dtype=np.float64)
            order = np.argsort(-beta, kind="stable")[:PROBES]  # the heaviest points
            return z[order].astype(np.float64), f"{len(order)} rows of its {name}"
    rng = np.random.default_rng(seed)
    return rng.standard_normal((PROBES, dim)), f"{PROBES} random normal rows"


def shape_problems(semantic: Any, info: dict[str, Any]) -> list[str]:
    """Where the model's declared shapes break the conventions of its semantic spec."""
    problems = []
    data, task = _first(semantic.data), _first(semantic.task)
    input_shape: list[int] | None = info.get("input_shape")
    output_shape: list[int] | None = info.get("output_shape")
    table = data == "Table" and semantic.input is not None
    if table and input_shape is not None and list(input_shape) != [semantic.input.dimension]:
        problems.append(
            f"input_shape is {tuple(input_shape)} but Input.Dimension is "
            f"{semantic.input.dimension}: a table model takes ({semantic.input.dimension},)"
        )
    if output_shape is not None and semantic.output is not None:
        want = semantic.output.dimension
        if task == "Classification" and list(output_shape) not in ([1], [want]):
            problems.append(
                f"output_shape is {tuple(output_shape)}: a classifier returns (1,) labels or "
                f"({want},) scores for Output.Dimension {want}"
            )
        if task == "Regression" and list(output_shape) != [want]:
            problems.append(f"output_shape is {tuple(output_shape)}, Output.Dimension is {want}")
    return problems


def output_problems(semantic: Any, out: np.ndarray, rows: int) -> list[str]:
    if out.ndim == 0 or out.shape[0] != rows:
        return [f"predict returned shape {out.shape} for {rows} input rows"]
    if out.dtype.kind not in "biuf":
        return [f"predict returned {out.dtype} values, not numbers"]
    if not np.isfinite(out).all():
        return ["predict returned NaN or infinite values"]
    task = _first(semantic.task)
    columns = 1 if out.ndim == 1 else int(np.prod(out.shape[1:]))
    if semantic.output is None:
        return []
    want = semantic.output.dimension
    if task == "Classification":
        if columns == 1:
            labels = out.reshape(-1)
            integral = np.array_equal(labels, np.round(labels))
            if not integral or labels.min() < 0 or labels.max() >= want:
                return [f"predicted labels must be integers in [0, {want})"]
        elif columns != want:
            return [f"predict returned {columns} scores per row; Output.Dimension is {want}"]
    elif task == "Regression" and columns != want:
        return [f"predict returned {columns} values per row; Output.Dimension is {want}"]
    return []


class StatChecker(Checker):
    """See the module docstring. ``DOCK_STAT_CHECK_TIMEOUT`` sets seconds per call (60)."""

    name = "stat"
    order = 50
    grants_usable = True
    container = "venv"

    def check(self, submission: Submission) -> CheckResult:
        semantic = submission.semantic_spec
        timeout = setting("DOCK_STAT_CHECK_TIMEOUT", float, default=60.0, minimum=0.1)
        try:
            cls = submission.components.containers.get(self.container)
            model = cls().load(submission.root, submission.manifest, timeout=timeout)
        except DockError as exc:
            return CheckResult(self.name, Status.INVALID, str(exc))
        with model:
            info = getattr(model, "info", {})
            problems = shape_problems(semantic, info)
            if problems:
                return CheckResult(self.name, Status.INVALID, "; ".join(problems))
            dim = semantic.input.dimension if semantic.input is not None else None
            if dim is None and info.get("input_shape"):
                dim = int(np.prod(info["input_shape"]))
            if dim is None:
                return CheckResult(
                    self.name, Status.NONUSABLE, "no Input.Dimension or input_shape to probe"
                )
            X, source = probe_rows(submission, dim)
            start = time.perf_counter()
            try:
                out = np.asarray(model.predict(X))
            except DockError as exc:
                return CheckResult(self.name, Status.INVALID, str(exc))
            seconds = time.perf_counter() - start
        problems = output_problems(semantic, out, len(X))
        if problems:
            return CheckResult(self.name, Status.INVALID, "; ".join(problems))
        return CheckResult(
            self.name,
            Status.USABLE,
            f"predict on {source}: output {out.shape} in {seconds * 1000:.1f} ms "
            f"({self.container} container)",
        )

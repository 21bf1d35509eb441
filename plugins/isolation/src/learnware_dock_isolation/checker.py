"""The ``stat`` checker: run the submitted model in a container and check what it returns.

It builds the model in the default container (the highest-priority one that isolates
code, ``venv`` when installed: :func:`learnware_dock.loading.choose_container`), checks
``input_shape``/``output_shape`` against the semantic spec as the `learnware` package
does (Table: input_shape = (Input.Dimension,); Classification: output (1,) for labels in
[0, C) or (C,) scores; Regression: (Output.Dimension,)), then predicts on probe rows from
the learnware's own statistical specifications (:meth:`StatSpecification.probe_rows`; an
RKME gives its heaviest points, herding samples of the training data) rather than pure
noise, on random normal rows when none gives rows of the right width (a Text learnware:
on a fixed list of sample texts, :data:`TEXT_PROBES`), and checks the output's length,
shape and finiteness. Passing makes the learnware USABLE.
"""

from __future__ import annotations

import time
from typing import Any, ClassVar

import numpy as np

from learnware_dock.config import setting
from learnware_dock.domain import CheckResult, Status
from learnware_dock.errors import DockError
from learnware_dock.interfaces import Checker, ModelInfo, Submission
from learnware_dock.loading import choose_container, container_options

PROBES = 16
#: what a text learnware is probed with (no spec can give documents back): short texts
#: of several kinds and languages, as the `learnware` package probes with random texts
TEXT_PROBES = (
    "The meeting has been moved to Thursday afternoon.",
    "Does anyone know a good driver for this graphics card?",
    "The team won the final match 3-1 after extra time.",
    "Preheat the oven to 200 degrees and bake for 25 minutes.",
    "NASA announced a new mission to study the outer planets.",
    "For sale: a used bicycle in good condition, best offer.",
    "Le gouvernement a présenté son budget pour l'année prochaine.",
    "Die Bahn fährt heute wegen eines Streiks nicht.",
    "",
    "ok",
    "A much longer text " + "that repeats itself " * 60,
    "Numbers 12 345 6.78 and symbols #$%& in one line.",
)


def _first(values: tuple[str, ...] | None) -> str | None:
    return values[0] if values else None


def probe_rows(submission: Submission, dim: int, seed: int = 0) -> tuple[np.ndarray, str]:
    """Up to PROBES input rows and where they come from."""
    for name, spec in submission.stat_specs.items():
        rows = spec.probe_rows(PROBES)
        if rows is None:
            continue
        rows = np.asarray(rows)
        usable = rows.ndim == 2 and len(rows) > 0 and rows.shape[1] == dim
        if usable and rows.dtype.kind in "biuf" and np.isfinite(rows).all():
            rows = rows[:PROBES].astype(np.float64)
            return rows, f"{len(rows)} rows of its {name}"
    rng = np.random.default_rng(seed)
    return rng.standard_normal((PROBES, dim)), f"{PROBES} random normal rows"


def shape_problems(semantic: Any, info: ModelInfo) -> list[str]:
    """Where the model's declared shapes break the conventions of its semantic spec."""
    problems = []
    data, task = _first(semantic.data), _first(semantic.task)
    input_shape, output_shape = info.input_shape, info.output_shape
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
    """See the module docstring. ``DOCK_STAT_CHECK_TIMEOUT`` sets seconds per call (the
    container's default ``timeout`` when unset); ``container`` names a container to use
    instead of the default one."""

    name = "stat"
    order = 50
    grants_usable = True
    container: ClassVar[str | None] = None

    def check(self, submission: Submission) -> CheckResult:
        semantic = submission.semantic_spec
        try:
            cls = choose_container(submission.components, self.container)
            default = cls.options_class().timeout
            timeout = setting("DOCK_STAT_CHECK_TIMEOUT", float, default=default, minimum=0.1)
            options = container_options(cls, {"timeout": timeout})
            model = cls().load(submission.root, submission.manifest, options)
        except DockError as exc:
            return CheckResult(self.name, Status.INVALID, str(exc))
        with model:
            info = model.info
            problems = shape_problems(semantic, info)
            if problems:
                return CheckResult(self.name, Status.INVALID, "; ".join(problems))
            dim = semantic.input.dimension if semantic.input is not None else None
            if dim is None and info.input_shape:
                dim = int(np.prod(info.input_shape))
            if _first(semantic.data) == "Text":
                X: Any = list(TEXT_PROBES)
                source = f"{len(X)} sample texts"
            elif dim is None:
                return CheckResult(
                    self.name, Status.NONUSABLE, "no Input.Dimension or input_shape to probe"
                )
            else:
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
            f"({cls.name} container)",
        )

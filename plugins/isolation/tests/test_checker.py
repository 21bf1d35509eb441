"""The stat checker through the interfaces: probe rows from ``StatSpecification.probe_rows``,
the model's ``ModelInfo``, and the default container chosen by priority."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import ClassVar

import numpy as np
import pytest

from learnware_dock import Market, hookimpl
from learnware_dock.domain import CheckResult
from learnware_dock.interfaces import Container, ContainerOptions, LoadedModel, StatSpecification
from learnware_dock.package.manifest import Manifest
from learnware_dock.package.writer import write_folder, zip_folder
from learnware_dock.testing import ToySpecification, register_plugin, table_semantic_spec
from learnware_dock_isolation.container import VenvContainer, VenvOptions

#: predicts 0 on rows that are all 7.0 (what RowsSpecification gives), else the
#: out-of-range label 9, which the checker rejects
SEVENS = """
import numpy as np

class Model:
    input_shape = (4,)
    output_shape = (1,)

    def predict(self, X):
        X = np.asarray(X)
        return np.zeros(len(X), dtype=int) if (X == 7.0).all() else np.full(len(X), 9)
"""


class RowsSpecification(ToySpecification):
    """A toy spec whose probe rows are ``width`` columns of 7.0, at most five rows."""

    name = "RowsSpecification"
    width: ClassVar[int] = 4

    def probe_rows(self, count: int) -> np.ndarray:
        return np.full((min(count, 5), self.width), 7.0)


class NarrowSpecification(RowsSpecification):
    name = "NarrowSpecification"
    width = 3


class Specs:
    @hookimpl
    def dock_register_specifications(self) -> list[type[StatSpecification]]:
        return [RowsSpecification, NarrowSpecification]


@pytest.fixture
def specs_market(toy_market: Market) -> Iterator[Market]:
    with register_plugin(toy_market.pm, Specs()):
        yield toy_market


def package(dest: Path, source: str, specs: dict[str, StatSpecification]) -> Path:
    folder = write_folder(dest, model_source=source, class_name="Model", stat_specs=specs)
    return zip_folder(folder, dest.with_suffix(".zip"))


def stat_result(market: Market, archive: Path) -> CheckResult:
    report = market.check(archive, table_semantic_spec())
    return next(r for r in report.results if r.checker == "stat")


def _toy(cls: type[ToySpecification]) -> ToySpecification:
    return cls.generate(np.random.default_rng(0).normal(size=(20, 4)))


def test_the_probe_rows_of_the_spec_are_what_the_model_gets(
    tmp_path: Path, specs_market: Market
) -> None:
    archive = package(tmp_path / "rows", SEVENS, {"rows.json": _toy(RowsSpecification)})
    stat = stat_result(specs_market, archive)
    assert stat.status.name == "USABLE", stat.message
    assert stat.message.startswith("predict on 5 rows of its RowsSpecification: output (5,)")
    assert stat.message.endswith("(venv container)")


@pytest.mark.parametrize("spec", [ToySpecification, NarrowSpecification])
def test_without_probe_rows_of_the_right_width_random_rows_are_used(
    tmp_path: Path, specs_market: Market, spec: type[ToySpecification]
) -> None:
    """ToySpecification gives no rows (the interface's default), NarrowSpecification rows
    of the wrong width (skipped): random normal rows then, on which SEVENS answers 9."""
    archive = package(tmp_path / spec.name, SEVENS, {"spec.json": _toy(spec)})
    stat = stat_result(specs_market, archive)
    assert stat.status.name == "INVALID"
    assert "predicted labels must be integers in [0, 2)" in stat.message


def test_random_rows_when_no_spec_gives_rows(tmp_path: Path, toy_market: Market) -> None:
    source = SEVENS.replace("else np.full(len(X), 9)", "else np.ones(len(X), dtype=int)")
    archive = package(tmp_path / "toy", source, {"toy.json": _toy(ToySpecification)})
    stat = stat_result(toy_market, archive)
    assert stat.status.name == "USABLE"
    assert stat.message.startswith("predict on 16 random normal rows: output (16,)")


#: a text classifier: label 1 for texts with a digit, else 0; refuses anything not a str
WORDS = """
import numpy as np

class Model:
    def predict(self, X):
        if not all(isinstance(doc, str) for doc in X):
            raise TypeError("texts only")
        return np.array([int(any(c.isdigit() for c in doc)) for doc in X])
"""


def test_a_text_learnware_is_probed_with_texts_in_its_container(
    tmp_path: Path, toy_market: Market
) -> None:
    from learnware_dock.semantic import IOSpec, SemanticSpec

    archive = package(tmp_path / "words", WORDS, {"toy.json": _toy(ToySpecification)})
    semantic = SemanticSpec(
        name="digits in texts",
        data=("Text",),
        task=("Classification",),
        library=("Others",),
        scenario=("Education",),
        license=("MIT",),
        output=IOSpec(2),
    )
    report = toy_market.check(archive, semantic)
    stat = next(r for r in report.results if r.checker == "stat")
    assert stat.status.name == "USABLE", stat.message
    assert stat.message.startswith("predict on 12 sample texts: output (12,)")


class RecordingContainer(Container):
    """An isolating container of the highest priority: the venv container, recorded."""

    name = "recording"
    priority = 1000
    options_class = VenvOptions
    seen: ClassVar[list[ContainerOptions]] = []

    def load(self, root: Path, manifest: Manifest, options: ContainerOptions) -> LoadedModel:
        type(self).seen.append(options)
        return VenvContainer().load(root, manifest, options)


class Recording:
    @hookimpl
    def dock_register_containers(self) -> list[type[Container]]:
        return [RecordingContainer]


def test_the_checker_uses_the_highest_priority_container_with_its_options(
    tmp_path: Path, toy_market: Market, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DOCK_STAT_CHECK_TIMEOUT", "7.5")
    source = SEVENS.replace("else np.full(len(X), 9)", "else np.ones(len(X), dtype=int)")
    archive = package(tmp_path / "rec", source, {"toy.json": _toy(ToySpecification)})
    RecordingContainer.seen.clear()
    with register_plugin(toy_market.pm, Recording()):
        stat = stat_result(toy_market, archive)
    assert stat.status.name == "USABLE" and stat.message.endswith("(recording container)")
    assert RecordingContainer.seen == [VenvOptions(timeout=7.5)]

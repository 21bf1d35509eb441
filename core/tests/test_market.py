"""The Market facade on the SQLite organizer: add/check/update/delete/get/list/search."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest

from learnware_dock import (
    CheckError,
    Market,
    SearchError,
    SemanticSpec,
    Status,
    UnknownLearnwareError,
    UserInfo,
)
from learnware_dock.domain import SearchResult, converter
from learnware_dock.errors import PluginError
from learnware_dock.package import Manifest, extracted
from learnware_dock.testing import ToySpecification, build_package, table_semantic_spec

X = np.random.default_rng(0).normal(size=(60, 4))  # fixed data, drawn once
Y = (X[:, 0] > 0).astype(int)


@pytest.fixture
def package(tmp_path: Path) -> Path:
    return build_package(tmp_path / "lw", X, Y)


def test_add_get_list_delete(toy_market: Market, package: Path) -> None:
    lw = toy_market.add(package, table_semantic_spec("alpha"))
    assert lw.id == "00000001" and lw.status is Status.NONUSABLE and lw.version == 1
    assert lw.package_path.is_file() and lw.package_path.is_relative_to(toy_market.root)
    assert [r.type for r in lw.stat_specs] == ["ToySpecification"]
    assert lw.report is not None and {r.checker for r in lw.report.results} >= {
        "semantic",
        "package",
    }
    assert toy_market.get(lw.id) == lw and lw.id in toy_market and len(toy_market) == 1
    assert toy_market.list(Status.USABLE) == [] and toy_market.list(Status.NONUSABLE) == [lw]
    spec = toy_market.stat_spec(lw.id, "ToySpecification")
    assert isinstance(spec, ToySpecification)
    assert np.allclose(spec.mean, X.mean(axis=0))
    toy_market.delete(lw.id)
    assert len(toy_market) == 0 and lw.id not in toy_market
    with pytest.raises(UnknownLearnwareError, match="00000001"):
        toy_market.get(lw.id)


def test_semantic_dict_is_accepted(toy_market: Market, package: Path) -> None:
    lw = toy_market.add(package, table_semantic_spec("dict").to_dict())
    assert lw.semantic_spec == table_semantic_spec("dict")


def test_invalid_semantic_spec_is_rejected_and_nothing_stored(
    toy_market: Market, package: Path
) -> None:
    with pytest.raises(CheckError, match="semantic: semantic spec Data value 'Video'"):
        toy_market.add(package, table_semantic_spec(data=("Video",)))
    assert len(toy_market) == 0
    assert not any((toy_market.root / "packages").rglob("*.zip"))


def test_check_reports_each_checker_without_storing(toy_market: Market, package: Path) -> None:
    report = toy_market.check(package, table_semantic_spec())
    assert report.status is Status.NONUSABLE
    assert [r.checker for r in report.results][:2] == ["semantic", "package"]
    assert len(toy_market) == 0


def test_update_bumps_version_and_keeps_id(toy_market: Market, package: Path) -> None:
    lw = toy_market.add(package, table_semantic_spec("before"))
    updated = toy_market.update(lw.id, semantic_spec=table_semantic_spec("after"))
    assert (updated.id, updated.version, updated.name) == (lw.id, 2, "after")
    assert updated.updated is not None and lw.updated is not None and updated.updated >= lw.updated
    with pytest.raises(CheckError):
        toy_market.update(lw.id, semantic_spec=table_semantic_spec(task=("Nope",)))
    assert toy_market.get(lw.id).name == "after"


def test_market_open_by_name_uses_dock_home(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DOCK_HOME", str(tmp_path / "home"))
    with Market.open("shop") as market:
        assert market.root == (tmp_path / "home" / "shop").resolve()
    with Market.open(str(tmp_path / "by-path")) as market:
        assert market.root == (tmp_path / "by-path").resolve()


def test_unknown_organizer_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(PluginError, match="no organizer named 'postgres'; installed: sqlite"):
        Market(tmp_path, organizer="postgres")


# -- semantic search ------------------------------------------------------------------------
@pytest.fixture
def shop(toy_market: Market, package: Path) -> Market:
    rows = [
        ("house prices", "Regression", ("Business",), "ridge regression of house sale prices"),
        (
            "credit risk",
            "Classification",
            ("Financial", "Business"),
            "default prediction for loans",
        ),
        ("tumour grade", "Classification", ("Health",), "grading tumours from biopsy features"),
        ("traffic volume", "Regression", ("Traffic",), "hourly vehicles on a motorway"),
    ]
    for name, task, scenario, description in rows:
        toy_market.add(
            package,
            table_semantic_spec(name, task=(task,), scenario=scenario, description=description),
        )
    return toy_market


def names(result: SearchResult) -> list[str]:
    return [m.learnware.name for m in result.singles]


def test_class_values_are_or_and_tags_intersect(shop: Market) -> None:
    result = shop.search(SemanticSpec(task=("Regression",)))
    assert sorted(names(result)) == ["house prices", "traffic volume"] and result.total == 2
    assert all(m.score == 1.0 and m.distance is None for m in result.singles)
    both = shop.search(SemanticSpec(task=("Regression", "Classification")))
    assert both.total == 4
    tags = shop.search(SemanticSpec(scenario=("Business", "Health")))
    assert sorted(names(tags)) == ["credit risk", "house prices", "tumour grade"]
    combined = shop.search(SemanticSpec(task=("Classification",), scenario=("Business",)))
    assert names(combined) == ["credit risk"]


def test_empty_values_are_wildcards_and_ids_filter(shop: Market) -> None:
    assert shop.search(SemanticSpec(task=(), scenario=())).total == 4
    only = shop.search(
        UserInfo(semantic_spec=SemanticSpec(), learnware_ids=["00000002", "00000004"])
    )
    assert names(only) == ["credit risk", "traffic volume"]


def test_free_text_is_ranked_with_scores(shop: Market) -> None:
    result = shop.search(SemanticSpec(name="tumour biopsy"))
    assert names(result)[0] == "tumour grade"
    best = result.singles[0]
    assert best.score == 1.0 and best.distance is not None
    partial = shop.search(SemanticSpec(name="loans biopsy"))
    assert {m.learnware.name: m.score for m in partial.singles} == {
        "credit risk": 0.5,
        "tumour grade": 0.5,
    }


def test_fuzzy_fallback_when_fts_finds_nothing(shop: Market) -> None:
    result = shop.search(SemanticSpec(name="trafic volumme"))
    assert names(result)[0] == "traffic volume"
    assert 0.6 <= result.singles[0].score < 1.0
    assert shop.search(SemanticSpec(name="zzzzqqq")).total == 0


def test_pagination_and_total(shop: Market) -> None:
    page = shop.search(SemanticSpec(), limit=2, offset=1)
    assert page.total == 4 and [m.learnware.id for m in page.singles] == ["00000002", "00000003"]


def test_search_errors(shop: Market) -> None:
    with pytest.raises(PluginError, match="no searcher named 'rkme-ann'"):
        shop.search(SemanticSpec(), searcher="rkme-ann")
    with pytest.raises(SearchError, match="does not take these options"):
        shop.search(SemanticSpec(), searcher="semantic", top_k=3)


def test_search_result_unstructures_to_json(shop: Market) -> None:
    data = converter.unstructure(shop.search(SemanticSpec(name="credit")))
    assert data["singles"][0]["learnware"]["semantic_spec"]["Name"]["Values"] == "credit risk"
    assert data["singles"][0]["learnware"]["status"] == "NONUSABLE"


def test_inprocess_container_runs_a_trusted_package(toy_market: Market, package: Path) -> None:
    container = toy_market.components.containers.get("inprocess")()
    lw = toy_market.add(package, table_semantic_spec())
    with extracted(lw.package_path) as root, container.load(root, Manifest.read(root)) as model:
        predictions = model.predict(X)
    assert predictions.shape == (60,) and (predictions == Y).mean() > 0.8


def test_opening_listing_searching_checking_never_run_package_code(
    tmp_path: Path, toy_market: Market
) -> None:
    canary = tmp_path / "executed"
    folder = build_package(tmp_path / "lw", X, Y).with_suffix("")
    (folder / "__init__.py").write_text(
        f"open({str(canary)!r}, 'w').write('ran')\nclass CentroidModel:\n    pass\n"
    )
    from learnware_dock.package import zip_folder

    hostile = zip_folder(folder, tmp_path / "hostile.zip")
    lw = toy_market.add(hostile, table_semantic_spec("canary"))
    toy_market.check(hostile, table_semantic_spec("canary"))
    with Market(toy_market.root, plugin_manager=toy_market.pm) as reopened:
        assert [x.id for x in reopened.list()] == [lw.id]
        assert reopened.search(SemanticSpec(name="canary")).total == 1
        reopened.stat_spec(lw, "ToySpecification")
    assert not canary.exists()


def test_manifest_keeps_tuples_both_ways(tmp_path: Path) -> None:
    from learnware_dock.package import write_folder
    from learnware_dock.package.manifest import Manifest

    folder = write_folder(
        tmp_path / "p",
        model_source="",
        class_name="M",
        model_kwargs={"input_shape": (64,), "output_shape": (10,)},
    )
    assert "!!python/tuple" in (folder / "learnware.yaml").read_text()
    assert Manifest.read(folder).model.kwargs == {"input_shape": (64,), "output_shape": (10,)}


def test_fuzzy_fallback_matches_typos_against_long_descriptions(
    toy_market: Market, package: Path
) -> None:
    description = (
        "Predicts the hourly energy output of a wind turbine machine from weather station "
        "readings, trained on three years of measurements across twelve sites in Denmark, "
        "with gradient boosting over engineered lag features and calendar effects. " * 3
    )
    toy_market.add(
        package, table_semantic_spec("US energy machine predictor", description=description)
    )
    toy_market.add(package, table_semantic_spec("credit risk", description="loan defaults"))
    result = toy_market.search(SemanticSpec(name="enegry mahine"))
    assert [m.learnware.name for m in result.singles] == ["US energy machine predictor"]
    match = result.singles[0]
    assert 0.6 <= match.score < 1.0 and match.distance == pytest.approx(1.0 - match.score)


def test_many_candidate_ids_do_not_hit_sql_variable_limits(
    toy_market: Market, package: Path
) -> None:
    toy_market.add(package, table_semantic_spec("only one"))
    ids = [f"{n:08d}" for n in range(1, 40_001)]
    result = toy_market.search(UserInfo(semantic_spec=SemanticSpec(name="only"), learnware_ids=ids))
    assert result.total == 1


def test_usable_needs_every_granting_checker(toy_market: Market, package: Path) -> None:
    from learnware_dock import hookimpl
    from learnware_dock.domain import CheckResult
    from learnware_dock.interfaces import Checker
    from learnware_dock.testing import register_plugin

    verdicts = {"runs-model": Status.USABLE, "also-runs-model": Status.USABLE}

    def granting(checker_name: str) -> type[Checker]:
        class Granting(Checker):
            name = checker_name
            grants_usable = True

            def check(self, submission):  # type: ignore[no-untyped-def]
                return CheckResult(self.name, verdicts[self.name], "ran the model")

        return Granting

    class Plugin:
        @hookimpl
        def dock_register_checkers(self) -> list[type[Checker]]:
            return [granting("runs-model"), granting("also-runs-model")]

    with register_plugin(toy_market.pm, Plugin()):
        assert toy_market.add(package, table_semantic_spec()).status is Status.USABLE
        verdicts["also-runs-model"] = Status.NONUSABLE
        assert toy_market.add(package, table_semantic_spec()).status is Status.NONUSABLE


def test_a_crashing_checker_rejects_the_package(toy_market: Market, package: Path) -> None:
    from learnware_dock import hookimpl
    from learnware_dock.interfaces import Checker
    from learnware_dock.testing import register_plugin

    class Buggy(Checker):
        name = "buggy"

        def check(self, submission):  # type: ignore[no-untyped-def]
            raise ZeroDivisionError("oops")

    class Plugin:
        @hookimpl
        def dock_register_checkers(self) -> list[type[Checker]]:
            return [Buggy]

    with (
        register_plugin(toy_market.pm, Plugin()),
        pytest.raises(CheckError, match=r"buggy: checker crashed: ZeroDivisionError\('oops'\)"),
    ):
        toy_market.add(package, table_semantic_spec())
    assert len(toy_market) == 0


def test_event_hooks_fire_and_failing_listeners_only_log(
    toy_market: Market, package: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from learnware_dock import hookimpl
    from learnware_dock.domain import Learnware
    from learnware_dock.testing import register_plugin

    seen: list[tuple[str, str]] = []

    class Listener:
        @hookimpl
        def dock_learnware_added(self, market: Market, learnware: Learnware) -> None:
            assert market is toy_market
            seen.append(("added", learnware.id))

        @hookimpl
        def dock_learnware_removed(self, learnware_id: str) -> None:
            seen.append(("removed", learnware_id))

    class Broken:
        @hookimpl
        def dock_learnware_added(self) -> None:
            raise RuntimeError("listener bug")

    with register_plugin(toy_market.pm, Listener()):
        lw = toy_market.add(package, table_semantic_spec())
        toy_market.update(lw.id, semantic_spec=table_semantic_spec("renamed"))
        toy_market.delete(lw.id)
    assert seen == [("added", lw.id), ("added", lw.id), ("removed", lw.id)]
    with register_plugin(toy_market.pm, Broken()):
        again = toy_market.add(package, table_semantic_spec())
    assert again.id in toy_market
    assert "dock_learnware_added listener failed" in caplog.text


def test_revision_moves_on_every_write_from_any_process(toy_market: Market, package: Path) -> None:
    revisions = [toy_market.organizer.revision()]
    learnware = toy_market.add(package, table_semantic_spec("rev"))
    revisions.append(toy_market.organizer.revision())
    toy_market.search(SemanticSpec(name="rev"))  # reads leave it alone
    toy_market.list()
    assert toy_market.organizer.revision() == revisions[-1]
    toy_market.update(learnware.id, semantic_spec=table_semantic_spec("rev 2"))
    revisions.append(toy_market.organizer.revision())
    with Market(toy_market.root, plugin_manager=toy_market.pm) as other:  # another connection
        other.delete(learnware.id)
    revisions.append(toy_market.organizer.revision())
    assert all(b is not None and a is not None and b > a for a, b in itertools.pairwise(revisions))

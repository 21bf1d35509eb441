"""Cross-distribution checks: the `full` bundle, distribution layout, the demo end to end."""

from __future__ import annotations

import configparser
import re
import tomllib
from pathlib import Path
from typing import Any

import pytest

from learnware_dock import Status
from learnware_dock.demo import LEARNWARES

ROOT = Path(__file__).resolve().parents[1]
DISTRIBUTIONS = [ROOT / "core", *sorted(p.parent for p in ROOT.glob("plugins/*/pyproject.toml"))]
DISTRIBUTIONS += sorted(p.parent for p in ROOT.glob("contrib/*/pyproject.toml"))


def project(path: Path) -> dict[str, object]:
    data = tomllib.loads((path / "pyproject.toml").read_text())["project"]
    assert isinstance(data, dict)
    return data


def test_full_bundle_is_exactly_the_first_party_plugins() -> None:
    extras = project(ROOT / "core")["optional-dependencies"]
    assert isinstance(extras, dict)
    bundled = {re.split(r"[<>=!~ \[]", req)[0] for req in extras["full"]}
    first_party = {project(p.parent)["name"] for p in ROOT.glob("plugins/*/pyproject.toml")}
    assert bundled == first_party and bundled


def _tox() -> configparser.ConfigParser:
    parser = configparser.ConfigParser(interpolation=None)
    parser.read(ROOT / "tox.ini")
    return parser


@pytest.mark.parametrize("dist", DISTRIBUTIONS[1:], ids=lambda p: p.name)
def test_every_distribution_is_in_every_list(dist: Path) -> None:
    """A plugin or contrib distribution is tested, linted and type-checked: it appears in
    tox's deps, tox's pytest paths, the lint env's mypy packages and mypy_path (issue 13);
    and never in the deps of tox env ``core`` (core's tests run against core alone)."""
    where = dist.relative_to(ROOT).as_posix()
    [package] = [p.name for p in (dist / "src").iterdir() if p.name.startswith("learnware_dock")]
    tox = _tox()
    deps = tox["testenv"]["deps"].split()
    assert any(re.fullmatch(rf"\./{re.escape(where)}(\[[\w,]+\])?", d) for d in deps), (
        f"tox.ini [testenv] deps lacks -e ./{where}"
    )
    assert f"{where}/tests" in tox["testenv"]["commands"], f"tox.ini pytest paths lack {where}"
    assert where not in tox["testenv:core"]["deps"], f"tox env core must not install {where}"
    assert f"-p {package}" in tox["testenv:lint"]["commands"], f"mypy in tox lint lacks {package}"
    mypy_path = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["mypy"]["mypy_path"]
    assert f"{where}/src" in mypy_path.split(":"), f"pyproject mypy_path lacks {where}/src"


def test_core_env_runs_core_tests_against_core_alone() -> None:
    """tox env ``core`` installs exactly ``core[test]`` (no plugin, no torch, so no CUDA
    download either) and runs core/tests; `dev.py test` runs it (the envlist) and CI reads
    its JUnit report (issue 13.6)."""
    tox = _tox()
    core = tox["testenv:core"]
    assert core["deps"].split() == ["-e", "./core[test]"]
    assert re.fullmatch(
        r"pytest --junitxml=\{envtmpdir\}/junit\.xml \{posargs:core/tests\}",
        core["commands"].strip(),
    )
    assert "core" in [env.strip() for env in tox["tox"]["envlist"].split(",")]
    assert re.search(r'^    "core": \{\},$', (ROOT / ".ci" / "run").read_text(), re.M)


@pytest.mark.parametrize("dist", DISTRIBUTIONS, ids=lambda p: p.name)
def test_distribution_layout(dist: Path) -> None:
    meta = project(dist)
    name = str(meta["name"])
    package = name.replace("-", "_")
    assert (dist / "src" / package / "py.typed").is_file()
    assert (dist / "src" / package / "__init__.py").is_file()
    assert (dist / "README.md").is_file()
    if dist.name != "core":
        entry_points = meta["entry-points"]
        assert isinstance(entry_points, dict)
        assert list(entry_points["learnware_dock.plugins"].values()) == [f"{package}.hooks"]
        tests = "\n".join(p.read_text() for p in (dist / "tests").glob("test_*.py"))
        assert "def test_plugin_is_installed" in tests


def test_dock_demo_json_builds_and_searches_a_market(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """`dock demo --json`: its JSON, and what its searches and reuse found, read as objects
    (spies on the demo's own calls), not from the glyphs of rich's tables. Its JSON holds
    only the market and the learnwares' ids."""
    import json

    from learnware_dock import Market, demo
    from learnware_dock.cli import main

    searches: list[tuple[Any, Any]] = []
    real_search = Market.search

    def search(self: Market, user_info: Any, *args: Any, **kwargs: Any) -> Any:
        result = real_search(self, user_info, *args, **kwargs)
        searches.append((user_info, result))
        return result

    reused: dict[str, Any] = {}
    real_reuse, real_predictions = demo.reuse, demo.reuse_predictions

    def reuse(market: Market, result: Any, X: Any, y: Any, console: Any) -> None:
        reused.update(result=result, y=y)
        real_reuse(market, result, X, y, console)

    def predictions(market: Market, result: Any, X: Any) -> dict[str, Any]:
        reused["predictions"] = real_predictions(market, result, X)
        return reused["predictions"]

    monkeypatch.setattr(Market, "search", search)
    monkeypatch.setattr(demo, "reuse", reuse)
    monkeypatch.setattr(demo, "reuse_predictions", predictions)
    assert main(["demo", "--market", str(tmp_path / "d"), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["learnwares"] == [f"{n:08d}" for n in range(1, len(LEARNWARES) + 1)]
    with Market(data["market"]) as market:
        assert len(market) == len(LEARNWARES)
        assert all(lw.status is Status.USABLE for lw in market.list())  # the stat checker ran
        assert all([r.type for r in lw.stat_specs] == ["RKMETableSpecification"] for lw in market)
    financial = [
        result.total
        for user, result in searches
        if user.semantic_spec is not None and user.semantic_spec.scenario == ("Financial",)
    ]
    assert financial == [2]
    statistical = reused["result"]  # the search with the RKME of the user's ones and sevens
    assert statistical.singles[0].learnware.name == "digits 1-3-5-7-9 forest"
    assert statistical.mixtures
    accuracies = {
        name: float((predicted == reused["y"]).mean())
        for name, predicted in reused["predictions"].items()
    }
    assert len(accuracies) == 3 and min(accuracies.values()) > 0.9, accuracies


def test_plugin_packages_stay_lazy() -> None:
    """Importing a plugin package imports none of its modules until a name is used."""
    import subprocess
    import sys

    code = (
        "import sys, learnware_dock_rkme, learnware_dock_reuse;"
        "print(sorted(m for m in sys.modules if m.startswith(('learnware_dock_rkme.',"
        "'learnware_dock_reuse.'))));"
        "learnware_dock_rkme.RKMETableSpecification;"
        "print('learnware_dock_rkme.table' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split("\n")[:2] == ["[]", "True"]

"""Cross-distribution checks: the `full` bundle, distribution layout, the demo end to end."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
from rich.console import Console

from learnware_dock import Status
from learnware_dock.demo import LEARNWARES, run_demo

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


def test_demo_builds_and_searches_a_market(tmp_path: Path) -> None:
    console = Console(record=True, width=120)
    market = run_demo(str(tmp_path / "demo"), console=console)
    with market:
        assert len(market) == len(LEARNWARES)
        assert all(lw.status is Status.USABLE for lw in market.list())  # the stat checker ran
        assert all([r.type for r in lw.stat_specs] == ["RKMETableSpecification"] for lw in market)
    text = console.export_text()
    assert "search: Scenario = Financial (2 found)" in text
    assert "digits 1-3-5-7-9 forest" in text
    statistical = text.split("statistical search: a user with digits one and seven")[1]
    first_row = next(line for line in statistical.splitlines() if line.startswith("│ 1 "))
    assert "digits 1-3-5-7-9 forest" in first_row
    assert "mixture 1: score" in statistical
    reused = statistical.split("reusing the mixture on the user's data")[1]
    accuracies = {
        name: float(line.split("│")[2])
        for line in reused.splitlines()
        for name in ("top-1 single", "averaging, weighted", "job selector")
        if line.startswith(f"│ {name}")
    }
    assert len(accuracies) == 3 and min(accuracies.values()) > 0.9, accuracies


def test_dock_demo_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import json

    from learnware_dock.cli import main

    assert main(["demo", "--market", str(tmp_path / "d"), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["learnwares"] == [f"{n:08d}" for n in range(1, len(LEARNWARES) + 1)]


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

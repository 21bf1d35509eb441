"""Core together with the real, installed plugins (tox env py311 installs every one).

core/tests runs against core alone (no installed plugin loads there, and tox env ``core``
installs none); what needs a real plugin distribution is tested here.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tomllib
from pathlib import Path

import numpy as np
import pytest

from learnware_dock.cli import main
from learnware_dock.market import Market
from learnware_dock.plugins import get_plugin_manager, list_plugins
from learnware_dock.testing import build_package, table_semantic_spec

ROOT = Path(__file__).resolve().parents[1]


def repository_plugins() -> dict[str, str]:
    """Entry-point name -> distribution, of every plugin and contrib distribution here."""
    found = {}
    pyprojects = [*ROOT.glob("plugins/*/pyproject.toml"), *ROOT.glob("contrib/*/pyproject.toml")]
    for pyproject in sorted(pyprojects):
        project = tomllib.loads(pyproject.read_text())["project"]
        for name in project["entry-points"]["learnware_dock.plugins"]:
            found[name] = project["name"]
    return found


def test_installed_template_plugin_loads_through_real_metadata() -> None:
    infos = {i.name: i for i in list_plugins(get_plugin_manager())}
    template = infos["template"]
    assert (template.status, template.distribution) == ("loaded", "learnware-dock-template")
    assert template.version and template.hooks == ("dock_register_checkers",)


def test_dock_plugins_lists_every_distribution_of_the_repository(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("DOCK_LOAD_PLUGINS", raising=False)
    monkeypatch.delenv("DOCK_DISABLE_PLUGINS", raising=False)
    assert main(["plugins", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    plugins = {p["name"]: p for p in data["plugins"]}
    expected = repository_plugins()
    assert len(expected) >= 6
    for name, distribution in expected.items():
        assert (plugins[name]["status"], plugins[name]["distribution"]) == (
            "loaded",
            distribution,
        ), plugins[name]
    assert {"package", "semantic", "stat", "template-readme"} <= set(data["components"]["checkers"])
    assert {"inprocess", "venv", "docker"} <= set(data["components"]["containers"])


def test_help_with_every_plugin_imports_no_heavy_modules() -> None:
    """`dock --help` calls every plugin's ``dock_register_commands``: they stay lazy."""
    probe = (
        "import sys; from learnware_dock.cli import main\n"
        "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
        "heavy = [m for m in ('torch', 'sklearn', 'sqlite_utils', 'numpy') if m in sys.modules]\n"
        "print('HEAVY=' + ','.join(heavy))"
    )
    switches = ("DOCK_LOAD_PLUGINS", "DOCK_DISABLE_PLUGINS")
    env = {k: v for k, v in os.environ.items() if k not in switches}
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, env=env
    )
    assert "dock" in out.stdout and out.stdout.strip().splitlines()[-1] == "HEAVY="


def test_stat_checker_reads_its_timeout_through_setting(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """learnware-dock-isolation's ``stat`` checker reads its timeout with core's ``setting``."""
    monkeypatch.setenv("DOCK_DISABLE_PLUGINS", "")
    monkeypatch.setenv("DOCK_STAT_CHECK_TIMEOUT", "soon")
    X = np.random.default_rng(0).standard_normal((20, 4))
    package = build_package(tmp_path / "lw", X, (X[:, 0] > 0).astype(int))
    with Market(tmp_path / "m", plugin_manager=get_plugin_manager()) as market:
        report = market.check(package, table_semantic_spec(), checkers=["stat"])
    assert report.status.name == "INVALID"
    assert "$DOCK_STAT_CHECK_TIMEOUT must be a finite number >= 0.1, not 'soon'" in report.message

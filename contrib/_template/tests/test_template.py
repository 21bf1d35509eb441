import subprocess
import sys
from pathlib import Path

import numpy as np

from learnware_dock import Market, Status
from learnware_dock.plugins import get_plugin_manager, list_plugins
from learnware_dock.testing import (
    ToySpecPlugin,
    build_package,
    register_plugin,
    table_semantic_spec,
)
from learnware_dock_template import ReadmeChecker, hooks


def test_plugin_is_installed() -> None:
    """Goes through the real entry-point metadata of the installed distribution."""
    infos = {i.name: i for i in list_plugins(get_plugin_manager())}
    assert infos["template"].status == "loaded"
    assert infos["template"].distribution == "learnware-dock-template"
    assert "dock_register_checkers" in infos["template"].hooks


def test_checker_reports_readme(tmp_path: Path, market: Market) -> None:
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(40, 4)), np.repeat([0, 1], 20)
    with register_plugin(market.pm, ToySpecPlugin()):
        zip_path = build_package(tmp_path / "lw", X, y)
        report = market.check(zip_path, table_semantic_spec())
    verdicts = {r.checker: r for r in report.results}
    assert verdicts["template-readme"].message == "no README in the package"


def test_hooks_alone_find_the_readme(tmp_path: Path) -> None:
    """This plugin's hooks with the built-ins only, whatever else is installed."""
    pm = get_plugin_manager(load_entrypoints=False)
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(40, 4)), np.repeat([0, 1], 20)
    zip_path = build_package(tmp_path / "lw", X, y, files={"README.md": b"# a classifier\n"})
    with (
        register_plugin(pm, hooks),
        register_plugin(pm, ToySpecPlugin()),
        Market(tmp_path / "m", plugin_manager=pm) as market,
    ):
        assert market.components.checkers.get("template-readme") is ReadmeChecker
        report = market.check(zip_path, table_semantic_spec())
    verdict = {r.checker: r for r in report.results}["template-readme"]
    assert (verdict.status, verdict.message) == (Status.NONUSABLE, "documented in README.md")


def test_loading_the_plugin_imports_no_algorithm() -> None:
    """Discovery imports ``hooks`` (and the package); the checker module waits for a hook call."""
    probe = (
        "import sys\n"
        "from learnware_dock_template import hooks\n"
        "print('learnware_dock_template.checker' in sys.modules)\n"
        "print([c.name for c in hooks.dock_register_checkers()])\n"
        "print('learnware_dock_template.checker' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert out.stdout.splitlines() == ["False", "['template-readme']", "True"]

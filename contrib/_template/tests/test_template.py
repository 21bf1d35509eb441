from pathlib import Path

import numpy as np

from learnware_dock import Market
from learnware_dock.plugins import get_plugin_manager, list_plugins
from learnware_dock.testing import (
    ToySpecPlugin,
    build_package,
    register_plugin,
    table_semantic_spec,
)


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

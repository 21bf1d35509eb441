from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from hostile import Env

from learnware_dock.market import Market
from learnware_dock.plugins import DockPluginManager
from learnware_dock.testing import ToySpecPlugin, register_plugin


@pytest.fixture(autouse=True)
def _core_checkers_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """Core's tests exercise core and its built-in plugins: the model-running ``stat``
    checker of learnware-dock-isolation (tested in plugins/isolation and tests/) would
    otherwise run every package these tests add."""
    monkeypatch.setenv("DOCK_DISABLE_PLUGINS", "isolation")


@pytest.fixture
def toy_market(market: Market) -> Iterator[Market]:
    """The ``market`` fixture with :class:`ToySpecification` registered."""
    with register_plugin(market.pm, ToySpecPlugin()):
        yield market


@pytest.fixture
def env(
    tmp_path: Path, plugin_manager: DockPluginManager, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Env]:
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    plugin_manager.register(ToySpecPlugin())
    environment = Env(tmp_path / "market", plugin_manager, scratch)
    try:
        yield environment
    finally:
        environment.market.close()

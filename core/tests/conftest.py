from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from hostile import Env

from learnware_dock import cli
from learnware_dock.market import Market
from learnware_dock.plugins import DockPluginManager
from learnware_dock.testing import ToySpecPlugin, register_plugin


@pytest.fixture(autouse=True)
def _core_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    """Core's tests exercise core and its built-in plugins only, whatever is installed: no
    installed plugin loads (``DOCK_LOAD_PLUGINS=""``), so they pass the same in a venv with
    only ``core[test]`` (tox env ``core``) and in one with every plugin (tox env ``py311``).
    A test that needs a plugin registers a small one itself (``register_plugin``, or a fake
    distribution on ``sys.path`` that it names in ``DOCK_LOAD_PLUGINS``); tests of core
    together with real plugins live in the repository's tests/ folder."""
    monkeypatch.setenv("DOCK_LOAD_PLUGINS", "")
    monkeypatch.delenv("DOCK_DISABLE_PLUGINS", raising=False)
    # `dock` adds plugin commands once per process: one added while no plugin loads must
    # not stand for the process (later tests in the same run load every plugin)
    monkeypatch.setattr(cli, "_plugin_commands_added", cli._plugin_commands_added)


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

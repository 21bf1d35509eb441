"""The kernel's surface: the organizer interface, plugin settings, replacing defaults."""

from __future__ import annotations

import typing
from pathlib import Path

import numpy as np
import pytest

from learnware_dock import hookimpl
from learnware_dock import interfaces as itf
from learnware_dock.config import setting
from learnware_dock.defaults.sqlite.store import SQLiteOrganizer
from learnware_dock.domain import SearchResult, StatSpecRef, UserInfo
from learnware_dock.errors import DockError, PluginError
from learnware_dock.market import Market
from learnware_dock.plugins import get_plugin_manager, list_plugins
from learnware_dock.registry import Components
from learnware_dock.testing import build_package, register_plugin, table_semantic_spec


# -- organizers ------------------------------------------------------------------------------
def test_organizer_interface_has_no_texts_and_types_spec_refs() -> None:
    assert itf.Organizer.__abstractmethods__ == {
        "__init__", "add", "update", "delete", "get", "list", "count", "find", "terms",
        "read_stat_spec",
    }  # fmt: skip
    assert not hasattr(itf.Organizer, "texts") and not hasattr(SQLiteOrganizer, "texts")
    hints = typing.get_type_hints(itf.Organizer.read_stat_spec)
    assert hints["ref"] is StatSpecRef
    assert typing.get_type_hints(itf.Organizer.spec_refs)["return"] == dict[str, StatSpecRef]


def test_spec_refs_lead_to_the_stored_spec(toy_market: Market, tmp_path: Path) -> None:
    X = np.random.default_rng(0).standard_normal((20, 4))
    package = build_package(tmp_path / "lw", X, (X[:, 0] > 0).astype(int))
    learnware = toy_market.add(package, table_semantic_spec())
    refs = toy_market.organizer.spec_refs("ToySpecification")
    assert list(refs) == [learnware.id] and isinstance(refs[learnware.id], StatSpecRef)
    data = toy_market.organizer.read_stat_spec(refs[learnware.id])
    assert data["type"] == "ToySpecification" and len(data["mean"]) == 4


# -- settings --------------------------------------------------------------------------------
def test_setting_parses_and_defaults() -> None:
    env = {"A": " 2.5 ", "B": "1_000", "BLANK": " "}
    assert setting("A", float, default=1.0, environ=env) == 2.5
    assert setting("B", int, default=1, minimum=1, environ=env) == 1000
    assert setting("BLANK", int, default=7, environ=env) == 7
    assert setting("UNSET", float, default=60.0, minimum=0.1, environ=env) == 60.0


@pytest.mark.parametrize(
    ("kind", "text", "expected"),
    [
        (float, "soon", "a finite number >= 0.1"),
        (float, "nan", "a finite number >= 0.1"),
        (float, "inf", "a finite number >= 0.1"),
        (float, "0", "a finite number >= 0.1"),
        (int, "2.5", "an integer >= 1"),
        (int, "0", "an integer >= 1"),
    ],
)
def test_setting_names_the_variable_and_the_bad_value(
    kind: type[float], text: str, expected: str
) -> None:
    minimum = 0.1 if kind is float else 1
    with pytest.raises(DockError) as info:
        setting("DOCK_X", kind, default=kind(1), minimum=minimum, environ={"DOCK_X": text})
    assert str(info.value) == f"$DOCK_X must be {expected}, not {text!r}"


def test_setting_checks_both_bounds_and_reads_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DOCK_X", "11")
    with pytest.raises(DockError, match=r"^\$DOCK_X must be an integer from 1 to 10, not '11'$"):
        setting("DOCK_X", int, default=5, minimum=1, maximum=10)
    with pytest.raises(DockError, match=r"must be an integer <= 3, not '11'"):
        setting("DOCK_X", int, default=1, maximum=3)
    with pytest.raises(TypeError, match="int or float"):
        setting("DOCK_X", str, default="a")  # type: ignore[type-var]


# (the isolation plugin's `stat` checker reading its timeout through `setting`:
# tests/test_core_with_plugins.py)


# -- replacing a default ---------------------------------------------------------------------
class EchoSearcher(itf.Searcher):
    name = "semantic"

    def search(self, user_info: UserInfo, *, limit: int = 10) -> SearchResult:
        return SearchResult((), searcher="echo", total=0)


class EchoPlugin:
    @hookimpl
    def dock_register_searchers(self) -> list[type[itf.Searcher]]:
        return [EchoSearcher]


def test_a_default_cannot_be_overridden_without_disabling_it() -> None:
    pm = get_plugin_manager()
    with register_plugin(pm, EchoPlugin()), pytest.raises(PluginError) as info:
        Components(pm).searchers.get("semantic")
    assert "two searchers are named 'semantic'" in str(info.value)
    assert "DOCK_DISABLE_PLUGINS" in str(info.value)


def test_disabling_a_default_lets_a_replacement_take_its_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DOCK_DISABLE_PLUGINS", "defaults.semantic")
    pm = get_plugin_manager()
    with register_plugin(pm, EchoPlugin()), Market(tmp_path / "m", plugin_manager=pm) as market:
        assert Components(pm).searchers.get("semantic") is EchoSearcher
        assert market.search({"name": "anything"}).searcher == "echo"


def test_blocking_a_default_lets_a_replacement_take_its_name() -> None:
    pm = get_plugin_manager()
    pm.set_blocked("defaults.semantic")
    assert {i.name: i.status for i in list_plugins(pm)}["defaults.semantic"] == "disabled"
    with register_plugin(pm, EchoPlugin()):
        assert Components(pm).searchers.get("semantic") is EchoSearcher

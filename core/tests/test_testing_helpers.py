"""The helpers of ``learnware_dock.testing`` that plugin authors use outside fixtures."""

from __future__ import annotations

import sys
from importlib.metadata import distributions
from pathlib import Path

import pytest

from learnware_dock.plugins import ENTRY_POINT_GROUP, get_plugin_manager, list_plugins
from learnware_dock.registry import Components
from learnware_dock.testing import (
    WORKPLACE_SHARED_DATA,
    ToySpecification,
    shared_data,
    write_distribution,
)


def test_write_distribution_is_found_as_an_installed_distribution(tmp_path: Path) -> None:
    info = write_distribution(
        tmp_path,
        "Acme.Dock-plugin",
        {"acme": "acme_mod", "acme_extra": "acme_mod:plugin"},
        "2.3",
        groups={"console_scripts": {"acme-tool": "acme_mod:main"}},
    )
    assert info == tmp_path / "acme_dock_plugin-2.3.dist-info"  # as wheels name it
    assert sorted(p.name for p in info.iterdir()) == ["METADATA", "entry_points.txt"]
    (found,) = distributions(path=[str(tmp_path)])
    assert (found.metadata["Name"], found.version) == ("Acme.Dock-plugin", "2.3")
    points = {(ep.group, ep.name, ep.value) for ep in found.entry_points}
    assert points == {
        (ENTRY_POINT_GROUP, "acme", "acme_mod"),
        (ENTRY_POINT_GROUP, "acme_extra", "acme_mod:plugin"),
        ("console_scripts", "acme-tool", "acme_mod:main"),
    }


def test_groups_merge_into_the_plugin_group_and_empty_sections_are_left_out(
    tmp_path: Path,
) -> None:
    info = write_distribution(
        tmp_path / "site",
        "merged",
        {"a": "mod_a"},
        groups={ENTRY_POINT_GROUP: {"b": "mod_b"}, "empty": {}},
    )
    text = (info / "entry_points.txt").read_text(encoding="utf-8")
    assert text == f"[{ENTRY_POINT_GROUP}]\na = mod_a\nb = mod_b\n"


def test_a_second_copy_and_malformed_entry_points_are_refused(tmp_path: Path) -> None:
    write_distribution(tmp_path, "twice", {"x": "x"})
    with pytest.raises(FileExistsError):
        write_distribution(tmp_path, "twice", {"x": "x"})
    write_distribution(tmp_path, "twice", {"x": "x"}, version="2.0")  # another version is fine
    for name, value in (("a = b", "m"), ("", "m"), ("ok", ""), ("ok", "m\n[evil]\ny = z")):
        with pytest.raises(ValueError, match="cannot be written"):
            write_distribution(tmp_path, f"bad{len(name)}{len(value)}", {name: value})


def test_the_dock_loads_the_plugin_of_a_written_distribution(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "helperplug_toy.py").write_text(
        "from learnware_dock.testing import ToySpecPlugin\n"
        "dock_register_specifications = ToySpecPlugin().dock_register_specifications\n"
    )
    write_distribution(tmp_path, "helperplug-toy", {"helperplug_toy": "helperplug_toy"}, "0.7")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setenv("DOCK_LOAD_PLUGINS", "helperplug_toy")
    try:
        pm = get_plugin_manager()
        info = {i.name: i for i in list_plugins(pm)}["helperplug_toy"]
        assert (info.status, info.distribution, info.version) == ("loaded", "helperplug-toy", "0.7")
        assert Components(pm).specifications.get("ToySpecification") is ToySpecification
    finally:
        sys.modules.pop("helperplug_toy", None)


def test_shared_data_is_found_beside_a_parent_then_by_env_then_the_workplace(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DOCK_SHARED_DATA", raising=False)
    checkout = tmp_path / "repo" / "plugins" / "x"
    checkout.mkdir(parents=True)
    (tmp_path / "shared" / "data").mkdir(parents=True)
    (tmp_path / "shared" / "data" / "posts.gz").write_bytes(b"x")
    assert shared_data("posts.gz", checkout) == tmp_path / "shared" / "data" / "posts.gz"
    assert shared_data("absent.gz", checkout) == WORKPLACE_SHARED_DATA / "absent.gz"
    monkeypatch.setenv("DOCK_SHARED_DATA", str(tmp_path / "elsewhere"))
    assert shared_data("posts.gz", checkout) == tmp_path / "elsewhere" / "posts.gz"

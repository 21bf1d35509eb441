"""Hostile manifests, specs and semantic specs: each is refused precisely, leaving no trace.

Same method as test_hostile_archives.py: valid packages rewritten by the builders of
``hostile.py``, then ``Env.assert_clean()`` after each rejection.
"""

from __future__ import annotations

import builtins
import importlib
import re
import sys
from pathlib import Path
from typing import Any

import pytest
from hostile import (
    Env,
    Members,
    _edit_manifest,
    _replace,
    _rewrite,
    _valid_zip,
)

from learnware_dock.domain import Status
from learnware_dock.errors import (
    CheckError,
    SemanticError,
    StoreError,
    UnknownLearnwareError,
)
from learnware_dock.testing import table_semantic_spec


# -- manifest / spec problems (extract fine; the package checker says INVALID) ---------------
def test_missing_manifest(env: Env, tmp_path: Path) -> None:
    bad = _rewrite(tmp_path, "nomanifest.zip", lambda m: [x for x in m if x[0] != "learnware.yaml"])
    with pytest.raises(CheckError, match=re.escape("no learnware.yaml at its top level")):
        env.add(bad)
    env.assert_clean()


@pytest.mark.parametrize(
    "template",
    [
        'model: !!python/object/apply:os.system ["echo hacked > {marker}"]\n',
        "model:\n  class_name: !!python/object/apply:os.system ['echo hacked > {marker}']\n",
        "!!python/object/new:os.system ['echo hacked > {marker}']\n",
    ],
)
def test_yaml_python_tag_is_not_executed(env: Env, tmp_path: Path, template: str) -> None:
    marker = tmp_path / "hacked"
    text = template.format(marker=marker).encode()
    bad = _rewrite(tmp_path, "yamltag.zip", _replace("learnware.yaml", text))
    with pytest.raises(CheckError, match=re.escape("learnware.yaml is not safe, valid YAML")):
        env.add(bad)
    assert not marker.exists(), "the YAML python tag was executed"
    env.assert_clean()


def test_manifest_not_a_mapping(env: Env, tmp_path: Path) -> None:
    bad = _rewrite(tmp_path, "list.zip", _replace("learnware.yaml", b"- just\n- a list\n"))
    with pytest.raises(CheckError, match=re.escape("learnware.yaml must be a mapping")):
        env.add(bad)
    env.assert_clean()


def test_manifest_without_model(env: Env, tmp_path: Path) -> None:
    bad = _rewrite(tmp_path, "nomodel.zip", _edit_manifest(lambda d: d.pop("model")))
    with pytest.raises(CheckError, match=r"does not match the learnware schema.*model"):
        env.add(bad)
    env.assert_clean()


def test_unregistered_spec_class(env: Env, tmp_path: Path) -> None:
    def edit(manifest: dict[str, Any]) -> None:
        manifest["stat_specifications"][0]["class_name"] = "NoSuchSpecification"

    bad = _rewrite(tmp_path, "unknown.zip", _edit_manifest(edit))
    with pytest.raises(CheckError, match=r"'NoSuchSpecification'.*not a registered") as info:
        env.add(bad)
    assert "stat_specifications[0]" in str(info.value)
    assert "ToySpecification" in str(info.value)  # lists what is installed
    env.assert_clean()


def _import_spy(mp: pytest.MonkeyPatch) -> list[tuple[str, tuple[str, ...]]]:
    """Record imports made through ``importlib.import_module`` and ``from X import Y``."""
    seen: list[tuple[str, tuple[str, ...]]] = []
    real_import, real_import_module = builtins.__import__, importlib.import_module

    def spy_import(
        name: str, globals: Any = None, locals: Any = None, fromlist: Any = (), level: int = 0
    ) -> Any:
        seen.append((name, tuple(fromlist or ())))
        return real_import(name, globals, locals, fromlist, level)

    def spy_import_module(name: str, package: str | None = None) -> Any:
        seen.append((name, ("<import_module>",)))
        return real_import_module(name, package)

    mp.setattr(builtins, "__import__", spy_import)
    mp.setattr(importlib, "import_module", spy_import_module)
    return seen


def test_module_path_os_system_is_never_imported(
    env: Env, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def edit(manifest: dict[str, Any]) -> None:
        manifest["stat_specifications"][0].update(module_path="os", class_name="system")

    bad = _rewrite(tmp_path, "os.zip", _edit_manifest(edit))
    with monkeypatch.context() as mp:
        seen = _import_spy(mp)
        with pytest.raises(CheckError, match=r"'system' \(module_path 'os'\).*not a regis"):
            env.add(bad)
    assert seen, "the import spy saw nothing: it was not active"
    assert ("os", ("<import_module>",)) not in seen
    assert not any(name == "os" and "system" in fromlist for name, fromlist in seen)
    env.assert_clean()


def _sentinel_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[str, Path]:
    """A module on sys.path that leaves a marker file if anything imports it."""
    name = "dock_hostile_sentinel_mod"
    marker = tmp_path / "sentinel-imported"
    folder = tmp_path / "syspath"
    folder.mkdir()
    (folder / f"{name}.py").write_text(
        f"open({str(marker)!r}, 'w').close()\nclass Evil: pass\nToySpecification = Evil\n"
    )
    monkeypatch.syspath_prepend(str(folder))
    return name, marker


def test_hostile_module_path_unregistered_class(
    env: Env, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    module, marker = _sentinel_module(tmp_path, monkeypatch)

    def edit(manifest: dict[str, Any]) -> None:
        manifest["stat_specifications"][0].update(module_path=module, class_name="Evil")

    bad = _rewrite(tmp_path, "sentinel.zip", _edit_manifest(edit))
    with pytest.raises(CheckError, match=r"'Evil'.*not a registered specification type"):
        env.add(bad)
    assert not marker.exists()
    assert module not in sys.modules
    env.assert_clean()


def test_hostile_module_path_with_registered_class_is_ignored(
    env: Env, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``module_path`` is recorded, never imported: the registered class reads the file."""
    module, marker = _sentinel_module(tmp_path, monkeypatch)

    def edit(manifest: dict[str, Any]) -> None:
        manifest["stat_specifications"][0]["module_path"] = module

    ok = _rewrite(tmp_path, "sentinel.zip", _edit_manifest(edit))
    lw = env.add(ok)
    assert [ref.type for ref in lw.stat_specs] == ["ToySpecification"]
    assert not marker.exists()
    assert module not in sys.modules
    assert env.market.stat_spec(lw, "ToySpecification").dimension == 4


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity"])
def test_non_finite_spec(env: Env, tmp_path: Path, literal: str) -> None:
    spec = f'{{"type": "ToySpecification", "mean": [{literal}, 0, 0, 0], "std": [1, 1, 1, 1]}}'
    bad = _rewrite(tmp_path, "nan.zip", _replace("stat.json", spec.encode()))
    with pytest.raises(CheckError, match=r"stat\.json.*finite \(found NaN or inf\)"):
        env.add(bad)
    env.assert_clean()


def test_spec_not_json(env: Env, tmp_path: Path) -> None:
    bad = _rewrite(tmp_path, "garbage.zip", _replace("stat.json", b"\x00\x01 not json"))
    message = "ToySpecification file stat.json is not valid JSON"
    with pytest.raises(CheckError, match=re.escape(message)):
        env.add(bad)
    env.assert_clean()


def test_spec_file_missing(env: Env, tmp_path: Path) -> None:
    bad = _rewrite(tmp_path, "nospec.zip", lambda m: [x for x in m if x[0] != "stat.json"])
    with pytest.raises(CheckError, match=re.escape("file 'stat.json' is missing from the package")):
        env.add(bad)
    env.assert_clean()


OUTSIDE_NAMES = ["../../../etc/passwd", "/etc/passwd", "sub\\..\\..\\x.json"]


def _outside(tmp_path: Path, file_name: str) -> Path:
    def edit(manifest: dict[str, Any]) -> None:
        manifest["stat_specifications"][0]["file_name"] = file_name

    return _rewrite(tmp_path, "outside.zip", _edit_manifest(edit))


@pytest.mark.parametrize("file_name", OUTSIDE_NAMES)
def test_spec_file_name_outside_package(env: Env, tmp_path: Path, file_name: str) -> None:
    bad = _outside(tmp_path, file_name)
    with pytest.raises(CheckError, match=r"learnware\.yaml.*stat_specifications\[0\]"):
        env.add(bad)
    env.assert_clean()


@pytest.mark.parametrize("file_name", OUTSIDE_NAMES)
def test_spec_file_name_outside_package_message(env: Env, tmp_path: Path, file_name: str) -> None:
    with pytest.raises(CheckError) as info:
        env.add(_outside(tmp_path, file_name))
    assert f"file_name {file_name!r} must be a relative path inside the package" in str(info.value)


@pytest.mark.parametrize("module_path", ["../../evil.py", "/tmp/evil.py"])
def test_model_module_path_outside_package(env: Env, tmp_path: Path, module_path: str) -> None:
    def edit(manifest: dict[str, Any]) -> None:
        manifest["model"]["module_path"] = module_path

    bad = _rewrite(tmp_path, "model.zip", _edit_manifest(edit))
    with pytest.raises(CheckError, match=re.escape(f"module_path {module_path!r} must be")):
        env.add(bad)
    env.assert_clean()


def _tuple_manifest(tmp_path: Path, value: str) -> Path:
    def change(members: Members) -> Members:
        text = dict(members)["learnware.yaml"].decode()
        text = text.replace("kwargs: {}", f"kwargs: {{shape: {value}}}", 1)
        assert "shape" in text
        return _replace("learnware.yaml", text.encode())(members)

    return _rewrite(tmp_path, "tuple.zip", change)


def test_python_tuple_tag_is_a_plain_tuple(env: Env, tmp_path: Path) -> None:
    """The `learnware` package's templates write ``!!python/tuple``; it builds no object."""
    assert env.add(_tuple_manifest(tmp_path, "!!python/tuple [1, 2]")).id == "00000001"


@pytest.mark.parametrize("value", ["!!python/tuple {a: 1}", "!!python/tuple abc"])
def test_python_tuple_tag_on_a_non_sequence_is_rejected(
    env: Env, tmp_path: Path, value: str
) -> None:
    with pytest.raises(CheckError):
        env.add(_tuple_manifest(tmp_path, value))
    env.assert_clean()


@pytest.mark.parametrize("value", ["!!python/tuple {a: 1}", "!!python/tuple abc"])
def test_python_tuple_tag_on_a_non_sequence_message(env: Env, tmp_path: Path, value: str) -> None:
    with pytest.raises(CheckError, match=re.escape("learnware.yaml is not safe, valid YAML")):
        env.add(_tuple_manifest(tmp_path, value))


def test_spec_dimension_mismatch(env: Env, tmp_path: Path) -> None:
    bad = _valid_zip(tmp_path, "dim3", dimension=3)
    with pytest.raises(
        CheckError,
        match=re.escape(
            "ToySpecification describes 3 features but the semantic spec's Input.Dimension is 4"
        ),
    ):
        env.add(bad, table_semantic_spec(dimension=4))
    env.assert_clean()


def test_check_reports_invalid_without_storing(env: Env, tmp_path: Path) -> None:
    spec = b'{"type": "ToySpecification", "mean": [NaN, 0, 0, 0], "std": [1, 1, 1, 1]}'
    bad = _rewrite(tmp_path, "nan.zip", _replace("stat.json", spec))
    report = env.market.check(bad, table_semantic_spec())
    assert report.status is Status.INVALID
    assert "finite" in report.message
    env.assert_clean()


# -- semantic spec problems (the semantic checker says INVALID) -------------------------------
def test_unknown_data_value(env: Env, tmp_path: Path) -> None:
    with pytest.raises(CheckError, match=re.escape("Data value 'Video' is not in the vocabulary")):
        env.add(_valid_zip(tmp_path), table_semantic_spec(data=("Video",)))
    env.assert_clean()


def test_table_data_without_input(env: Env, tmp_path: Path) -> None:
    with pytest.raises(CheckError, match=r"needs 'Input' \(Dimension\) for Table data"):
        env.add(_valid_zip(tmp_path), table_semantic_spec(input=None))
    env.assert_clean()


def test_semantic_dict_with_bad_shape(env: Env, tmp_path: Path) -> None:
    spec = table_semantic_spec().to_dict()
    spec["Input"] = {"Dimension": -1}
    with pytest.raises(SemanticError, match=re.escape("Input.Dimension must be a positive")):
        env.market.add(_valid_zip(tmp_path), spec)
    env.assert_clean()


# -- unknown ids -------------------------------------------------------------------------------
@pytest.mark.parametrize("learnware_id", ["00000042", "42", "../etc", "", "abc"])
def test_delete_unknown_id(env: Env, learnware_id: str) -> None:
    with pytest.raises(UnknownLearnwareError, match=re.escape("no learnware")) as info:
        env.market.delete(learnware_id)
    assert isinstance(info.value, KeyError)
    assert isinstance(info.value, StoreError)
    with pytest.raises(KeyError):
        env.market.get(learnware_id)
    assert learnware_id not in env.market
    env.assert_clean()

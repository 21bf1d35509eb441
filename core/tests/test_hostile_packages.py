"""Hostile and malformed packages: each is refused with a precise error and leaves no trace.

Every hostile archive is built here with ``zipfile``/``tarfile`` from a valid package made by
:func:`build_package`. For each rejection we check (a) the exact ``DockError`` subclass and a
message naming the problem, (b) that nothing was stored (no row, no blob, no leftover
extraction folder) and (c) that the market still opens, empty.
"""

from __future__ import annotations

import builtins
import importlib
import io
import re
import stat
import sys
import tarfile
import tempfile
import warnings
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml

from learnware_dock import Market
from learnware_dock.domain import Status
from learnware_dock.errors import (
    CheckError,
    PackageError,
    SemanticError,
    StoreError,
    UnknownLearnwareError,
)
from learnware_dock.package.reader import sha256_file
from learnware_dock.package.safezip import Limits, extract
from learnware_dock.plugins import DockPluginManager
from learnware_dock.semantic import SemanticSpec
from learnware_dock.testing import ToySpecPlugin, build_package, table_semantic_spec

Members = list[tuple[str | zipfile.ZipInfo, bytes]]


# -- helpers ---------------------------------------------------------------------------------
def _data(dimension: int = 4, n: int = 40, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, dimension)), np.arange(n) % 2


def _valid_zip(tmp_path: Path, name: str = "pkg", dimension: int = 4) -> Path:
    X, y = _data(dimension)
    return build_package(tmp_path / "src" / name, X, y)


def _read_members(archive: Path) -> Members:
    with zipfile.ZipFile(archive) as zf:
        return [(info.filename, zf.read(info)) for info in zf.infolist()]


def _write_zip(path: Path, members: Members) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zipfile warns on duplicate names; we want them
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
            for name, content in members:
                zf.writestr(name, content)
    return path


def _rewrite(
    tmp_path: Path, out_name: str, change: Callable[[Members], Members], base: Path | None = None
) -> Path:
    """A copy of a valid package with its member list passed through ``change``."""
    members = _read_members(base or _valid_zip(tmp_path))
    return _write_zip(tmp_path / "hostile" / out_name, change(members))


def _replace(name: str, content: bytes) -> Callable[[Members], Members]:
    def change(members: Members) -> Members:
        return [(n, content if n == name else c) for n, c in members]

    return change


def _manifest(members: Members) -> dict[str, Any]:
    data = dict(members)["learnware.yaml"]
    loaded: dict[str, Any] = yaml.safe_load(data)
    return loaded


def _edit_manifest(edit: Callable[[dict[str, Any]], None]) -> Callable[[Members], Members]:
    def change(members: Members) -> Members:
        manifest = _manifest(members)
        edit(manifest)
        return _replace("learnware.yaml", yaml.safe_dump(manifest).encode())(members)

    return change


def _files_under(path: Path) -> list[Path]:
    return [p for p in path.rglob("*") if p.is_file()] if path.exists() else []


class Env:
    """A market with ToySpecification registered, and a private extraction temp dir."""

    def __init__(self, root: Path, pm: DockPluginManager, scratch: Path) -> None:
        self.root, self.pm, self.scratch = root, pm, scratch
        self.market = Market(root, plugin_manager=pm)

    def add(self, package: Path, spec: SemanticSpec | None = None) -> Any:
        return self.market.add(package, spec if spec is not None else table_semantic_spec())

    def assert_clean(self) -> None:
        """(b) nothing stored, no extraction leftovers; (c) the market reopens, empty."""
        assert len(self.market) == 0
        assert self.market.list() == []
        for kind in ("packages", "specs"):
            assert _files_under(self.root / kind) == [], f"files left under {kind}/"
        assert list(self.scratch.iterdir()) == [], "an extraction folder was left behind"
        with Market(self.root) as reopened:
            assert len(reopened) == 0
            assert reopened.list() == []


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


# -- sanity: the base package is valid --------------------------------------------------------
def test_base_package_is_accepted(env: Env, tmp_path: Path) -> None:
    lw = env.add(_valid_zip(tmp_path))
    assert lw.id == "00000001"
    assert lw.status is Status.NONUSABLE
    assert tempfile.gettempdir() == str(env.scratch)  # extraction happens where we look
    assert list(env.scratch.iterdir()) == []


# -- archive-level attacks (PackageError at extraction) ---------------------------------------
@pytest.mark.parametrize(
    ("member", "message"),
    [
        ("../evil.txt", "escapes the package with '..'"),
        ("a/../../evil.txt", "escapes the package with '..'"),
        ("/etc/x", "has an absolute path"),
        ("C:/evil.txt", "has an absolute path"),
        ("..\\evil.txt", "is not a plain relative path"),
    ],
)
def test_path_escaping_member_names(env: Env, tmp_path: Path, member: str, message: str) -> None:
    bad = _rewrite(tmp_path, "escape.zip", lambda m: [*m, (member, b"pwned")])
    with pytest.raises(PackageError, match=message) as info:
        env.add(bad)
    assert repr(member) in str(info.value)
    assert "escape.zip" in str(info.value)
    assert not (tmp_path / "evil.txt").exists()
    assert not (tmp_path.parent / "evil.txt").exists()
    env.assert_clean()


@pytest.mark.parametrize("target", ["/etc/passwd", "../../../../etc/passwd"])
def test_symlink_member(env: Env, tmp_path: Path, target: str) -> None:
    def change(members: Members) -> Members:
        link = zipfile.ZipInfo("stat.json")
        link.external_attr = (stat.S_IFLNK | 0o777) << 16
        return [(n, c) for n, c in members if n != "stat.json"] + [(link, target.encode())]

    bad = _rewrite(tmp_path, "symlink.zip", change)
    with pytest.raises(PackageError, match=re.escape("'stat.json' is a link or device")):
        env.add(bad)
    env.assert_clean()


def test_zip_bomb(env: Env, tmp_path: Path) -> None:
    bad = _rewrite(tmp_path, "bomb.zip", lambda m: [*m, ("weights.bin", b"\0" * 50_000_000)])
    assert bad.stat().st_size < 1_000_000  # 50 MB of zeros compresses to ~50 KB
    with pytest.raises(PackageError, match=r"'weights.bin' expands \d+x .*zip bomb"):
        env.add(bad)
    env.assert_clean()


def test_compressible_member_below_ratio_floor_is_fine(env: Env, tmp_path: Path) -> None:
    ok = _rewrite(tmp_path, "zeros.zip", lambda m: [*m, ("weights.bin", b"\0" * 500_000)])
    assert env.add(ok).id == "00000001"


@pytest.mark.parametrize("duplicate", ["learnware.yaml", "./learnware.yaml"])
def test_duplicate_member_names(env: Env, tmp_path: Path, duplicate: str) -> None:
    evil = yaml.safe_dump({"model": {"class_name": "Evil"}}).encode()
    bad = _rewrite(tmp_path, "dup.zip", lambda m: [*m, (duplicate, evil)])
    with pytest.raises(PackageError, match=re.escape("duplicate member name 'learnware.yaml'")):
        env.add(bad)
    env.assert_clean()


def test_too_many_members_custom_limits(tmp_path: Path) -> None:
    members = _read_members(_valid_zip(tmp_path))  # 5 members
    bad = _write_zip(tmp_path / "many.zip", members)
    dest = tmp_path / "dest"
    dest.mkdir()
    with pytest.raises(PackageError, match=re.escape("more than 3 members")):
        extract(bad, dest, Limits(max_members=3))
    assert dest.is_dir()
    assert list(dest.iterdir()) == []
    # the same archive passes with room for its members
    root = extract(bad, dest, Limits(max_members=5))
    assert (root / "learnware.yaml").is_file()


def test_too_many_bytes_custom_limits(tmp_path: Path) -> None:
    bad = _rewrite(tmp_path, "big.zip", lambda m: [*m, ("weights.bin", b"\1" * 10_000)])
    dest = tmp_path / "dest"
    dest.mkdir()
    with pytest.raises(PackageError, match=re.escape("uncompressed size exceeds 5000 bytes")):
        extract(bad, dest, Limits(max_total_bytes=5000))
    assert list(dest.iterdir()) == []


def test_too_many_members_default_limits(env: Env, tmp_path: Path) -> None:
    extra: Members = [(f"data/{i}.txt", b"") for i in range(10_000)]
    bad = _rewrite(tmp_path, "many.zip", lambda m: m + extra)
    with pytest.raises(PackageError, match=re.escape("more than 10000 members")):
        env.add(bad)
    env.assert_clean()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"this is not an archive\n", "neither a zip nor a tar archive"),
        (b"", "neither a zip nor a tar archive"),
        (b"PK\x03\x04" + b"\xff" * 200, "neither a zip nor a tar archive"),
    ],
)
def test_not_an_archive(env: Env, tmp_path: Path, content: bytes, message: str) -> None:
    bad = tmp_path / "fake.zip"
    bad.write_bytes(content)
    with pytest.raises(PackageError, match=message) as info:
        env.add(bad)
    assert "fake.zip" in str(info.value)
    env.assert_clean()


def test_missing_archive(env: Env, tmp_path: Path) -> None:
    with pytest.raises(PackageError, match=re.escape("does not exist")):
        env.add(tmp_path / "nope.zip")
    env.assert_clean()


def test_truncated_zip(env: Env, tmp_path: Path) -> None:
    data = _valid_zip(tmp_path).read_bytes()
    bad = tmp_path / "truncated.zip"
    bad.write_bytes(data[: len(data) // 2])
    with pytest.raises(PackageError, match=re.escape("truncated.zip is neither a zip nor a tar")):
        env.add(bad)
    env.assert_clean()


def _stored_zip(path: Path, members: Members) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as zf:
        for name, content in members:
            zf.writestr(name, content)
    return path


def test_corrupt_member_data(env: Env, tmp_path: Path) -> None:
    payload = b"A" * 1000
    members = [*_read_members(_valid_zip(tmp_path)), ("weights.bin", payload)]
    data = _stored_zip(tmp_path / "ok.zip", members).read_bytes()
    assert data.count(payload) == 1
    bad = tmp_path / "corrupt.zip"
    bad.write_bytes(data.replace(payload, b"B" * 1000))
    with pytest.raises(PackageError, match=re.escape("'weights.bin' is corrupt")):
        env.add(bad)
    env.assert_clean()


def test_member_larger_than_its_header(env: Env, tmp_path: Path) -> None:
    """A central directory that under-states a member's size is not trusted."""
    payload = b"A" * 1000
    members = [*_read_members(_valid_zip(tmp_path)), ("weights.bin", payload)]
    data = bytearray(_stored_zip(tmp_path / "ok.zip", members).read_bytes())
    entry = data.rfind(b"PK\x01\x02")  # central directory entry of the last member
    assert data[entry + 46 : entry + 46 + len("weights.bin")] == b"weights.bin"
    data[entry + 24 : entry + 28] = (10).to_bytes(4, "little")  # uncompressed size
    bad = tmp_path / "liar.zip"
    bad.write_bytes(bytes(data))
    with pytest.raises(PackageError, match=r"'weights.bin' is (corrupt|larger than its header)"):
        env.add(bad)
    env.assert_clean()


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
    with pytest.raises(CheckError, match=re.escape("cannot read ToySpecification file")):
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


# -- tar archives ------------------------------------------------------------------------------
def _tar_from(members: Members, path: Path, prefix: str = "") -> Path:
    with tarfile.open(path, "w:gz") as tf:
        for name, content in members:
            info = tarfile.TarInfo(prefix + str(name))
            info.size = len(content)
            info.mode = 0o644
            tf.addfile(info, io.BytesIO(content))
    return path


@pytest.mark.parametrize(
    ("member", "message"),
    [
        ("../evil.txt", "'../evil.txt' escapes the package"),
        ("a/../../evil.txt", "escapes the package"),
        ("/etc/x", "'/etc/x' has an absolute path"),
        ("learnware.yaml", "duplicate member name 'learnware.yaml'"),
    ],
)
def test_tar_with_hostile_member_name(env: Env, tmp_path: Path, member: str, message: str) -> None:
    members = [*_read_members(_valid_zip(tmp_path)), (member, b"model: {class_name: Evil}\n")]
    bad = _tar_from(members, tmp_path / "evil.tar.gz")
    with pytest.raises(PackageError, match=re.escape(message)):
        env.add(bad)
    assert not (tmp_path / "evil.txt").exists()
    env.assert_clean()


@pytest.mark.parametrize(
    "kind", [tarfile.SYMTYPE, tarfile.LNKTYPE, tarfile.CHRTYPE, tarfile.FIFOTYPE]
)
def test_tar_with_link_or_device_member(env: Env, tmp_path: Path, kind: bytes) -> None:
    members = [x for x in _read_members(_valid_zip(tmp_path)) if x[0] != "stat.json"]
    bad = tmp_path / "link.tar.gz"
    with tarfile.open(bad, "w:gz") as tf:
        for name, content in members:
            info = tarfile.TarInfo(str(name))
            info.size = len(content)
            tf.addfile(info, io.BytesIO(content))
        link = tarfile.TarInfo("stat.json")
        link.type = kind
        link.linkname = "/etc/passwd" if kind == tarfile.SYMTYPE else "learnware.yaml"
        tf.addfile(link)
    with pytest.raises(PackageError, match=re.escape("'stat.json' is a link or device")):
        env.add(bad)
    env.assert_clean()


@pytest.mark.parametrize("prefix", ["", "mypkg/"])
def test_valid_tar_gz_is_accepted(env: Env, tmp_path: Path, prefix: str) -> None:
    members = _read_members(_valid_zip(tmp_path))
    archive = _tar_from(members, tmp_path / "pkg.tar.gz", prefix)
    lw = env.add(archive)
    assert lw.id == "00000001"
    assert lw.sha256 == sha256_file(archive)
    assert lw.package_path.is_file()
    assert sha256_file(lw.package_path) == lw.sha256
    assert env.market.stat_spec(lw, "ToySpecification").dimension == 4
    # the stored archive is re-read (re-checked) by an update
    assert env.market.update(lw.id, semantic_spec=table_semantic_spec("renamed")).version == 2
    assert list(env.scratch.iterdir()) == []


# -- a single top-level folder is accepted and stripped ----------------------------------------
@pytest.mark.parametrize("with_dir_entries", [False, True])
@pytest.mark.parametrize("macosx_junk", [False, True])
def test_single_top_level_folder(
    env: Env, tmp_path: Path, with_dir_entries: bool, macosx_junk: bool
) -> None:
    def change(members: Members) -> Members:
        out: Members = [("mypkg/", b"")] if with_dir_entries else []
        out += [(f"mypkg/{n}", c) for n, c in members]
        if macosx_junk:
            out.append(("__MACOSX/mypkg/._learnware.yaml", b"\0\5\26\7"))
        return out

    ok = _rewrite(tmp_path, "folder.zip", change)
    lw = env.add(ok)
    assert lw.id == "00000001"
    assert [ref.file for ref in lw.stat_specs] == ["stat.json"]
    assert len(env.market) == 1
    assert list(env.scratch.iterdir()) == []


def test_nested_folder_with_hostile_name_is_refused(env: Env, tmp_path: Path) -> None:
    bad = _rewrite(
        tmp_path,
        "nested.zip",
        lambda m: [*((f"mypkg/{n}", c) for n, c in m), ("mypkg/../../evil", b"x")],
    )
    with pytest.raises(PackageError, match=re.escape("escapes the package")):
        env.add(bad)
    env.assert_clean()

"""Bombs: small inputs that expand into gigabytes, or nest until the stack breaks.

YAML alias bombs and deep YAML (learnware.yaml, environment.yaml), zip bombs made of many
members under the per-member ratio floor, compressed tar bombs (gz, bz2, xz), oversized tar
extended headers, and JSON nested or numbered to break the parser (statistical spec files,
semantic specs). Each is refused with a ``DockError`` naming the file and the problem, and
leaves nothing behind (``Env.assert_clean``). Bombs are built without compressing their
payload more than once (see ``hostile.py``), so each test runs in well under two seconds.
"""

from __future__ import annotations

import gzip
import json
import random
import re
from pathlib import Path

import pytest
import yaml
from hostile import (
    Env,
    Members,
    _raw_zip,
    _read_members,
    _replace,
    _rewrite,
    _tar_bomb,
    _tar_header,
    _tar_member,
    _valid_zip,
)

from learnware_dock.errors import CheckError, DockError, PackageError, SemanticError
from learnware_dock.package.manifest import (
    Manifest,
    ManifestLoader,
    ModelEntry,
    UnsafeYAMLError,
    load_yaml,
    read_yaml,
)
from learnware_dock.package.reader import load_stat_specs
from learnware_dock.package.safezip import Limits, extract
from learnware_dock.semantic import MAX_JSON_BYTES, SemanticSpec
from learnware_dock.testing import table_semantic_spec

# -- 1. YAML: aliases, anchors, depth, size, numbers -----------------------------------------
#: "billion laughs": 9 levels of 9 aliases each, 9**9 (387 million) strings from ~600 bytes.
ALIAS_BOMB = "\n".join(
    [
        'l0: &l0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]',
        *(f"l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 9)}]" for i in range(1, 9)),
    ]
)
ALIAS_MANIFEST = ALIAS_BOMB + "\nmodel:\n  class_name: CentroidModel\n  kwargs: {bomb: *l8}\n"


def test_alias_bomb_is_small() -> None:
    assert len(ALIAS_MANIFEST) < 700


def test_yaml_alias_bomb_in_manifest(env: Env, tmp_path: Path) -> None:
    def change(members: Members) -> Members:
        text = dict(members)["learnware.yaml"].decode()
        return _replace("learnware.yaml", (ALIAS_BOMB + "\n" + text).encode())(members)

    bad = _rewrite(tmp_path, "aliases.zip", change)
    with pytest.raises(CheckError, match=r"learnware\.yaml is not safe, valid YAML: YAML a"):
        env.add(bad)
    env.assert_clean()


def test_yaml_alias_bomb_in_manifest_kwargs(env: Env, tmp_path: Path) -> None:
    bad = _rewrite(tmp_path, "kwargs.zip", _replace("learnware.yaml", ALIAS_MANIFEST.encode()))
    with pytest.raises(CheckError, match=r"learnware\.yaml .*anchors and aliases are refused"):
        env.add(bad)
    env.assert_clean()


def test_yaml_alias_bomb_in_environment_yaml(env: Env, tmp_path: Path) -> None:
    bad = _rewrite(tmp_path, "env.zip", lambda m: [*m, ("environment.yaml", ALIAS_BOMB.encode())])
    with pytest.raises(
        CheckError, match=r"environment\.yaml is not safe, valid YAML: .*aliases are refused"
    ):
        env.add(bad)
    env.assert_clean()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("a: &x 1\nb: *x\n", "YAML anchor &x at line 1"),
        ("a: &x [1]\n", "YAML anchor &x at line 1"),
        ("a: !!python/tuple &x [1]\n", "YAML anchor &x"),
        ("[" * 65 + "]" * 65, "nested more than 64 levels deep"),
        ("a:\n" + "".join("  " * i + f"- k{i}:\n" for i in range(1, 40)), "nested more than 64"),
        ("a: " + "1" * 5000, "YAML integer of 5000 characters"),
        ("a: 1" + ":1" * 5000, "YAML integer of 10001 characters"),
    ],
)
def test_unsafe_yaml_is_refused(text: str, message: str) -> None:
    with pytest.raises(UnsafeYAMLError, match=re.escape(message)) as info:
        load_yaml(text, "environment.yaml")
    assert isinstance(info.value, PackageError)
    assert isinstance(info.value, yaml.YAMLError)  # callers that report YAML errors name it
    assert str(info.value).startswith("environment.yaml is not safe, valid YAML: ")


def test_yaml_nesting_at_the_limit_is_fine() -> None:
    value = load_yaml("a: " + "[" * 63 + "1" + "]" * 63)
    for _ in range(64):
        value = value["a"] if isinstance(value, dict) else value[0]
    assert value == 1


def test_yaml_limits_are_configurable() -> None:
    with pytest.raises(UnsafeYAMLError, match=re.escape("more than 3 levels deep")):
        load_yaml("[[[[1]]]]", limits=Limits(max_yaml_depth=3))
    with pytest.raises(UnsafeYAMLError, match=re.escape("exceeds the limit of 5 bytes")):
        load_yaml("a: 1234", limits=Limits(max_yaml_bytes=5))


def test_manifest_loader_refuses_aliases_on_its_own() -> None:
    """Even without :func:`load_yaml`'s event scan, the loader never builds a node twice."""
    with pytest.raises(UnsafeYAMLError, match="anchors and aliases are refused"):
        yaml.load("a: &x [1, 2]\nb: *x\n", Loader=ManifestLoader)


def test_oversized_manifest(env: Env, tmp_path: Path) -> None:
    def change(members: Members) -> Members:
        noise = random.Random(0).randbytes(600_000).hex().encode()  # does not compress
        text = dict(members)["learnware.yaml"] + b"# " + noise + b"\n"
        return _replace("learnware.yaml", text)(members)

    bad = _rewrite(tmp_path, "big.zip", change)
    with pytest.raises(CheckError, match=r"learnware\.yaml .*larger than 1048576 bytes"):
        env.add(bad)
    env.assert_clean()


def test_deep_manifest(env: Env, tmp_path: Path) -> None:
    def change(members: Members) -> Members:
        text = dict(members)["learnware.yaml"].decode()
        deep = "[" * 100 + "]" * 100
        text = text.replace("kwargs: {}", f"kwargs: {{deep: {deep}}}", 1)
        assert "deep" in text
        return _replace("learnware.yaml", text.encode())(members)

    bad = _rewrite(tmp_path, "deep.zip", change)
    with pytest.raises(CheckError, match=r"learnware\.yaml .*nested more than 64 levels deep"):
        env.add(bad)
    env.assert_clean()


def test_huge_integer_in_manifest(env: Env, tmp_path: Path) -> None:
    def change(members: Members) -> Members:
        text = dict(members)["learnware.yaml"].decode()
        text = text.replace("kwargs: {}", "kwargs: {n: " + "9" * 10_000 + "}", 1)
        return _replace("learnware.yaml", text.encode())(members)

    bad = _rewrite(tmp_path, "int.zip", change)
    with pytest.raises(CheckError, match=r"learnware\.yaml .*integer of 10000 characters"):
        env.add(bad)
    env.assert_clean()


def test_read_yaml_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "environment.yaml"
    path.write_bytes(b"a: \xff\xfe")
    with pytest.raises(PackageError, match=r"^environment\.yaml is not safe, valid YAML"):
        read_yaml(path)
    path.write_text(ALIAS_BOMB)
    with pytest.raises(PackageError, match=r"^environment\.yaml is not safe, .*alias"):
        read_yaml(path)
    with pytest.raises(PackageError, match=re.escape("cannot read missing.yaml")):
        read_yaml(tmp_path / "missing.yaml")


def test_dumped_manifest_has_no_aliases() -> None:
    """What the dock writes it can read back: shared values are written twice."""
    shape = (3, 4)
    shared = [1, 2]
    manifest = Manifest(ModelEntry("M", {"a": shared, "b": shared, "in": shape, "out": shape}))
    text = manifest.dump()
    assert "&" not in text and "*" not in text
    assert load_yaml(text)["model"]["kwargs"] == {
        "a": [1, 2],
        "b": [1, 2],
        "in": shape,
        "out": shape,
    }


# -- 2. zip: many members under the per-member ratio floor ------------------------------------
def test_zip_bomb_of_many_small_members(env: Env, tmp_path: Path) -> None:
    """1,500 members of 1 MiB zeros each (1.5 GiB) in a 1.6 MB zip: each member is at the
    per-member ratio floor, the total ratio gives it away."""
    members = _read_members(_valid_zip(tmp_path))
    bad = _raw_zip(tmp_path / "many.zip", members, [f"data/{i}.bin" for i in range(1500)])
    assert bad.stat().st_size < 2_000_000
    with pytest.raises(
        PackageError, match=r"many\.zip: expands to over \d+ bytes, more than 200x .*zip bomb"
    ):
        env.add(bad)
    env.assert_clean()


@pytest.mark.parametrize(("max_total_ratio", "refused"), [(5.0, True), (2000.0, False)])
def test_zip_total_ratio_is_configurable(
    tmp_path: Path, max_total_ratio: float, refused: bool
) -> None:
    members = _read_members(_valid_zip(tmp_path))
    archive = _raw_zip(tmp_path / "few.zip", members, ["a.bin", "b.bin"])
    dest = tmp_path / "dest"
    dest.mkdir()
    limits = Limits(max_total_ratio=max_total_ratio)
    if refused:
        with pytest.raises(
            PackageError, match=r"few\.zip: expands to over \d+ bytes, more than 5x"
        ):
            extract(archive, dest, limits)
        assert list(dest.iterdir()) == []
    else:
        assert (extract(archive, dest, limits) / "a.bin").stat().st_size == 1 << 20


def test_zip_with_oversized_central_directory(tmp_path: Path) -> None:
    members = [(f"{i:03}" + "x" * 2000, b"") for i in range(3)]
    bad = _raw_zip(tmp_path / "directory.zip", members)
    dest = tmp_path / "dest"
    dest.mkdir()
    with pytest.raises(PackageError, match=r"central directory of \d+ bytes is too large"):
        extract(bad, dest, Limits(max_members=4))
    assert list(dest.iterdir()) == []


# -- 3. tar: every compression, counted while streaming -----------------------------------------
@pytest.mark.parametrize("kind", ["gz", "bz2", "xz"])
def test_compressed_tar_bomb(env: Env, tmp_path: Path, kind: str) -> None:
    """One member of 1.5 GiB of zeros: well under max_total_bytes, but a bomb."""
    members = _read_members(_valid_zip(tmp_path))
    bad = _tar_bomb(tmp_path / f"bomb.tar.{kind}", kind, members, [("weights.bin", 1536)])
    assert bad.stat().st_size < (2_000_000 if kind == "gz" else 400_000)  # gzip: ~1000x
    with pytest.raises(PackageError, match=r"expands to over \d+ bytes, .*tar bomb") as info:
        env.add(bad)
    assert f"bomb.tar.{kind}" in str(info.value)
    env.assert_clean()


def test_tar_bomb_of_many_small_members(env: Env, tmp_path: Path) -> None:
    members = _read_members(_valid_zip(tmp_path))
    zeros = [(f"data/{i}.bin", 1) for i in range(1500)]
    bad = _tar_bomb(tmp_path / "many.tar.bz2", "bz2", members, zeros)
    with pytest.raises(PackageError, match=r"many\.tar\.bz2: expands to over .*tar bomb"):
        env.add(bad)
    env.assert_clean()


def test_tar_bomb_refused_before_writing_it(tmp_path: Path) -> None:
    """The header sizes are only used to refuse early; nothing of the bomb is written."""
    members = _read_members(_valid_zip(tmp_path))
    bad = _tar_bomb(tmp_path / "bomb.tar.bz2", "bz2", members, [("weights.bin", 64)])
    dest = tmp_path / "dest"
    dest.mkdir()
    with pytest.raises(PackageError, match="tar bomb"):
        extract(bad, dest, Limits(max_total_ratio=10.0))
    assert list(dest.iterdir()) == []


def test_tar_total_bytes_counted(tmp_path: Path) -> None:
    members = _read_members(_valid_zip(tmp_path))
    bad = _tar_bomb(tmp_path / "big.tar.xz", "xz", members, [("weights.bin", 2)])
    dest = tmp_path / "dest"
    dest.mkdir()
    with pytest.raises(PackageError, match=re.escape("uncompressed size exceeds 1048576 bytes")):
        extract(bad, dest, Limits(max_total_bytes=1 << 20, max_total_ratio=1e9))
    assert list(dest.iterdir()) == []
    root = extract(bad, dest, Limits(max_total_ratio=1e9))
    assert (root / "weights.bin").stat().st_size == 2 << 20


def test_tar_extended_header_over_the_limit(env: Env, tmp_path: Path) -> None:
    """tarfile reads a pax header whole: its size is checked before it is read."""
    raw = _tar_header("learnware.yaml", 0, comment="x" * (2 << 20)) + b"\0" * 1024
    bad = tmp_path / "pax.tar.gz"
    bad.write_bytes(gzip.compress(raw))
    with pytest.raises(PackageError, match=r"tar header or block of \d+ bytes exceeds the limit"):
        env.add(bad)
    env.assert_clean()


def test_tar_headers_count_towards_the_stream(tmp_path: Path) -> None:
    raw = _tar_header("a.txt", 0, comment="x" * 500_000) + b"\0" * 1024
    bad = tmp_path / "headers.tar.gz"
    bad.write_bytes(gzip.compress(raw))
    dest = tmp_path / "dest"
    dest.mkdir()
    with pytest.raises(PackageError, match=r"decompressed tar stream exceeds \d+ bytes"):
        extract(bad, dest, Limits(max_total_bytes=10_000, max_total_ratio=1e9))
    assert list(dest.iterdir()) == []


def test_plain_tar_is_still_read(tmp_path: Path) -> None:
    members = _read_members(_valid_zip(tmp_path))
    archive = tmp_path / "pkg.tar"
    archive.write_bytes(b"".join(_tar_member(str(n), c) for n, c in members) + b"\0" * 1024)
    dest = tmp_path / "dest"
    dest.mkdir()
    assert (extract(archive, dest) / "learnware.yaml").is_file()


@pytest.mark.parametrize("kind", ["gz", "bz2", "xz"])
def test_corrupt_compressed_tar(env: Env, tmp_path: Path, kind: str) -> None:
    members = _read_members(_valid_zip(tmp_path))
    data = _tar_bomb(tmp_path / f"ok.tar.{kind}", kind, members).read_bytes()
    bad = tmp_path / f"corrupt.tar.{kind}"
    bad.write_bytes(data[: len(data) // 2])
    with pytest.raises(PackageError, match=rf"corrupt\.tar\.{kind}"):
        env.add(bad)
    env.assert_clean()


# -- 5. JSON: statistical spec files and semantic specs ----------------------------------------
def _spec_zip(tmp_path: Path, content: bytes) -> Path:
    return _rewrite(tmp_path, "spec.zip", _replace("stat.json", content))


def test_deeply_nested_spec_json(env: Env, tmp_path: Path) -> None:
    bad = _spec_zip(tmp_path, b"[" * 100_000 + b"]" * 100_000)
    with pytest.raises(
        CheckError,
        match=r"stat_specifications\[0\]: ToySpecification file stat\.json is nested too deep",
    ):
        env.add(bad)
    env.assert_clean()


def test_spec_json_with_a_huge_number(env: Env, tmp_path: Path) -> None:
    spec = b'{"type": "ToySpecification", "mean": [' + b"9" * 10_000 + b'], "std": [1]}'
    with pytest.raises(CheckError, match=r"file stat\.json is not valid JSON: .*digits"):
        env.add(_spec_zip(tmp_path, spec))
    env.assert_clean()


def test_spec_json_over_the_size_limit(env: Env, tmp_path: Path) -> None:
    source = tmp_path / "src" / "pkg"
    _valid_zip(tmp_path)
    manifest = Manifest.read(source)
    registry = env.market.components.specifications
    size = (source / "stat.json").stat().st_size
    with pytest.raises(PackageError, match=rf"'stat\.json' holds {size} bytes; .* at most 100"):
        load_stat_specs(source, manifest, registry, Limits(max_json_bytes=100))
    assert load_stat_specs(source, manifest, registry)["ToySpecification"].dimension == 4


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[" * 100_000 + "]" * 100_000, "semantic spec is nested too deeply"),
        ('{"x": ' + "[" * 500 + "]" * 500 + "}", "nested more than 32 levels deep"),
        ('{"Name": 1' + "0" * 5000 + "}", "semantic spec is not valid JSON"),
        ("{not json", "semantic spec is not valid JSON"),
        (b"\xff\xfe\x00", "semantic spec is not valid JSON"),
        ("[1, 2]", "must be a mapping"),
    ],
)
def test_semantic_spec_json_bombs(text: str | bytes, message: str) -> None:
    with pytest.raises(SemanticError, match=re.escape(message)):
        SemanticSpec.from_json(text)


def test_semantic_spec_json_file(tmp_path: Path) -> None:
    path = tmp_path / "semantic.json"
    path.write_text(json.dumps(table_semantic_spec().to_dict()))
    assert SemanticSpec.read_json(path) == table_semantic_spec()
    path.write_text("[" * 100_000 + "]" * 100_000)
    with pytest.raises(SemanticError, match=rf"semantic spec {re.escape(str(path))} is nested"):
        SemanticSpec.read_json(path)
    path.write_bytes(b" " * (MAX_JSON_BYTES + 1))
    with pytest.raises(SemanticError, match=rf"is larger than {MAX_JSON_BYTES} bytes"):
        SemanticSpec.read_json(path)
    with pytest.raises(SemanticError, match="cannot read semantic spec"):
        SemanticSpec.read_json(tmp_path / "missing.json")


def test_deep_semantic_dict_is_refused_without_storing(env: Env, tmp_path: Path) -> None:
    spec = table_semantic_spec().to_dict()
    deep: list[object] = []
    for _ in range(5000):
        deep = [deep]
    spec["Extra"] = deep
    with pytest.raises(DockError, match=re.escape("nested more than 32 levels deep")):
        env.market.add(_valid_zip(tmp_path), spec)
    env.assert_clean()


def test_a_deep_spec_file_loaded_directly_is_a_specification_error(tmp_path: Path) -> None:
    from learnware_dock.errors import SpecificationError
    from learnware_dock.testing import ToySpecification

    deep = tmp_path / "deep.json"
    deep.write_text("[" * 200_000 + "]" * 200_000)
    with pytest.raises(SpecificationError, match="nested too deeply"):
        ToySpecification.load(deep)
    huge = tmp_path / "huge.json"
    huge.write_text('{"type": "x", "n": ' + "9" * 5000 + "}")
    with pytest.raises(SpecificationError, match=r"huge\.json is not valid JSON"):
        ToySpecification.load(huge)

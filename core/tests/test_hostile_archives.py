"""Hostile and malformed archives (zip, tar): each is refused precisely and leaves no trace.

Every hostile archive is built here with ``zipfile``/``tarfile`` from a valid package made by
:func:`build_package`. For each rejection we check (a) the exact ``DockError`` subclass and a
message naming the problem, (b) that nothing was stored (no row, no blob, no leftover
extraction folder) and (c) that the market still opens, empty.
"""

from __future__ import annotations

import io
import re
import stat
import tarfile
import tempfile
import zipfile
from pathlib import Path

import pytest
import yaml
from hostile import (
    Env,
    Members,
    _read_members,
    _rewrite,
    _valid_zip,
    _write_zip,
)

from learnware_dock.domain import Status
from learnware_dock.errors import (
    PackageError,
)
from learnware_dock.package.reader import sha256_file
from learnware_dock.package.safezip import Limits, extract
from learnware_dock.testing import table_semantic_spec


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

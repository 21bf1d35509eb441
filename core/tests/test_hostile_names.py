"""Member names the file system cannot hold: file/folder clashes, over-long names, deep
paths, and any ``OSError`` while writing. Each is a ``PackageError`` naming the member,
raised before or while extracting, and the destination is left empty.
"""

from __future__ import annotations

import errno
import io
import re
import tarfile
from pathlib import Path
from typing import Any

import pytest
from hostile import Env, Members, _read_members, _rewrite, _tar_member, _valid_zip, _write_zip

from learnware_dock.errors import PackageError
from learnware_dock.package import safezip
from learnware_dock.package.safezip import Limits, extract


def _dest(tmp_path: Path) -> Path:
    dest = tmp_path / "dest"
    dest.mkdir()
    return dest


def _tar(path: Path, members: Members) -> Path:
    raw = b"".join(_tar_member(str(name), content) for name, content in members)
    # re-packed by tarfile itself: a normal .tar.gz
    with (
        tarfile.open(path, "w:gz") as tf,
        tarfile.open(fileobj=io.BytesIO(raw + b"\0" * 1024)) as source,
    ):
        for member in source:
            tf.addfile(member, source.extractfile(member))
    return path


CLASHES = [
    ([("a", b"file"), ("a/b", b"inside")], "member 'a/b' lies inside 'a', which is a file"),
    ([("a/b", b"inside"), ("a", b"file")], "member 'a' is a file, but other members use it"),
    ([("a/", b""), ("a/b/", b""), ("a/b", b"x")], "duplicate member name 'a/b'"),
    ([("a/b/c", b"x"), ("a/b", b"file")], "member 'a/b' is a file, but other members use it"),
    (
        [("x/a", b"file"), ("x/a/b/c/d", b"deep")],
        "member 'x/a/b/c/d' lies inside 'x/a', which is a file",
    ),
]


@pytest.mark.parametrize(("extra", "message"), CLASHES)
def test_file_and_folder_of_the_same_name_zip(
    env: Env, tmp_path: Path, extra: Members, message: str
) -> None:
    bad = _rewrite(tmp_path, "clash.zip", lambda m: m + extra)
    with pytest.raises(PackageError, match=re.escape(f"clash.zip: {message}")):
        env.add(bad)
    env.assert_clean()


@pytest.mark.parametrize(("extra", "message"), CLASHES[:2] + CLASHES[3:])
def test_file_and_folder_of_the_same_name_tar(
    env: Env, tmp_path: Path, extra: Members, message: str
) -> None:
    bad = _tar(tmp_path / "clash.tar.gz", _read_members(_valid_zip(tmp_path)) + extra)
    with pytest.raises(PackageError, match=re.escape(f"clash.tar.gz: {message}")):
        env.add(bad)
    env.assert_clean()


LONG_NAMES = [
    ("x" * 256, "has a path component over 255 bytes"),
    ("data/" + "é" * 128, "has a path component over 255 bytes"),  # 256 bytes in UTF-8
    ("/".join(["d" * 200] * 21), "has a name of 4220 bytes (limit 4096)"),
    ("a/" * 65 + "f", "is nested more than 64 folders deep"),
]


@pytest.mark.parametrize(("name", "message"), LONG_NAMES)
def test_over_long_names_zip(env: Env, tmp_path: Path, name: str, message: str) -> None:
    bad = _rewrite(tmp_path, "long.zip", lambda m: [*m, (name, b"x")])
    with pytest.raises(PackageError, match=re.escape(message)) as info:
        env.add(bad)
    assert repr(name)[:100] in str(info.value)  # names the member (shortened when huge)
    assert len(str(info.value)) < 400
    env.assert_clean()


@pytest.mark.parametrize(("name", "message"), LONG_NAMES)
def test_over_long_names_tar(env: Env, tmp_path: Path, name: str, message: str) -> None:
    bad = _tar(tmp_path / "long.tar.gz", [*_read_members(_valid_zip(tmp_path)), (name, b"x")])
    with pytest.raises(PackageError, match=re.escape(message)) as info:
        env.add(bad)
    assert repr(name)[:100] in str(info.value)
    env.assert_clean()


def test_names_at_the_limits_are_fine(tmp_path: Path) -> None:
    names = ["x" * 255, "a/" * 63 + "f", "/".join(["d" * 254] * 15)]
    members = [*_read_members(_valid_zip(tmp_path)), *((n, b"ok") for n in names)]
    archive = _rewrite(tmp_path, "ok.zip", lambda m: members)
    root = extract(archive, _dest(tmp_path))
    assert (root / ("x" * 255)).read_bytes() == b"ok"
    assert (root / ("a/" * 63 + "f")).read_bytes() == b"ok"


def test_limits_on_names_are_configurable(tmp_path: Path) -> None:
    archive = _write_zip(tmp_path / "names.zip", [("abcdef/g", b"x")])
    for limits, message in [
        (Limits(max_name_bytes=5), "has a path component over 5 bytes"),
        (Limits(max_path_bytes=7), "has a name of 8 bytes (limit 7)"),
        (Limits(max_depth=1), "is nested more than 1 folders deep"),
    ]:
        dest = tmp_path / "dest"
        dest.mkdir(exist_ok=True)
        with pytest.raises(PackageError, match=re.escape(f"'abcdef/g' {message}")):
            extract(archive, dest, limits)
        assert list(dest.iterdir()) == []


def test_path_too_long_for_the_destination(tmp_path: Path) -> None:
    """A name within the limits whose full path the OS refuses (ENAMETOOLONG while making
    its folders): a PackageError naming the member, and nothing left behind."""
    name = "/".join(["d" * 250] * 16) + "/f"
    archive = _rewrite(tmp_path, "deep.zip", lambda m: [*m, (name, b"x")])
    dest = tmp_path / ("p" * 250) / ("q" * 250)
    dest.mkdir(parents=True)
    with pytest.raises(PackageError, match=r"cannot be extracted: File name too long") as info:
        extract(archive, dest)
    assert repr(name)[:100] in str(info.value)
    assert list(dest.iterdir()) == []


@pytest.mark.parametrize("archive_kind", ["zip", "tar"])
def test_os_error_while_writing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, archive_kind: str
) -> None:
    """A full disk (ENOSPC) half-way through: the member is named, the folder emptied."""
    members = [*_read_members(_valid_zip(tmp_path)), ("weights.bin", b"w" * 1000)]
    if archive_kind == "zip":
        archive = _rewrite(tmp_path, "pkg.zip", lambda m: members)
    else:
        archive = _tar(tmp_path / "pkg.tar.gz", members)
    real_open = open

    def full_disk(path: Any, mode: str = "r", *args: Any, **kwargs: Any) -> Any:
        if Path(path).name == "weights.bin":
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_open(path, mode, *args, **kwargs)

    monkeypatch.setattr(safezip, "open", full_disk, raising=False)
    dest = _dest(tmp_path)
    with pytest.raises(
        PackageError, match=r"'weights\.bin' cannot be extracted: No space left on device"
    ):
        extract(archive, dest)
    assert list(dest.iterdir()) == []


def test_os_error_making_a_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    archive = _rewrite(tmp_path, "pkg.zip", lambda m: [*m, ("sub/dir/w.bin", b"w")])
    real_mkdir = Path.mkdir

    def failing_mkdir(self: Path, *args: Any, **kwargs: Any) -> None:
        if self.name == "dir":
            raise PermissionError(errno.EACCES, "Permission denied")
        real_mkdir(self, *args, **kwargs)

    monkeypatch.setattr(Path, "mkdir", failing_mkdir)
    dest = _dest(tmp_path)
    with pytest.raises(
        PackageError, match=r"'sub/dir/w\.bin' cannot be extracted: Permission denied"
    ):
        extract(archive, dest)
    assert list(dest.iterdir()) == []


@pytest.mark.parametrize("name", [".", "a/.."])
def test_member_that_is_the_package_folder(env: Env, tmp_path: Path, name: str) -> None:
    bad = _rewrite(tmp_path, "dot.zip", lambda m: [*m, (name, b"x")])
    with pytest.raises(PackageError, match=re.escape("dot.zip: member")) as info:
        env.add(bad)
    assert repr(name) in str(info.value)
    env.assert_clean()


def test_tar_with_dot_folder_is_accepted(env: Env, tmp_path: Path) -> None:
    """``tar -czf pkg.tar.gz -C folder .`` writes a '.' folder and './' names."""
    members = [(".", b""), *((f"./{n}", c) for n, c in _read_members(_valid_zip(tmp_path)))]
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w:gz") as tf:
        for name, content in members:
            info = tarfile.TarInfo(str(name))
            if name == ".":
                info.type = tarfile.DIRTYPE
            info.size = len(content)
            tf.addfile(info, io.BytesIO(content))
    archive = tmp_path / "dot.tar.gz"
    archive.write_bytes(raw.getvalue())
    assert env.add(archive).id == "00000001"

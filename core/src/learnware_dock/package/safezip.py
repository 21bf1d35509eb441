"""Safe extraction of untrusted archives (zip, tar) with hard limits.

Rejected with :class:`PackageError`: member names that are absolute or contain ``..`` or
backslashes, symlinks and other special members, duplicate names, encrypted members, too
many members, too many bytes (counted while extracting, headers are not trusted), and
members whose compression ratio marks a zip bomb. A single top-level folder is stripped.
"""

from __future__ import annotations

import shutil
import stat
import tarfile
import zipfile
from pathlib import Path, PurePosixPath

import attrs

from learnware_dock.errors import PackageError

_CHUNK = 1 << 16


@attrs.frozen
class Limits:
    """Extraction limits; the defaults suit model packages of up to 2 GiB."""

    max_members: int = 10_000
    max_total_bytes: int = 2 << 30
    max_ratio: float = 200.0  # uncompressed / compressed, for members over ratio_floor
    ratio_floor: int = 1 << 20


def _check_name(name: str, archive: Path) -> PurePosixPath:
    if not name or "\\" in name or "\x00" in name:
        raise PackageError(f"{archive.name}: member name {name!r} is not a plain relative path")
    path = PurePosixPath(name)
    if path.is_absolute() or (len(name) > 1 and name[1] == ":"):
        raise PackageError(f"{archive.name}: member {name!r} has an absolute path")
    if ".." in path.parts:
        raise PackageError(f"{archive.name}: member {name!r} escapes the package with '..'")
    return path


class _Budget:
    def __init__(self, archive: Path, limits: Limits) -> None:
        self.archive, self.limits, self.total, self.seen = archive, limits, 0, set[str]()

    def member(self, name: str, size: int, count: int) -> PurePosixPath:
        path = _check_name(name, self.archive)
        key = str(path)
        if key in self.seen:
            raise PackageError(f"{self.archive.name}: duplicate member name {key!r}")
        self.seen.add(key)
        if count > self.limits.max_members:
            raise PackageError(f"{self.archive.name}: more than {self.limits.max_members} members")
        self.add(size)
        return path

    def add(self, size: int) -> None:
        self.total += size
        if self.total > self.limits.max_total_bytes:
            raise PackageError(
                f"{self.archive.name}: uncompressed size exceeds "
                f"{self.limits.max_total_bytes} bytes"
            )


def _extract_zip(archive: Path, dest: Path, limits: Limits) -> None:
    try:
        zf = zipfile.ZipFile(archive)
    except (zipfile.BadZipFile, OSError) as exc:
        raise PackageError(f"{archive.name} is not a readable zip archive: {exc}") from exc
    with zf:
        infos = zf.infolist()
        budget = _Budget(archive, limits)
        for count, info in enumerate(infos, 1):
            budget.member(info.filename.rstrip("/") or info.filename, info.file_size, count)
            kind = stat.S_IFMT(info.external_attr >> 16)
            if kind and kind not in (stat.S_IFREG, stat.S_IFDIR):
                raise PackageError(f"{archive.name}: member {info.filename!r} is a link or device")
            if info.flag_bits & 0x1:
                raise PackageError(f"{archive.name}: member {info.filename!r} is encrypted")
            ratio = info.file_size / max(info.compress_size, 1)
            if info.file_size > limits.ratio_floor and ratio > limits.max_ratio:
                raise PackageError(
                    f"{archive.name}: member {info.filename!r} expands {ratio:.0f}x "
                    f"(limit {limits.max_ratio:.0f}x); refusing a likely zip bomb"
                )
        written = 0
        for info in infos:
            target = dest.joinpath(*PurePosixPath(info.filename).parts)
            if info.is_dir():
                target.mkdir(parents=True, exist_ok=True)
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            size = 0
            try:
                with zf.open(info) as src, open(target, "wb") as out:
                    while chunk := src.read(_CHUNK):
                        size += len(chunk)
                        written += len(chunk)
                        if size > info.file_size or written > limits.max_total_bytes:
                            raise PackageError(
                                f"{archive.name}: member {info.filename!r} is larger than its "
                                "header says; refusing it"
                            )
                        out.write(chunk)
            except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError) as exc:
                raise PackageError(
                    f"{archive.name}: member {info.filename!r} is corrupt: {exc}"
                ) from exc


def _extract_tar(archive: Path, dest: Path, limits: Limits) -> None:
    try:
        tf = tarfile.open(archive)  # noqa: SIM115  (closed by the with below)
    except (tarfile.TarError, OSError) as exc:
        raise PackageError(f"{archive.name} is not a readable tar archive: {exc}") from exc
    with tf:
        budget = _Budget(archive, limits)
        members = tf.getmembers()
        for count, member in enumerate(members, 1):
            budget.member(member.name.rstrip("/"), member.size, count)
            if not (member.isfile() or member.isdir()):
                raise PackageError(f"{archive.name}: member {member.name!r} is a link or device")
        try:
            tf.extractall(dest, filter="data")
        except (tarfile.TarError, OSError) as exc:
            raise PackageError(f"{archive.name}: cannot extract: {exc}") from exc


def extract(archive: Path, dest: Path, limits: Limits | None = None) -> Path:
    """Extract ``archive`` into the empty folder ``dest``; return the package root.

    On any error ``dest`` is emptied again and :class:`PackageError` is raised.
    """
    limits = limits or Limits()
    archive = Path(archive)
    if not archive.is_file():
        raise PackageError(f"package {archive} does not exist")
    try:
        if zipfile.is_zipfile(archive):
            _extract_zip(archive, dest, limits)
        elif tarfile.is_tarfile(archive):
            _extract_tar(archive, dest, limits)
        else:
            raise PackageError(f"{archive.name} is neither a zip nor a tar archive")
    except BaseException:
        shutil.rmtree(dest, ignore_errors=True)
        dest.mkdir(parents=True, exist_ok=True)
        raise
    entries = [p for p in dest.iterdir() if p.name not in {"__MACOSX"}]
    if len(entries) == 1 and entries[0].is_dir() and not (dest / "learnware.yaml").exists():
        return entries[0]
    return dest

"""Safe extraction of untrusted archives (zip, tar) with hard limits.

Rejected with :class:`PackageError`, naming the archive and the member: member names that
are absolute, contain ``..``, backslashes or NUL, have a path component over
``max_name_bytes`` or a path over ``max_path_bytes`` or nest deeper than ``max_depth``;
a member that is both a file and a folder (``a`` and ``a/b``); symlinks, hard links,
devices and sparse files; duplicate names; encrypted members; too many members; too many
bytes; decompression bombs; corrupt data; and any ``OSError`` while writing. On any error
the destination is emptied again: nothing half-written is left behind. A single top-level
folder is stripped.

Sizes are never trusted: header sizes are only used to refuse early, and the bytes
actually written are counted while extracting, so a lying header or many small members
cannot get past the limits. Tar archives (plain, gzip, bzip2, xz, and zstd where Python
has it) are read as one forward-only stream whose every decompressed byte is counted.

The limits (:class:`Limits`, every field configurable) and their defaults:

``max_members = 10_000``
    members (files and folders) in one archive.
``max_total_bytes = 2 GiB``
    bytes written for all members together.
``max_ratio = 200``
    per zip member: uncompressed / compressed size, for members over ``ratio_floor``.
``max_total_ratio = 200``
    all bytes written (for tar: every decompressed byte, headers included) / the
    archive's size on disk, once over ``ratio_floor``: a bomb made of many small members,
    or a compressed tar, is stopped as soon as it expands that much.
``ratio_floor = 1 MiB``
    below this, neither ratio is checked (small text files compress well).
``max_name_bytes = 255``, ``max_path_bytes = 4096``, ``max_depth = 64``
    bytes in one path component, bytes in a member name, folders in a member's path.
``max_tar_header = 1 MiB``
    the largest tar extended header (GNU long name, pax) read into memory. The
    decompressed tar stream may exceed ``max_total_bytes`` by 8 KiB per member (headers).
``max_yaml_bytes = 1 MiB``, ``max_yaml_depth = 64``
    ``learnware.yaml`` and ``environment.yaml`` (see :func:`~.manifest.load_yaml`).
``max_json_bytes = 64 MiB``
    one statistical specification file (see :func:`~.reader.load_stat_specs`).
"""

from __future__ import annotations

import bz2
import gzip
import importlib
import lzma
import shutil
import stat
import tarfile
import zipfile
import zlib
from collections.abc import Callable
from pathlib import Path, PurePosixPath
from typing import IO, Any, NoReturn, Protocol

import attrs

from learnware_dock.errors import PackageError

_CHUNK = 1 << 16
#: decompressed tar bytes allowed per member beyond its data (header blocks, padding).
_TAR_OVERHEAD = 8 << 10
#: a zip central directory may hold this many bytes per allowed member, on average.
_DIRECTORY_BYTES_PER_MEMBER = 1 << 10
#: errors that mean "this member's data cannot be decoded" (not: cannot be written).
_DECODE_ERRORS: tuple[type[BaseException], ...] = (
    zipfile.BadZipFile,
    zipfile.LargeZipFile,
    tarfile.TarError,
    OSError,
    EOFError,
    zlib.error,
    lzma.LZMAError,
    NotImplementedError,
    RuntimeError,
    ValueError,
)


@attrs.frozen
class Limits:
    """Extraction and parsing limits; the defaults (module docstring) suit model packages
    of up to 2 GiB."""

    max_members: int = 10_000
    max_total_bytes: int = 2 << 30
    max_ratio: float = 200.0  # uncompressed / compressed, for members over ratio_floor
    max_total_ratio: float = 200.0  # bytes written / archive size, over ratio_floor
    ratio_floor: int = 1 << 20
    max_name_bytes: int = 255
    max_path_bytes: int = 4096
    max_depth: int = 64
    max_tar_header: int = 1 << 20
    max_yaml_bytes: int = 1 << 20
    max_yaml_depth: int = 64
    max_json_bytes: int = 64 << 20


def _show(name: str) -> str:
    """``repr(name)``, shortened when very long (over-long names are refused)."""
    text = repr(name)
    return text if len(text) <= 200 else f"{text[:120]}...{text[-40:]} ({len(name)} characters)"


def _check_name(name: str, archive: Path, limits: Limits) -> PurePosixPath:
    if not name or "\\" in name or "\x00" in name:
        raise PackageError(
            f"{archive.name}: member name {_show(name)} is not a plain relative path"
        )
    try:
        encoded = name.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError as exc:
        raise PackageError(
            f"{archive.name}: member name {_show(name)} is not a plain relative path"
        ) from exc
    if len(encoded) > limits.max_path_bytes:
        raise PackageError(
            f"{archive.name}: member {_show(name)} has a name of {len(encoded)} bytes "
            f"(limit {limits.max_path_bytes})"
        )
    path = PurePosixPath(name)
    if path.is_absolute() or (len(name) > 1 and name[1] == ":"):
        raise PackageError(f"{archive.name}: member {_show(name)} has an absolute path")
    if ".." in path.parts:
        raise PackageError(f"{archive.name}: member {_show(name)} escapes the package with '..'")
    if len(path.parts) > limits.max_depth:
        raise PackageError(
            f"{archive.name}: member {_show(name)} is nested more than {limits.max_depth} "
            "folders deep"
        )
    for part in path.parts:
        if len(part.encode("utf-8", "surrogateescape")) > limits.max_name_bytes:
            raise PackageError(
                f"{archive.name}: member {_show(name)} has a path component over "
                f"{limits.max_name_bytes} bytes"
            )
    return path


class _Guard:
    """Checks every member of one archive and counts every byte it produces."""

    def __init__(self, archive: Path, limits: Limits, archive_type: str) -> None:
        self.archive, self.limits, self.archive_type = archive, limits, archive_type
        self.size = max(archive.stat().st_size, 1)
        self.count = self.declared = self.written = 0
        self.seen: set[str] = set()
        self.files: set[str] = set()
        self.dirs: set[str] = set()

    def fail(self, message: str) -> NoReturn:
        raise PackageError(f"{self.archive.name}: {message}")

    def member(self, name: str, *, is_dir: bool) -> PurePosixPath:
        """Check one member's name before anything of it is written."""
        self.count += 1
        if self.count > self.limits.max_members:
            self.fail(f"more than {self.limits.max_members} members")
        path = _check_name(name, self.archive, self.limits)
        key = str(path)
        if key in self.seen:
            self.fail(f"duplicate member name {_show(key)}")
        self.seen.add(key)
        if not path.parts:  # "." or "./": the package folder itself
            if not is_dir:
                self.fail(f"member name {_show(name)} is not a plain relative path")
            return path
        parents = [str(parent) for parent in path.parents][:-1]
        for parent in parents:
            if parent in self.files:
                self.fail(f"member {_show(name)} lies inside {_show(parent)}, which is a file")
        if not is_dir and key in self.dirs:
            self.fail(f"member {_show(name)} is a file, but other members use it as a folder")
        (self.dirs if is_dir else self.files).add(key)
        self.dirs.update(parents)
        return path

    def declare(self, size: int) -> None:
        """A member's header size: refuse early what the counted bytes would refuse."""
        self.declared += size
        self._check_total(self.declared)

    def _check_total(self, total: int) -> None:
        if total > self.limits.max_total_bytes:
            self.fail(f"uncompressed size exceeds {self.limits.max_total_bytes} bytes")
        self._check_ratio(total)

    def _check_ratio(self, total: int) -> None:
        limits = self.limits
        if total > limits.ratio_floor and total > limits.max_total_ratio * self.size:
            self.fail(
                f"expands to over {total} bytes, more than {limits.max_total_ratio:.0f}x its "
                f"{self.size} bytes on disk; refusing a likely {self.archive_type} bomb"
            )

    def wrote(self, size: int) -> None:
        """``size`` more bytes were written: the total counted, not the headers' word."""
        self.written += size
        self._check_total(self.written)

    def streamed(self, total: int) -> None:
        """``total`` decompressed bytes of a tar stream were read (headers included)."""
        allowance = self.limits.max_total_bytes + (self.count + 1) * _TAR_OVERHEAD
        if total > allowance:
            self.fail(f"the decompressed tar stream exceeds {allowance} bytes")
        self._check_ratio(total)

    def decode(self, name: str, read: Callable[[], Any]) -> Any:
        try:
            return read()
        except _DECODE_ERRORS as exc:
            self.fail(f"member {_show(name)} is corrupt: {exc}")

    def copy(
        self,
        name: str,
        target: Path,
        opener: Callable[[], IO[bytes]] | None,
        check: Callable[[int], None] = lambda size: None,
    ) -> None:
        """Create ``target`` (a folder when ``opener`` is None) from the member's data,
        counting every byte; ``check(size so far)`` adds the member's own checks."""
        try:
            if opener is None:
                target.mkdir(parents=True, exist_ok=True)
                return
            target.parent.mkdir(parents=True, exist_ok=True)
            with open(target, "xb") as out, self.decode(name, opener) as src:
                size = 0
                while chunk := self.decode(name, lambda: src.read(_CHUNK)):
                    size += len(chunk)
                    self.wrote(len(chunk))
                    check(size)
                    out.write(chunk)
        except OSError as exc:
            self.fail(f"member {_show(name)} cannot be extracted: {exc.strerror or exc}")


def _central_directory(archive: Path) -> tuple[int, int] | None:
    """(entries, bytes) of a zip's central directory, read from its end record."""
    end_record = getattr(zipfile, "_EndRecData", None)
    if end_record is None:  # pragma: no cover - every CPython so far has it
        return None
    try:
        with open(archive, "rb") as fh:
            record = end_record(fh)
    except (OSError, ValueError, EOFError):
        return None
    return (int(record[4]), int(record[5])) if record else None


def _extract_zip(archive: Path, dest: Path, limits: Limits) -> None:
    guard = _Guard(archive, limits, "zip")
    directory = _central_directory(archive)
    if directory is not None:
        entries, size = directory
        if entries > limits.max_members:
            guard.fail(f"more than {limits.max_members} members")
        if size > limits.max_members * _DIRECTORY_BYTES_PER_MEMBER:
            guard.fail(
                f"its central directory of {size} bytes is too large for "
                f"{limits.max_members} members"
            )
    try:
        zf = zipfile.ZipFile(archive)
    except _DECODE_ERRORS as exc:
        raise PackageError(f"{archive.name} is not a readable zip archive: {exc}") from exc
    with zf:
        infos = zf.infolist()
        paths = []
        for info in infos:
            name = info.filename
            paths.append(guard.member(name, is_dir=info.is_dir()))
            file_type = stat.S_IFMT(info.external_attr >> 16)
            if file_type and file_type not in (stat.S_IFREG, stat.S_IFDIR):
                guard.fail(f"member {_show(name)} is a link or device")
            if info.flag_bits & 0x1:
                guard.fail(f"member {_show(name)} is encrypted")
            ratio = info.file_size / max(info.compress_size, 1)
            if info.file_size > limits.ratio_floor and ratio > limits.max_ratio:
                guard.fail(
                    f"member {_show(name)} expands {ratio:.0f}x "
                    f"(limit {limits.max_ratio:.0f}x); refusing a likely zip bomb"
                )
            guard.declare(info.file_size)
        for info, path in zip(infos, paths, strict=True):
            _copy_zip_member(zf, info, dest.joinpath(*path.parts), guard)


def _copy_zip_member(
    zf: zipfile.ZipFile, info: zipfile.ZipInfo, target: Path, guard: _Guard
) -> None:
    limits, name = guard.limits, info.filename

    def check(size: int) -> None:
        if size > info.file_size:
            guard.fail(f"member {_show(name)} is larger than its header says; refusing it")
        if size > limits.ratio_floor and size > limits.max_ratio * max(info.compress_size, 1):
            guard.fail(
                f"member {_show(name)} expands over {limits.max_ratio:.0f}x; "
                "refusing a likely zip bomb"
            )

    if info.is_dir():
        guard.copy(name, target, None)
    else:
        guard.copy(name, target, lambda: zf.open(info), check)


class _Source(Protocol):
    def read(self, size: int = -1, /) -> bytes: ...
    def close(self) -> None: ...


class _TarStream:
    """A decompressed tar stream, read forward only, every byte counted by the guard.

    ``tarfile`` reads extended headers whole (their size comes from the header), so a
    read is refused when larger than ``max_tar_header``, before anything is allocated.
    """

    def __init__(self, source: _Source, guard: _Guard) -> None:
        self._source, self._guard, self._pos = source, guard, 0
        self._max_read = max(guard.limits.max_tar_header, _CHUNK)

    def read(self, size: int = -1) -> bytes:
        if size < 0 or size > self._max_read:
            self._guard.fail(
                f"a tar header or block of {size} bytes exceeds the limit of "
                f"{self._guard.limits.max_tar_header} bytes"
            )
        data = self._source.read(size)
        self._pos += len(data)
        self._guard.streamed(self._pos)
        return data

    def tell(self) -> int:
        return self._pos

    def seekable(self) -> bool:
        return True

    def seek(self, pos: int, whence: int = 0) -> int:
        if whence == 1:
            pos += self._pos
        elif whence != 0:
            self._guard.fail("the tar stream cannot be read from its end")
        if pos < self._pos:
            self._guard.fail("the tar stream would be read backwards; refusing it")
        while self._pos < pos and self.read(min(_CHUNK, pos - self._pos)):
            pass
        return self._pos


def _decompressed(raw: IO[bytes], archive: Path) -> _Source:
    """``raw`` itself, or a decompressing reader chosen by the magic bytes."""
    head = raw.read(6)
    raw.seek(0)
    if head.startswith(b"\x1f\x8b"):
        return gzip.GzipFile(fileobj=raw, mode="rb")
    if head.startswith(b"BZh"):
        return bz2.BZ2File(raw)
    if head.startswith(b"\xfd7zXZ\x00"):
        return lzma.LZMAFile(raw)
    if head.startswith(b"\x28\xb5\x2f\xfd"):
        try:
            zstd: Any = importlib.import_module("compression.zstd")
        except ImportError:
            raise PackageError(
                f"{archive.name} is zstd-compressed, which this Python cannot read; "
                "use zip or tar.gz"
            ) from None
        reader: _Source = zstd.ZstdFile(raw)
        return reader
    return raw


def _extract_tar(archive: Path, dest: Path, limits: Limits) -> None:
    guard = _Guard(archive, limits, "tar")
    with open(archive, "rb") as raw:
        source = _decompressed(raw, archive)
        try:
            _read_tar(_TarStream(source, guard), archive, dest, guard)
        finally:
            source.close()


def _read_tar(stream: _TarStream, archive: Path, dest: Path, guard: _Guard) -> None:
    try:
        tf = tarfile.TarFile(fileobj=stream, mode="r")  # type: ignore[arg-type]
    except tarfile.ReadError as exc:
        raise PackageError(f"{archive.name} is neither a zip nor a tar archive") from exc
    except _DECODE_ERRORS as exc:
        raise PackageError(f"{archive.name} is not a readable tar archive: {exc}") from exc
    with tf:
        last = None
        while True:
            try:
                member = tf.next()
            except _DECODE_ERRORS as exc:
                where = f" after member {_show(last)}" if last else ""
                raise PackageError(f"{archive.name} is corrupt{where}: {exc}") from exc
            if member is None:
                return
            last = member.name
            _copy_tar_member(tf, member, dest, guard)


def _copy_tar_member(
    tf: tarfile.TarFile, member: tarfile.TarInfo, dest: Path, guard: _Guard
) -> None:
    name = member.name
    is_file = member.isfile()
    path = guard.member(name, is_dir=member.isdir())
    if not (is_file or member.isdir()):
        guard.fail(f"member {_show(name)} is a link or device")
    if member.issparse():
        guard.fail(f"member {_show(name)} is a sparse file")
    guard.declare(member.size if is_file else 0)
    try:
        tarfile.data_filter(member, str(dest))
    except tarfile.FilterError as exc:
        guard.fail(f"member {_show(name)} is refused: {exc}")

    def check(size: int) -> None:
        if size > member.size:
            guard.fail(f"member {_show(name)} is larger than its header says; refusing it")

    def opener() -> IO[bytes]:
        source = tf.extractfile(member)
        if source is None:  # pragma: no cover - files always have data
            raise tarfile.ReadError("no data")
        return source

    target = dest.joinpath(*path.parts)
    guard.copy(name, target, opener if is_file else None, check)


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
        else:
            _extract_tar(archive, dest, limits)
    except BaseException:
        shutil.rmtree(dest, ignore_errors=True)
        dest.mkdir(parents=True, exist_ok=True)
        raise
    entries = [p for p in dest.iterdir() if p.name not in {"__MACOSX"}]
    if len(entries) == 1 and entries[0].is_dir() and not (dest / "learnware.yaml").exists():
        return entries[0]
    return dest

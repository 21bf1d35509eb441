"""Builders for hostile learnware packages and a market that checks nothing was left.

Shared by test_hostile_archives.py and test_hostile_manifests.py (on pytest's pythonpath).
"""

from __future__ import annotations

import bz2
import functools
import gzip
import lzma
import struct
import tarfile
import warnings
import zipfile
import zlib
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from learnware_dock import Market
from learnware_dock.plugins import DockPluginManager
from learnware_dock.semantic import SemanticSpec
from learnware_dock.testing import build_package, table_semantic_spec

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


# -- bombs built without compressing gigabytes: compress a chunk once, repeat its bytes ------
ZEROS_MIB = b"\0" * (1 << 20)
_COMPRESS: dict[str, Callable[[bytes], bytes]] = {
    "gz": lambda data: gzip.compress(data, mtime=0),
    "bz2": bz2.compress,
    "xz": lambda data: lzma.compress(data, preset=0),
}


@functools.cache
def _compressed(kind: str, size: int) -> bytes:
    """``size`` zero bytes, compressed once as one stream of ``kind`` (gz, bz2, xz, deflate)."""
    if kind == "deflate":
        packer = zlib.compressobj(9, zlib.DEFLATED, -15)
        return packer.compress(b"\0" * size) + packer.flush()
    return _COMPRESS[kind](b"\0" * size)


def _raw_zip(path: Path, members: Iterable[tuple[str, bytes]], zeros: Iterable[str] = ()) -> Path:
    """A zip of ``members`` (stored) plus one MiB of deflated zeros per name in ``zeros``,
    written by hand so that the zeros are compressed only once."""
    local, central, count = bytearray(), bytearray(), [0]

    def add(name: str, method: int, crc: int, data: bytes, size: int) -> None:
        raw_name = name.encode()
        header = (0, method, 0, 0x21, crc, len(data), size, len(raw_name), 0)
        central.extend(
            struct.pack(
                "<4s6H3L5H2L", b"PK\x01\x02", 20, 20, *header[:8], 0, 0, 0, 0, 0, len(local)
            )
            + raw_name
        )
        local.extend(struct.pack("<4s5H3L2H", b"PK\x03\x04", 20, *header) + raw_name + data)
        count[0] += 1

    for name, content in members:
        add(name, 0, zlib.crc32(content), content, len(content))
    deflated, crc = _compressed("deflate", len(ZEROS_MIB)), zlib.crc32(ZEROS_MIB)
    for name in zeros:
        add(name, 8, crc, deflated, len(ZEROS_MIB))
    entries = count[0]
    end = struct.pack(
        "<4s4H2LH", b"PK\x05\x06", 0, 0, entries, entries, len(central), len(local), 0
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(bytes(local + central + end))
    return path


def _tar_header(name: str, size: int, **pax: str) -> bytes:
    info = tarfile.TarInfo(name)
    info.size, info.mode = size, 0o644
    if pax:
        info.pax_headers = dict(pax)
        return info.tobuf(tarfile.PAX_FORMAT)
    return info.tobuf(tarfile.GNU_FORMAT)


def _tar_member(name: str, content: bytes) -> bytes:
    return _tar_header(name, len(content)) + content + b"\0" * (-len(content) % 512)


def _tar_bomb(
    path: Path, kind: str, members: Members, zeros: Iterable[tuple[str, int]] = ()
) -> Path:
    """A compressed tar (``kind``: gz, bz2, xz) of ``members`` plus, for each ``(name,
    MiB)`` in ``zeros``, a member of that many MiB of zeros; the streams are concatenated
    (every tarfile compression reads multi-stream files), so the zeros are compressed once
    per size."""
    compress = _COMPRESS[kind]
    parts = [compress(b"".join(_tar_member(str(name), content) for name, content in members))]
    for name, mebibytes in zeros:
        parts.append(compress(_tar_header(name, mebibytes << 20)))
        chunk = min(mebibytes, 16)
        parts.extend([_compressed(kind, chunk << 20)] * (mebibytes // chunk))
        if mebibytes % chunk:
            parts.append(_compressed(kind, (mebibytes % chunk) << 20))
    parts.append(compress(b"\0" * 1024))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"".join(parts))
    return path


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

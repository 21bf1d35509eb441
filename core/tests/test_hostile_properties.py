"""Properties of safe extraction and parsing, over archives and texts hypothesis makes up.

- whatever extracts stays within the limits on disk (total bytes, total ratio, members);
- whatever fails raises ``PackageError`` only, and leaves the destination empty;
- damaged archives (any byte changed, or cut short) fail the same way, never otherwise;
- untrusted YAML files give a result or a ``PackageError``, never anything else.
"""

from __future__ import annotations

import functools
import io
import tarfile
import tempfile
import warnings
import zipfile
from pathlib import Path

import pytest
from hostile import _COMPRESS, _read_members, _valid_zip
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from learnware_dock.errors import PackageError
from learnware_dock.package.manifest import read_yaml
from learnware_dock.package.safezip import Limits, extract

FORMATS = ["zip", "tar", "gz", "bz2", "xz"]
PROPERTY = settings(
    max_examples=40,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)

names = st.lists(st.sampled_from(["a", "b", "c", ".", "é", "d" * 40]), min_size=1, max_size=4).map(
    "/".join
)
contents = st.one_of(
    st.binary(max_size=3000),
    st.integers(0, 200_000).map(lambda n: b"\0" * n),
)
members = st.lists(st.tuples(names, st.booleans(), contents), min_size=1, max_size=8)
limits = st.builds(
    Limits,
    max_members=st.integers(1, 10),
    max_total_bytes=st.integers(0, 400_000),
    max_ratio=st.floats(1.0, 500.0),
    max_total_ratio=st.floats(1.0, 500.0),
    ratio_floor=st.integers(0, 100_000),
)


def _archive(path: Path, kind: str, entries: list[tuple[str, bool, bytes]]) -> Path:
    if kind == "zip":
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # duplicate names are part of the game
            with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
                for name, is_dir, content in entries:
                    zf.writestr(name + "/" if is_dir else name, b"" if is_dir else content)
        return path
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w") as tf:
        for name, is_dir, content in entries:
            info = tarfile.TarInfo(name)
            if is_dir:
                info.type = tarfile.DIRTYPE
            else:
                info.size = len(content)
            tf.addfile(info, None if is_dir else io.BytesIO(content))
    data = raw.getvalue()
    path.write_bytes(data if kind == "tar" else _COMPRESS[kind](data))
    return path


def _on_disk(dest: Path) -> tuple[int, int]:
    files = [p for p in dest.rglob("*") if p.is_file()]
    return sum(p.stat().st_size for p in files), len(list(dest.rglob("*")))


def _extract_or_refuse(archive: Path, folder: Path, limits: Limits | None = None) -> bool:
    dest = folder / "dest"
    dest.mkdir()
    try:
        extract(archive, dest, limits)
    except PackageError:
        assert list(dest.iterdir()) == [], "a failed extraction left files behind"
        return False
    return True


@PROPERTY
@given(entries=members, kind=st.sampled_from(FORMATS), limits=limits)
def test_what_extracts_stays_within_the_limits(
    tmp_path_factory: pytest.TempPathFactory,
    entries: list[tuple[str, bool, bytes]],
    kind: str,
    limits: Limits,
) -> None:
    with tempfile.TemporaryDirectory(dir=tmp_path_factory.getbasetemp()) as name:
        folder = Path(name)
        archive = _archive(folder / f"archive.{kind}", kind, entries)
        if _extract_or_refuse(archive, folder, limits):
            total, count = _on_disk(folder / "dest")
            assert total <= limits.max_total_bytes
            assert total <= limits.ratio_floor or total <= limits.max_total_ratio * max(
                archive.stat().st_size, 1
            )
            assert count <= limits.max_members * 4  # names have up to 4 parts


@functools.cache
def _valid_archive(kind: str) -> bytes:
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        entries = [(str(n), False, c) for n, c in _read_members(_valid_zip(folder))]
        return _archive(folder / f"valid.{kind}", kind, entries).read_bytes()


@PROPERTY
@given(
    kind=st.sampled_from(FORMATS),
    changes=st.lists(st.tuples(st.floats(0, 1, exclude_max=True), st.integers(0, 255)), max_size=4),
    cut=st.one_of(st.none(), st.floats(0, 1)),
)
def test_damaged_archives_fail_cleanly(
    tmp_path_factory: pytest.TempPathFactory,
    kind: str,
    changes: list[tuple[float, int]],
    cut: float | None,
) -> None:
    data = bytearray(_valid_archive(kind))
    for where, value in changes:
        data[int(where * len(data))] = value
    if cut is not None:
        data = data[: int(cut * len(data))]
    with tempfile.TemporaryDirectory(dir=tmp_path_factory.getbasetemp()) as name:
        archive = Path(name) / f"damaged.{kind}"
        archive.write_bytes(bytes(data))
        _extract_or_refuse(archive, Path(name))


yaml_text = st.text(alphabet="[]{}:-&*!|>?,#'\" \n\tab1.%@`~\\x0é", max_size=300)


@PROPERTY
@given(content=st.one_of(yaml_text.map(str.encode), st.binary(max_size=300)))
def test_untrusted_yaml_gives_data_or_package_error(
    tmp_path_factory: pytest.TempPathFactory, content: bytes
) -> None:
    with tempfile.TemporaryDirectory(dir=tmp_path_factory.getbasetemp()) as name:
        path = Path(name) / "environment.yaml"
        path.write_bytes(content)
        message = "environment.yaml "
        try:
            read_yaml(path)
        except PackageError as exc:
            message = str(exc)
        assert message.startswith("environment.yaml ")

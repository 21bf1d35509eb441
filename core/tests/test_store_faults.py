"""The SQLite store on unusable paths and full disks: a clear StoreError naming the file or
folder, and nothing lost or half-written (issue 12)."""

from __future__ import annotations

import contextlib
import errno
import os
import re
import shutil
import sqlite3
import subprocess
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any, cast

import pytest
from store_helpers import learnware_zip, stored_files

from learnware_dock import Market
from learnware_dock.defaults.sqlite import blobs
from learnware_dock.defaults.sqlite.store import DIRTY_FILE, SQLiteOrganizer
from learnware_dock.domain import Learnware
from learnware_dock.errors import StoreError
from learnware_dock.plugins import DockPluginManager
from learnware_dock.semantic import SemanticSpec
from learnware_dock.testing import ToySpecPlugin, table_semantic_spec


def _full(doing: str, root: Path) -> str:
    """The message (a regex) of a full disk while ``doing`` something in market ``root``."""
    return f"disk full while {re.escape(doing)} in {re.escape(str(root))}.*: free some space"


def _db(market: Market) -> Any:
    """The market's sqlite-utils database."""
    return cast(SQLiteOrganizer, market.organizer).db


@pytest.fixture
def pm(plugin_manager: DockPluginManager) -> DockPluginManager:
    plugin_manager.register(ToySpecPlugin())
    return plugin_manager


# -- unusable store paths ---------------------------------------------------------------------
def _db_is_folder(root: Path) -> str:
    (root / "market.db").mkdir(parents=True)
    return re.escape(f"{root / 'market.db'} is a folder, not a database file: move it away")


def _market_is_file(root: Path) -> str:
    root.write_text("not a market\n")
    return re.escape(f"market folder {root} is a file, not a folder: move it away")


def _parent_is_file(root: Path) -> str:
    root.parent.write_text("a file where the market's parent folder belongs")
    return re.escape(
        f"{root.parent} is a file, not a folder, so market folder {root} cannot be in it: "
        "move it away"
    )


def _not_sqlite(root: Path) -> str:
    root.mkdir()
    (root / "market.db").write_text("name,score\nseven forest,1\n")
    db = root / "market.db"
    return re.escape(
        f"{db} is not a readable market database: it is not a SQLite file (file is not a "
        "database); restore it from a backup, or move it away to start an empty market there"
    )


def _dangling_link(root: Path) -> str:
    root.mkdir()
    (root / "market.db").symlink_to(root / "gone.db")
    db = root / "market.db"
    return re.escape(f"{db} is not a readable market database: it is a link to a missing file")


@pytest.mark.parametrize(
    "make", [_db_is_folder, _market_is_file, _parent_is_file, _not_sqlite, _dangling_link]
)
def test_unusable_store_path(tmp_path: Path, pm: DockPluginManager, make: Any) -> None:
    root = tmp_path / "blocker" / "market" if make is _parent_is_file else tmp_path / "market"
    message = make(root)
    before = sorted(tmp_path.rglob("*"))
    for create in (True, False):
        with pytest.raises(StoreError, match=message):
            Market(root, plugin_manager=pm, create=create)
    assert sorted(tmp_path.rglob("*")) == before  # nothing created, moved or changed


def test_lock_file_is_a_folder(tmp_path: Path, pm: DockPluginManager) -> None:
    root = tmp_path / "market"
    with Market(root, plugin_manager=pm) as market:
        kept = market.add(learnware_zip(tmp_path / "src", "kept"), table_semantic_spec("kept"))
        (root / "market.lock").unlink()
        (root / "market.lock").mkdir()
        message = (
            f"a folder is where a file belongs while adding other.zip in {re.escape(str(root))} "
            r"\(.*market\.lock\): move that folder away"
        )
        with pytest.raises(StoreError, match=message):
            market.add(
                learnware_zip(tmp_path / "src", "other", seed=1), table_semantic_spec("other")
            )
        assert market.list() == [kept]


def test_unreadable_database(tmp_path: Path, pm: DockPluginManager) -> None:
    """A market.db this user may not read (checked as an unprivileged user when root)."""
    root = tmp_path / "market"
    Market(root, plugin_manager=pm).close()
    (root / "market.db").chmod(0)
    tmp_path.chmod(0o711)
    message = _open_as_unprivileged(tmp_path, "market")
    assert re.search(
        "permission denied while reading the market database in market "
        r"\(market/market\.db\): give this user read and write access",
        message,
    ), message


def _open_as_unprivileged(cwd: Path, market: str) -> str:
    """Open ``market`` (relative to ``cwd``) as a user who is not root; the error message."""

    def attempt() -> str:
        try:
            Market(market).close()
        except StoreError as exc:
            return str(exc)
        except Exception as exc:  # the traceback this test guards against
            return f"not a StoreError: {exc!r}"
        return "opened"

    if os.geteuid() != 0:
        here = Path.cwd()
        os.chdir(cwd)
        try:
            return attempt()
        finally:
            os.chdir(here)
    read, write = os.pipe()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # fork with threads (3.12+)
        pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        try:
            os.chdir(cwd)
            try:
                os.setuid(65534)
            except OSError:
                result = "skip: cannot drop root privileges here"
            else:
                result = attempt()
            os.write(write, result.encode())
        finally:
            os._exit(0)
    os.close(write)
    with os.fdopen(read, "rb") as fh:
        result = fh.read().decode()
    os.waitpid(pid, 0)
    if result.startswith("skip:"):
        pytest.skip(result[5:])
    return result


# -- a full disk (simulated) ------------------------------------------------------------------
class _FullFile:
    """A file whose writes store half their data, then fail as on a full disk."""

    def __init__(self, real: Any) -> None:
        self.real = real

    def write(self, data: bytes) -> int:
        self.real.write(data[: len(data) // 2])
        self.real.flush()
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)

    def __enter__(self) -> _FullFile:
        return self

    def __exit__(self, *exc: object) -> None:
        self.real.close()


def _fill_blob(monkeypatch: pytest.MonkeyPatch, root: Path, nth: int) -> None:
    """The ``nth`` blob the market at ``root`` writes from now on (1: the package, 2: the
    first spec) hits a full disk."""
    real_fdopen = os.fdopen
    opened = [0]

    def fdopen(fd: int, *args: Any, **kwargs: Any) -> Any:
        handle = real_fdopen(fd, *args, **kwargs)
        inode = os.fstat(fd).st_ino
        if not any(p.stat().st_ino == inode for p in root.rglob(f"{blobs.TMP_PREFIX}*")):
            return handle  # not one of the market's blob temp files
        opened[0] += 1
        return _FullFile(handle) if opened[0] == nth else handle

    monkeypatch.setattr(blobs.os, "fdopen", fdopen)


class _FullCommit:
    """A connection whose COMMIT fails as SQLite does when the disk (its WAL) is full."""

    def __init__(self, real: sqlite3.Connection) -> None:
        self.real = real

    def execute(self, sql: str, *args: Any) -> sqlite3.Cursor:
        if sql.strip().upper() == "COMMIT":
            exc = sqlite3.OperationalError("database or disk is full")
            exc.sqlite_errorcode = sqlite3.SQLITE_FULL
            raise exc
        return self.real.execute(sql, *args)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)


@pytest.fixture
def full_commit(market: Market) -> Iterator[None]:
    db = _db(market)
    real = db.conn
    db.conn = _FullCommit(real)
    try:
        yield
    finally:
        db.conn = real


def _full_rows(market: Market) -> None:
    """Make the database file unable to grow: inserts fail with a real SQLITE_FULL."""
    db = _db(market)
    pages = db.execute("PRAGMA page_count").fetchone()[0]
    db.execute(f"PRAGMA max_page_count = {pages}")


@pytest.fixture
def market(tmp_path: Path, pm: DockPluginManager) -> Iterator[Market]:
    with Market(tmp_path / "market", plugin_manager=pm) as m:
        yield m


@pytest.fixture
def kept(market: Market, tmp_path: Path) -> Learnware:
    return market.add(
        learnware_zip(tmp_path / "src", "kept", seed=1), table_semantic_spec("kept forest")
    )


def _search_names(market: Market) -> list[str]:
    found = market.search(SemanticSpec(name="forest")).singles
    return sorted(str(m.learnware.semantic_spec.name) for m in found)


def _assert_unchanged(market: Market, kept: Learnware, files: list[Path]) -> None:
    """Nothing half-written: same rows, same files, no marker; a fresh open agrees."""
    assert market.list() == [kept]
    assert _search_names(market) == ["kept forest"]
    assert stored_files(market.root) == files
    assert not (market.root / DIRTY_FILE).exists()
    with Market(market.root, plugin_manager=market.pm) as reopened:
        assert reopened.list() == [kept]
        assert _search_names(reopened) == ["kept forest"]


@pytest.mark.parametrize("stage", ["package", "spec", "rows", "commit"])
def test_disk_full_while_adding(
    market: Market,
    kept: Learnware,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    request: pytest.FixtureRequest,
    stage: str,
) -> None:
    package = learnware_zip(tmp_path / "src", "new", seed=2)
    # a long description: its rows need pages a database that cannot grow does not have
    spec = table_semantic_spec("new forest", description=" ".join(map(str, range(9000))))
    files = stored_files(market.root)
    with monkeypatch.context() as mp:
        if stage in ("package", "spec"):
            _fill_blob(mp, market.root, 1 if stage == "package" else 2)
        elif stage == "rows":
            _full_rows(market)
        else:
            request.getfixturevalue("full_commit")
        with pytest.raises(StoreError, match=_full("adding new.zip", market.root)):
            market.add(package, spec)
    _assert_unchanged(market, kept, files)
    if stage == "rows":
        _db(market).execute("PRAGMA max_page_count = 1073741823")
    elif stage == "commit":
        _db(market).conn = _db(market).conn.real
    added = market.add(package, spec)
    assert added.id == "00000002"  # the failed add handed out no id
    assert market.stat_spec(added, "ToySpecification").dimension == 4


@pytest.mark.parametrize("stage", ["package", "commit"])
def test_disk_full_while_updating(
    market: Market,
    kept: Learnware,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    request: pytest.FixtureRequest,
    stage: str,
) -> None:
    files = stored_files(market.root)
    doing = f"updating learnware {kept.id}"
    with monkeypatch.context() as mp:
        if stage == "package":
            _fill_blob(mp, market.root, 1)
        else:
            request.getfixturevalue("full_commit")
        with pytest.raises(StoreError, match=_full(doing, market.root)):
            market.update(kept.id, package=learnware_zip(tmp_path / "src", "newer", seed=3))
    _assert_unchanged(market, kept, files)


def test_disk_full_while_deleting(market: Market, kept: Learnware, full_commit: None) -> None:
    files = stored_files(market.root)
    doing = f"deleting learnware {kept.id}"
    with pytest.raises(StoreError, match=_full(doing, market.root)):
        market.delete(kept.id)
    assert all(p.is_file() for p in files)  # the delete did not commit: its files stay
    _assert_unchanged(market, kept, files)


# -- a full disk (real, on a small tmpfs) -----------------------------------------------------
@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 2 MiB tmpfs (skipped where mounting is not permitted)."""
    disk = tmp_path / "disk"
    disk.mkdir()
    if shutil.which("mount") is None:
        pytest.skip("no mount command")
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(disk)],
        capture_output=True,
        text=True,
        check=False,
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.strip()}")
    try:
        yield disk
    finally:
        subprocess.run(["umount", "-l", str(disk)], capture_output=True, check=False)


def _fill(disk: Path) -> Path:
    """Write a file until the disk is full; return it."""
    filler = disk / "filler"
    with open(filler, "wb", buffering=0) as fh:
        for size in (1 << 16, 1):  # big writes, then the last few bytes
            with contextlib.suppress(OSError):
                while True:
                    fh.write(bytes(size))
    assert shutil.disk_usage(disk).free < 4096
    return filler


def test_real_full_disk(small_disk: Path, tmp_path: Path, pm: DockPluginManager) -> None:
    root = small_disk / "market"
    src = tmp_path / "src"
    with Market(root, plugin_manager=pm) as market:
        kept = market.add(learnware_zip(src, "kept", seed=1), table_semantic_spec("kept forest"))
        files = stored_files(root)

        big = learnware_zip(src, "big", seed=2, extra=3 << 20)  # larger than the whole disk
        with pytest.raises(StoreError, match=_full("adding big.zip", root)):
            market.add(big, table_semantic_spec("big forest"))
        _assert_unchanged(market, kept, files)

        filler = _fill(small_disk)
        with pytest.raises(StoreError, match=_full("adding small.zip", root)):
            market.add(learnware_zip(src, "small", seed=3), table_semantic_spec("small forest"))
        _assert_unchanged(market, kept, files)
        updating = _full(f"updating learnware {kept.id}", root)
        with pytest.raises(StoreError, match=updating):
            market.update(kept.id, semantic_spec=table_semantic_spec("renamed forest"))
        _assert_unchanged(market, kept, files)
        deleting = _full(f"deleting learnware {kept.id}", root)
        with pytest.raises(StoreError, match=deleting):
            market.delete(kept.id)
        _assert_unchanged(market, kept, files)

        filler.unlink()  # space again: the market works as before
        small = market.add(learnware_zip(src, "small", seed=3), table_semantic_spec("small forest"))
        assert small.id == "00000002"
        assert market.stat_spec(small, "ToySpecification").dimension == 4
        assert _search_names(market) == ["kept forest", "small forest"]

"""The SQLite store under stress: crashes mid-write, concurrent writers, atomic update and
delete, shared content-addressed blobs, and corrupt databases (DESIGN.md section 6)."""

from __future__ import annotations

import re
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import filelock
import numpy as np
import pytest

from learnware_dock import Market
from learnware_dock.defaults.sqlite.store import DIRTY_FILE, LOCK_FILE, SQLiteOrganizer
from learnware_dock.errors import CheckError, StoreError, UnknownLearnwareError
from learnware_dock.package.reader import sha256_file
from learnware_dock.plugins import DockPluginManager
from learnware_dock.testing import ToySpecPlugin, build_package, table_semantic_spec

CHILD_TIMEOUT = 60


def _zip(folder: Path, name: str, seed: int = 0, dimension: int = 4) -> Path:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(30, dimension))
    return build_package(folder / name, X, np.arange(30) % 2)


def _files(root: Path, kind: str) -> list[Path]:
    base = root / kind
    return sorted(p for p in base.rglob("*") if p.is_file()) if base.exists() else []


@pytest.fixture
def pm(plugin_manager: DockPluginManager) -> DockPluginManager:
    plugin_manager.register(ToySpecPlugin())
    return plugin_manager


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return tmp_path / "market"


@pytest.fixture
def market(root: Path, pm: DockPluginManager) -> Iterator[Market]:
    with Market(root, plugin_manager=pm) as m:
        yield m


# -- a writer killed at any point leaves no half-added learnware ------------------------------
CRASH_SCRIPT = textwrap.dedent(
    """
    import os, signal, sys
    from learnware_dock import Market
    from learnware_dock.defaults.sqlite import blobs
    from learnware_dock.defaults.sqlite import store as sqlite_store
    from learnware_dock.plugins import get_plugin_manager
    from learnware_dock.testing import ToySpecPlugin, table_semantic_spec

    root, package, point = sys.argv[1:4]

    def die(*args, **kwargs):
        os.kill(os.getpid(), signal.SIGKILL)

    if point == "insert":  # files stored, rows not yet written
        sqlite_store.SQLiteOrganizer._insert = die
    elif point == "children":  # learnwares row inserted, transaction not committed
        sqlite_store.SQLiteOrganizer._write_children = die
    else:  # "packages" / "specs": temp blob written and fsynced, not yet renamed
        real_replace = os.replace

        def replace(src, dst, *args, **kwargs):
            if f"{os.sep}{point}{os.sep}" in str(dst):
                die()
            return real_replace(src, dst, *args, **kwargs)

        blobs.os.replace = replace

    pm = get_plugin_manager()
    pm.register(ToySpecPlugin())
    market = Market(root, plugin_manager=pm)
    market.add(package, table_semantic_spec("crashing"))
    sys.exit(3)  # not reached
    """
)


def _crash_add(root: Path, package: Path, point: str) -> None:
    proc = subprocess.run(
        [sys.executable, "-c", CRASH_SCRIPT, str(root), str(package), point],
        capture_output=True,
        text=True,
        timeout=CHILD_TIMEOUT,
        check=False,
    )
    assert proc.returncode == -signal.SIGKILL, proc.stderr


@pytest.mark.parametrize("point", ["packages", "specs", "insert", "children"])
def test_killed_writer_leaves_no_trace(
    tmp_path: Path, root: Path, pm: DockPluginManager, point: str
) -> None:
    package = _zip(tmp_path / "src", "pkg")
    _crash_add(root, package, point)

    # files were left behind by the killed writer (before any reopen)
    left = _files(root, "packages") + _files(root, "specs")
    assert left, "the writer was killed before it wrote anything"
    if point in ("insert", "children"):
        stored = root / "packages" / sha256_file(package)[:2] / f"{sha256_file(package)}.zip"
        assert stored in left
    else:
        assert any(p.name.startswith(".tmp-") for p in left)

    with Market(root, plugin_manager=pm) as market:
        assert len(market) == 0
        assert market.list() == []
        assert _files(root, "packages") == []
        assert _files(root, "specs") == []
        # the insert never committed, so AUTOINCREMENT never issued an id
        lw = market.add(package, table_semantic_spec())
        assert lw.id == "00000001"
        assert sha256_file(lw.package_path) == lw.sha256
        assert market.stat_spec(lw, "ToySpecification").dimension == 4


@pytest.mark.parametrize("point", ["specs", "children"])
def test_killed_writer_keeps_existing_learnwares(
    tmp_path: Path, root: Path, pm: DockPluginManager, point: str
) -> None:
    first = _zip(tmp_path / "src", "first", seed=1)
    with Market(root, plugin_manager=pm) as market:
        kept = market.add(first, table_semantic_spec("kept"))
    kept_files = _files(root, "packages") + _files(root, "specs")
    assert len(kept_files) == 2

    _crash_add(root, _zip(tmp_path / "src", "second", seed=2), point)
    assert len(_files(root, "packages") + _files(root, "specs")) > 2

    with Market(root, plugin_manager=pm) as market:
        assert [lw.id for lw in market.list()] == [kept.id]
        assert market.get(kept.id) == kept
        assert _files(root, "packages") + _files(root, "specs") == kept_files
        assert market.add(first, table_semantic_spec("next")).id == "00000002"


def _fail(*args: object) -> None:
    raise RuntimeError("simulated failure while writing child rows")


def test_failed_insert_is_rolled_back(
    market: Market, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    package = _zip(tmp_path, "pkg")
    with monkeypatch.context() as mp:
        mp.setattr(SQLiteOrganizer, "_write_children", _fail)
        with pytest.raises(RuntimeError, match="simulated"):
            market.add(package, table_semantic_spec())
    assert len(market) == 0, f"half-added: {market.list()}"


def test_failed_update_is_rolled_back(
    market: Market, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    lw = market.add(_zip(tmp_path, "pkg"), table_semantic_spec("before"))
    with monkeypatch.context() as mp:
        mp.setattr(SQLiteOrganizer, "_write_children", _fail)
        with pytest.raises(RuntimeError, match="simulated"):
            market.update(lw.id, semantic_spec=table_semantic_spec("after"))
    assert market.get(lw.id) == lw


# -- ids are never reused ----------------------------------------------------------------------
def test_ids_are_never_reused(tmp_path: Path, root: Path, pm: DockPluginManager) -> None:
    with Market(root, plugin_manager=pm) as market:
        one = market.add(_zip(tmp_path, "a", 1), table_semantic_spec("a"))
        two = market.add(_zip(tmp_path, "b", 2), table_semantic_spec("b"))
        assert (one.id, two.id) == ("00000001", "00000002")
        market.delete(two.id)
        assert market.add(_zip(tmp_path, "c", 3), table_semantic_spec("c")).id == "00000003"
        for lw in market.list():
            market.delete(lw.id)
        assert len(market) == 0
    with Market(root, plugin_manager=pm) as market:
        assert market.add(_zip(tmp_path, "d", 4), table_semantic_spec("d")).id == "00000004"
        with pytest.raises(UnknownLearnwareError):
            market.get("00000002")


def test_reserved_ids(tmp_path: Path, root: Path, pm: DockPluginManager) -> None:
    with Market(root, plugin_manager=pm) as market:
        first = market.reserve_id()
        second = market.reserve_id()
        assert (first, second) == ("00000001", "00000002")
        fresh = market.add(_zip(tmp_path, "a", 1), table_semantic_spec("a"))
        assert fresh.id == "00000003"  # reserved ids are never handed out again
        late = market.add(_zip(tmp_path, "b", 2), table_semantic_spec("b"), learnware_id=second)
        assert late.id == second and market.get(second).name == "b"
        with pytest.raises(StoreError, match="is taken"):
            market.add(_zip(tmp_path, "c", 3), table_semantic_spec("c"), learnware_id=second)
        with pytest.raises(StoreError, match="never reserved"):
            market.add(_zip(tmp_path, "c", 3), table_semantic_spec("c"), learnware_id="00000099")
        assert [lw.id for lw in market.list()] == ["00000002", "00000003"]
    with Market(root, plugin_manager=pm) as market:  # the sequence survives reopening
        assert market.reserve_id() == "00000004"


# -- several processes writing at once ---------------------------------------------------------
WRITER_SCRIPT = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from learnware_dock import Market
    from learnware_dock.plugins import get_plugin_manager
    from learnware_dock.testing import ToySpecPlugin, table_semantic_spec

    root, go, *packages = sys.argv[1:]
    pm = get_plugin_manager()
    pm.register(ToySpecPlugin())
    deadline = time.monotonic() + 30
    while not Path(go).exists() and time.monotonic() < deadline:
        time.sleep(0.002)
    with Market(root, plugin_manager=pm) as market:
        for package in packages:
            lw = market.add(package, table_semantic_spec(Path(package).stem))
            print(lw.id, Path(package).stem, lw.sha256, flush=True)
    """
)


@pytest.mark.parametrize("precreate", [True, False], ids=["existing-market", "fresh-market"])
def test_concurrent_writers(
    tmp_path: Path, root: Path, pm: DockPluginManager, precreate: bool
) -> None:
    writers, per_writer = 4, 5
    batches = [
        [_zip(tmp_path / "src", f"w{w}p{i}", seed=100 * w + i) for i in range(per_writer)]
        for w in range(writers)
    ]
    if precreate:
        Market(root, plugin_manager=pm).close()
    go = tmp_path / "go"
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER_SCRIPT, str(root), str(go), *map(str, batch)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for batch in batches
    ]
    time.sleep(0.3)  # let every child import, then release them together
    go.touch()
    outputs = []
    for proc in procs:
        out, err = proc.communicate(timeout=CHILD_TIMEOUT)
        assert proc.returncode == 0, err
        outputs += [line.split() for line in out.splitlines()]

    total = writers * per_writer
    assert len(outputs) == total
    reported_ids = [o[0] for o in outputs]
    assert len(set(reported_ids)) == total
    expected_sha = {p.stem: sha256_file(p) for batch in batches for p in batch}
    assert {o[1]: o[2] for o in outputs} == expected_sha

    with Market(root, plugin_manager=pm) as market:
        learnwares = market.list()
        assert len(market) == total
        assert sorted(lw.id for lw in learnwares) == sorted(reported_ids)
        assert sorted(int(lw.id) for lw in learnwares) == list(range(1, total + 1))
        for lw in learnwares:
            assert lw.package_path.is_file()
            assert lw.semantic_spec.name is not None
            assert sha256_file(lw.package_path) == lw.sha256 == expected_sha[lw.semantic_spec.name]
            assert market.stat_spec(lw, "ToySpecification").dimension == 4
        assert len(_files(root, "packages")) == total
        assert not [p for p in _files(root, "packages") if p.name.startswith(".tmp-")]


# -- update and delete are atomic and keep shared blobs ----------------------------------------
def test_update_semantic_spec_keeps_package(market: Market, tmp_path: Path) -> None:
    lw = market.add(_zip(tmp_path, "pkg"), table_semantic_spec("before"))
    updated = market.update(lw.id, semantic_spec=table_semantic_spec("after"))
    assert updated.id == lw.id
    assert updated.version == 2
    assert updated.semantic_spec.name == "after"
    assert updated.sha256 == lw.sha256
    assert updated.package_path == lw.package_path
    assert updated.package_path.is_file()
    assert sha256_file(updated.package_path) == lw.sha256
    assert [ref.path for ref in updated.stat_specs] == [ref.path for ref in lw.stat_specs]
    assert all((market.root / ref.path).is_file() for ref in updated.stat_specs)
    assert len(market) == 1
    with Market(market.root, plugin_manager=market.pm) as reopened:
        assert reopened.get(lw.id) == updated


def test_update_package_replaces_blobs(market: Market, tmp_path: Path) -> None:
    lw = market.add(_zip(tmp_path, "old", seed=1), table_semantic_spec())
    new_zip = _zip(tmp_path, "new", seed=2)
    updated = market.update(lw.id, package=new_zip)
    assert updated.version == 2
    assert updated.sha256 == sha256_file(new_zip) != lw.sha256
    assert updated.package_path.is_file()
    assert not lw.package_path.exists()
    for ref in lw.stat_specs:
        assert not (market.root / ref.path).exists()
    assert _files(market.root, "packages") == [updated.package_path]


def test_rejected_update_changes_nothing(market: Market, tmp_path: Path) -> None:
    lw = market.add(_zip(tmp_path, "pkg"), table_semantic_spec())
    before = _files(market.root, "packages") + _files(market.root, "specs")
    with pytest.raises(CheckError, match=r"describes 5 features .* Input\.Dimension is 4"):
        market.update(lw.id, package=_zip(tmp_path, "dim5", dimension=5))
    with pytest.raises(CheckError, match=r"describes 4 features .* Input\.Dimension is 3"):
        market.update(lw.id, semantic_spec=table_semantic_spec(dimension=3))
    with pytest.raises(CheckError, match="'Video' is not in the vocabulary"):
        market.update(lw.id, semantic_spec=table_semantic_spec(data=("Video",)))
    assert market.get(lw.id) == lw
    assert _files(market.root, "packages") + _files(market.root, "specs") == before
    with pytest.raises(UnknownLearnwareError):
        market.update("00000099", semantic_spec=table_semantic_spec())


def test_delete_removes_files(market: Market, tmp_path: Path) -> None:
    lw = market.add(_zip(tmp_path, "pkg"), table_semantic_spec())
    assert lw.package_path.is_file()
    market.delete(lw.id)
    assert len(market) == 0
    assert lw.id not in market
    assert _files(market.root, "packages") == []
    assert _files(market.root, "specs") == []
    with pytest.raises(UnknownLearnwareError):
        market.delete(lw.id)


def test_delete_keeps_blobs_shared_with_another_learnware(market: Market, tmp_path: Path) -> None:
    package = _zip(tmp_path, "pkg")
    first = market.add(package, table_semantic_spec("first"))
    second = market.add(package, table_semantic_spec("second"))
    assert first.id != second.id
    assert first.package_path == second.package_path
    assert [r.path for r in first.stat_specs] == [r.path for r in second.stat_specs]
    assert len(_files(market.root, "packages")) == 1

    market.delete(first.id)
    assert second.package_path.is_file()
    assert sha256_file(second.package_path) == second.sha256
    assert market.stat_spec(second.id, "ToySpecification").dimension == 4

    market.delete(second.id)
    assert _files(market.root, "packages") == []
    assert _files(market.root, "specs") == []


def test_update_keeps_blob_shared_with_another_learnware(market: Market, tmp_path: Path) -> None:
    package = _zip(tmp_path, "pkg", seed=1)
    first = market.add(package, table_semantic_spec("first"))
    second = market.add(package, table_semantic_spec("second"))
    market.update(first.id, package=_zip(tmp_path, "other", seed=2))
    assert second.package_path.is_file()
    assert market.stat_spec(second.id, "ToySpecification").dimension == 4
    assert len(_files(market.root, "packages")) == 2


# -- corrupt or foreign databases --------------------------------------------------------------
def test_corrupt_database(tmp_path: Path, pm: DockPluginManager) -> None:
    root = tmp_path / "corrupt"
    root.mkdir()
    (root / "market.db").write_bytes(b"this is not sqlite, just garbage\n" * 200)
    with pytest.raises(StoreError, match=re.escape("market.db is not a readable market database")):
        Market(root, plugin_manager=pm)
    assert (root / "market.db").read_bytes().startswith(b"this is not sqlite")


def test_failed_open_closes_its_connection(
    tmp_path: Path, pm: DockPluginManager, monkeypatch: pytest.MonkeyPatch
) -> None:
    opened: list[sqlite3.Connection] = []
    real_connect = sqlite3.connect

    def connect(*args: object, **kwargs: object) -> sqlite3.Connection:
        conn: sqlite3.Connection = real_connect(*args, **kwargs)  # type: ignore[call-overload]
        opened.append(conn)
        return conn

    monkeypatch.setattr(sqlite3, "connect", connect)
    root = tmp_path / "corrupt"
    root.mkdir()
    # a SQLite header (so the open gets as far as connecting), then garbage
    (root / "market.db").write_bytes(b"SQLite format 3\x00" + b"garbage!" * 512)
    with pytest.raises(StoreError, match="is not a readable market database"):
        Market(root, plugin_manager=pm)
    assert opened
    try:
        for conn in opened:
            with pytest.raises(sqlite3.ProgrammingError, match="closed"):
                conn.execute("SELECT 1")
    finally:
        for conn in opened:
            conn.close()


def test_newer_schema_version(root: Path, pm: DockPluginManager) -> None:
    Market(root, plugin_manager=pm).close()
    with sqlite3.connect(root / "market.db") as conn:
        conn.execute("UPDATE meta SET value = '99' WHERE key = 'schema_version'")
    conn.close()
    with pytest.raises(StoreError, match=r"schema version 99.*upgrade learnware-dock"):
        Market(root, plugin_manager=pm)


def test_missing_market_without_create(tmp_path: Path, pm: DockPluginManager) -> None:
    with pytest.raises(StoreError, match="no market at"):
        Market(tmp_path / "absent", plugin_manager=pm, create=False)
    assert not (tmp_path / "absent").exists()


def test_sweep_skips_while_another_writer_holds_the_lock(
    tmp_path: Path, root: Path, pm: DockPluginManager
) -> None:
    """Opening while another process writes must not delete that writer's fresh files."""
    Market(root, plugin_manager=pm).close()
    fresh = root / "packages" / "ab" / ("ab" + "0" * 62 + ".zip")
    fresh.parent.mkdir(parents=True)
    fresh.write_bytes(b"being written by another process")
    (root / DIRTY_FILE).touch()  # what a writer leaves while (or if killed while) writing
    with filelock.FileLock(root / LOCK_FILE):
        holder = subprocess.run(
            [
                sys.executable,
                "-c",
                "import sys; from learnware_dock import Market; Market(sys.argv[1]).close()",
                str(root),
            ],
            capture_output=True,
            text=True,
            timeout=CHILD_TIMEOUT,
            check=False,
        )
        assert holder.returncode == 0, holder.stderr
        assert fresh.is_file()
    with Market(root, plugin_manager=pm):
        assert not fresh.exists()  # no writer now: the orphan is swept
    assert not (root / DIRTY_FILE).exists()
    fresh.parent.mkdir(parents=True, exist_ok=True)
    fresh.write_bytes(b"stray file, no interrupted write")
    with Market(root, plugin_manager=pm):
        assert fresh.exists()  # a clean market is opened without scanning its files

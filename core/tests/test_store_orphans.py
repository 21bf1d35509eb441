"""A writer killed mid-add leaves an orphan blob and the dirty marker: the next write sweeps
them, even in a long-lived process that opened the market before (its open could not
sweep); and writers in several processes never share or reuse an id (issue 12)."""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from store_helpers import learnware_zip, stored_files

from learnware_dock import Market
from learnware_dock.defaults.sqlite.blobs import TMP_PREFIX
from learnware_dock.defaults.sqlite.store import DIRTY_FILE
from learnware_dock.package.reader import sha256_file
from learnware_dock.plugins import DockPluginManager
from learnware_dock.testing import ToySpecPlugin, table_semantic_spec

CHILD_TIMEOUT = 60
BIG = 32 << 20  # bytes of weights in the package whose add is killed


@pytest.fixture
def pm(plugin_manager: DockPluginManager) -> DockPluginManager:
    plugin_manager.register(ToySpecPlugin())
    return plugin_manager


def _wait_for(path: Path, proc: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + CHILD_TIMEOUT
    while not path.exists():
        if proc.poll() is not None:
            pytest.fail(f"child exited early ({proc.returncode}): {proc.communicate()[1]}")
        assert time.monotonic() < deadline, f"timed out waiting for {path}"
        time.sleep(0.01)


# -- a writer killed mid-copy, then a long-lived writer ----------------------------------------
#: adds a package and stops half-way through copying it into the market (holding the
#: market's lock, the dirty marker and a half-written temp blob) until it is killed
KILLED_ADD = textwrap.dedent(
    """
    import os, sys, time
    from pathlib import Path
    from learnware_dock import Market
    from learnware_dock.defaults.sqlite import blobs
    from learnware_dock.plugins import get_plugin_manager
    from learnware_dock.testing import ToySpecPlugin, table_semantic_spec

    root, package, stalled = sys.argv[1:4]
    real_copy = blobs.shutil.copyfileobj

    def copy(src, dst, *args):
        if getattr(src, "name", None) != package:
            return real_copy(src, dst, *args)
        dst.write(src.read(os.fstat(src.fileno()).st_size // 2))
        dst.flush()
        os.fsync(dst.fileno())
        Path(stalled).touch()
        time.sleep(600)  # killed here

    blobs.shutil.copyfileobj = copy
    pm = get_plugin_manager()
    pm.register(ToySpecPlugin())
    Market(root, plugin_manager=pm).add(package, table_semantic_spec("killed"))
    sys.exit(3)  # not reached
    """
)

#: opens the market once, then adds the packages named on stdin (one a line)
LONG_LIVED = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from learnware_dock import Market
    from learnware_dock.plugins import get_plugin_manager
    from learnware_dock.testing import ToySpecPlugin, table_semantic_spec

    pm = get_plugin_manager()
    pm.register(ToySpecPlugin())
    with Market(sys.argv[1], plugin_manager=pm) as market:
        print("open", flush=True)
        for line in sys.stdin:
            package = Path(line.strip())
            print(market.add(package, table_semantic_spec(package.stem)).id, flush=True)
    """
)


def _start_long_lived(root: Path) -> subprocess.Popen[str]:
    proc = subprocess.Popen(
        [sys.executable, "-c", LONG_LIVED, str(root)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    assert proc.stdout.readline() == "open\n", proc.communicate(timeout=CHILD_TIMEOUT)[1]
    return proc


def _add_through(proc: subprocess.Popen[str], package: Path) -> str:
    assert proc.stdin is not None and proc.stdout is not None
    proc.stdin.write(f"{package}\n")
    proc.stdin.flush()
    line = proc.stdout.readline()
    assert line, proc.communicate(timeout=CHILD_TIMEOUT)[1]
    return line.strip()


@pytest.mark.parametrize("opened", ["before", "during"])
def test_long_lived_writer_sweeps_a_killed_writers_orphans(
    tmp_path: Path, pm: DockPluginManager, opened: str
) -> None:
    """The long-lived writer opened the market before the killed add started, or while it
    held the lock (so its open skipped the sweep); its next add sweeps the orphans."""
    root, src = tmp_path / "market", tmp_path / "src"
    with Market(root, plugin_manager=pm) as market:
        kept = market.add(learnware_zip(src, "kept", seed=1), table_semantic_spec("kept"))
    big, small = learnware_zip(src, "big", seed=2, extra=BIG), learnware_zip(src, "small", seed=3)
    writer = _start_long_lived(root) if opened == "before" else None
    stalled = tmp_path / "stalled"
    killed = subprocess.Popen(
        [sys.executable, "-c", KILLED_ADD, str(root), str(big), str(stalled)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        _wait_for(stalled, killed)
        if writer is None:
            writer = _start_long_lived(root)
        killed.send_signal(signal.SIGKILL)
        assert killed.wait(CHILD_TIMEOUT) == -signal.SIGKILL
        orphans = [p for p in stored_files(root) if p.name.startswith(TMP_PREFIX)]
        assert [p.stat().st_size >= BIG // 2 for p in orphans] == [True]
        assert (root / DIRTY_FILE).exists()

        added = _add_through(writer, small)
        assert not orphans[0].exists(), "the long-lived writer kept the killed add's orphan"
        assert not (root / DIRTY_FILE).exists()
        err = writer.communicate(timeout=CHILD_TIMEOUT)[1]  # end of stdin: it exits
        assert writer.returncode == 0, err
    finally:
        for proc in (killed, writer):
            if proc is not None and proc.poll() is None:
                proc.kill()
            if proc is not None and proc.stdout is not None and not proc.stdout.closed:
                proc.communicate(timeout=CHILD_TIMEOUT)

    with Market(root, plugin_manager=pm) as market:
        learnwares = market.list()
        assert [lw.id for lw in learnwares] == [kept.id, added] == ["00000001", "00000002"]
        assert learnwares[0] == kept
        stored = {lw.package_path for lw in learnwares}
        stored |= {root / ref.path for lw in learnwares for ref in lw.stat_specs}
        assert set(stored_files(root)) == stored  # every file is a learnware's; none is lost
        for lw in learnwares:
            assert sha256_file(lw.package_path) == lw.sha256
            assert market.stat_spec(lw, "ToySpecification").dimension == 4


# -- writers in several processes reserve, add and delete at once ------------------------------
MIXED_WRITER = textwrap.dedent(
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
        for kept, dropped in zip(packages[::2], packages[1::2]):
            reserved = market.reserve_id()  # as the server does, before checking
            fresh = market.add(dropped, table_semantic_spec(Path(dropped).stem))
            lw = market.add(kept, table_semantic_spec(Path(kept).stem), learnware_id=reserved)
            market.delete(fresh.id)
            print(reserved, fresh.id, Path(kept).stem, lw.sha256, flush=True)
    """
)


def test_concurrent_reserve_add_delete(tmp_path: Path, pm: DockPluginManager) -> None:
    """Ids reserved, added and deleted by several processes at once are all distinct, and
    every kept learnware is whole."""
    root, writers, rounds = tmp_path / "market", 4, 2
    batches = [
        [
            learnware_zip(tmp_path / "src", f"w{w}r{r}{k}", seed=100 * w + 2 * r + (k == "d"))
            for r in range(rounds)
            for k in "kd"
        ]
        for w in range(writers)
    ]
    Market(root, plugin_manager=pm).close()
    go = tmp_path / "go"
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", MIXED_WRITER, str(root), str(go), *map(str, batch)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for batch in batches
    ]
    time.sleep(0.3)
    go.touch()
    rows = []
    for proc in procs:
        out, err = proc.communicate(timeout=CHILD_TIMEOUT)
        assert proc.returncode == 0, err
        rows += [line.split() for line in out.splitlines()]

    assert len(rows) == writers * rounds
    handed_out = [r[0] for r in rows] + [r[1] for r in rows]
    assert len(set(handed_out)) == len(handed_out)  # no id was handed out twice
    assert sorted(int(i) for i in handed_out) == list(range(1, len(handed_out) + 1))
    with Market(root, plugin_manager=pm) as market:
        learnwares = {lw.id: lw for lw in market.list()}
        assert set(learnwares) == {r[0] for r in rows}  # deleted ids stay gone
        for reserved, _, name, sha in rows:
            lw = learnwares[reserved]
            assert (lw.semantic_spec.name, lw.sha256) == (name, sha)
            assert sha256_file(lw.package_path) == sha
        assert len(stored_files(root)) == 2 * len(learnwares)  # a package and a spec each
        assert int(market.reserve_id()) == len(handed_out) + 1

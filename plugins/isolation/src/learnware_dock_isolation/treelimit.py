"""Limits on a sandbox's whole process tree: memory and number of processes.

Per-process rlimits (``RLIMIT_AS``) let a model fork its way past any memory cap, so the
tree is limited as one: by a cgroup of its own when the dock may create one (cgroup v2
with the memory controller delegated, or the v1 ``memory`` and ``pids`` hierarchies, as
for root), else by a watchdog thread that sums the tree's resident memory every 20 ms and
kills the sandbox when it goes over (a fallback: a fast allocator can overshoot it
briefly). ``DOCK_SANDBOX_CGROUPS=0`` forces the watchdog.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
import time
import uuid
from pathlib import Path

CGROUP_ROOT = Path("/sys/fs/cgroup")
PAGE = os.sysconf("SC_PAGE_SIZE")


def _own_cgroup(controller: str) -> str | None:
    """This process's cgroup path in the hierarchy of ``controller`` ("" for v2)."""
    try:
        lines = Path("/proc/self/cgroup").read_text().splitlines()
    except OSError:
        return None
    for line in lines:
        _, names, path = line.split(":", 2)
        if controller in names.split(",") or (controller == "" and names == ""):
            return path
    return None


def _make_child(parent: Path, limits: dict[str, str]) -> Path | None:
    """A new cgroup under ``parent`` with ``limits`` written, or None if not permitted."""
    child = parent / f"dock-sandbox-{uuid.uuid4().hex[:12]}"
    try:
        child.mkdir()
    except OSError:
        return None
    try:
        for name, value in limits.items():
            (child / name).write_text(value)
    except OSError:
        _remove(child)
        return None
    return child


def _remove(group: Path) -> None:
    for _ in range(100):
        try:
            group.rmdir()
            return
        except FileNotFoundError:
            return
        except OSError:
            time.sleep(0.01)  # its last processes are still exiting


def _cgroups(memory: int | None, pids: int | None) -> list[Path]:
    if os.environ.get("DOCK_SANDBOX_CGROUPS", "1") == "0":
        return []
    v2 = _own_cgroup("")
    if v2 is not None and (CGROUP_ROOT / "cgroup.controllers").is_file():
        limits = {"memory.max": str(memory or "max"), "memory.swap.max": "0"}
        limits["pids.max"] = str(pids or "max")
        group = _make_child(CGROUP_ROOT / v2.lstrip("/"), limits)
        return [group] if group is not None else []
    groups = []
    v1 = {"memory": {"memory.limit_in_bytes": str(memory)} if memory else {}}
    v1["pids"] = {"pids.max": str(pids)} if pids else {}
    for controller, limits in v1.items():
        path = _own_cgroup(controller)
        if path is None or not limits:
            continue
        group = _make_child(CGROUP_ROOT / controller / path.lstrip("/"), limits)
        if group is not None:
            groups.append(group)
    return groups


def _tree(root: int) -> list[int]:
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        with contextlib.suppress(OSError):
            for task in os.listdir(f"/proc/{pid}/task"):
                children = Path(f"/proc/{pid}/task/{task}/children").read_text().split()
                todo += [int(c) for c in children]
    return found


def tree_rss(root: int) -> int:
    """Resident bytes of ``root`` and all its descendants."""
    total = 0
    for pid in _tree(root):
        with contextlib.suppress(OSError, IndexError, ValueError):
            total += int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * PAGE
    return total


class TreeLimit:
    """Limits for one sandbox: :meth:`attach` its processes, :meth:`close` when it ended."""

    def __init__(self, memory: int | None, pids: int | None = 512) -> None:
        self.memory, self.pids = memory, pids
        self.groups = _cgroups(memory, pids)
        #: where the memory cgroup counts its OOM kills (v2: memory.events, v1: oom_control)
        self.events = next(
            (
                g / name
                for g in self.groups
                for name in ("memory.events", "memory.oom_control")
                if (g / name).exists()
            ),
            None,
        )
        self.mechanism = "cgroup" if self.events else ("watchdog" if memory else "none")
        self.tripped = False
        self._stop = threading.Event()
        self._watchdog: threading.Thread | None = None

    def attach(self, pids: list[int], root: int) -> None:
        """Put ``pids`` (not yet running model code) under the limits; ``root`` is the
        sandbox's PID 1, whose death ends the whole tree."""
        for group in self.groups:
            for pid in pids:
                (group / "cgroup.procs").write_text(str(pid))
        if self.mechanism == "watchdog" and self.memory:
            self._watchdog = threading.Thread(
                target=self._watch, args=(root,), name="dock-sandbox-watchdog", daemon=True
            )
            self._watchdog.start()

    def _watch(self, root: int) -> None:
        assert self.memory is not None
        while not self._stop.wait(0.02):
            if not os.path.exists(f"/proc/{root}"):
                return
            if tree_rss(root) > self.memory:
                self.tripped = True
                with contextlib.suppress(OSError):
                    os.kill(root, signal.SIGKILL)
                return

    def memory_exceeded(self) -> bool:
        """Whether the tree hit its memory limit (an OOM kill, or the watchdog fired)."""
        if self.tripped or self.events is None:
            return self.tripped
        with contextlib.suppress(OSError, ValueError):
            for line in self.events.read_text().splitlines():
                key, _, value = line.partition(" ")
                if key == "oom_kill" and int(value) > 0:
                    return True
        return False

    def close(self) -> None:
        """Stop watching and remove the cgroups (after the sandbox ended)."""
        self._stop.set()
        for group in self.groups:
            with contextlib.suppress(OSError):
                for pid in (group / "cgroup.procs").read_text().split():
                    os.kill(int(pid), signal.SIGKILL)
            _remove(group)
        self.groups = []

"""The worker's sandbox: bubblewrap (``bwrap``, Debian's ``bubblewrap`` package).

Why bubblewrap: it is the maintained, setuid-free sandbox that Flatpak builds on; it needs
only unprivileged user namespaces, starts in milliseconds (a container engine takes
seconds and a daemon), and expresses exactly the view we want on its command line.

A sandboxed process gets

* user, PID, IPC, UTS, cgroup and (unless asked otherwise) network namespaces of its own:
  an unprivileged uid (65534) with no capabilities, ``no_new_privs``, its own ``/proc``
  showing only its own processes, loopback only;
* a read-only view of only what it needs (the Python runtime, its environment, the
  unpacked package, the worker's own files) plus ``/usr`` and the loader's libraries, a
  private writable tmpfs at ``/tmp`` (its ``HOME`` and working folder), and nothing else:
  not the dock's ``/etc``, ``$HOME``, ``$DOCK_HOME``, environment variables or processes;
* ``--die-with-parent`` and a new session; when its PID 1 ends, every descendant ends.

Process-tree limits (memory, number of processes) come from :mod:`.treelimit`.

Where bubblewrap is missing or cannot start (no user namespaces), :func:`require` raises a
:class:`ContainerError` saying so; the operator may run models unsandboxed only by
setting ``DOCK_ALLOW_UNSANDBOXED=1``, which is logged as a warning every time.
"""

from __future__ import annotations

import functools
import logging
import os
import shutil
import subprocess
import sys
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

import attrs

from learnware_dock.errors import ContainerError

log = logging.getLogger(__name__)

ALLOW_UNSANDBOXED = "DOCK_ALLOW_UNSANDBOXED"
#: the uid and gid the sandboxed code runs as (inside its user namespace)
NOBODY = 65534
#: system folders every Python process needs (read-only, those that exist)
SYSTEM = ("/usr", "/lib", "/lib64", "/lib32", "/bin", "/sbin")
#: single files from /etc the dynamic loader and Python need
SYSTEM_ETC = ("/etc/ld.so.cache", "/etc/ld.so.conf", "/etc/ld.so.conf.d", "/etc/localtime")
#: what a network install step additionally needs from /etc
NETWORK_ETC = (
    "/etc/resolv.conf",
    "/etc/hosts",
    "/etc/nsswitch.conf",
    "/etc/host.conf",
    "/etc/gai.conf",
    "/etc/ssl",
    "/etc/ca-certificates",
    "/etc/pki",
    "/usr/share/ca-certificates",
)


@attrs.frozen
class Mounts:
    """What a sandbox sees: ``read_only`` and ``writable`` binds as ``(host, inside)``."""

    read_only: tuple[tuple[Path, str], ...] = ()
    writable: tuple[tuple[Path, str], ...] = ()

    @staticmethod
    def same(paths: Iterable[Path | str]) -> tuple[tuple[Path, str], ...]:
        """Binds of ``paths`` at their own place (duplicates and missing ones dropped)."""
        seen: dict[str, Path] = {}
        for path in paths:
            real = Path(os.path.realpath(path))
            if real.exists():
                seen.setdefault(str(real), real)
        return tuple((p, key) for key, p in seen.items())


def bwrap_path() -> str | None:
    return shutil.which("bwrap", path=os.environ.get("PATH", "") + ":/usr/bin:/bin")


@functools.lru_cache(maxsize=4)
def _probe(bwrap: str) -> str | None:
    """None when ``bwrap`` can start a sandbox here, else bubblewrap's own reason."""
    try:
        done = subprocess.run(
            [bwrap, "--unshare-all", "--die-with-parent", *_system_args(), "--", "/bin/true"],
            capture_output=True,
            timeout=30,
            check=False,
            env={"PATH": "/usr/bin:/bin"},
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return str(exc)
    if done.returncode != 0:
        return done.stderr.decode(errors="replace").strip()[-500:] or f"exit {done.returncode}"
    return None


def unsandboxed_allowed() -> bool:
    return os.environ.get(ALLOW_UNSANDBOXED, "").strip().lower() in {"1", "true", "yes"}


def available() -> str | None:
    """None when sandboxes can start, else why not (a sentence)."""
    bwrap = bwrap_path()
    if bwrap is None:
        return "bubblewrap (bwrap) is not installed (Debian/Ubuntu: apt-get install bubblewrap)"
    reason = _probe(bwrap)
    if reason:
        return f"bubblewrap cannot start a sandbox here (user namespaces disabled?): {reason}"
    return None


def require(what: str) -> bool:
    """True when ``what`` (e.g. "running model X") can be sandboxed; False when the
    operator opted in to running it unsandboxed (logged); raises otherwise."""
    reason = available()
    if reason is None:
        return True
    if unsandboxed_allowed():
        log.warning("%s WITHOUT a sandbox (%s=1): %s", what, ALLOW_UNSANDBOXED, reason)
        return False
    raise ContainerError(
        f"refusing {what}: untrusted code runs only in a sandbox, and {reason}. "
        f"To run it without one anyway (not safe for untrusted packages), set "
        f"{ALLOW_UNSANDBOXED}=1"
    )


def _system_args() -> list[str]:
    args: list[str] = []
    for folder in SYSTEM:
        if os.path.islink(folder):  # merged /usr: /lib -> usr/lib
            args += ["--symlink", os.readlink(folder), folder]
        elif os.path.isdir(folder):
            args += ["--ro-bind", folder, folder]
    for path in SYSTEM_ETC:
        args += ["--ro-bind-try", path, path]
    return args


def runtime_paths() -> list[Path]:
    """The Python runtime the worker's environment is built on (read-only)."""
    return [Path(sys.base_prefix), Path(sys.base_exec_prefix)]


def command(
    argv: Sequence[str],
    mounts: Mounts,
    *,
    env: Mapping[str, str],
    network: bool = False,
    tmpfs_bytes: int = 512 << 20,
    info_fd: int | None = None,
    block_fd: int | None = None,
    extra_etc: Iterable[str] = (),
) -> list[str]:
    """The ``bwrap`` command line that runs ``argv`` in a sandbox seeing ``mounts``."""
    bwrap = bwrap_path()
    if bwrap is None:
        raise ContainerError("bubblewrap (bwrap) is not installed")
    args = [bwrap, "--unshare-all", "--die-with-parent", "--new-session"]
    args += ["--uid", str(NOBODY), "--gid", str(NOBODY), "--hostname", "learnware"]
    if network:
        args.append("--share-net")
    args += _system_args()
    for path in (*NETWORK_ETC, *extra_etc) if network else extra_etc:
        args += ["--ro-bind-try", path, path]
    args += ["--proc", "/proc", "--dev", "/dev", "--size", str(tmpfs_bytes), "--tmpfs", "/tmp"]
    for host, inside in mounts.read_only:
        args += ["--ro-bind", str(host), inside]
    for host, inside in mounts.writable:
        args += ["--bind", str(host), inside]
    args += ["--chdir", "/tmp", "--clearenv"]
    for key, value in env.items():
        args += ["--setenv", key, value]
    if info_fd is not None:
        args += ["--info-fd", str(info_fd)]
    if block_fd is not None:
        args += ["--block-fd", str(block_fd)]
    return [*args, "--", *argv]


def base_env(network: bool = False) -> dict[str, str]:
    """The whole environment of sandboxed code (nothing of the dock's)."""
    env = {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "HOME": "/tmp",
        "TMPDIR": "/tmp",
        "USER": "nobody",
        "LOGNAME": "nobody",
        "LANG": "C.UTF-8",
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    if not network:
        env["no_proxy"] = "*"
    return env

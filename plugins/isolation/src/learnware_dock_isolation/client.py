"""The worker as a local, sandboxed process: :class:`ProcessModel` (the ``venv`` container).

The protocol itself (requests, deadlines, errors, restart on the next call after a crash
or timeout) is :class:`learnware_dock.protocol.ProtocolModel`; this module starts, limits
and stops the worker process.
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

from learnware_dock.errors import ContainerError
from learnware_dock.package.manifest import Manifest
from learnware_dock.protocol import WORKER_DIR, ProtocolModel, wire, worker_request
from learnware_dock_isolation.options import VenvOptions
from learnware_dock_isolation.sandbox import Mounts, base_env, runtime_paths
from learnware_dock_isolation.sandbox import command as sandbox_command
from learnware_dock_isolation.tail import PipeTail
from learnware_dock_isolation.treelimit import TreeLimit

WORKER = WORKER_DIR / "worker.py"
#: where a sandboxed worker sees its own files and the unpacked package (read-only)
WORKER_INSIDE = "/dock/worker"
PACKAGE_INSIDE = "/dock/learnware"


class ProcessModel(ProtocolModel):
    """The worker as a local process of ``python`` (the ``venv`` container), inside a
    bubblewrap sandbox (:mod:`.sandbox`) unless ``sandboxed`` is False (the operator's
    explicit, logged opt-in). ``visible`` are host folders the worker needs read-only (its
    environment and the host site-packages it links to)."""

    def __init__(
        self,
        python: Path,
        root: Path,
        manifest: Manifest,
        options: VenvOptions | None = None,
        *,
        sandboxed: bool = True,
        visible: tuple[Path, ...] = (),
    ) -> None:
        opts = options if options is not None else VenvOptions()
        label = f"{manifest.model.class_name} ({root.name})"
        super().__init__(label, opts.timeout, opts.load_timeout)
        self.python, self.root, self.manifest = python, root, manifest
        self.memory_limit, self.network, self.sandboxed = opts.memory_limit, opts.network, sandboxed
        self.visible, self.tmpfs_bytes = visible, opts.tmpfs_size
        self.limits = {
            "memory_limit": opts.memory_limit,
            "cpu_limit": opts.cpu_limit,
            "file_size_limit": opts.file_size_limit,
            "network": opts.network,
        }
        self.proc: subprocess.Popen[bytes] | None = None
        self.tree: TreeLimit | None = None
        self.stderr: PipeTail | None = None
        self.sandbox_pid: int | None = None
        self.private = Path(tempfile.mkdtemp(prefix="dock-worker-"))
        #: the unsandboxed worker's cwd, HOME and TMPDIR (a sandboxed one has a tmpfs)
        self.sandbox = self.private / "sandbox"

    def _spawn(self) -> wire.Stream:
        if self.sandboxed:
            return self._spawn_sandboxed()
        self.sandbox.mkdir(parents=True, exist_ok=True)
        env = {**base_env(self.network), "HOME": str(self.sandbox), "TMPDIR": str(self.sandbox)}
        request = json.dumps({**worker_request(self.root, self.manifest), **self.limits})
        argv = [str(self.python), "-I", "-B", str(WORKER), request]
        return self._popen(argv, env, cwd=self.sandbox)

    def _popen(
        self, argv: list[str], env: dict[str, str], cwd: Path, pass_fds: tuple[int, ...] = ()
    ) -> wire.FileStream:
        read_err, write_err = os.pipe()
        try:
            self.proc = subprocess.Popen(
                argv,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=write_err,
                cwd=cwd,
                env=env,
                close_fds=True,
                pass_fds=pass_fds,
                # its own session and process group; no preexec_fn: Python code between
                # fork and exec deadlocks a threaded dock (OpenBLAS's fork handler)
                start_new_session=True,
            )
        except OSError:
            os.close(read_err)
            raise
        finally:
            os.close(write_err)
        self.stderr = PipeTail(read_err)
        assert self.proc.stdin is not None and self.proc.stdout is not None
        return wire.FileStream(self.proc.stdout.fileno(), self.proc.stdin.fileno())

    def _spawn_sandboxed(self) -> wire.Stream:
        request = {**worker_request(PACKAGE_INSIDE, self.manifest), **self.limits}
        argv = [str(self.python), "-I", "-B", f"{WORKER_INSIDE}/worker.py", json.dumps(request)]
        mounts = Mounts(
            read_only=(
                *Mounts.same([*runtime_paths(), *self.visible]),
                (WORKER_DIR, WORKER_INSIDE),
                (self.root, PACKAGE_INSIDE),
            )
        )
        info_read, info_write = os.pipe()
        block_read, block_write = os.pipe()
        try:
            argv = sandbox_command(
                argv,
                mounts,
                env=base_env(self.network),
                network=self.network,
                tmpfs_bytes=self.tmpfs_bytes,
                info_fd=info_write,
                block_fd=block_read,
            )
            stream = self._popen(
                argv, {"PATH": "/usr/bin:/bin"}, self.private, (info_write, block_read)
            )
        finally:
            os.close(info_write)
            os.close(block_read)
        try:
            self.sandbox_pid = _read_child_pid(info_read, self.load_timeout)
            self.tree = TreeLimit(self.memory_limit)
            assert self.proc is not None
            self.tree.attach([self.proc.pid, self.sandbox_pid], root=self.sandbox_pid)
            os.write(block_write, b"1")  # the sandbox is limited: now run the worker
        except (OSError, ValueError, TimeoutError) as exc:
            self._kill()
            raise ContainerError(
                f"cannot start the sandbox for {self.label}: {exc}{self._stderr_part()}"
            ) from exc
        finally:
            os.close(info_read)
            os.close(block_write)
        return stream

    def _alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def _limit_exceeded(self) -> str | None:
        if self.tree is not None and self.tree.memory_exceeded():
            return self._memory_message()
        return None

    def _memory_message(self) -> str:
        return f"its processes together exceeded the memory limit of {self.memory_limit} bytes"

    def _kill(self) -> None:
        proc, self.proc = self.proc, None
        if proc is None:
            return
        if proc.poll() is None:
            # the sandbox's PID 1: when it dies the kernel kills everything in its namespace
            if self.sandbox_pid is not None and _parent_of(self.sandbox_pid) == proc.pid:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(self.sandbox_pid, signal.SIGKILL)
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        for pipe in (proc.stdin, proc.stdout):
            if pipe is not None:
                pipe.close()
        self._last_status = proc.returncode
        self._memory_exceeded = self.tree is not None and self.tree.memory_exceeded()
        if self.tree is not None:
            self.tree.close()
        self.tree, self.sandbox_pid = None, None
        if self.stderr is not None:
            self.stderr.join()

    def _exit_status(self) -> str:
        if getattr(self, "_memory_exceeded", False):
            return self._memory_message()
        code = getattr(self, "_last_status", None)
        if code is None and self.proc is not None:
            code = self.proc.poll()
        if code is None:
            return "still running"
        if self.sandboxed and code > 128:  # bwrap passes on the worker's death by signal
            code = 128 - code
        if code == -signal.SIGXCPU:
            return f"killed by SIGXCPU: it used up its {self.limits['cpu_limit']} CPU seconds"
        if code < 0:
            with contextlib.suppress(ValueError):
                return f"killed by {signal.Signals(-code).name}"
            return f"killed by signal {-code}"
        return f"exit code {code}"

    def _stderr_tail(self) -> str:
        return self.stderr.text() if self.stderr is not None else ""

    def close(self) -> None:
        super().close()
        shutil.rmtree(self.private, ignore_errors=True)


def _read_child_pid(fd: int, timeout: float) -> int:
    """The sandbox's PID 1 (a host pid), from bubblewrap's ``--info-fd`` JSON."""
    deadline = time.monotonic() + timeout
    data = b""
    while True:
        ready, _, _ = select.select([fd], [], [], max(0.0, deadline - time.monotonic()))
        if not ready:
            raise TimeoutError("bubblewrap did not report its sandbox in time")
        chunk = os.read(fd, 4096)
        if not chunk:
            raise ValueError("bubblewrap exited before starting the sandbox")
        data += chunk
        with contextlib.suppress(ValueError):
            return int(json.loads(data)["child-pid"])
        if len(data) > 1 << 16:
            raise ValueError("bubblewrap's sandbox report is unreadable")


def _parent_of(pid: int) -> int | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return int(stat.rsplit(")", 1)[1].split()[1])

"""The dock side of the worker protocol: a :class:`LoadedModel` that talks to a worker.

:class:`ProtocolModel` holds what every runtime shares (requests, deadlines, errors,
restart on the next call after a crash or timeout); :class:`ProcessModel` runs the worker
as a local process (the ``venv`` container), and the docker contrib runs it in a container.
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
from abc import abstractmethod
from pathlib import Path
from typing import Any, Self

import numpy as np

from learnware_dock.errors import ContainerError
from learnware_dock.interfaces import LoadedModel
from learnware_dock.package.manifest import Manifest
from learnware_dock_isolation import wire
from learnware_dock_isolation.sandbox import Mounts, base_env, runtime_paths
from learnware_dock_isolation.sandbox import command as sandbox_command
from learnware_dock_isolation.tail import PipeTail
from learnware_dock_isolation.treelimit import TreeLimit

HERE = Path(__file__).resolve().parent
WORKER = HERE / "worker.py"
#: where a sandboxed worker sees its own files and the unpacked package (read-only)
WORKER_INSIDE = "/dock/worker"
PACKAGE_INSIDE = "/dock/learnware"


def worker_request(root: Path | str, manifest: Manifest) -> dict[str, Any]:
    """What the worker needs to build the model (the argument of ``worker.py``)."""
    return {
        "root": str(root),
        "module_path": manifest.model.module_path,
        "class_name": manifest.model.class_name,
        "kwargs": manifest.model.kwargs,
    }


def _text(value: Any, limit: int = 2000) -> str:
    """A worker-provided message as bounded text."""
    return (value if isinstance(value, str) else "" if value is None else repr(value))[:limit]


class ProtocolModel(LoadedModel):
    """A model served by a worker; subclasses start and stop the worker."""

    #: the largest reply accepted from a worker (bytes of arrays); larger ones are refused
    #: before anything is allocated
    max_reply_bytes: int = 1 << 30

    def __init__(self, label: str, timeout: float, load_timeout: float) -> None:
        self.label, self.timeout, self.load_timeout = label, timeout, load_timeout
        self.info: dict[str, Any] = {}
        self.stream: wire.Stream | None = None
        self.restarts = -1

    # -- what a runtime provides -----------------------------------------------------------
    @abstractmethod
    def _spawn(self) -> wire.Stream:
        """Start a worker; return the stream to it."""

    @abstractmethod
    def _alive(self) -> bool: ...

    @abstractmethod
    def _kill(self) -> None:
        """Stop the worker now (and everything it started)."""

    @abstractmethod
    def _exit_status(self) -> str:
        """How the worker ended, e.g. 'killed by SIGSEGV' (after it ended)."""

    @abstractmethod
    def _stderr_tail(self) -> str: ...

    def _limit_exceeded(self) -> str | None:
        """Which of the runtime's limits the worker's processes hit (then it is stopped)."""
        return None

    # -- the protocol ----------------------------------------------------------------------
    def started(self) -> Self:
        """:meth:`start`, closing everything it began if it fails; returns ``self``."""
        try:
            self.start()
        except BaseException:
            self.close()
            raise
        return self

    def start(self) -> None:
        """(Re)start the worker and wait until the model is built."""
        self._kill()
        self.restarts += 1
        self.stream = self._spawn()
        header, _ = self._receive("load", self.load_timeout)
        if not header.get("ok"):
            self._kill()
            raise ContainerError(
                f"cannot load model {self.label}: {_text(header.get('error'))}\n"
                f"{_text(header.get('traceback'))[-1500:]}{self._stderr_part()}"
            )
        self.info = self._checked_info(header)

    def _checked_info(self, header: dict[str, Any]) -> dict[str, Any]:
        """The worker's ``ready`` report, refused unless it has the expected types."""
        methods = header.get("methods")
        shapes = [header.get("input_shape"), header.get("output_shape")]
        if not (
            isinstance(methods, list)
            and all(isinstance(m, str) for m in methods)
            and all(
                s is None
                or (isinstance(s, list) and len(s) <= 8 and all(type(v) is int for v in s))
                for s in shapes
            )
        ):
            self._kill()
            raise ContainerError(
                f"{self.label}: the worker sent a malformed ready report; it was stopped"
            )
        return header

    def _stderr_part(self) -> str:
        tail = self._stderr_tail().strip()
        return f"\nmodel stderr (last lines):\n{tail}" if tail else ""

    def _receive(self, op: str, timeout: float) -> tuple[dict[str, Any], list[np.ndarray]]:
        assert self.stream is not None
        try:
            return wire.receive(self.stream, time.monotonic() + timeout, self.max_reply_bytes)
        except TimeoutError:
            self._kill()
            raise ContainerError(
                f"{self.label}: {op} did not finish within {timeout:g} s; the worker was "
                f"stopped (it restarts on the next call){self._stderr_part()}"
            ) from None
        except wire.StreamClosed as exc:
            self._kill()
            raise ContainerError(
                f"{self.label}: the worker died during {op} ({self._exit_status()})"
                f"{self._stderr_part()}"
            ) from exc
        except wire.WireError as exc:
            self._kill()
            raise ContainerError(
                f"{self.label}: the worker sent a malformed reply to {op} ({exc}); it was "
                "stopped (it restarts on the next call)"
            ) from None
        except OSError as exc:
            self._kill()
            raise ContainerError(
                f"{self.label}: the worker died during {op} ({self._exit_status()})"
                f"{self._stderr_part()}"
            ) from exc

    def call(self, op: str, *arrays: np.ndarray) -> list[np.ndarray]:
        """One request; restarts a dead worker first."""
        if self.stream is None or not self._alive():
            self.start()
        assert self.stream is not None
        if op not in ("ping", *self.info.get("methods", ())):
            raise ContainerError(f"model {self.label} has no {op}()")
        try:
            wire.send(self.stream, {"op": op}, tuple(np.asarray(a) for a in arrays))
        except wire.WireError as exc:
            raise ContainerError(f"{self.label}: cannot send {op} input: {exc}") from exc
        except OSError as exc:
            self._kill()
            raise ContainerError(
                f"{self.label}: the worker died before {op} ({self._exit_status()})"
                f"{self._stderr_part()}"
            ) from exc
        header, out = self._receive(op, self.timeout)
        exceeded = self._limit_exceeded()
        if exceeded:
            self._kill()
            raise ContainerError(f"{self.label}: {op} stopped: {exceeded}{self._stderr_part()}")
        if header.get("exiting"):  # the model ended its worker (sys.exit): restart next time
            self._kill()
        if not header.get("ok"):
            raise ContainerError(
                f"model {self.label}.{op}() failed: {_text(header.get('error'))}\n"
                f"{_text(header.get('traceback'))[-1500:]}{self._stderr_part()}"
            )
        if op not in ("fit", "finetune", "ping") and len(out) != 1:
            self._kill()
            raise ContainerError(
                f"{self.label}: the worker answered {op} with {len(out)} arrays, not one"
            )
        return out

    def predict(self, X: np.ndarray) -> np.ndarray:
        return self.call("predict", X)[0]

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        return self.call("predict_proba", X)[0]

    def fit(self, X: np.ndarray, y: np.ndarray) -> None:
        self.call("fit", X, y)

    def finetune(self, X: np.ndarray, y: np.ndarray) -> None:
        self.call("finetune", X, y)

    def has(self, op: str) -> bool:
        """Whether the model offers ``op`` (predict, predict_proba, fit, finetune)."""
        if self.stream is None or not self._alive():
            self.start()
        return op in self.info.get("methods", ())

    def close(self) -> None:
        self._kill()
        self.stream = None

    def __del__(self) -> None:
        with contextlib.suppress(Exception):
            self.close()


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
        *,
        timeout: float = 60.0,
        load_timeout: float = 120.0,
        memory_limit: int | None = 4 << 30,
        network: bool = False,
        sandboxed: bool = True,
        visible: tuple[Path, ...] = (),
        cpu_limit: int | None = 3600,
        file_size_limit: int | None = 1 << 30,
        tmpfs_bytes: int = 512 << 20,
    ) -> None:
        super().__init__(f"{manifest.model.class_name} ({root.name})", timeout, load_timeout)
        self.python, self.root, self.manifest = python, root, manifest
        self.memory_limit, self.network, self.sandboxed = memory_limit, network, sandboxed
        self.visible, self.tmpfs_bytes = visible, tmpfs_bytes
        self.limits = {
            "memory_limit": memory_limit,
            "cpu_limit": cpu_limit,
            "file_size_limit": file_size_limit,
            "network": network,
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
                (HERE, WORKER_INSIDE),
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

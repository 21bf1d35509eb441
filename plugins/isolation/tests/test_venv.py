"""The venv container: environments, the worker protocol, limits and restarts."""

from __future__ import annotations

import contextlib
import json
import socket
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest

from learnware_dock import Market
from learnware_dock.errors import ContainerError
from learnware_dock.interfaces import ModelInfo
from learnware_dock.plugins import get_plugin_manager, list_plugins
from learnware_dock.registry import Components
from learnware_dock.testing import build_package, table_semantic_spec
from learnware_dock_isolation.client import ProcessModel
from learnware_dock_isolation.container import VenvContainer
from learnware_dock_isolation.envs import MARKER, EnvCache

Start = Callable[..., ProcessModel]

ECHO = """
import numpy as np

class Model:
    def __init__(self, offset=0.0):
        self.offset = offset
        self.input_shape = (4,)
        self.output_shape = (4,)

    def predict(self, X):
        return np.asarray(X) * 2 + self.offset

    def fit(self, X, y):
        self.offset = float(np.mean(y))
"""


def test_plugin_is_installed() -> None:
    infos = {i.name: i for i in list_plugins(get_plugin_manager())}
    assert infos["isolation"].status == "loaded"
    assert infos["isolation"].distribution == "learnware-dock-isolation"
    components = Components(get_plugin_manager())
    assert components.containers.get("venv") is VenvContainer
    assert "stat" in components.checkers.names()


def test_round_trip_matches_the_inprocess_container(tmp_path: Path, toy_market: Market) -> None:
    market = toy_market
    rng = np.random.default_rng(1)
    X = np.vstack([rng.normal(0, 1, (30, 4)), rng.normal(3, 1, (30, 4))])
    y = np.repeat([0, 1], 30)
    lw = market.add(build_package(tmp_path / "c", X, y), table_semantic_spec())
    with market.load(lw.id, container="inprocess") as trusted, market.load(lw.id) as isolated:
        assert isinstance(isolated, ProcessModel)
        np.testing.assert_array_equal(isolated.predict(X), trusted.predict(X))
        assert isolated.info == ModelInfo((4,), (1,), ("predict",)) == trusted.info
        with pytest.raises(ContainerError, match=r"has no predict_proba\(\)"):
            isolated.predict_proba(X)
        assert isolated.predict(X[:1]).shape == (1,)  # still alive after the refusal


def test_fit_predict_and_dtypes_cross_without_pickle(start: Start) -> None:
    model = start(ECHO)
    X = np.arange(12, dtype=np.float32).reshape(3, 4)
    out = model.predict(X)
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out, X * 2)
    model.fit(X, np.array([1.0, 2.0, 3.0]))
    np.testing.assert_array_equal(model.predict(X), X * 2 + 2.0)
    with pytest.raises(ContainerError, match="objects cannot be sent"):
        model.predict(np.array([object()], dtype=object))


def test_environment_is_created_once_and_reused(tmp_path: Path) -> None:
    cache = EnvCache(tmp_path / "venvs")
    first = cache.ensure(["numpy"])
    info = json.loads((first / MARKER).read_text())
    assert info["requirements"] == ["numpy"] and info["share_host"] is True
    stamp = (first / MARKER).stat().st_mtime_ns
    assert cache.ensure(["numpy"]) == first
    assert (first / MARKER).stat().st_mtime_ns == stamp
    assert cache.path(["numpy", "numpy"]) == first  # same set, same key
    assert cache.path(["numpy>=1.20"]) != first
    # a creator killed half-way leaves a folder without the marker: it is rebuilt
    (first / MARKER).unlink()
    (first / "junk").write_text("half-written")
    assert cache.ensure(["numpy"]) == first
    assert (first / MARKER).is_file() and not (first / "junk").exists()


def test_crash_timeout_and_restart(start: Start) -> None:
    model = start(
        """
import ctypes, os, sys, time
import numpy as np

class Model:
    def predict(self, X):
        kind = int(X[0, 0])
        if kind == 1:
            time.sleep(60)
        if kind == 2:
            ctypes.string_at(0)
        if kind == 3:
            os._exit(7)
        if kind == 4:
            sys.exit("bye")
        if kind == 5:
            raise ValueError("bad rows")
        print("noise on stdout", flush=True)
        os.write(1, b"raw bytes on fd 1")
        sys.stderr.write("a line on stderr\\n")
        return np.zeros(len(X))
""",
        timeout=2.0,
    )
    ok = np.zeros((2, 4))
    assert model.predict(ok).shape == (2,)
    with pytest.raises(ContainerError, match=r"did not finish within 2 s") as hang:
        model.predict(np.ones((1, 4)))
    assert "a line on stderr" in str(hang.value)
    assert model.predict(ok).shape == (2,)  # restarted
    with pytest.raises(ContainerError, match="SIGSEGV"):
        model.predict(np.full((1, 4), 2.0))
    with pytest.raises(ContainerError, match="exit code 7"):
        model.predict(np.full((1, 4), 3.0))
    with pytest.raises(ContainerError, match="SystemExit"):
        model.predict(np.full((1, 4), 4.0))
    with pytest.raises(ContainerError, match="ValueError\\('bad rows'\\)") as error:
        model.predict(np.full((1, 4), 5.0))
    assert "Traceback" in str(error.value)
    assert model.predict(ok).shape == (2,)
    assert model.restarts == 4


def test_memory_limit(start: Start) -> None:
    model = start(
        """
import numpy as np

class Model:
    def predict(self, X):
        block = np.ones((10 * 1024**3) // 8)  # 10 GiB
        return block[: len(X)]
""",
        memory_limit=1 << 30,
    )
    with pytest.raises(ContainerError, match=r"MemoryError|Unable to allocate"):
        model.predict(np.zeros((1, 4)))


def test_learnware_package_models_run_with_the_shim(start: Start) -> None:
    model = start(
        """
import numpy as np
from learnware.model import BaseModel

class Model(BaseModel):
    def __init__(self):
        super().__init__(input_shape=(4,), output_shape=(1,))

    def predict(self, X):
        return np.asarray(X).sum(axis=1)
"""
    )
    assert model.info == ModelInfo((4,), (1,), ("predict", "fit", "finetune"))
    assert model.ready["input_shape"] == [4]  # the report as the worker sent it
    np.testing.assert_array_equal(model.predict(np.ones((2, 4))), [4.0, 4.0])


DIAL = """
import socket
import numpy as np

PORT = {port}

class Model:
    def predict(self, X):
        # 1.0: connected to the test's listener on the host's 127.0.0.1; else -errno
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.settimeout(10)
        try:
            sock.connect(("127.0.0.1", PORT))
            sock.sendall(b"from the worker")
        except OSError as exc:
            return np.array([-float(exc.errno or 1)])
        finally:
            sock.close()
        return np.array([1.0])
"""


@contextlib.contextmanager
def host_listener() -> Iterator[tuple[int, list[bytes]]]:
    """A TCP listener on the host's 127.0.0.1: its port, and what each accepted peer sent."""
    received: list[bytes] = []
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.bind(("127.0.0.1", 0))
    server.listen(4)
    server.settimeout(0.2)
    stop = threading.Event()

    def accept() -> None:
        while True:  # ends on a timeout after stop: nothing is left in the backlog then
            try:
                peer, _ = server.accept()
            except TimeoutError:
                if stop.is_set():
                    return
                continue
            with peer:
                peer.settimeout(10)
                try:
                    received.append(peer.recv(64))
                except OSError:
                    received.append(b"")

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield server.getsockname()[1], received
    finally:
        stop.set()
        thread.join()
        server.close()


@pytest.mark.usefixtures("require_sandbox")
def test_worker_cannot_reach_the_hosts_loopback(start: Start) -> None:
    """network=False (the default): the worker has a network namespace of its own, so a
    listener on the host's 127.0.0.1 is out of reach; network=True (the positive control,
    proving the probe can fail this test) reaches it. Needs the sandbox (an unsandboxed,
    unprivileged worker cannot leave the host's network): skips without bubblewrap, fails
    instead with DOCK_REQUIRE_SANDBOX=1 (CI)."""
    with host_listener() as (port, received):
        isolated = start(DIAL.format(port=port))
        assert isolated.ready["interfaces"] == ["lo"]
        outcome = isolated.predict(np.zeros((1, 4))).tolist()
        assert outcome != [1.0], "with network=False the worker reached the host's 127.0.0.1"
        assert len(outcome) == 1 and outcome[0] < 0, outcome  # -errno: the connect failed
        isolated.close()
        assert received == []

        networked = start(DIAL.format(port=port), network=True)
        assert networked.predict(np.zeros((1, 4))).tolist() == [1.0]
        networked.close()
    assert received == [b"from the worker"]


def test_unknown_option_is_a_clear_error(start: Start) -> None:
    with pytest.raises(ContainerError, match="container 'venv': unknown option 'gpu'"):
        start(ECHO, gpu=True)
    with pytest.raises(ContainerError, match=r"did you mean 'cpu_limit'\?"):
        start(ECHO, cpu_limt=5)
    with pytest.raises(ContainerError, match="tmpfs_size must be a number of bytes"):
        start(ECHO, tmpfs_size=10)


def test_workers_start_while_other_threads_run_blas(
    start: Start, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No Python runs between fork and exec: a preexec_fn there deadlocked a threaded dock
    (a server's search thread inside OpenBLAS while its writer thread started a worker)."""
    import subprocess
    import threading

    seen: list[dict[str, object]] = []
    real_popen = subprocess.Popen

    def spy(*args: object, **kwargs: object) -> object:
        if "worker.py" in str(args[0]):
            seen.append(kwargs)
        return real_popen(*args, **kwargs)  # type: ignore[call-overload]

    stop = threading.Event()

    def blas() -> None:
        a = np.random.default_rng(0).normal(size=(300, 300))
        while not stop.is_set():
            a @ a.T

    monkeypatch.setattr(subprocess, "Popen", spy)
    thread = threading.Thread(target=blas, daemon=True)
    thread.start()
    try:
        for _ in range(8):  # each start is a fork + exec while BLAS is busy
            model = start(ECHO)
            assert model.predict(np.ones((2, 4))).tolist() == [[2.0] * 4] * 2
            model.close()
    finally:
        stop.set()
        thread.join()
    assert len(seen) == 8 and all(k.get("preexec_fn") is None for k in seen)
    assert all(k.get("start_new_session") for k in seen)

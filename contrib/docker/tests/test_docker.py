"""The docker container against a mocked Docker API (``docker.APIClient`` layer).

The fake engine runs the real worker as a local process for each "container" and speaks
Docker's multiplexed attach protocol on a socket pair, so the container code, the frame
demultiplexing and the worker protocol are all exercised; only the engine is simulated.
"""

from __future__ import annotations

import gc
import io
import json
import socket
import struct
import subprocess
import sys
import tarfile
import threading
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from learnware_dock.errors import ContainerError
from learnware_dock.interfaces import LoadedModel, ModelInfo
from learnware_dock.loading import choose_container, container_options
from learnware_dock.package.manifest import Manifest
from learnware_dock.package.reader import extracted
from learnware_dock.package.writer import write_folder, zip_folder
from learnware_dock.plugins import get_plugin_manager, list_plugins
from learnware_dock.protocol import WORKER_DIR
from learnware_dock.registry import Components
from learnware_dock.testing import CENTROID_MODEL, build_package
from learnware_dock_docker.container import CODE, PACKAGE, DockerContainer, DockerModel


def load(root: Path, manifest: Manifest, **options: Any) -> DockerModel:
    """``DockerContainer().load`` with ``options`` built as ``Market.load`` builds them."""
    return DockerContainer().load(root, manifest, container_options(DockerContainer, options))


class FakeEngine:
    """Just enough of ``docker.APIClient`` for the docker container, backed by processes."""

    def __init__(self) -> None:
        self.images_built: dict[str, str] = {}  # tag -> Dockerfile
        self.containers: dict[str, dict[str, Any]] = {}
        self.removed: list[str] = []
        self.build_error: str | None = None
        self.threads: dict[str, threading.Thread] = {}

    def images(self, name: str | None = None) -> list[dict[str, Any]]:
        return [{"RepoTags": [name]}] if name in self.images_built else []

    def build(self, *, fileobj: io.BytesIO, tag: str, **_: Any) -> Iterator[dict[str, str]]:
        with tarfile.open(fileobj=fileobj) as tar:
            files = {m.name: tar.extractfile(m).read().decode() for m in tar}  # type: ignore[union-attr]
        yield {"stream": "Step 1/3 : FROM base\n"}
        if self.build_error:
            yield {"error": self.build_error}
            return
        self.images_built[tag] = files["Dockerfile"] + files["requirements.txt"]

    def create_container(self, image: str, **kwargs: Any) -> dict[str, str]:
        assert image in self.images_built
        cid = f"c{len(self.containers)}"
        self.containers[cid] = {"image": image, **kwargs}
        return {"Id": cid}

    def attach_socket(self, cid: str, params: dict[str, int]) -> socket.socket:
        assert params == {"stdin": 1, "stdout": 1, "stderr": 1, "stream": 1}
        ours, theirs = socket.socketpair()
        self.containers[cid]["socket"] = theirs
        return ours

    def start(self, cid: str) -> None:
        spec = self.containers[cid]
        binds = spec["host_config"]["Binds"]
        mounts = {b.split(":")[1]: b.split(":")[0] for b in binds}
        command = list(spec["command"])
        assert command[:3] == ["python", "-I", "-B"]
        command[0] = sys.executable
        command[3] = command[3].replace(CODE, mounts[CODE])
        request = json.loads(command[4])
        request["root"] = request["root"].replace(PACKAGE, mounts[PACKAGE])
        command[4] = json.dumps(request)
        proc = subprocess.Popen(
            command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
        spec["proc"] = proc
        sock: socket.socket = spec["socket"]

        def pump(source: Any, kind: int) -> None:
            for chunk in iter(lambda: source.read1(65536), b""):
                sock.sendall(struct.pack(">BxxxL", kind, len(chunk)) + chunk)

        def feed() -> None:
            try:
                for chunk in iter(lambda: sock.recv(65536), b""):
                    proc.stdin.write(chunk)  # type: ignore[union-attr]
                    proc.stdin.flush()  # type: ignore[union-attr]
            except (OSError, ValueError):
                pass  # the container is gone

        def watch() -> None:
            out = threading.Thread(target=pump, args=(proc.stdout, 1))
            err = threading.Thread(target=pump, args=(proc.stderr, 2))
            out.start(), err.start()
            out.join(), err.join()
            proc.wait()
            sock.shutdown(socket.SHUT_RDWR)
            sock.close()
            for pipe in (proc.stdin, proc.stdout, proc.stderr):
                pipe.close()  # type: ignore[union-attr]

        threading.Thread(target=feed, daemon=True).start()
        self.threads[cid] = threading.Thread(target=watch, daemon=True)
        self.threads[cid].start()

    def inspect_container(self, cid: str) -> dict[str, Any]:
        proc = self.containers[cid]["proc"]
        code = proc.poll()
        return {"State": {"Running": code is None, "ExitCode": code, "OOMKilled": False}}

    def remove_container(self, cid: str, force: bool = False) -> None:
        assert force
        proc = self.containers[cid]["proc"]
        if proc.poll() is None:
            proc.kill()
        proc.wait()
        self.threads[cid].join(timeout=10)
        self.removed.append(cid)


@pytest.fixture
def engine() -> FakeEngine:
    return FakeEngine()


@pytest.fixture
def package(tmp_path: Path) -> Iterator[tuple[Path, Manifest, np.ndarray]]:
    rng = np.random.default_rng(2)
    X = np.vstack([rng.normal(0, 1, (30, 4)), rng.normal(4, 1, (30, 4))])
    archive = build_package(tmp_path / "pkg", X, np.repeat([0, 1], 30))
    with extracted(archive) as root:
        yield root, Manifest.read(root), X


def test_plugin_is_installed() -> None:
    infos = {i.name: i for i in list_plugins(get_plugin_manager())}
    assert infos["docker"].status == "loaded"
    assert infos["docker"].distribution == "learnware-dock-docker"
    assert Components(get_plugin_manager()).containers.get("docker") is DockerContainer


def test_predicts_through_the_mocked_engine_with_isolation_settings(
    engine: FakeEngine, package: tuple[Path, Manifest, np.ndarray]
) -> None:
    root, manifest, X = package
    with load(root, manifest, client=engine, memory_limit=1 << 30) as model:
        assert isinstance(model, DockerModel)
        assert model.info == ModelInfo((4,), (1,), ("predict",))
        predicted = model.predict(X)
        assert (predicted[:30] == 0).mean() > 0.9 and (predicted[30:] == 1).mean() > 0.9
        spec = engine.containers["c0"]
    config = spec["host_config"]
    assert sorted(config["Binds"]) == sorted([f"{root}:{PACKAGE}:ro", f"{WORKER_DIR}:{CODE}:ro"])
    assert config["NetworkMode"] == "none" and spec["network_disabled"] is True
    assert config["Memory"] == 1 << 30 and config["NanoCpus"] == 1_000_000_000
    assert config["ReadonlyRootfs"] is True and config["CapDrop"] == ["ALL"]
    assert spec["stdin_open"] is True and spec["labels"] == {"learnware-dock": "worker"}
    assert engine.removed == ["c0"]  # removed on close


def test_options_and_priority(
    engine: FakeEngine, package: tuple[Path, Manifest, np.ndarray]
) -> None:
    """The shared defaults (4 GiB, as every container), ``no limit`` as None, and a
    priority below venv's: docker is the default only where venv is not installed."""
    root, manifest, _ = package
    with load(root, manifest, client=engine) as model:
        assert engine.containers["c0"]["host_config"]["Memory"] == 4 << 30
        assert model.timeout == 60.0 and model.load_timeout == 120.0
    with load(root, manifest, client=engine, memory_limit="none", cpus="2.5") as model:
        config = engine.containers["c1"]["host_config"]
        assert "Memory" not in config and config["NanoCpus"] == 2_500_000_000
        assert isinstance(model, LoadedModel)
    components = Components(get_plugin_manager())
    if "venv" in components.containers:  # learnware-dock-isolation is installed
        venv = components.containers.get("venv")
        assert DockerContainer.priority < venv.priority
        assert choose_container(components) is venv
    else:
        assert choose_container(components) is DockerContainer


def test_image_is_built_once_per_requirements(
    engine: FakeEngine, package: tuple[Path, Manifest, np.ndarray]
) -> None:
    root, manifest, _ = package
    load(root, manifest, client=engine, image="python:3.11-slim").close()
    load(root, manifest, client=engine, image="python:3.11-slim").close()
    assert len(engine.images_built) == 1
    (dockerfile,) = engine.images_built.values()
    assert dockerfile.startswith("FROM python:3.11-slim\n") and "numpy" in dockerfile
    load(root, manifest, client=engine, image="python:3.12-slim").close()
    assert len(engine.images_built) == 2


def test_build_failure_and_unknown_options(
    engine: FakeEngine, package: tuple[Path, Manifest, np.ndarray]
) -> None:
    root, manifest, _ = package
    engine.build_error = "pip: no matching distribution for nope"
    with pytest.raises(ContainerError, match="failed: pip: no matching distribution"):
        load(root, manifest, client=engine)
    with pytest.raises(ContainerError, match="container 'docker': unknown option 'gpus'"):
        load(root, manifest, client=engine, gpus=1)
    with pytest.raises(ContainerError, match="cpus must be a positive number of CPUs"):
        load(root, manifest, client=engine, cpus=0)


def test_crash_is_reported_and_the_container_replaced(engine: FakeEngine, tmp_path: Path) -> None:
    source = CENTROID_MODEL + (
        "\n    def predict_proba(self, X):\n        import os, sys\n"
        "        sys.stderr.write('going down\\n'); sys.stderr.flush()\n        os._exit(5)\n"
    )
    centroids = io.BytesIO()
    np.save(centroids, np.eye(4)[:2])
    folder = write_folder(
        tmp_path / "crash",
        model_source=source,
        class_name="CentroidModel",
        files={"centroids.npy": centroids.getvalue()},
        requirements="numpy\n",
    )
    with extracted(zip_folder(folder, tmp_path / "crash.zip")) as root:
        model = load(root, Manifest.read(root), client=engine)
        with pytest.raises(ContainerError, match="exit code 5") as error:
            model.predict_proba(np.zeros((1, 4)))
        assert "going down" in str(error.value)
        assert model.predict(np.eye(4)[:2]).tolist() == [0, 1]  # a new container
        assert engine.removed == ["c0"] and "c1" in engine.containers
        model.close()
    assert engine.removed == ["c0", "c1"]


def test_no_engine_is_a_clear_error(
    monkeypatch: pytest.MonkeyPatch, package: tuple[Path, Manifest, np.ndarray]
) -> None:
    monkeypatch.setenv("DOCKER_HOST", "unix:///nonexistent/docker.sock")
    root, manifest, _ = package
    with warnings.catch_warnings():
        # docker-py leaves the refused connection's socket to the garbage collector:
        # collect it here, not during a later test
        warnings.simplefilter("ignore", ResourceWarning)
        with pytest.raises(ContainerError, match="no Docker engine answers"):
            load(root, manifest)
        gc.collect()


def _engine_answers() -> bool:
    import docker

    with warnings.catch_warnings():
        # docker-py leaves the socket of a refused connection to the garbage collector
        warnings.simplefilter("ignore", ResourceWarning)
        try:
            client = docker.from_env()
            try:
                return bool(client.ping())
            finally:
                client.close()
        except Exception:
            return False
        finally:
            gc.collect()


@pytest.mark.docker_engine
def test_real_engine_round_trip(package: tuple[Path, Manifest, np.ndarray]) -> None:
    if not _engine_answers():
        pytest.skip("no Docker or Podman engine answers here")
    root, manifest, X = package
    with load(root, manifest) as model:
        assert model.predict(X).shape == (len(X),)

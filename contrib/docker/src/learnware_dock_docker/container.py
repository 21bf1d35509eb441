"""The ``docker`` container: the worker protocol (:mod:`learnware_dock.protocol`) in a container.

Per distinct requirements an image is built once ``FROM`` the configured base image
(``pip install numpy`` + the requirements; the build may use the network, the running
container may not) and tagged ``learnware-dock-env:<key>``. Each loaded model gets one
container: the package mounted read-only at ``/learnware``, the worker code read-only at
``/dock``, no network by default, CPU and memory limits, a read-only root file system with
a private ``/tmp``, all capabilities dropped. The container is reused across calls and
removed on close. Podman works through its Docker-compatible socket (``DOCKER_HOST``).
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import tarfile
from pathlib import Path
from typing import Any

import attrs

from learnware_dock.errors import ContainerError
from learnware_dock.interfaces import Container, ContainerOptions
from learnware_dock.options import option
from learnware_dock.package.manifest import Manifest
from learnware_dock.package.requirements import env_key, read_requirements
from learnware_dock.protocol import WORKER_DIR, ProtocolModel, wire, worker_request
from learnware_dock_docker.stream import AttachStream

DEFAULT_IMAGE = "python:3.11-slim"
API_VERSION = "1.41"
PACKAGE, CODE = "/learnware", "/dock"


def _context(base: str, requirements: list[str]) -> io.BytesIO:
    """The build context: a Dockerfile and the requirements, as a tar archive."""
    wanted = list(requirements)
    if not any(r.lower().startswith("numpy") for r in wanted):
        wanted.append("numpy")
    files = {
        "Dockerfile": f"FROM {base}\nCOPY requirements.txt /requirements.txt\n"
        "RUN python -m pip install --no-cache-dir -r /requirements.txt\n",
        "requirements.txt": "\n".join(wanted) + "\n",
    }
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for name, text in files.items():
            data = text.encode()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    buffer.seek(0)
    return buffer


def ensure_image(api: Any, base: str, requirements: list[str]) -> str:
    """The tag of the image for ``requirements`` on ``base``, built on first use."""
    tag = f"learnware-dock-env:{env_key([base, *requirements], False)[:20]}"
    if api.images(name=tag):
        return tag
    log: list[str] = []
    for chunk in api.build(
        fileobj=_context(base, requirements), custom_context=True, tag=tag, rm=True, decode=True
    ):
        if "error" in chunk:
            raise ContainerError(
                f"building {tag} from {base} failed: {chunk['error']}\n{''.join(log)[-1500:]}"
            )
        log.append(str(chunk.get("stream", "")))
    return tag


def _cpus(_: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    number = isinstance(value, int | float) and not isinstance(value, bool)
    if not (number and 0 < value <= 1024):
        raise ValueError(f"{attribute.name} must be a positive number of CPUs, not {value!r}")


@attrs.frozen
class DockerOptions(ContainerOptions):
    """The ``docker`` container's options (``load_timeout`` includes starting the
    container; ``network`` False: ``network_mode=none``)."""

    image: str | None = option(
        None, help=f"Base image (default $DOCK_DOCKER_IMAGE or {DEFAULT_IMAGE})."
    )
    cpus: float = option(1.0, help="CPUs the container may use.", validator=_cpus)
    client: Any = option(
        None, help="A docker.APIClient (default: from the environment, DOCKER_HOST included)."
    )


class DockerModel(ProtocolModel):
    """A worker in a container (see the module docstring)."""

    def __init__(
        self, api: Any, image: str, root: Path, manifest: Manifest, options: DockerOptions
    ) -> None:
        label = f"{manifest.model.class_name} ({root.name}, docker)"
        super().__init__(label, options.timeout, options.load_timeout)
        self.api, self.image, self.root, self.manifest = api, image, root, manifest
        self.memory_limit, self.cpus, self.network = (
            options.memory_limit,
            options.cpus,
            options.network,
        )
        self.container_id: str | None = None
        self.attached: AttachStream | None = None
        self.status = "not started"

    def host_config(self) -> dict[str, Any]:
        import docker

        config: dict[str, Any] = docker.types.HostConfig(
            version=API_VERSION,
            binds={
                str(self.root): {"bind": PACKAGE, "mode": "ro"},
                str(WORKER_DIR): {"bind": CODE, "mode": "ro"},
            },
            network_mode="bridge" if self.network else "none",
            mem_limit=self.memory_limit,
            memswap_limit=self.memory_limit,
            nano_cpus=int(self.cpus * 1e9),
            read_only=True,
            tmpfs={"/tmp": "rw,size=256m"},
            cap_drop=["ALL"],
            security_opt=["no-new-privileges"],
            pids_limit=256,
        )
        return config

    def _spawn(self) -> wire.Stream:
        request = json.dumps(worker_request(PACKAGE, self.manifest))
        created = self.api.create_container(
            self.image,
            command=["python", "-I", "-B", f"{CODE}/worker.py", request],
            stdin_open=True,
            working_dir="/tmp",
            environment={"HOME": "/tmp", "TMPDIR": "/tmp"},
            network_disabled=not self.network,
            host_config=self.host_config(),
            labels={"learnware-dock": "worker"},
        )
        self.container_id = created["Id"]
        sock = self.api.attach_socket(
            self.container_id, params={"stdin": 1, "stdout": 1, "stderr": 1, "stream": 1}
        )
        self.attached = AttachStream(sock)
        self.api.start(self.container_id)
        self.status = "running"
        return self.attached

    def _alive(self) -> bool:
        return self.container_id is not None and not (self.attached and self.attached.closed)

    def _kill(self) -> None:
        container, self.container_id = self.container_id, None
        if self.attached is not None:
            self.attached.close()
        if container is None:
            return
        with contextlib.suppress(Exception):
            state = self.api.inspect_container(container)["State"]
            if state.get("OOMKilled"):
                self.status = "killed: out of memory"
            elif not state.get("Running"):
                self.status = f"exit code {state.get('ExitCode')}"
        with contextlib.suppress(Exception):
            self.api.remove_container(container, force=True)

    def _exit_status(self) -> str:
        return self.status

    def _stderr_tail(self) -> str:
        return self.attached.stderr.decode(errors="replace") if self.attached else ""


class DockerContainer(Container):
    """Runs a package's model in a Docker (or Podman) container; its options are
    :class:`DockerOptions`."""

    name = "docker"
    priority = 10
    options_class = DockerOptions

    def load(self, root: Path, manifest: Manifest, options: ContainerOptions) -> DockerModel:
        docker = DockerOptions.from_options(options)
        api = docker.client if docker.client is not None else _client()
        base = docker.image or os.environ.get("DOCK_DOCKER_IMAGE", DEFAULT_IMAGE)
        tag = ensure_image(api, base, read_requirements(root))
        return DockerModel(api, tag, root, manifest, docker).started()


def _client() -> Any:
    import docker

    try:
        return docker.from_env().api
    except docker.errors.DockerException as exc:
        raise ContainerError(
            f"no Docker engine answers ({exc}); start one, or point DOCKER_HOST at Podman's "
            "socket (unix:///run/user/$UID/podman/podman.sock)"
        ) from exc

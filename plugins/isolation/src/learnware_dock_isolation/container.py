"""The ``venv`` container: the package's requirements in a cached environment, the model
in a long-lived, sandboxed worker process with time and memory limits (see
:mod:`.client` and :mod:`.sandbox`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from learnware_dock.errors import ContainerError
from learnware_dock.interfaces import Container
from learnware_dock.package.manifest import Manifest
from learnware_dock_isolation import sandbox
from learnware_dock_isolation.client import ProcessModel
from learnware_dock_isolation.envs import EnvCache
from learnware_dock_isolation.requirements import read_requirements


class VenvContainer(Container):
    """Runs an untrusted package's model out of the dock process, in a sandbox.

    Options: ``timeout`` (seconds per call, 60), ``load_timeout`` (import and constructor,
    120), ``memory_limit`` (bytes, 4 GiB: the address space of each process and the
    memory of the whole process tree; None: no limit), ``cpu_limit`` (CPU seconds per
    process, 3600), ``file_size_limit`` (bytes per file written, 1 GiB), ``tmpfs_size``
    (bytes of the private writable ``/tmp``, 512 MiB), ``network`` (False: loopback only),
    ``share_host`` (True: reuse the dock's installed packages when the pins allow),
    ``cache_dir`` (default ``$DOCK_CACHE/venvs``).

    Without a working bubblewrap the container refuses to run anything unless
    ``DOCK_ALLOW_UNSANDBOXED=1`` is set (then it warns on every load).
    """

    name = "venv"

    def load(
        self,
        root: Path,
        manifest: Manifest,
        *,
        timeout: float = 60.0,
        load_timeout: float = 120.0,
        memory_limit: int | None = 4 << 30,
        cpu_limit: int | None = 3600,
        file_size_limit: int | None = 1 << 30,
        tmpfs_size: int = 512 << 20,
        network: bool = False,
        share_host: bool = True,
        cache_dir: Path | None = None,
        **options: Any,
    ) -> ProcessModel:
        if options:
            raise ContainerError(f"the venv container has no option(s): {', '.join(options)}")
        requirements = read_requirements(root)
        sandboxed = sandbox.require(f"running the model of {root.name}")
        cache = EnvCache(cache_dir, share_host=share_host, sandboxed=sandboxed)
        env = cache.ensure(requirements)
        return ProcessModel(
            EnvCache.python(env),
            root,
            manifest,
            timeout=timeout,
            load_timeout=load_timeout,
            memory_limit=memory_limit,
            network=network,
            sandboxed=sandboxed,
            visible=EnvCache.visible(env),
            cpu_limit=cpu_limit,
            file_size_limit=file_size_limit,
            tmpfs_bytes=tmpfs_size,
        ).started()

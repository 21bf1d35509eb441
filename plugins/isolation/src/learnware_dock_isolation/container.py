"""The ``venv`` container: the package's requirements in a cached environment, the model
in a long-lived worker process with time and memory limits (see :mod:`.client`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from learnware_dock.errors import ContainerError
from learnware_dock.interfaces import Container
from learnware_dock.package.manifest import Manifest
from learnware_dock_isolation.client import ProcessModel
from learnware_dock_isolation.envs import EnvCache
from learnware_dock_isolation.requirements import read_requirements


class VenvContainer(Container):
    """Runs an untrusted package's model out of the dock process.

    Options: ``timeout`` (seconds per call, 60), ``load_timeout`` (import and constructor,
    120), ``memory_limit`` (bytes of address space, 4 GiB; None: no limit), ``network``
    (False: the worker gets a network namespace of its own where the OS permits),
    ``share_host`` (True: reuse the dock's installed packages when the pins allow),
    ``cache_dir`` (default ``$DOCK_CACHE/venvs``).
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
        network: bool = False,
        share_host: bool = True,
        cache_dir: Path | None = None,
        **options: Any,
    ) -> ProcessModel:
        if options:
            raise ContainerError(f"the venv container has no option(s): {', '.join(options)}")
        env = EnvCache(cache_dir, share_host=share_host).ensure(read_requirements(root))
        return ProcessModel(
            EnvCache.python(env),
            root,
            manifest,
            timeout=timeout,
            load_timeout=load_timeout,
            memory_limit=memory_limit,
            network=network,
        ).started()

"""The ``venv`` container: the package's requirements in a cached environment, the model
in a long-lived, sandboxed worker process with time and memory limits (see
:mod:`.client` and :mod:`.sandbox`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import attrs

from learnware_dock.interfaces import Container, ContainerOptions
from learnware_dock.options import option
from learnware_dock.package.manifest import Manifest
from learnware_dock.package.requirements import read_requirements
from learnware_dock_isolation import sandbox
from learnware_dock_isolation.client import ProcessModel
from learnware_dock_isolation.envs import EnvCache


def _positive_or_none(_: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{attribute.name} must be a positive integer or None, not {value!r}")


def _tmpfs(_: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1 << 20:
        raise ValueError(f"{attribute.name} must be a number of bytes of at least 1 MiB")


@attrs.frozen
class VenvOptions(ContainerOptions):
    """The ``venv`` container's options (``memory_limit`` caps the address space of each
    process and the memory of the whole process tree; ``network`` False: loopback only)."""

    cpu_limit: int | None = option(
        3600, help="CPU seconds per process (None: no limit).", validator=_positive_or_none
    )
    file_size_limit: int | None = option(
        1 << 30, help="Bytes per file written (None: no limit).", validator=_positive_or_none
    )
    tmpfs_size: int = option(
        512 << 20, help="Bytes of the private writable /tmp.", validator=_tmpfs
    )
    share_host: bool = option(True, help="Reuse the dock's installed packages when the pins allow.")
    cache_dir: Path | None = option(None, help="Environment cache (default $DOCK_CACHE/venvs).")


class VenvContainer(Container):
    """Runs an untrusted package's model out of the dock process, in a sandbox; its
    options are :class:`VenvOptions`.

    Without a working bubblewrap the container refuses to run anything unless
    ``DOCK_ALLOW_UNSANDBOXED=1`` is set (then it warns on every load).
    """

    name = "venv"
    priority = 20
    options_class = VenvOptions

    def load(self, root: Path, manifest: Manifest, options: ContainerOptions) -> ProcessModel:
        venv = VenvOptions.from_options(options)
        requirements = read_requirements(root)
        sandboxed = sandbox.require(f"running the model of {root.name}")
        cache = EnvCache(venv.cache_dir, share_host=venv.share_host, sandboxed=sandboxed)
        env = cache.ensure(requirements)
        return ProcessModel(
            EnvCache.python(env),
            root,
            manifest,
            timeout=venv.timeout,
            load_timeout=venv.load_timeout,
            memory_limit=venv.memory_limit,
            network=venv.network,
            sandboxed=sandboxed,
            visible=EnvCache.visible(env),
            cpu_limit=venv.cpu_limit,
            file_size_limit=venv.file_size_limit,
            tmpfs_bytes=venv.tmpfs_size,
        ).started()

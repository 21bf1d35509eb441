"""The ``venv`` container: the package's requirements in a cached environment, the model
in a long-lived, sandboxed worker process with time and memory limits (see
:mod:`.client` and :mod:`.sandbox`)."""

from __future__ import annotations

from pathlib import Path

from learnware_dock.interfaces import Container, ContainerOptions
from learnware_dock.package.manifest import Manifest
from learnware_dock.package.requirements import read_requirements
from learnware_dock_isolation import sandbox
from learnware_dock_isolation.client import ProcessModel
from learnware_dock_isolation.envs import EnvCache
from learnware_dock_isolation.options import VenvOptions

__all__ = ["VenvContainer", "VenvOptions"]


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
            venv,
            sandboxed=sandboxed,
            visible=EnvCache.visible(env),
        ).started()

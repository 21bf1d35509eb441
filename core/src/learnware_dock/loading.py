"""Running a stored learnware's model: unpack its package once, start it in a container.

Packages are unpacked (safely, see :mod:`learnware_dock.package.safezip`) into
``<cache>/unpacked/<package sha256>``, keyed by content, so every later load reuses the
folder. Files are made read-only: a model cannot change the cached copy of its package.
"""

from __future__ import annotations

import os
import shutil
import stat
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from learnware_dock.config import cache_home
from learnware_dock.errors import ContainerError, DockError
from learnware_dock.options import build_options
from learnware_dock.package.manifest import Manifest
from learnware_dock.package.safezip import extract

if TYPE_CHECKING:
    from learnware_dock.domain import Learnware
    from learnware_dock.interfaces import Container, ContainerOptions, LoadedModel
    from learnware_dock.registry import Components


def unpacked(learnware: Learnware, cache: Path | None = None) -> Path:
    """The package root of ``learnware``, unpacked once into the cache."""
    folder = (cache or cache_home()) / "unpacked"
    final = folder / learnware.sha256
    if final.is_dir():
        return final
    folder.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=f".{learnware.sha256[:12]}-", dir=folder))
    try:
        (scratch / "pkg").mkdir()
        root = extract(learnware.package_path, scratch / "pkg")
        for path in root.rglob("*"):
            if path.is_file():
                path.chmod(stat.S_IMODE(path.stat().st_mode) & ~0o222)
        try:
            os.replace(root, final)
        except OSError:
            if not final.is_dir():  # another process won the race otherwise
                raise
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return final


def choose_container(components: Components, name: str | None = None) -> type[Container]:
    """The named container, or the default: the highest-``priority`` one that is not
    ``trusted_only`` (ties: by name)."""
    registry = components.containers
    if name is not None:
        return registry.get(name)
    untrusted = [c for c in registry.classes() if not c.trusted_only]
    if untrusted:
        return min(untrusted, key=lambda c: (-c.priority, c.name))
    raise ContainerError(
        "no isolating container is installed: pip install learnware-dock-isolation "
        "(container 'venv'), or pass container='inprocess' for a package you trust"
    )


def container_options(cls: type[Container], values: Mapping[str, Any]) -> ContainerOptions:
    """The options object of container ``cls`` built from ``values`` (keywords or
    ``NAME=VALUE`` strings); one :class:`ContainerError` lists every unknown or bad
    option."""
    try:
        return build_options(cls.options_class, values, what=f"container {cls.name!r}")
    except DockError as exc:
        raise ContainerError(str(exc)) from None


def load_model(
    components: Components,
    learnware: Learnware,
    container: str | None = None,
    cache: Path | None = None,
    **options: Any,
) -> LoadedModel:
    """Start ``learnware``'s model in a container (default: see :func:`choose_container`)
    with ``options`` (see :func:`container_options`)."""
    cls = choose_container(components, container)
    built = container_options(cls, options)
    root = unpacked(learnware, cache)
    return cls().load(root, Manifest.read(root), built)

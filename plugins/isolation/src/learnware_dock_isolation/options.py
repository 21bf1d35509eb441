"""The ``venv`` container's options: the shared :class:`ContainerOptions` plus the limits
and caches of its sandboxed worker."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import attrs

from learnware_dock.interfaces import ContainerOptions
from learnware_dock.options import option


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

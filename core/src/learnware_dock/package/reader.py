"""Open a learnware package: safe extraction, manifest, statistical specs."""

from __future__ import annotations

import hashlib
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from learnware_dock.errors import DockError, PackageError
from learnware_dock.package.manifest import REQUIREMENT_FILES, Manifest
from learnware_dock.package.safezip import Limits, extract


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


@contextmanager
def extracted(archive: str | Path, limits: Limits | None = None) -> Iterator[Path]:
    """Extract ``archive`` to a private temporary folder; yield the package root."""
    tmp = Path(tempfile.mkdtemp(prefix="dock-pkg-"))
    try:
        yield extract(Path(archive), tmp, limits)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def package_file(root: Path, name: str) -> Path:
    """``root/name``, refusing names that leave the package (``..``, links)."""
    path = (root / name).resolve()
    if not path.is_relative_to(root.resolve()):
        raise PackageError(f"file {name!r} points outside the package")
    return path


def load_stat_specs(
    root: Path, manifest: Manifest, registry: Any, limits: Limits | None = None
) -> dict[str, Any]:
    """Load every ``stat_specifications`` entry through the registered class of its name.

    ``module_path`` is never imported: only specification types registered by installed
    plugins can be read. Files over ``limits.max_json_bytes`` are refused unread, and JSON
    that cannot be decoded (nested too deeply, numbers too long) is a :class:`PackageError`.
    Returns ``class_name -> specification``.
    """
    limits = limits or Limits()
    specs: dict[str, Any] = {}
    for index, entry in enumerate(manifest.stat_specifications):
        where = f"learnware.yaml stat_specifications[{index}]"
        if entry.class_name not in registry:
            raise PackageError(
                f"{where} names {entry.class_name!r} (module_path {entry.module_path!r}), "
                f"which is not a registered specification type; installed: "
                f"{', '.join(registry.names()) or 'none'}. Module paths are never imported; "
                "install the plugin that provides it"
            )
        if entry.class_name in specs:
            raise PackageError(f"{where} repeats {entry.class_name!r}")
        path = package_file(root, entry.file_name)
        if not path.is_file():
            raise PackageError(f"{where} file {entry.file_name!r} is missing from the package")
        size = path.stat().st_size
        if size > limits.max_json_bytes:
            raise PackageError(
                f"{where} file {entry.file_name!r} holds {size} bytes; a specification file "
                f"may hold at most {limits.max_json_bytes}"
            )
        try:
            specs[entry.class_name] = registry.get(entry.class_name).load(path)
        except DockError as exc:
            raise PackageError(f"{where}: {exc}") from exc
        except RecursionError:
            raise PackageError(
                f"{where} file {entry.file_name!r} is nested too deeply to be read"
            ) from None
        except (ValueError, TypeError, KeyError, IndexError) as exc:  # e.g. int digit limit
            raise PackageError(
                f"{where} file {entry.file_name!r} cannot be read: {type(exc).__name__}: {exc}"
            ) from exc
    return specs


def check_layout(root: Path, manifest: Manifest) -> list[str]:
    """Structural problems of an extracted package (empty list when fine)."""
    problems = []
    module = manifest.model.module_path
    if not (root / module).is_file():
        problems.append(f"the package has no {module} defining {manifest.model.class_name}")
    if not any((root / name).is_file() for name in REQUIREMENT_FILES):
        problems.append(
            "the package has no requirements.txt or environment.yaml (an empty "
            "requirements.txt is fine)"
        )
    return problems

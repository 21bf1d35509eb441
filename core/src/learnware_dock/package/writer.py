"""Write learnware packages: lay out a folder, and zip a folder deterministically."""

from __future__ import annotations

import os
import stat
import tempfile
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from learnware_dock.errors import PackageError
from learnware_dock.package.manifest import (
    MANIFEST,
    MODEL_FILE,
    Manifest,
    ModelEntry,
    SpecEntry,
)

_SKIP_DIRS = {"__pycache__", ".git", ".ipynb_checkpoints"}
_SKIP_FILES = {".DS_Store"}
_EPOCH = (1980, 1, 1, 0, 0, 0)


def write_folder(
    dest: str | Path,
    *,
    model_source: str,
    class_name: str,
    stat_specs: Mapping[str, Any] = {},
    model_kwargs: Mapping[str, Any] | None = None,
    files: Mapping[str, bytes] | None = None,
    requirements: str = "",
) -> Path:
    """Lay out a package folder: ``learnware.yaml``, ``__init__.py``, spec JSON files.

    ``stat_specs`` maps a file name to a specification object (with ``name`` and
    ``save``); ``files`` holds extra files (weights) by relative name.
    """
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    entries = []
    for file_name, spec in stat_specs.items():
        spec.save(dest / file_name)
        entries.append(SpecEntry(class_name=spec.name, file_name=file_name))
    manifest = Manifest(ModelEntry(class_name, dict(model_kwargs or {})), tuple(entries))
    (dest / MANIFEST).write_text(manifest.dump(), encoding="utf-8")
    (dest / MODEL_FILE).write_text(model_source, encoding="utf-8")
    (dest / "requirements.txt").write_text(requirements, encoding="utf-8")
    for name, content in (files or {}).items():
        target = dest / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content)
    return dest


def _members(folder: Path) -> list[Path]:
    members = []
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames[:] = sorted(d for d in dirnames if d not in _SKIP_DIRS)
        for name in sorted(filenames):
            path = Path(dirpath) / name
            if name in _SKIP_FILES or name.endswith(".pyc"):
                continue
            if path.is_symlink():
                raise PackageError(f"{path.relative_to(folder)} is a symlink; packages hold files")
            members.append(path)
    for dirname in os.listdir(folder):
        if (folder / dirname).is_symlink():
            raise PackageError(f"{dirname} is a symlink; packages hold files")
    return members


def zip_folder(folder: str | Path, out: str | Path) -> Path:
    """Zip ``folder`` (its contents at the top level) into ``out``, atomically.

    The zip is deterministic: sorted members, fixed timestamps, no caches.
    """
    folder, out = Path(folder), Path(out)
    if not (folder / MANIFEST).is_file():
        raise PackageError(f"{folder} has no {MANIFEST}; is it a learnware folder?")
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".zip", dir=out.parent)
    try:
        with os.fdopen(fd, "wb") as fh, zipfile.ZipFile(fh, "w", zipfile.ZIP_DEFLATED) as zf:
            for path in _members(folder):
                info = zipfile.ZipInfo(path.relative_to(folder).as_posix(), _EPOCH)
                info.external_attr = (stat.S_IFREG | 0o644) << 16
                info.compress_type = zipfile.ZIP_DEFLATED
                zf.writestr(info, path.read_bytes())
        os.replace(tmp, out)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return out

"""Content-addressed files written atomically (temp file, fsync, rename, fsync dir)."""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from collections.abc import Iterable
from pathlib import Path

TMP_PREFIX = ".tmp-"


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class BlobStore:
    """Files under ``root/<folder>/<sha[:2]>/<sha><suffix>``; paths handed out are relative."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def put(
        self, folder: str, suffix: str, source: Path | bytes, created: list[str] | None = None
    ) -> tuple[str, str]:
        """Store ``source`` (a file or bytes); return ``(sha256, relative path)``.

        A file this call writes (not one already stored) is appended to ``created``, as
        soon as it exists, so a failed write can remove it again.
        """
        if isinstance(source, bytes):
            sha = hashlib.sha256(source).hexdigest()
        else:
            from learnware_dock.package.reader import sha256_file

            sha = sha256_file(source)
        rel = f"{folder}/{sha[:2]}/{sha}{suffix}"
        target = self.root / rel
        if target.exists():
            return sha, rel
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=TMP_PREFIX, dir=target.parent)
        try:
            with os.fdopen(fd, "wb") as out:
                if isinstance(source, bytes):
                    out.write(source)
                else:
                    with open(source, "rb") as src:
                        shutil.copyfileobj(src, out, 1 << 20)
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        if created is not None:
            created.append(rel)
        _fsync_dir(target.parent)
        return sha, rel

    def remove(self, rels: Iterable[str]) -> None:
        for rel in rels:
            (self.root / rel).unlink(missing_ok=True)

    def sweep(self, folders: Iterable[str], keep: set[str]) -> list[str]:
        """Delete temp files and blobs not in ``keep``; return what was removed."""
        removed = []
        for folder in folders:
            base = self.root / folder
            if not base.is_dir():
                continue
            for sub in base.iterdir():
                if not sub.is_dir():
                    continue
                for path in sub.iterdir():
                    rel = f"{folder}/{sub.name}/{path.name}"
                    if path.name.startswith(TMP_PREFIX) or rel not in keep:
                        path.unlink(missing_ok=True)
                        removed.append(rel)
        return removed

"""File-system and SQLite failures of the SQLite store as :class:`StoreError`\\ s that name
the file or folder at fault and say what to do."""

from __future__ import annotations

import errno
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import filelock

from learnware_dock.errors import StoreError

SQLITE_HEADER = b"SQLite format 3\x00"
_FULL = {errno.ENOSPC, errno.EDQUOT}
_DENIED = {errno.EACCES, errno.EPERM}
_SQLITE_CORRUPT = {sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB}


def _unreadable(db_path: Path, why: str) -> StoreError:
    return StoreError(
        f"{db_path} is not a readable market database: {why}; restore it from a backup, "
        "or move it away to start an empty market there"
    )


def check_market_path(root: Path, db_path: Path) -> None:
    """Raise a :class:`StoreError` if ``root`` or its database is unusable as a market."""
    if root.exists() and not root.is_dir():
        raise StoreError(
            f"market folder {root} is a file, not a folder: move it away or open another market"
        )
    parent = next((p for p in root.parents if p.exists()), None)
    if parent is not None and not parent.is_dir():
        raise StoreError(
            f"{parent} is a file, not a folder, so market folder {root} cannot be in it: move "
            "it away or open another market"
        )
    if db_path.is_dir():
        raise StoreError(
            f"{db_path} is a folder, not a database file: move it away or open another market"
        )
    if db_path.is_symlink() and not db_path.exists():
        raise _unreadable(db_path, "it is a link to a missing file")
    if not db_path.exists():
        return
    if not db_path.is_file():
        raise _unreadable(db_path, "it is not a regular file")
    try:
        with open(db_path, "rb") as fh:
            header = fh.read(len(SQLITE_HEADER))
    except OSError as exc:
        raise store_error(exc, root, "reading the market database") from exc
    if header and header != SQLITE_HEADER:
        raise _unreadable(db_path, "it is not a SQLite file (file is not a database)")


def open_error(exc: OSError | sqlite3.Error, db_path: Path) -> StoreError:
    """The :class:`StoreError` for a failure while opening the market at ``db_path``."""
    if isinstance(exc, sqlite3.Error) and _code(exc) in _SQLITE_CORRUPT:
        return _unreadable(db_path, str(exc))
    return store_error(exc, db_path.parent, "opening the market")


def _code(exc: sqlite3.Error) -> int:
    """The primary SQLite result code of ``exc`` (-1 when it has none)."""
    code: int = getattr(exc, "sqlite_errorcode", -1)
    return code & 0xFF if code >= 0 else code


_FREE = "free some space on that disk and retry"
_ACCESS = "give this user read and write access to the market folder and its files"


def _reason(exc: OSError | sqlite3.Error) -> tuple[str, str]:
    """What went wrong, and what to do about it."""
    if isinstance(exc, sqlite3.Error):
        code = _code(exc)
        if code == sqlite3.SQLITE_FULL:
            return "disk full", _FREE
        if code in (sqlite3.SQLITE_READONLY, sqlite3.SQLITE_CANTOPEN, sqlite3.SQLITE_PERM):
            return f"cannot write the database ({exc})", _ACCESS
        if code in _SQLITE_CORRUPT:
            return f"the database is damaged ({exc})", "restore the market from a backup"
        return f"database error ({exc})", "retry, or restore the market from a backup"
    if exc.errno in _FULL:
        return "disk full", _FREE
    if exc.errno in _DENIED:
        return "permission denied", _ACCESS
    if exc.errno == errno.EROFS:
        return "read-only file system", "open the market on a writable disk"
    if exc.errno == errno.ENOTDIR:
        return "part of the path is a file, not a folder", "move that file away"
    if exc.errno == errno.EISDIR:
        return "a folder is where a file belongs", "move that folder away"
    return exc.strerror or str(exc), "check the market folder and retry"


def store_error(exc: OSError | sqlite3.Error, root: Path, doing: str) -> StoreError:
    """A :class:`StoreError` for ``exc``, raised while ``doing`` something in market
    folder ``root``."""
    if isinstance(exc, filelock.Timeout):
        return StoreError(
            f"timed out while {doing} in {root}: another process has held {exc.lock_file} "
            "too long; retry when it is done"
        )
    problem, advice = _reason(exc)
    filename = getattr(exc, "filename", None)
    at = f" ({filename})" if filename else ""
    return StoreError(f"{problem} while {doing} in {root}{at}: {advice}")


@contextmanager
def store_faults(root: Path, doing: str) -> Iterator[None]:
    """Re-raise file-system and SQLite errors of the block as a :class:`StoreError`."""
    try:
        yield
    except (OSError, sqlite3.Error) as exc:
        raise store_error(exc, root, doing) from exc

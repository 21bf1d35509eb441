"""The server's own records, beside the market: API tokens (hashed), learnware owners and
uploads waiting for their checks. One SQLite file, ``<market>/server/server.db``."""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import attrs

from learnware_dock.errors import DockError, StoreError
from learnware_dock_server.codes import AuthError, BusyError

TOKEN_PREFIX = "dock_"
FOLDER = "server"  # inside the market's folder

_SCHEMA = """
CREATE TABLE IF NOT EXISTS tokens (
    name TEXT PRIMARY KEY, owner TEXT NOT NULL, hash TEXT NOT NULL UNIQUE,
    created TEXT NOT NULL, expires TEXT, revoked TEXT
);
CREATE TABLE IF NOT EXISTS owners (learnware_id TEXT PRIMARY KEY, owner TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS uploads (
    id TEXT PRIMARY KEY, owner TEXT NOT NULL, kind TEXT NOT NULL, state TEXT NOT NULL,
    filename TEXT NOT NULL, semantic TEXT, message TEXT NOT NULL DEFAULT '', report TEXT,
    created TEXT NOT NULL, finished TEXT
);
CREATE INDEX IF NOT EXISTS uploads_state ON uploads(state);
"""

#: upload states: waiting or being checked, stored, rejected, crashed in the server
PENDING, DONE, INVALID, FAILED = "pending", "done", "invalid", "failed"


def _now() -> datetime:
    return datetime.now(UTC)


def hash_token(token: str) -> str:
    """Tokens are 256 random bits, so one SHA-256 is a sound hash at rest."""
    return hashlib.sha256(token.encode()).hexdigest()


@attrs.frozen
class Token:
    name: str
    owner: str
    created: datetime
    expires: datetime | None = None
    revoked: datetime | None = None


@attrs.frozen
class Upload:
    id: str
    owner: str
    kind: str  # "add" or "update"
    state: str
    filename: str
    semantic: dict[str, Any] | None
    message: str
    report: dict[str, Any] | None
    created: datetime
    finished: datetime | None


class ServerState:
    """Tokens, owners and uploads; a short-lived connection per call (any thread)."""

    @classmethod
    def of_market(cls, market_root: Path) -> ServerState:
        """The state kept beside the market in ``market_root``."""
        return cls(Path(market_root) / FOLDER)

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)
        self.uploads_dir = self.folder / "uploads"
        self.uploads_dir.mkdir(parents=True, exist_ok=True)
        self.path = self.folder / "server.db"
        with self._db() as db:
            db.execute("PRAGMA journal_mode = WAL")
            db.executescript(_SCHEMA)

    @contextmanager
    def _db(self) -> Iterator[sqlite3.Connection]:
        try:
            conn = sqlite3.connect(self.path, timeout=30)
        except sqlite3.Error as exc:
            raise StoreError(f"cannot open {self.path}: {exc}") from exc
        try:
            with conn:  # commit on success, roll back on error
                yield conn
        finally:
            conn.close()

    # -- tokens ------------------------------------------------------------------------------
    def create_token(self, name: str, owner: str | None = None, days: float | None = None) -> str:
        """Store a new token's hash and return the token (shown once, never stored)."""
        if not name or not name.replace("-", "").replace("_", "").isalnum():
            raise DockError(f"token name {name!r}: use letters, digits, '-' and '_'")
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        expires = None if days is None else (_now() + timedelta(days=days)).isoformat()
        try:
            with self._db() as db:
                db.execute(
                    "INSERT INTO tokens (name, owner, hash, created, expires) VALUES (?,?,?,?,?)",
                    [name, owner or name, hash_token(token), _now().isoformat(), expires],
                )
        except sqlite3.IntegrityError:
            raise DockError(
                f"a token named {name!r} exists; revoke it or pick another name"
            ) from None
        return token

    def revoke_token(self, name: str) -> None:
        with self._db() as db:
            cur = db.execute(
                "UPDATE tokens SET revoked = ? WHERE name = ? AND revoked IS NULL",
                [_now().isoformat(), name],
            )
        if cur.rowcount == 0:
            raise DockError(f"no active token named {name!r}")

    def tokens(self) -> list[Token]:
        with self._db() as db:
            rows = db.execute(
                "SELECT name, owner, created, expires, revoked FROM tokens ORDER BY name"
            ).fetchall()
        return [Token(n, o, *(_date(v) for v in rest)) for n, o, *rest in rows]  # type: ignore[arg-type]

    def owner_of_token(self, token: str) -> str:
        """The owner a token acts for; :class:`AuthError` when it is not valid now."""
        digest = hash_token(token)
        with self._db() as db:
            row = db.execute(
                "SELECT hash, owner, expires, revoked, name FROM tokens WHERE hash = ?", [digest]
            ).fetchone()
        if row is None or not hmac.compare_digest(row[0], digest):
            raise AuthError("unknown API token")
        if row[3] is not None:
            raise AuthError(f"API token {row[4]!r} was revoked")
        if row[2] is not None and datetime.fromisoformat(row[2]) <= _now():
            raise AuthError(f"API token {row[4]!r} expired on {row[2]}")
        return str(row[1])

    # -- owners ------------------------------------------------------------------------------
    def owner(self, learnware_id: str) -> str | None:
        with self._db() as db:
            row = db.execute(
                "SELECT owner FROM owners WHERE learnware_id = ?", [learnware_id]
            ).fetchone()
        return None if row is None else str(row[0])

    def owners(self, learnware_ids: list[str]) -> dict[str, str]:
        """``id -> owner`` of those of ``learnware_ids`` that have one (one query)."""
        with self._db() as db:
            rows = db.execute(
                "SELECT learnware_id, owner FROM owners WHERE learnware_id IN "
                "(SELECT value FROM json_each(?))",
                [json.dumps(learnware_ids)],
            ).fetchall()
        return {str(i): str(o) for i, o in rows}

    def set_owner(self, learnware_id: str, owner: str | None) -> None:
        with self._db() as db:
            if owner is None:
                db.execute("DELETE FROM owners WHERE learnware_id = ?", [learnware_id])
            else:
                db.execute(
                    "INSERT OR REPLACE INTO owners (learnware_id, owner) VALUES (?, ?)",
                    [learnware_id, owner],
                )

    # -- uploads -----------------------------------------------------------------------------
    def upload_file(self, upload_id: str) -> Path:
        return self.uploads_dir / f"{upload_id}.zip"

    def add_upload(
        self,
        upload_id: str,
        owner: str,
        kind: str,
        filename: str,
        semantic: dict[str, Any] | None,
    ) -> None:
        """Record a change to check; :class:`BusyError` if one is pending for the id (the
        check and the claim are one transaction, so of concurrent requests one wins)."""
        row = [upload_id, owner, kind, PENDING, filename, _dump(semantic), _now().isoformat()]
        try:
            with self._db() as db:
                db.execute("DELETE FROM uploads WHERE id = ? AND state != ?", [upload_id, PENDING])
                db.execute(
                    "INSERT INTO uploads (id, owner, kind, state, filename, semantic, created) "
                    "VALUES (?,?,?,?,?,?,?)",
                    row,
                )
                if kind == "add":
                    db.execute(
                        "INSERT OR REPLACE INTO owners (learnware_id, owner) VALUES (?, ?)",
                        [upload_id, owner],
                    )
        except sqlite3.IntegrityError:
            raise BusyError(
                f"learnware {upload_id} has a change being checked; send yours when it is done"
            ) from None

    def finish_upload(
        self, upload_id: str, state: str, message: str = "", report: Any = None
    ) -> None:
        # the file goes first: once the row is not pending, a new change may put its own
        self.upload_file(upload_id).unlink(missing_ok=True)
        with self._db() as db:
            db.execute(
                "UPDATE uploads SET state = ?, message = ?, report = ?, finished = ? WHERE id = ?",
                [state, message, _dump(report), _now().isoformat(), upload_id],
            )
            if state != DONE:
                db.execute(
                    "DELETE FROM owners WHERE learnware_id = ? AND learnware_id IN "
                    "(SELECT id FROM uploads WHERE id = ? AND kind = 'add')",
                    [upload_id, upload_id],
                )

    def forget_upload(self, upload_id: str) -> None:
        """Drop the finished upload record of a deleted learnware."""
        with self._db() as db:
            db.execute("DELETE FROM uploads WHERE id = ? AND state != ?", [upload_id, PENDING])

    def upload(self, upload_id: str) -> Upload | None:
        with self._db() as db:
            row = db.execute("SELECT * FROM uploads WHERE id = ?", [upload_id]).fetchone()
        return None if row is None else _upload(row)

    def uploads(self, state: str | None = None) -> list[Upload]:
        sql, params = "SELECT * FROM uploads", []
        if state is not None:
            sql, params = sql + " WHERE state = ?", [state]
        with self._db() as db:
            return [_upload(r) for r in db.execute(sql + " ORDER BY created, id", params)]


def _dump(value: Any) -> str | None:
    return None if value is None else json.dumps(value)


def _date(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)


def _upload(row: tuple[Any, ...]) -> Upload:
    id_, owner, kind, state, filename, semantic, message, report, created, finished = row
    return Upload(
        id_,
        owner,
        kind,
        state,
        filename,
        None if semantic is None else json.loads(semantic),
        message,
        None if report is None else json.loads(report),
        datetime.fromisoformat(created),
        _date(finished),
    )

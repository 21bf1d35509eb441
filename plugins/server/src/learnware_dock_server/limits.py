"""ASGI middlewares that refuse a request before any route sees it: bodies over a size
limit (413), whether the client sends ``Content-Length`` or streams chunks, before
anything reaches the disk; and API tokens in the URL (400)."""

from __future__ import annotations

import contextlib
import json
from urllib.parse import unquote_plus

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from learnware_dock_server.redact import TOKEN, TOKEN_PARAMS


async def _answer(send: Send, status: int, code: str, message: str) -> None:
    body = json.dumps({"error": {"code": code, "message": message}}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", b"application/json"), (b"connection", b"close")],
        }
    )
    await send({"type": "http.response.body", "body": body})


class BodyTooLarge(Exception):
    pass


class BodyLimit:
    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app, self.max_bytes = app, max_bytes

    async def _refuse(self, send: Send) -> None:
        message = f"request body over the limit of {self.max_bytes} bytes"
        await _answer(send, 413, "too_large", message)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in ("POST", "PUT", "PATCH"):
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        declared = headers.get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await self._refuse(send)
            return
        seen = 0
        over = refused = started = False

        async def counting_receive() -> Message:
            nonlocal seen, over
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    over = True
                    raise BodyTooLarge
            return message

        async def guarded_send(message: Message) -> None:
            # the framework may turn the aborted read into its own error response:
            # answer 413 in its place
            nonlocal started, refused
            if over:
                if not refused and not started:
                    refused = True
                    await self._refuse(send)
                return
            started = started or message["type"] == "http.response.start"
            await send(message)

        with contextlib.suppress(BodyTooLarge):  # answered just below
            await self.app(scope, counting_receive, guarded_send)
        if over and not refused and not started:
            await self._refuse(send)


def _credential(part: str) -> str | None:
    """How to name a ``name=value`` query part that carries a token, else None."""
    raw, _, value = part.partition("=")
    name = unquote_plus(raw)
    if TOKEN.search(name):
        return "a parameter named like a token"
    if name.lower() in TOKEN_PARAMS:
        return repr(name)
    return f"the value of {name!r}" if TOKEN.search(unquote_plus(value)) else None


class QueryTokenGuard:
    """Refuses (400 ``token_in_url``) a request with an API token in its query string,
    which proxies, access logs and browser histories keep. The query string is redacted
    in the request scope first, so the server's access log line does not show it. Add it
    inside :class:`BodyLimit`."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        query = scope.get("query_string", b"").decode("latin-1") if scope["type"] == "http" else ""
        parts = [p for p in query.replace(";", "&").split("&") if p]
        found = {i: what for i, p in enumerate(parts) if (what := _credential(p)) is not None}
        if not found:
            await self.app(scope, receive, send)
            return
        scope["query_string"] = "&".join(  # the access log reads it from the scope
            "REDACTED" if i in found else p for i, p in enumerate(parts)
        ).encode("latin-1")
        # read the body (BodyLimit, outside, bounds it): a client still sending when the
        # connection closes may never read the answer
        message = await receive()
        while message["type"] == "http.request" and message.get("more_body", False):
            message = await receive()
        where = ", ".join(sorted(set(found.values())))
        await _answer(
            send,
            400,
            "token_in_url",
            f"an API token was sent in the URL ({where}); URLs end up in logs and browser "
            "histories, so send it as 'Authorization: Bearer <token>', and revoke this one "
            "with `dock token revoke` if it was real",
        )

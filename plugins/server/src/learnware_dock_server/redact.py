"""What the public may read of a check report, and what a log line may say.

:func:`sanitize` is a pure function over one message: it hides environment dumps,
``KEY=VALUE`` assignments, API tokens, 64-hex digests and absolute paths, and truncates
the rest. The owner still gets the report as the checkers wrote it
(``GET /learnwares/{id}?detail=full``). :class:`RedactTokens` is the logging filter that
keeps API tokens out of the server's logs.
"""

from __future__ import annotations

import logging
import re
import traceback
from collections.abc import Callable

#: longest public message, truncation marker included
LIMIT = 2000
TRUNCATED = " … [truncated]"
#: what is shown if the rules do not settle (never seen in practice; keeps it idempotent)
WITHHELD = "<message withheld>"
#: raw text beyond this is dropped before the rules run (they are linear, but a worker
#: can print megabytes, and lists sanitise every item of a page)
_RAW_LIMIT = 50 * LIMIT
#: API tokens: ``dock_`` and the 43 URL-safe characters of ``secrets.token_urlsafe(32)``
TOKEN = re.compile(r"dock_[A-Za-z0-9_-]{20,}")
#: query parameters that carry credentials in other APIs
TOKEN_PARAMS = frozenset(
    {
        "token",
        "access_token",
        "api_token",
        "api_key",
        "apikey",
        "api-key",
        "key",
        "auth",
        "authorization",
        "bearer",
    }
)

_VALUE = r"""(?:'(?:[^'\\\n]|\\.)*'?|"(?:[^"\\\n]|\\.)*"?)"""
_RULES: tuple[tuple[re.Pattern[str], str | Callable[[re.Match[str]], str]], ...] = (
    # repr(os.environ), up to its end (or the end of the text, when it was cut)
    (re.compile(r"environ\(\{.*?(?:\}\)|\Z)", re.S), "environ({<redacted>})"),
    # 'HOME': '/root' pairs of a dict(os.environ) repr
    (re.compile(rf"""(['"])([A-Z_][A-Z0-9_]*)\1(\s*:\s*){_VALUE}"""), r"\1\2\1\3'<redacted>'"),
    # KEY=VALUE lines of `env`, `export`, docker -e, ...
    (
        re.compile(rf"""(?<![\w.-])([A-Z_][A-Z0-9_]+)=(?:{_VALUE}|[^\s,;]+)"""),
        r"\1=<redacted>",
    ),
    (TOKEN, "<token>"),
    (re.compile(r"(?<![0-9A-Fa-f])[0-9A-Fa-f]{64,}(?![0-9A-Fa-f])"), "<hex>"),
    # web URLs stay; file URLs, POSIX, home and Windows absolute paths go
    (
        re.compile(
            r"""(?P<url>\bhttps?://[^\s'"<>]+)"""
            r"""|\bfile://[^\s'"<>]*"""
            r"""|(?<![\w.~/\\])(?:~[\w.-]*)?/[^\s'"<>:;,()\[\]{}/][^\s'"<>:;,()\[\]{}]*"""
            r"""|(?<![\w\\])[A-Za-z]:\\[^\s'"<>|]*"""
            r"""|(?<![\w\\])\\\\[^\s'"<>|]+"""
        ),
        lambda m: m["url"] or "<path>",
    ),
)


def _redact(text: str) -> str:
    for pattern, replacement in _RULES:
        text = pattern.sub(replacement, text)
    return text


def _truncate(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - len(TRUNCATED)] + TRUNCATED


def sanitize(text: str, limit: int = LIMIT) -> str:
    """``text`` fit to be shown to anyone: at most ``limit`` characters, with no
    environment values, API tokens, 64-hex digests or absolute paths.

    Idempotent: the rules and the cut are applied until nothing changes.
    """
    if limit < 40:
        raise ValueError(f"limit {limit}: at least 40 characters are needed")
    current = text[:_RAW_LIMIT]
    for _ in range(8):
        cleaned = _truncate(_redact(current), limit)
        if cleaned == current:
            return cleaned
        current = cleaned
    return WITHHELD  # pragma: no cover - the rules settle in two or three rounds


_PARAM = re.compile(
    r"(?i)([?&;](?:" + "|".join(re.escape(p) for p in sorted(TOKEN_PARAMS)) + r")=)[^&;\s\"']*"
)


def redact_tokens(text: str) -> str:
    """``text`` with API tokens, and the values of credential query parameters, replaced."""
    return TOKEN.sub("<token>", _PARAM.sub(r"\1REDACTED", text))


class RedactTokens(logging.Filter):
    """Rewrites a record's message, arguments and traceback without API tokens."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = redact_tokens(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(redact_tokens(a) if isinstance(a, str) else a for a in record.args)
        if record.exc_info and record.exc_info[1] is not None and not record.exc_text:
            text = "".join(traceback.format_exception(*record.exc_info))
            record.exc_text = redact_tokens(text.rstrip("\n"))
        elif record.exc_text:
            record.exc_text = redact_tokens(record.exc_text)
        return True


#: loggers that may see a request's URL or a plugin's error text
LOGGERS = (
    "uvicorn.access",
    "uvicorn.error",
    "learnware_dock_server.errors",
    "learnware_dock_server.market_threads",
)
_FILTER = RedactTokens()


def install_log_redaction() -> None:
    """Add the token filter to :data:`LOGGERS` (once; safe to call again)."""
    for name in LOGGERS:
        logging.getLogger(name).addFilter(_FILTER)

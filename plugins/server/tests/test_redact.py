"""The sanitiser of public check reports and the token filter of the logs, as pure
functions: examples of what goes, and properties that hold for any text."""

from __future__ import annotations

import hashlib
import logging
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from learnware_dock_server.redact import (
    LIMIT,
    TRUNCATED,
    RedactTokens,
    redact_tokens,
    sanitize,
)

TOKEN_RE = re.compile(r"dock_[A-Za-z0-9_-]{20,}")
SECRET = "dock_" + "Zq0sSecretTokenValue-0123456789abcdefgh"
DIGEST = hashlib.sha256(b"tokens table row").hexdigest()


@pytest.mark.parametrize(
    ("text", "gone", "kept"),
    [
        (
            "environ({'HOME': '/root', 'DOCK_TOKEN': 'hunter2'})",
            ["hunter2", "/root", "DOCK_TOKEN"],
            ["environ({<redacted>})"],
        ),
        (
            "{'PATH': '/usr/bin:/bin', \"DB_PASSWORD\": \"hunter2\", 'n': 1}",
            ["hunter2", "/usr/bin"],
            ["'PATH': '<redacted>'", "\"DB_PASSWORD\": '<redacted>'", "'n': 1"],
        ),
        (
            "AWS_SECRET_ACCESS_KEY=hunter2\nexport API_KEY='two words'\nx=1",
            ["hunter2", "two words"],
            ["AWS_SECRET_ACCESS_KEY=<redacted>", "API_KEY=<redacted>", "x=1"],
        ),
        (f"Authorization: Bearer {SECRET}", [SECRET], ["Bearer <token>"]),
        (f"('alice', 'alice', '{DIGEST}', None)", [DIGEST], ["('alice', 'alice', '<hex>'"]),
        (
            'File "/srv/market/lib/python3.11/site-packages/x.py", line 3, in <module>',
            ["/srv", "site-packages"],
            ['File "<path>", line 3, in <module>'],
        ),
        (
            r"at C:\Users\bob\model.py and ~/.ssh/id_rsa and file:///etc/passwd",
            ["bob", ".ssh", "passwd"],
            ["at <path> and <path> and <path>"],
        ),
        (
            "see https://example.org/a/b; model/__init__.py and ./data/x.npy are relative",
            [],
            ["https://example.org/a/b", "model/__init__.py", "./data/x.npy"],
        ),
    ],
)
def test_what_goes_and_what_stays(text: str, gone: list[str], kept: list[str]) -> None:
    out = sanitize(text)
    for fragment in gone:
        assert fragment not in out, out
    for fragment in kept:
        assert fragment in out, out


def test_long_output_is_truncated_with_a_marker() -> None:
    out = sanitize("worker said: " + "x" * 100_000)
    assert len(out) == LIMIT and out.endswith(TRUNCATED)
    assert sanitize("short") == "short"
    assert len(sanitize("y" * 500, limit=100)) == 100
    with pytest.raises(ValueError, match="at least 40"):
        sanitize("x", limit=10)


def test_a_secret_far_into_the_output_is_not_cut_into_view() -> None:
    """The rules run before the cut: no prefix of a token is left at the cut."""
    out = sanitize("x" * (LIMIT - 20) + " " + SECRET + " and more" * 100)
    assert len(out) == LIMIT and "dock_" not in out and "Zq0s" not in out


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.characters(codec="utf-8"), max_size=3000), st.integers(40, 3000))
def test_properties_of_any_text(text: str, limit: int) -> None:
    out = sanitize(text, limit)
    assert len(out) <= limit
    assert not TOKEN_RE.search(out)
    assert sanitize(out, limit) == out


# text built from the pieces the rules look for, so that they meet and overlap
PIECES = st.sampled_from(
    ["dock_", "A" * 20, "abc-_9", "/", "~", "\\", ":", "=", "'", '"', " ", "\n", "KEY",
     "environ({", "})", "<", ">", "path", "f" * 64, "https://", "file://", "C:\\", "…"]
)  # fmt: skip


@settings(max_examples=500, deadline=None)
@given(st.lists(PIECES, max_size=80), st.integers(40, 200))
def test_properties_where_the_rules_meet(pieces: list[str], limit: int) -> None:
    text = "".join(pieces)
    out = sanitize(text, limit)
    assert len(out) <= limit
    assert not TOKEN_RE.search(out)
    assert sanitize(out, limit) == out


@given(st.text(st.characters(codec="ascii", exclude_characters="&;= \n"), min_size=20))
def test_any_token_in_a_log_line_is_redacted(tail: str) -> None:
    token = "dock_" + re.sub(r"[^A-Za-z0-9_-]", "x", tail)
    line = f'127.0.0.1:5 - "GET /learnwares/{token}?token={token}&page=2 HTTP/1.1" 404'
    out = redact_tokens(line)
    assert token not in out and "page=2" in out and "token=REDACTED" in out


def test_the_log_filter_rewrites_message_arguments_and_traceback() -> None:
    try:
        raise RuntimeError(f"the model printed {SECRET}")
    except RuntimeError as exc:
        error = exc
    record = logging.LogRecord(
        "uvicorn.access", logging.INFO, __file__, 1, "%s %s %d",
        (f"GET /?api_key={SECRET}", SECRET, 200), (RuntimeError, error, error.__traceback__),
    )  # fmt: skip
    assert RedactTokens().filter(record)
    text = logging.Formatter().format(record)
    assert SECRET not in text
    assert "api_key=REDACTED" in text and "200" in text and "RuntimeError" in text

"""Secrets stay secret: check reports are shown sanitised to everyone and whole to their
owner only, tokens in URLs are refused, and no token reaches a log line."""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from server_helpers import LiveServer, data, upload, wait_done

from learnware_dock import hookimpl
from learnware_dock.domain import CheckResult, Status
from learnware_dock.errors import CheckError
from learnware_dock.interfaces import Checker, Submission
from learnware_dock.testing import register_plugin, table_semantic_spec
from learnware_dock_rkme import RKMETableSpecification
from learnware_dock_server.app import create_app
from learnware_dock_server.client import DockClient
from learnware_dock_server.redact import LIMIT
from learnware_dock_server.settings import ServerSettings
from learnware_dock_server.state import ServerState

LEAKED_TOKEN = "dock_" + "L3akedFromTheServerEnvironment_0123456789"
LEAKED_HASH = hashlib.sha256(b"a row of the tokens table").hexdigest()
PATH = "/srv/dock-secret-place/lib/python3.11/site-packages/evil.py"
#: what a model's import error carried into a report: the environment, the tokens
#: table, server paths, and a flood of worker output
LEAK = (
    "ImportError: cannot import name 'torch'\n"
    f"environ({{'HOME': '/home/dock', 'DOCK_API_TOKEN': '{LEAKED_TOKEN}'}})\n"
    "AWS_SECRET_ACCESS_KEY=hunter2\n"
    f"tokens: [('alice', 'alice', '{LEAKED_HASH}', '2024-01-01', None, None)]\n"
    f'File "{PATH}", line 1, in <module>\n' + "worker output " * 20_000
)
SECRETS = (LEAKED_TOKEN, LEAKED_HASH, "hunter2", "/home/dock", "/srv/dock-secret-place")


class LeakyChecker(Checker):
    name = "leaky"
    order = 0  # first: an INVALID verdict stops the run before the model is started
    verdict = Status.INVALID

    def check(self, submission: Submission) -> CheckResult:
        return CheckResult(self.name, self.verdict, LEAK)


class LeakyButPassing(LeakyChecker):
    verdict = Status.NONUSABLE


class LeakyPlugin:
    def __init__(self, checker: type[Checker]) -> None:
        self.checker = checker

    @hookimpl
    def dock_register_checkers(self) -> list[type[Checker]]:
        return [self.checker]


@pytest.fixture
def leaky(client: TestClient) -> Callable[[type[Checker]], Any]:
    """``leaky(checker)``: a ``with`` block in which the server's checks run ``checker``."""
    return lambda checker: register_plugin(
        client.app.state.threads.writer.market.pm,  # type: ignore[attr-defined]
        LeakyPlugin(checker),
    )


def texts(body: dict[str, Any]) -> list[str]:
    """Every message of a learnware's view: its own and its report's."""
    report = body.get("report") or {"results": []}
    return [body["message"], *(r["message"] for r in report["results"])]


def assert_sanitised(body: dict[str, Any]) -> None:
    for text in texts(body):
        assert len(text) <= LIMIT
        for secret in SECRETS:
            assert secret not in text, (secret, text)


def test_a_rejected_upload_shows_its_report_whole_only_to_the_owner(
    client: TestClient,
    leaky: Callable[[type[Checker]], Any],
    make_package: Callable[..., Path],
    auth: dict[str, str],
    state: ServerState,
) -> None:
    with leaky(LeakyChecker):
        learnware_id = upload(client, make_package("alpha"), "alpha", auth).json()["id"]
        public = wait_done(client, learnware_id)
    assert public["status"] == "INVALID" and public["report"]["status"] == "INVALID"
    assert_sanitised(public)
    leaky_result = public["report"]["results"][-1]
    assert leaky_result["checker"] == "leaky"
    assert "ImportError: cannot import name 'torch'" in leaky_result["message"]
    assert 'File "<path>", line 1' in leaky_result["message"]
    assert "environ({<redacted>})" in leaky_result["message"]
    assert leaky_result["message"].endswith("[truncated]")
    assert LEAKED_TOKEN not in client.get(f"/ui/learnwares/{learnware_id}").text

    full = client.get(f"/learnwares/{learnware_id}", params={"detail": "full"}, headers=auth)
    assert full.status_code == 200, full.text
    whole = full.json()["report"]["results"][-1]["message"]
    assert whole == LEAK and LEAK in full.json()["message"]

    anonymous = client.get(f"/learnwares/{learnware_id}", params={"detail": "full"})
    assert anonymous.status_code == 401 and anonymous.json()["error"]["code"] == "unauthorized"
    assert "owner's API token" in anonymous.json()["error"]["message"]
    mallory = {"Authorization": f"Bearer {state.create_token('mallory')}"}
    other = client.get(f"/learnwares/{learnware_id}", params={"detail": "full"}, headers=mallory)
    assert other.status_code == 403 and other.json()["error"]["code"] == "forbidden"
    assert LEAKED_TOKEN not in anonymous.text + other.text


def test_a_stored_learnware_s_report_is_sanitised_in_every_listing(
    client: TestClient,
    leaky: Callable[[type[Checker]], Any],
    make_package: Callable[..., Path],
    auth: dict[str, str],
) -> None:
    with leaky(LeakyButPassing):
        learnware_id = upload(client, make_package("alpha"), "alpha", auth).json()["id"]
        public = wait_done(client, learnware_id)
    assert public["status"] in ("USABLE", "NONUSABLE")
    assert_sanitised(public)
    assert_sanitised(client.get("/learnwares").json()["items"][0])
    query = RKMETableSpecification.generate(data(7), K=10).to_json()
    found = client.post("/search", json={"stat_specs": {"RKMETableSpecification": query}})
    assert_sanitised(found.json()["singles"][0]["learnware"])
    assert LEAKED_TOKEN not in client.get("/").text + client.get("/plugins").text

    full = client.get(f"/learnwares/{learnware_id}?detail=full", headers=auth).json()
    assert LEAK in [r["message"] for r in full["report"]["results"]]
    assert client.get(f"/learnwares/{learnware_id}?detail=everything").status_code == 422


def test_the_owner_s_client_gets_the_whole_report(
    settings: ServerSettings,
    make_package: Callable[..., Path],
    token: str,
    tmp_path: Path,
    state: ServerState,
) -> None:
    app = create_app(settings)
    with LiveServer(app) as live, DockClient(live.url, token=token, cache=tmp_path) as mine:
        with (
            register_plugin(app.state.threads.writer.market.pm, LeakyPlugin(LeakyChecker)),
            pytest.raises(CheckError) as caught,
        ):
            mine.add(make_package("alpha"), table_semantic_spec("alpha"))
        with DockClient(live.url, cache=tmp_path) as anyone:
            public = anyone.status(state.uploads()[0].id)
    assert LEAKED_TOKEN in str(caught.value)
    assert caught.value.report is not None and caught.value.report.results[-1].message == LEAK
    assert public["status"] == "INVALID"
    assert_sanitised(public)


class Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@contextmanager
def uvicorn_records() -> Iterator[list[logging.LogRecord]]:
    """The records of uvicorn's loggers, which do not propagate to pytest's caplog (enter
    it after the server's config, which replaces their handlers)."""
    handler = Records()
    loggers = [logging.getLogger(n) for n in ("uvicorn", "uvicorn.access")]
    for logger in loggers:
        logger.addHandler(handler)
    try:
        yield handler.records
    finally:
        for logger in loggers:
            logger.removeHandler(handler)


def formatted(records: list[logging.LogRecord]) -> str:
    """The server's log lines (not the test's own HTTP client's, which logs its URLs)."""
    server = [r for r in records if not r.name.startswith(("httpx", "httpcore"))]
    return "\n".join(logging.Formatter().format(r) for r in server)


def test_tokens_in_the_url_are_refused_and_never_logged(
    settings: ServerSettings,
    make_package: Callable[..., Path],
    token: str,
    auth: dict[str, str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    live = LiveServer(create_app(settings), log_level="info")
    with live, uvicorn_records() as records, httpx.Client(base_url=live.url) as http:
        for params in ({"token": token}, {"api_key": token}, {"q": token},
                       {"page": "1", "Access_Token": "not-even-a-real-one"}):  # fmt: skip
            refused = http.get("/learnwares", params=params)
            assert refused.status_code == 400, refused.text
            error = refused.json()["error"]
            assert error["code"] == "token_in_url" and "Authorization: Bearer" in error["message"]
            assert token not in refused.text
        package = make_package("alpha")
        posted = http.post(
            f"/learnwares?token={token}",
            files={"file": ("a.zip", package.read_bytes(), "application/zip")},
            data={"semantic_spec": "{}"},
        )
        assert posted.status_code == 400 and posted.json()["error"]["code"] == "token_in_url"
        assert http.get(f"/learnwares/{token}").status_code == 404  # a token in the path
        assert http.get("/learnwares", params={"q": "tokenizer"}, headers=auth).status_code == 200
    access = [r.getMessage() for r in records if r.name == "uvicorn.access"]
    assert len(access) == 7, access
    assert sum("REDACTED" in line for line in access) == 5 and "q=tokenizer" in access[-1]
    assert token not in formatted(records) + formatted(caplog.records)


def test_the_app_s_own_logs_carry_no_token(
    settings: ServerSettings,
    make_package: Callable[..., Path],
    token: str,
    auth: dict[str, str],
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A plugin's or the store's error text that holds a token is logged without it."""

    def broken(*args: object, **kwargs: object) -> Any:
        raise RuntimeError(f"the store said {token}")

    caplog.set_level(logging.DEBUG)
    app = create_app(settings)
    live = LiveServer(app)
    with live, uvicorn_records() as records, httpx.Client(base_url=live.url) as http:
        monkeypatch.setattr(app.state.threads.writer.market, "add", broken)
        learnware_id = upload(http, make_package("alpha"), "alpha", auth).json()["id"]
        failed = wait_done(http, learnware_id)
        assert failed["status"] == "FAILED" and failed["message"] == "RuntimeError: the store " \
            "said <token>"  # fmt: skip
        monkeypatch.setattr(app.state.threads.state, "owners", broken)
        internal = http.get("/learnwares")
        assert internal.status_code == 500 and internal.json()["error"]["code"] == "internal"
        assert token not in internal.text
        deadline = time.monotonic() + 30  # uvicorn logs the exception after the answer
        while not any(r.name == "uvicorn.error" for r in records):
            assert time.monotonic() < deadline, "uvicorn logged no exception"
            time.sleep(0.05)
    assert "checking upload 00000001 failed" in caplog.text
    assert "unhandled error" in caplog.text and "said <token>" in caplog.text
    assert "Exception in ASGI application" in formatted(records)
    assert token not in formatted(caplog.records + records)

"""DockClient and the LearnwareClient-compatible class against a real uvicorn server:
every operation round-trips, errors come back as the dock's exceptions."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import numpy as np
import pytest
from server_helpers import LiveServer, data, free_port

from learnware_dock.domain import Status, UserInfo
from learnware_dock.errors import CheckError, SemanticError, StoreError, UnknownLearnwareError
from learnware_dock.market import Market
from learnware_dock.testing import table_semantic_spec
from learnware_dock_rkme import RKMETableSpecification
from learnware_dock_server.client import DockClient
from learnware_dock_server.codes import ForbiddenError
from learnware_dock_server.compat import STATUS_CODES, LearnwareClient
from learnware_dock_server.state import ServerState


@pytest.fixture
def remote(live: LiveServer, token: str, tmp_path: Path) -> Iterator[DockClient]:
    with DockClient(live.url, token=token, cache=tmp_path / "cache", backoff=0.01) as client:
        yield client


def test_round_trip(
    remote: DockClient, make_package: Callable[..., Path], root: Path, tmp_path: Path
) -> None:
    package = make_package("alpha")
    lw = remote.add(package, table_semantic_spec("alpha"))
    assert lw.status is Status.USABLE and lw.name == "alpha" and lw.version == 1
    assert lw.report is not None and lw.report.status is Status.USABLE
    with Market(root) as market:  # the server stored what the client says
        local = market.get(lw.id)
        assert (local.sha256, local.semantic_spec, local.status) == (
            lw.sha256,
            lw.semantic_spec,
            lw.status,
        )
        assert [r.type for r in local.stat_specs] == [r.type for r in lw.stat_specs]
    assert remote.get(lw.id) == lw
    assert lw.id in remote and "99999999" not in remote and len(remote) == 1
    assert [x.id for x in remote.list()] == [lw.id] == [x.id for x in remote]
    assert remote.list(Status.NONUSABLE) == []

    query = RKMETableSpecification.generate(data(3), K=10)
    result = remote.search(UserInfo(stat_specs={"RKMETableSpecification": query}))
    assert result.searcher == "rkme" and result.singles[0].learnware.id == lw.id
    assert result.singles[0].distance is not None and 0 < result.singles[0].score <= 1
    assert remote.search(table_semantic_spec("alpha")).singles[0].learnware.id == lw.id

    saved = remote.download(lw.id, tmp_path)
    assert saved.read_bytes() == package.read_bytes()
    with remote.load(lw, container="inprocess") as model:
        predicted = model.predict(data(4, n=10))
    assert np.asarray(predicted).shape[0] == 10

    updated = remote.update(lw.id, semantic_spec=table_semantic_spec("beta"))
    assert (updated.name, updated.version) == ("beta", 2)
    remote.delete(lw.id)
    assert lw.id not in remote
    with pytest.raises(UnknownLearnwareError):
        remote.get(lw.id)


def test_errors_come_back_as_dock_exceptions(
    remote: DockClient, make_package: Callable[..., Path], live: LiveServer, root: Path
) -> None:
    spec = table_semantic_spec("wrong").to_dict()
    spec["Input"] = {"Dimension": 7, "Description": {}}
    with pytest.raises(CheckError, match="7") as caught:
        remote.add(make_package("alpha"), spec)
    assert caught.value.report is not None and caught.value.report.status is Status.INVALID
    with pytest.raises(SemanticError):
        remote.add(make_package("alpha"), {"Data": {"Type": "Class", "Values": ["Nope"]}})
    with Market(root) as market:
        local = market.add(make_package("local"), table_semantic_spec("local"))
    with pytest.raises(ForbiddenError, match="dock command"):
        remote.delete(local.id)
    with DockClient(live.url) as anonymous, pytest.raises(Exception, match="unauthorized"):
        anonymous.add(make_package("a"), table_semantic_spec("a"))


def test_retries_then_a_clear_error(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    start = time.monotonic()
    with (
        DockClient(url, retries=2, backoff=0.05) as client,
        pytest.raises(StoreError, match="after 3 attempts"),
    ):
        client.get("00000001")
    assert time.monotonic() - start >= 0.05 + 0.1  # backed off twice


def test_retry_recovers_when_the_server_comes_up(settings: object, tmp_path: Path) -> None:
    """The first attempts are refused; a server started meanwhile answers a later one."""
    from learnware_dock_server.app import create_app

    server = LiveServer(create_app(settings))  # type: ignore[arg-type]
    calls = []

    class Flaky(httpx.HTTPTransport):
        def handle_request(self, request: httpx.Request) -> httpx.Response:
            calls.append(request.url.path)
            if len(calls) < 3:
                raise httpx.ConnectError("refused", request=request)
            return super().handle_request(request)

    with server, DockClient(server.url, retries=3, backoff=0.01, transport=Flaky()) as client:
        assert len(client) == 0
        calls.clear()  # a retried update with no file to re-send
        with pytest.raises(Exception, match="unauthorized"):
            client.update("00000001", semantic_spec=table_semantic_spec("x"))
    assert calls == ["/learnwares/00000001"] * 3


def test_streamed_oversize_upload_is_refused(live: LiveServer, auth: dict[str, str]) -> None:
    """No Content-Length: the limit is enforced on the bytes as they arrive."""

    def chunks() -> Iterator[bytes]:
        yield (
            b'--x\r\nContent-Disposition: form-data; name="file"; filename="big.zip"\r\n'
            b"Content-Type: application/zip\r\n\r\n"
        )
        for _ in range(6):
            yield b"\0" * (1 << 20)
        yield b"\r\n--x--\r\n"

    response = httpx.post(
        f"{live.url}/learnwares",
        content=chunks(),
        headers={**auth, "Content-Type": "multipart/form-data; boundary=x"},
    )
    assert response.status_code == 413 and response.json()["error"]["code"] == "too_large"


class AnchorUserInfo:
    """The `learnware` package's ``BaseUserInfo`` as compat reads it; its spec only saves."""

    def __init__(self, specs: dict[str, RKMETableSpecification]) -> None:
        self.stat_info = {name: SavesOnly(spec) for name, spec in specs.items()}

    def get_semantic_spec(self) -> dict[str, object]:
        return {}


class SavesOnly:
    def __init__(self, spec: RKMETableSpecification) -> None:
        self.spec = spec

    def save(self, path: str) -> None:
        self.spec.save(path)


def test_learnware_client_compat(
    live: LiveServer, token: str, make_package: Callable[..., Path], tmp_path: Path
) -> None:
    client = LearnwareClient(live.url)
    with pytest.raises(Exception, match="unauthorized"):
        client.upload_learnware(str(make_package("a")), table_semantic_spec("a").to_dict())
    client.login("alice@example.org", token)
    learnware_id = client.upload_learnware(
        str(make_package("alpha")), table_semantic_spec("alpha").to_dict()
    )
    assert client.client.wait(learnware_id).status is Status.USABLE
    assert client.get_semantic_specification(learnware_id)["Name"]["Values"] == "alpha"
    assert [x["learnware_id"] for x in client.list_learnware()] == [learnware_id]
    query = RKMETableSpecification.generate(data(5), K=10)
    found = client.search_learnware(UserInfo(stat_specs={"RKMETableSpecification": query}))
    assert found["single"]["learnware_ids"] == [learnware_id]
    assert found["single"]["semantic_specifications"][0]["Name"]["Values"] == "alpha"
    assert 0 < found["single"]["matching"][0] <= 1
    anchor_style = client.search_learnware(AnchorUserInfo({"RKMETableSpecification": query}))
    assert anchor_style["single"] == found["single"]
    assert STATUS_CODES == {"INVALID": -1, "NONUSABLE": 0, "USABLE": 1}
    path = client.download_learnware(learnware_id, str(tmp_path / "got.zip"))
    assert Path(path).stat().st_size > 0
    model = client.load_learnware(learnware_id=learnware_id, runnable_option="normal")
    assert not isinstance(model, list)
    with model:
        assert len(model.predict(data(6, n=5))) == 5
    client.delete_learnware(learnware_id)
    assert client.list_learnware() == []
    client.close()


def test_dock_serve_command(root: Path, tmp_path: Path) -> None:
    """`dock serve` starts uvicorn on the market; /health answers; it stops on SIGTERM."""
    import os
    import signal
    import subprocess
    import sys

    port = free_port()
    ServerState(root / "server")
    env = {**os.environ, "DOCK_HOME": str(tmp_path / "home")}
    options = ["--port", str(port), "--log-level", "warning"]
    process = subprocess.Popen(
        [sys.executable, "-m", "learnware_dock", "serve", "--market", str(root), *options],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                health = httpx.get(f"http://127.0.0.1:{port}/health", timeout=2).json()
                break
            except httpx.TransportError:
                assert process.poll() is None, process.stdout.read() if process.stdout else ""
                assert time.monotonic() < deadline, "dock serve did not answer in 60 s"
                time.sleep(0.2)
        assert health["status"] == "ok" and health["learnwares"] == 0
    finally:
        process.terminate()
        output = process.communicate(timeout=30)[0].decode()
    # uvicorn shuts down gracefully, then re-raises the signal it caught
    assert process.returncode in (0, -signal.SIGTERM), output
    assert "Traceback" not in output
    assert f"serving market {root}" in output.replace("\n", "")

"""Tokens: writes need one, owners alone change their learnwares, expired and revoked
tokens are refused, reads can be made private."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from server_helpers import semantic, upload, wait_done

from learnware_dock.cli import main
from learnware_dock.errors import DockError
from learnware_dock_server.app import create_app
from learnware_dock_server.settings import ServerSettings
from learnware_dock_server.state import ServerState, hash_token


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_writes_need_a_valid_token(
    client: TestClient, make_package: Callable[..., Path], state: ServerState
) -> None:
    package = make_package("alpha")
    missing = upload(client, package, "alpha", {})
    assert missing.status_code == 401 and missing.json()["error"]["code"] == "unauthorized"
    assert missing.headers["www-authenticate"] == "Bearer"
    wrong = upload(client, package, "alpha", bearer("dock_not-a-token"))
    assert wrong.status_code == 401 and "unknown" in wrong.json()["error"]["message"]
    assert client.get("/learnwares").json()["total"] == 0
    assert state.uploads() == []


def test_only_the_owner_changes_a_learnware(
    client: TestClient,
    make_package: Callable[..., Path],
    state: ServerState,
    auth: dict[str, str],
) -> None:
    learnware_id = upload(client, make_package("alpha"), "alpha", auth).json()["id"]
    wait_done(client, learnware_id)
    mallory = bearer(state.create_token("mallory"))
    put = client.put(
        f"/learnwares/{learnware_id}", data={"semantic_spec": semantic("x")}, headers=mallory
    )
    assert put.status_code == 403 and put.json()["error"]["code"] == "forbidden"
    assert "alice" in put.json()["error"]["message"]
    delete = client.delete(f"/learnwares/{learnware_id}", headers=mallory)
    assert delete.status_code == 403
    assert client.get(f"/learnwares/{learnware_id}").json()["name"] == "alpha"
    assert state.owners([learnware_id, "00000099"]) == {learnware_id: "alice"}
    # a second token of the same owner may
    alice2 = bearer(state.create_token("alice-laptop", owner="alice"))
    assert client.delete(f"/learnwares/{learnware_id}", headers=alice2).status_code == 204


def test_learnwares_added_locally_belong_to_no_api_user(
    client: TestClient, make_package: Callable[..., Path], auth: dict[str, str], root: Path
) -> None:
    from learnware_dock.market import Market
    from learnware_dock.testing import table_semantic_spec

    with Market(root) as market:
        local = market.add(make_package("local"), table_semantic_spec("local"))
    response = client.delete(f"/learnwares/{local.id}", headers=auth)
    assert response.status_code == 403 and "dock command" in response.json()["error"]["message"]


def test_expired_and_revoked_tokens(
    client: TestClient, make_package: Callable[..., Path], state: ServerState
) -> None:
    expired = state.create_token("old", days=-1)
    response = upload(client, make_package("a"), "a", bearer(expired))
    assert response.status_code == 401 and "expired" in response.json()["error"]["message"]
    revoked = state.create_token("gone")
    state.revoke_token("gone")
    response = upload(client, make_package("a"), "a", bearer(revoked))
    assert response.status_code == 401 and "revoked" in response.json()["error"]["message"]
    with pytest.raises(DockError, match="no active token"):
        state.revoke_token("gone")
    with pytest.raises(DockError, match="exists"):
        state.create_token("old")


def test_private_reads(root: Path, token: str) -> None:
    settings = ServerSettings(market=root, public_reads=False)
    with TestClient(create_app(settings)) as client:
        assert client.get("/learnwares").status_code == 401
        assert client.post("/search", json={}).status_code == 401
        assert client.get("/learnwares", headers=bearer(token)).status_code == 200
        assert client.get("/health").status_code == 200  # liveness stays public


def test_tokens_are_stored_hashed(state: ServerState, token: str) -> None:
    raw = state.path.read_bytes()
    assert token.encode() not in raw
    assert hash_token(token).encode() in raw
    assert state.owner_of_token(token) == "alice"


def test_token_commands(root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    market = ["--market", str(root)]
    assert main(["token", "create", "bob", *market]) == 0
    token = capsys.readouterr().out.strip()
    assert token.startswith("dock_") and len(token) > 40
    assert ServerState(root / "server").owner_of_token(token) == "bob"
    assert main(["token", "list", "--json", *market]) == 0
    listed = capsys.readouterr().out
    assert '"bob"' in listed and token not in listed
    assert main(["token", "revoke", "bob", *market]) == 0
    capsys.readouterr()
    assert main(["token", "revoke", "bob", *market]) == 1
    assert "no active token" in capsys.readouterr().err
    assert main(["token", "create", "bad name!", *market]) == 1
    assert "token name" in capsys.readouterr().err

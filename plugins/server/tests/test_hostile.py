"""Hostile or broken uploads get a 4xx with a message, and nothing is stored: no market
row, no upload record, no file left in the upload folder."""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from server_helpers import semantic

from learnware_dock.market import Market
from learnware_dock_server.state import ServerState


def post(client: TestClient, body: bytes, spec: str, auth: dict[str, str]) -> dict[str, object]:
    response = client.post(
        "/learnwares",
        files={"file": ("x.zip", body, "application/zip")},
        data={"semantic_spec": spec},
        headers=auth,
    )
    assert 400 <= response.status_code < 500, response.text
    error: dict[str, object] = response.json()["error"]
    return {"status": response.status_code, **error}


def zip_of(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in members.items():
            archive.writestr(name, content)
    return buffer.getvalue()


@pytest.fixture
def nothing_stored(client: TestClient, root: Path, state: ServerState) -> Callable[[], None]:
    def check() -> None:
        assert client.get("/learnwares").json()["total"] == 0
        with Market(root) as market:
            assert len(market) == 0
        assert state.uploads() == []
        assert list(state.uploads_dir.iterdir()) == []

    return check


def test_oversize_upload_is_413(
    client: TestClient, auth: dict[str, str], nothing_stored: Callable[[], None]
) -> None:
    error = post(client, b"\0" * (5 << 20), semantic("big"), auth)  # limit: 4 MiB
    assert error["status"] == 413 and error["code"] == "too_large"
    nothing_stored()


def test_zip_bomb(
    client: TestClient, auth: dict[str, str], nothing_stored: Callable[[], None]
) -> None:
    bomb = zip_of({"learnware.yaml": b"model: {}\n", "bomb.bin": b"\0" * (300 << 20)})
    assert len(bomb) < 1 << 20
    error = post(client, bomb, semantic("bomb"), auth)
    assert error["status"] == 400 and error["code"] == "bad_package"
    assert "x.zip: member 'bomb.bin'" in str(error["message"])
    assert "zip bomb" in str(error["message"])
    nothing_stored()


@pytest.mark.parametrize(
    ("members", "fragment"),
    [
        ({"../evil.txt": b"x"}, "evil"),
        ({"/etc/passwd": b"x"}, "passwd"),
        ({"learnware.yaml": b"model: [unclosed\n"}, "learnware.yaml"),
        ({"learnware.yaml": b"!!python/object/apply:os.system ['id']\n"}, "learnware.yaml"),
        ({"readme.txt": b"no manifest"}, "learnware.yaml"),
    ],
)
def test_hostile_packages(
    client: TestClient,
    auth: dict[str, str],
    nothing_stored: Callable[[], None],
    members: dict[str, bytes],
    fragment: str,
) -> None:
    error = post(client, zip_of(members), semantic("x"), auth)
    assert error["status"] == 400 and error["code"] == "bad_package", error
    assert fragment in str(error["message"])
    nothing_stored()


def test_not_a_zip(
    client: TestClient, auth: dict[str, str], nothing_stored: Callable[[], None]
) -> None:
    error = post(client, b"this is not a zip file", semantic("x"), auth)
    assert error["status"] == 400 and error["code"] == "bad_package"
    nothing_stored()


@pytest.mark.parametrize(
    ("spec", "code"),
    [
        ("{not json", "bad_semantic_spec"),
        (json.dumps(["a", "list"]), "bad_semantic_spec"),
        (json.dumps({"Data": {"Type": "Class", "Values": ["Spreadsheet"]}}), "bad_semantic_spec"),
        (json.dumps({"Input": {"Dimension": -3}}), "bad_semantic_spec"),
        ("[" * 100_000 + "]" * 100_000, "bad_semantic_spec"),  # a JSON bomb: no 500
    ],
    ids=["not-json", "list", "vocabulary", "dimension", "deep"],
)
def test_bad_semantic_specs(
    client: TestClient,
    auth: dict[str, str],
    make_package: Callable[..., Path],
    nothing_stored: Callable[[], None],
    spec: str,
    code: str,
) -> None:
    error = post(client, make_package("alpha").read_bytes(), spec, auth)
    assert error["status"] == 422 and error["code"] == code, error
    nothing_stored()


def test_missing_form_fields(client: TestClient, auth: dict[str, str]) -> None:
    response = client.post("/learnwares", data={"semantic_spec": semantic("x")}, headers=auth)
    assert response.status_code == 422 and response.json()["error"]["code"] == "invalid_request"
    assert "file" in response.json()["error"]["message"]

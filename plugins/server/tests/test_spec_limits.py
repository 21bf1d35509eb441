"""RKME size limits over HTTP: an over-limit query is a 4xx JSON error, an over-limit
upload is INVALID, and a stored spec over the limits does not break /search."""

from __future__ import annotations

from pathlib import Path

import httpx
import numpy as np
import pytest
from fastapi.testclient import TestClient
from server_helpers import upload, wait_done

from learnware_dock.testing import build_package
from learnware_dock_rkme import RKMETableSpecification
from learnware_dock_server.app import create_app
from learnware_dock_server.settings import ServerSettings

TABLE_SPEC_NAME = RKMETableSpecification.name


def points(k: int, d: int, seed: int = 0) -> RKMETableSpecification:
    """A valid RKME of k points in d features, built directly."""
    z = np.random.default_rng(seed).normal(size=(k, d))
    return RKMETableSpecification(z, np.full(k, 1.0 / k), 0.1, k)


def package(tmp_path: Path, name: str, spec: RKMETableSpecification) -> Path:
    X = np.random.default_rng(1).normal(size=(40, spec.dimension))
    y = (X[:, 0] > 0).astype(int)
    return build_package(tmp_path / "packages" / name, X, y, stat_specs={"rkme.json": spec})


@pytest.fixture
def settings(root: Path) -> ServerSettings:
    """No model runs: these tests are about the specifications."""
    return ServerSettings(market=root, max_upload_bytes=4 << 20, checkers=("semantic", "package"))


def search(client: TestClient, spec: RKMETableSpecification) -> httpx.Response:
    response: httpx.Response = client.post(
        "/search", json={"stat_specs": {TABLE_SPEC_NAME: spec.to_json()}}
    )
    return response


def test_search_with_an_over_limit_spec_answers_422(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    response = search(client, points(10_001, 1))  # the default limit: 10,000 points
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "bad_specification"
    assert "10,001 points (K), over the limit of 10,000 ($DOCK_MAX_SPEC_POINTS)" in error["message"]
    monkeypatch.setenv("DOCK_MAX_SPEC_VALUES", "100")
    wide = search(client, points(30, 4))
    assert wide.status_code == 422
    assert "120 values (K * d)" in wide.json()["error"]["message"]
    assert search(client, points(20, 4)).status_code == 200


def test_an_over_limit_upload_is_invalid_and_search_goes_on(
    client: TestClient, tmp_path: Path, auth: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DOCK_MAX_SPEC_POINTS", "10")
    response = upload(client, package(tmp_path, "big", points(20, 4)), "big", auth)
    assert response.status_code == 202, response.text
    body = wait_done(client, response.json()["id"])
    assert body["status"] == "INVALID", body
    assert "20 points (K), over the limit of 10" in body["message"]
    result = search(client, points(5, 4))
    assert result.status_code == 200 and result.json()["total"] == 0


def test_a_stored_spec_over_the_limits_is_left_out_of_search(
    settings: ServerSettings, tmp_path: Path, auth: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Stored before the limits were lowered: searches answer 200 without it."""
    with TestClient(create_app(settings)) as client:
        ids = {}
        for name, k in (("small", 5), ("big", 40)):
            ids[name] = upload(client, package(tmp_path, name, points(k, 4)), name, auth).json()[
                "id"
            ]
            assert wait_done(client, ids[name])["status"] == "NONUSABLE"
    monkeypatch.setenv("DOCK_MAX_SPEC_POINTS", "20")
    with TestClient(create_app(settings)) as client:  # a restart with the new limits
        response = search(client, points(5, 4, seed=3))
        assert response.status_code == 200, response.text
        found = response.json()
        assert found["total"] == 1
        assert [s["learnware"]["id"] for s in found["singles"]] == [ids["small"]]
        listed = client.get("/learnwares").json()
        assert listed["total"] == 2  # still listed and downloadable, only not searched

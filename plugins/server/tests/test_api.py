"""The REST API through FastAPI's test client: uploads checked in the background, reads,
downloads, search, updates and deletes by the owner, service endpoints."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
from fastapi.testclient import TestClient
from server_helpers import data, semantic, upload, wait_done

from learnware_dock.market import Market
from learnware_dock.testing import table_semantic_spec
from learnware_dock_rkme import RKMETableSpecification
from learnware_dock_server.app import create_app
from learnware_dock_server.settings import ServerSettings
from learnware_dock_server.state import PENDING, ServerState


def test_plugin_is_installed() -> None:
    from importlib.metadata import entry_points

    found = [ep for ep in entry_points(group="learnware_dock.plugins") if ep.name == "server"]
    assert found and found[0].value == "learnware_dock_server.hooks"
    assert found[0].dist is not None and found[0].dist.name == "learnware-dock-server"


def test_upload_is_checked_in_the_background(
    client: TestClient, make_package: Callable[..., Path], auth: dict[str, str]
) -> None:
    package = make_package("alpha")
    response = upload(client, package, "alpha", auth)
    assert response.status_code == 202, response.text
    accepted = response.json()
    assert accepted["status"] == "pending" and accepted["id"] == "00000001"
    body = wait_done(client, accepted["id"])
    assert body["status"] == "USABLE", body
    assert body["name"] == "alpha" and body["owner"] == "alice"
    assert body["sha256"] == hashlib.sha256(package.read_bytes()).hexdigest()
    checkers = {r["checker"]: r["status"] for r in body["report"]["results"]}
    assert checkers["stat"] == "USABLE" and body["report"]["status"] == "USABLE"
    assert [s["type"] for s in body["stat_specs"]] == ["RKMETableSpecification"]
    assert body["semantic_spec"]["Input"]["Dimension"] == 4
    assert client.get("/health").json()["learnwares"] == 1


def test_list_filter_paginate_download(
    client: TestClient, make_package: Callable[..., Path], auth: dict[str, str]
) -> None:
    ids = [upload(client, make_package(n, seed=i), n, auth).json()["id"] for i, n in
           enumerate(["alpha digits", "beta housing", "gamma digits"])]  # fmt: skip
    for learnware_id in ids:
        assert wait_done(client, learnware_id)["status"] == "USABLE"
    page = client.get("/learnwares", params={"per_page": 2}).json()
    assert page["total"] == 3 and [i["id"] for i in page["items"]] == ids[:2]
    second = client.get("/learnwares", params={"per_page": 2, "page": 2}).json()
    assert [i["id"] for i in second["items"]] == ids[2:]
    found = client.get("/learnwares", params={"q": "digits"}).json()
    assert sorted(i["id"] for i in found["items"]) == [ids[0], ids[2]] and found["total"] == 2
    assert client.get("/learnwares", params={"task": "Regression"}).json()["total"] == 0
    assert client.get("/learnwares", params={"status": "NONUSABLE"}).json()["total"] == 0
    paged = client.get("/learnwares", params={"q": "digits", "per_page": 1, "page": 2}).json()
    assert paged["total"] == 2 and len(paged["items"]) == 1
    assert paged["items"][0]["id"] in (ids[0], ids[2]) and paged["items"][0]["owner"] == "alice"
    usable = client.get("/learnwares", params={"q": "digits", "status": "USABLE"}).json()
    assert usable["total"] == 2
    assert client.get("/learnwares", params={"q": "digits", "status": "NONUSABLE"}).json() == {
        "items": [],
        "total": 0,
        "page": 1,
        "per_page": 20,
    }
    download = client.get(f"/learnwares/{ids[1]}/package")
    assert download.status_code == 200
    assert download.headers["content-type"] == "application/zip"
    sha = client.get(f"/learnwares/{ids[1]}").json()["sha256"]
    assert hashlib.sha256(download.content).hexdigest() == sha


def test_search_by_rkme_ranks_the_closest_first(
    client: TestClient, make_package: Callable[..., Path], auth: dict[str, str]
) -> None:
    near = upload(client, make_package("near", shift=0.0), "near", auth).json()["id"]
    far = upload(client, make_package("far", shift=6.0, seed=1), "far", auth).json()["id"]
    for learnware_id in (near, far):
        wait_done(client, learnware_id)
    query = RKMETableSpecification.generate(data(7, shift=0.0), K=10).to_json()
    response = client.post(
        "/search", json={"stat_specs": {"RKMETableSpecification": query}, "per_page": 5}
    )
    assert response.status_code == 200, response.text
    result = response.json()
    assert result["searcher"] == "rkme" and result["total"] == 2
    singles = result["singles"]
    assert [s["learnware"]["id"] for s in singles] == [near, far]
    assert singles[0]["distance"] < singles[1]["distance"] and singles[0]["score"] > 0.5
    for mixture in result["mixtures"]:
        assert abs(sum(mixture["weights"]) - 1) < 1e-6
    semantic_only = client.post("/search", json={"semantic_spec": {
        "Name": {"Type": "String", "Values": "far"}}}).json()  # fmt: skip
    assert semantic_only["searcher"] == "semantic"
    assert semantic_only["singles"][0]["learnware"]["id"] == far


def test_bad_search_requests_are_4xx(client: TestClient) -> None:
    bad_rkme = client.post(
        "/search", json={"stat_specs": {"RKMETableSpecification": {"z": "nonsense"}}}
    )
    assert bad_rkme.status_code == 422 and bad_rkme.json()["error"]["code"] == "bad_specification"
    unknown = client.post("/search", json={"stat_specs": {"NoSuchSpec": {}}})
    assert unknown.status_code == 400 and unknown.json()["error"]["code"] == "missing_plugin"
    assert "installed" in unknown.json()["error"]["message"]
    bad_spec = client.post("/search", json={"semantic_spec": {"Data": "Table"}})
    assert bad_spec.status_code == 422
    assert bad_spec.json()["error"]["code"] == "bad_semantic_spec"
    bad_page = client.post("/search", json={"page": 0})
    assert bad_page.status_code == 422 and bad_page.json()["error"]["code"] == "invalid_request"


def test_update_and_delete_by_the_owner(
    client: TestClient, make_package: Callable[..., Path], auth: dict[str, str], root: Path
) -> None:
    learnware_id = upload(client, make_package("alpha"), "alpha", auth).json()["id"]
    wait_done(client, learnware_id)
    response = client.put(
        f"/learnwares/{learnware_id}", data={"semantic_spec": semantic("renamed")}, headers=auth
    )
    assert response.status_code == 202, response.text
    body = wait_done(client, learnware_id)
    assert (body["name"], body["version"], body["status"]) == ("renamed", 2, "USABLE")
    new_package = make_package("other", seed=5)
    response = client.put(
        f"/learnwares/{learnware_id}",
        files={"file": ("other.zip", new_package.read_bytes(), "application/zip")},
        headers=auth,
    )
    assert response.status_code == 202
    body = wait_done(client, learnware_id)
    assert body["version"] == 3 and body["name"] == "renamed"
    assert body["sha256"] == hashlib.sha256(new_package.read_bytes()).hexdigest()
    empty = client.put(f"/learnwares/{learnware_id}", headers=auth)
    assert empty.status_code == 422
    assert client.delete(f"/learnwares/{learnware_id}", headers=auth).status_code == 204
    gone = client.get(f"/learnwares/{learnware_id}")
    assert gone.status_code == 404 and gone.json()["error"]["code"] == "unknown_learnware"
    with Market(root) as market:
        assert len(market) == 0


def test_rejected_upload_reports_invalid_and_stores_nothing(
    client: TestClient, make_package: Callable[..., Path], auth: dict[str, str], root: Path
) -> None:
    spec = table_semantic_spec("wrong dimension").to_dict()
    spec["Input"] = {"Dimension": 9, "Description": {}}
    package = make_package("alpha")
    response = client.post(
        "/learnwares",
        files={"file": ("alpha.zip", package.read_bytes(), "application/zip")},
        data={"semantic_spec": json.dumps(spec)},
        headers=auth,
    )
    assert response.status_code == 202
    body = wait_done(client, response.json()["id"])
    assert body["status"] == "INVALID" and "9" in body["message"], body
    assert body["report"]["status"] == "INVALID"
    assert client.get("/learnwares").json()["total"] == 0
    with Market(root) as market:
        assert len(market) == 0
    assert not list((root / "server" / "uploads").iterdir())


def test_pending_upload_survives_a_restart(
    settings: ServerSettings, make_package: Callable[..., Path], root: Path
) -> None:
    """An upload accepted by a server that died before checking it is checked on the
    next start (the zip waits on disk)."""
    state = ServerState(settings.state_dir)
    with Market(root) as market:
        reserved = market.reserve_id()
    make_package("alpha").replace(state.upload_file(reserved))
    state.add_upload(reserved, "alice", "add", "alpha.zip", table_semantic_spec("alpha").to_dict())
    assert [u.id for u in state.uploads(PENDING)] == [reserved]
    with TestClient(create_app(settings)) as client:
        body = wait_done(client, reserved)
    assert body["status"] == "USABLE" and body["owner"] == "alice"
    assert state.uploads(PENDING) == []


def test_service_endpoints(client: TestClient) -> None:
    health = client.get("/health").json()
    assert health["status"] == "ok" and health["learnwares"] == 0 and health["pending"] == 0
    plugins = {p["name"]: p for p in client.get("/plugins").json()}
    assert plugins["server"]["distribution"] == "learnware-dock-server"
    assert plugins["rkme"]["status"] == "loaded"
    vocabulary = client.get("/vocabulary").json()
    assert "Table" in vocabulary["Data"] and "Classification" in vocabulary["Task"]
    schema = client.get("/openapi.json").json()
    assert {"/learnwares", "/learnwares/{learnware_id}", "/search"} <= set(schema["paths"])
    assert "bearer" in json.dumps(schema["components"]["securitySchemes"]).lower()
    assert client.get("/docs").status_code == 200


def test_concurrent_uploads_are_all_stored(
    client: TestClient, make_package: Callable[..., Path], auth: dict[str, str]
) -> None:
    from concurrent.futures import ThreadPoolExecutor

    packages = [make_package(f"p{i}", seed=i) for i in range(6)]
    with ThreadPoolExecutor(3) as pool:
        responses = list(pool.map(lambda p: upload(client, p, p.stem, auth), packages))
    ids = [r.json()["id"] for r in responses]
    assert len(set(ids)) == 6
    assert {wait_done(client, i)["status"] for i in ids} == {"USABLE"}
    assert client.get("/learnwares").json()["total"] == 6
    assert np.all([r.status_code == 202 for r in responses])

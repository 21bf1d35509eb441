"""One JSON shape per domain object: `dock ... --json`, the API and the client agree."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any, get_args

import pytest
from fastapi.testclient import TestClient
from server_helpers import data

from learnware_dock.cli import main
from learnware_dock.domain import CheckReport, Learnware, SearchResult, Status, converter
from learnware_dock.testing import table_semantic_spec
from learnware_dock_rkme import RKMETableSpecification
from learnware_dock_server import models
from learnware_dock_server.redact import sanitize

SERVER_ONLY = {"message", "owner"}  # what only the server knows: rejection notes, owners


def dock_json(capsys: pytest.CaptureFixture[str], *args: str) -> Any:
    assert main([*args, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_cli_and_api_give_one_shape_for_one_learnware(
    client: TestClient,
    root: Path,
    make_package: Callable[..., Path],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    semantic = tmp_path / "semantic.json"
    semantic.write_text(json.dumps(table_semantic_spec("shared").to_dict()))
    market = ["--market", str(root)]
    added = dock_json(capsys, "add", str(make_package("shared")), "-s", str(semantic), *market)
    shown = dock_json(capsys, "show", added["id"], *market)
    api = client.get(f"/learnwares/{added['id']}").json()

    assert shown == added and api["status"] == shown["status"] == "USABLE"
    assert set(api) - SERVER_ONLY == set(shown)
    assert api["package_path"] == f"/learnwares/{added['id']}/package"
    for key in set(shown) - {"package_path", "report"}:
        assert api[key] == shown[key], key
    assert api["report"]["status"] == shown["report"]["status"]
    assert api["report"]["results"] == [  # the same results, messages sanitised
        {**r, "message": sanitize(r["message"])} for r in shown["report"]["results"]
    ]
    local = converter.structure(shown, Learnware)
    assert converter.structure(api, Learnware) == models.api_view(local)

    query = tmp_path / "query.json"
    RKMETableSpecification.generate(data(3), K=10).save(query)
    cli_found = dock_json(capsys, "search", "--stat", str(query), *market)
    body = {"stat_specs": {"RKMETableSpecification": json.loads(query.read_text())}}
    api_found = client.post("/search", json=body).json()
    assert set(api_found) - {"page", "per_page"} == set(cli_found)
    assert (api_found["searcher"], api_found["total"]) == (cli_found["searcher"], 1)
    (cli_single,), (api_single,) = cli_found["singles"], api_found["singles"]
    assert set(api_single) == set(cli_single) == {"learnware", "score", "distance", "space"}
    assert api_single["learnware"]["id"] == cli_single["learnware"]["id"] == added["id"]
    assert set(api_single["learnware"]) - SERVER_ONLY == set(cli_single["learnware"])
    assert api_single["score"] == pytest.approx(cli_single["score"])
    assert converter.structure(api_found, SearchResult).singles[0].learnware.status is Status.USABLE


def test_api_and_client_keep_to_the_statuses_names(client: TestClient) -> None:
    assert set(get_args(models.StatusName)) == set(Status.__members__)
    assert set(get_args(models.UploadStatus)) == {*Status.__members__, "pending", "FAILED"}
    schema = client.get("/openapi.json").json()["components"]["schemas"]
    assert set(schema["CheckResultOut"]["properties"]["status"]["enum"]) == set(Status.__members__)
    learnware = set(schema["LearnwareOut"]["properties"]) - SERVER_ONLY
    assert learnware == set(converter.unstructure(_any_learnware()))


def _any_learnware() -> Learnware:
    return Learnware(
        id="00000001",
        semantic_spec=table_semantic_spec(),
        status=Status.NONUSABLE,
        sha256="0" * 64,
        package_path=Path("x.zip"),
        report=CheckReport(Status.NONUSABLE),
    )

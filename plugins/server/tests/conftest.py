"""Fixtures of the server tests: a market folder with an API token, the app under
FastAPI's test client, a real uvicorn server on 127.0.0.1, and real learnware packages."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from server_helpers import LiveServer, data

from learnware_dock.testing import build_package
from learnware_dock_rkme import RKMETableSpecification
from learnware_dock_server.app import create_app
from learnware_dock_server.settings import ServerSettings
from learnware_dock_server.state import ServerState


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return tmp_path / "market"


@pytest.fixture
def state(root: Path) -> ServerState:
    return ServerState(root / "server")


@pytest.fixture
def token(state: ServerState) -> str:
    return state.create_token("alice")


@pytest.fixture
def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def settings(root: Path) -> ServerSettings:
    return ServerSettings(market=root, max_upload_bytes=4 << 20)


@pytest.fixture
def client(settings: ServerSettings) -> Iterator[TestClient]:
    with TestClient(create_app(settings)) as test_client:
        yield test_client


@pytest.fixture
def make_package(tmp_path: Path) -> Callable[..., Path]:
    """A real package: nearest-centroid model plus the RKME of its training data."""

    def make(name: str, shift: float = 0.0, seed: int = 0) -> Path:
        X = data(seed, shift=shift)
        y = (X[:, 0] > shift).astype(int)
        spec = RKMETableSpecification.generate(X, K=20)
        return build_package(tmp_path / "packages" / name, X, y, stat_specs={"rkme.json": spec})

    return make


@pytest.fixture
def live(settings: ServerSettings) -> Iterator[LiveServer]:
    with LiveServer(create_app(settings)) as server:
        yield server

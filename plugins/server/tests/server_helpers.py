"""Helpers of the server tests: test data, uploads, waiting for checks, a live uvicorn."""

from __future__ import annotations

import json
import socket
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import uvicorn
from fastapi import FastAPI

from learnware_dock.testing import table_semantic_spec


def data(seed: int, n: int = 80, dimension: int = 4, shift: float = 0.0) -> np.ndarray:
    return np.random.default_rng(seed).normal(loc=shift, size=(n, dimension))


def semantic(name: str) -> str:
    return json.dumps(table_semantic_spec(name).to_dict())


def upload(client: Any, package: Path, name: str, headers: dict[str, str]) -> Any:
    return client.post(
        "/learnwares",
        files={"file": (package.name, package.read_bytes(), "application/zip")},
        data={"semantic_spec": semantic(name)},
        headers=headers,
    )


def wait_done(client: Any, learnware_id: str, timeout: float = 180.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        body: dict[str, Any] = client.get(f"/learnwares/{learnware_id}").json()
        if body["status"] != "pending":
            return body
        time.sleep(0.1)
    raise AssertionError(f"{learnware_id} still pending after {timeout} s")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class LiveServer:
    """uvicorn serving ``app`` on 127.0.0.1 in a thread."""

    def __init__(self, app: FastAPI, log_level: str = "warning") -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level=log_level)
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=30)

"""Runs the Python example of ``docs/server.md`` against a live server and checks that it
prints what the page says it prints."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from server_helpers import LiveServer

from learnware_dock_server.app import create_app
from learnware_dock_server.settings import ServerSettings
from learnware_dock_server.state import ServerState

GUIDE = Path(__file__).resolve().parent / "server.md"


def blocks(kind: str) -> list[str]:
    return re.findall(rf"```{kind}\n(.*?)```", GUIDE.read_text(), flags=re.S)


def test_the_python_example_runs_as_documented(tmp_path: Path) -> None:
    example, expected = blocks("python")[0], blocks("text")[0]
    root = tmp_path / "market"
    token = ServerState(root / "server").create_token("alice")
    with LiveServer(create_app(ServerSettings(market=root))) as live:
        env = {**os.environ, "DOCK_URL": live.url, "DOCK_TOKEN": token, "WORK": str(tmp_path)}
        done = subprocess.run(
            [sys.executable, "-c", example], env=env, capture_output=True, text=True, timeout=600
        )
    assert done.returncode == 0, done.stderr
    assert done.stdout == expected


def test_the_documented_options_exist() -> None:
    from learnware_dock_server import cli

    text = GUIDE.read_text()
    for flag in ("--host", "--port", "--no-public-reads", "--max-upload-mb"):
        assert flag in text
    serve_options = {p.replace("_", "-") for p in cli.serve.__code__.co_varnames}
    assert {"host", "port", "public-reads", "max-upload-mb"} <= serve_options
    assert {"create", "revoke", "list"} <= {c.name for c in cli.token_app.registered_commands}

"""Compatibility tests against the real `learnware` package: run only where it is installed.

``tox -e compat`` installs ``learnware==0.4.0.post1`` and sets ``DOCK_REQUIRE_COMPAT=1``;
elsewhere (the default env) these tests are skipped. With ``DOCK_REQUIRE_COMPAT=1`` and no
`learnware`, the run fails instead, so the compat env can never pass by skipping everything.

`learnware` is never imported here (its import takes seconds, warns, and reseeds global RNGs):
its side runs in subprocesses (``anchor_fixtures.py``); finding the module is enough.
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import pytest

HERE = Path(__file__).parent
HAVE_LEARNWARE = importlib.util.find_spec("learnware") is not None
REQUIRED = os.environ.get("DOCK_REQUIRE_COMPAT") == "1"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "compat: against the real learnware package (tox -e compat)")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if HAVE_LEARNWARE:
        return
    ours = [item for item in items if item.path.is_relative_to(HERE)]
    if not ours:
        return
    if REQUIRED:
        raise pytest.UsageError(
            "DOCK_REQUIRE_COMPAT=1 but the learnware package is not installed in this "
            "environment; install learnware==0.4.0.post1 (tox -e compat does) or unset it"
        )
    skip = pytest.mark.skip(reason="learnware is not installed (run: tox -e compat)")
    for item in ours:
        item.add_marker(skip)

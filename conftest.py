"""Repository-wide test policy for the worker sandbox (bubblewrap).

With a working bubblewrap every test runs models sandboxed. Without one (a fresh machine
with only python3 and pip), the run opts in to unsandboxed workers for the tests' own
models, says so in the header, and the sandbox's own tests skip; with
``DOCK_REQUIRE_SANDBOX=1`` (CI) a missing sandbox stops the run instead.
"""

from __future__ import annotations

import os

import pytest

_REASON: str | None = None


def pytest_configure(config: pytest.Config) -> None:
    global _REASON
    try:
        from learnware_dock_isolation import sandbox
    except ImportError:
        return
    _REASON = sandbox.available()
    if _REASON is None:
        return
    if os.environ.get("DOCK_REQUIRE_SANDBOX") == "1":
        raise pytest.UsageError(f"DOCK_REQUIRE_SANDBOX=1 but {_REASON}")
    os.environ.setdefault(sandbox.ALLOW_UNSANDBOXED, "1")


def pytest_report_header(config: pytest.Config) -> str:
    if _REASON is None:
        return "worker sandbox: bubblewrap"
    return f"worker sandbox: UNAVAILABLE ({_REASON}); tests run workers unsandboxed"

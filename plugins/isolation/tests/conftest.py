"""Fixtures: a shared environment cache for the session, and packages from source."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest

from learnware_dock.loading import container_options
from learnware_dock.market import Market
from learnware_dock.package.manifest import Manifest
from learnware_dock.package.reader import extracted
from learnware_dock.package.writer import write_folder, zip_folder
from learnware_dock.testing import ToySpecification, ToySpecPlugin, register_plugin
from learnware_dock_isolation.client import ProcessModel
from learnware_dock_isolation.container import VenvContainer


@pytest.fixture(scope="session")
def env_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One environment cache for all tests (environments are reused, as in real use)."""
    return tmp_path_factory.mktemp("dock-cache")


@pytest.fixture(autouse=True)
def _cache_env(env_cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOCK_CACHE", str(env_cache))


@pytest.fixture
def toy_market(market: Market) -> Iterator[Market]:
    """The ``market`` fixture with :class:`ToySpecification` registered."""
    with register_plugin(market.pm, ToySpecPlugin()):
        yield market


def build_from_source(
    dest: Path,
    source: str,
    *,
    class_name: str = "Model",
    requirements: str = "numpy\n",
    files: dict[str, bytes] | None = None,
    dimension: int = 4,
) -> Path:
    """A learnware zip whose ``__init__.py`` is ``source``."""
    X = np.random.default_rng(0).normal(size=(50, dimension))
    folder = write_folder(
        dest,
        model_source=source,
        class_name=class_name,
        stat_specs={"stat.json": ToySpecification.generate(X)},
        files=files,
        requirements=requirements,
    )
    return zip_folder(folder, dest.with_suffix(".zip"))


@pytest.fixture
def make_package() -> Callable[..., Path]:
    """``make_package(dest, source, ...)``: see :func:`build_from_source`."""
    return build_from_source


@pytest.fixture
def start(tmp_path: Path, env_cache: Path) -> Iterator[Callable[..., ProcessModel]]:
    """``start(source, **options)`` -> a running model of a package built from source."""
    opened: list[ProcessModel] = []
    roots = []

    def run(
        source: str,
        *,
        class_name: str = "Model",
        requirements: str = "numpy\n",
        files: dict[str, bytes] | None = None,
        **options: object,
    ) -> ProcessModel:
        archive = build_from_source(
            tmp_path / f"pkg{len(roots)}",
            source,
            class_name=class_name,
            requirements=requirements,
            files=files,
        )
        context = extracted(archive)
        root = context.__enter__()
        roots.append(context)
        built = container_options(VenvContainer, options)
        model = VenvContainer().load(root, Manifest.read(root), built)
        opened.append(model)
        return model

    yield run
    for model in opened:
        model.close()
    for context in roots:
        context.__exit__(None, None, None)
    leaked = [m for m in sys.modules if m.startswith("_learnware_package")]
    assert not leaked, f"package modules imported into the dock: {leaked}"


@pytest.fixture
def require_sandbox() -> None:
    """Skip without a working bubblewrap, unless ``DOCK_REQUIRE_SANDBOX=1`` (CI): fail."""
    from learnware_dock_isolation import sandbox

    reason = sandbox.available()
    if reason is None:
        return
    if os.environ.get("DOCK_REQUIRE_SANDBOX") == "1":
        pytest.fail(f"DOCK_REQUIRE_SANDBOX=1 but {reason}")
    pytest.skip(reason)

"""Runs ``docs/containers.md`` from top to bottom, so the guide cannot rot.

The page follows the conventions of ``writing-plugins.md`` and is run by the same machinery
(:func:`run_tutorial` of ``docs/test_writing_plugins.py``, loaded here under a private
name and pointed at this guide): ``bash`` blocks in one shell session, ``# file:`` blocks
written, consecutive ``pycon`` blocks one doctest session (so the predictions, the timeout
and the crash it shows are checked), ``# from`` excerpts verbatim, ``text`` shown only.
``python -m pip install -e .`` is replaced by that module's ``fake_editable_install``.

The guide's ``subprocess`` container is this project's third-party container: besides the
guide's own run (a real plugin distribution found by entry point, ``Market.load`` and
``dock run --container subprocess``), it is registered in this process and driven through
``Market.load`` directly.
"""

from __future__ import annotations

import importlib.util
import os
import re
import shlex
import sys
import types
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from learnware_dock import Market
from learnware_dock.errors import ContainerError
from learnware_dock.interfaces import Container, ModelInfo
from learnware_dock.loading import choose_container
from learnware_dock.package import write_folder, zip_folder
from learnware_dock.plugins import DockPluginManager
from learnware_dock.testing import build_package, register_plugin, table_semantic_spec

DOCS = Path(__file__).resolve().parent
REPO = DOCS.parent
GUIDE = DOCS / "containers.md"
RUNNER = DOCS / "test_writing_plugins.py"


def _runner() -> Any:
    """The tutorial runner of ``test_writing_plugins.py``, reporting lines of this guide."""
    spec = importlib.util.spec_from_file_location("_containers_guide_runner", RUNNER)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    module.TUTORIAL = GUIDE
    return module


shared = _runner()


def blocks() -> list[Any]:
    return list(shared.parse(GUIDE.read_text(encoding="utf-8")))


def file_block(path: str) -> str:
    (body,) = [b.body for b in blocks() if b.kind == "file" and b.path == path]
    return str(body)


@pytest.mark.slow
def test_guide_runs(tmp_path: Path) -> None:
    parsed = blocks()
    assert {"bash", "file", "pycon", "excerpt", "shown"} <= {b.kind for b in parsed}
    bin_dir = Path(sys.executable).parent
    assert (bin_dir / "dock").exists(), f"no `dock` next to {sys.executable}"
    site, work, state = tmp_path / "site", tmp_path / "work", tmp_path / "state"
    for folder in (site, work, state):
        folder.mkdir()
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DOCK_", "PYTEST_", "PYTHON")) and k != "COLUMNS"
    }
    env.update(
        PATH=f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}",
        PYTHONPATH=str(site),
        PYTHONDONTWRITEBYTECODE="1",
        PYTHONWARNINGS="error",
        COLUMNS="120",
    )
    for name in ("DOCK_ALLOW_UNSANDBOXED", "DOCK_REQUIRE_SANDBOX"):  # the sandbox policy
        if name in os.environ:
            env[name] = os.environ[name]
    install = " ".join(
        shlex.quote(part)
        for part in (sys.executable, str(RUNNER), "fake-editable-install", ".", str(site))
    )
    terminal = shared.Terminal(work, env, state)

    assert shared.run_tutorial(parsed, terminal, install) == 1, "one `pip install -e .`"

    assert terminal.env["DOCK_HOME"] == str(work / "dock-home")
    listing = terminal.output_of(shared.INSTALL)
    row = r"subprocess\s*│\s*learnware-dock-subprocess\s*│\s*0\.1\.0\s*│\s*loaded"
    assert re.search(row, listing), listing
    assert re.search(r"^containers: .*\bsubprocess\b", listing, re.M), listing

    ran = terminal.output_of("--container subprocess")
    assert re.search(r"wrote \(2,\) to out\.npy \([\d.]+ s, 2 rows\)", ran), ran
    assert "[0 1]" in ran
    project = work / "learnware-dock-subprocess"
    predicted = np.load(project / "out.npy")
    with (
        Market(work / "dock-home" / "containers-demo") as market,
        market.load("00000001", container="inprocess") as trusted,
    ):
        expected = trusted.predict(np.load(project / "X.npy"))
    np.testing.assert_array_equal(predicted, expected)
    assert predicted.tolist() == [0, 1]


def test_the_guide_uses_public_names_only() -> None:
    sources = [b.body for b in blocks() if b.kind == "file" and b.path.endswith(".py")]
    sessions = [b.body for b in blocks() if b.kind == "pycon"]
    assert len(sources) == 3 and sessions
    for text in [*sources, *sessions]:
        for private in ("learnware_dock.defaults", "learnware_dock_isolation", "_docker"):
            assert private not in text
    modules = set()
    for text in [*sources, *sessions]:
        modules |= set(re.findall(r"^(?:>>> )?from (learnware_dock[\w.]*) import", text, re.M))
    assert "learnware_dock.protocol" in modules
    for name in modules:
        importlib.import_module(name)  # every name the guide imports exists


def test_excerpts_match_the_repository() -> None:
    excerpts = [b for b in blocks() if b.kind == "excerpt"]
    assert len(excerpts) == 2
    for block in excerpts:
        source = (REPO / block.path).read_text(encoding="utf-8")
        assert block.body in source, f"{GUIDE.name}:{block.line} is not in {block.path}"


@pytest.fixture
def guide_plugin() -> Iterator[types.ModuleType]:
    """The guide's ``container.py`` and ``hooks.py``, as modules of this process."""
    package = types.ModuleType("learnware_dock_subprocess")
    package.__path__ = []
    sys.modules["learnware_dock_subprocess"] = package
    try:
        for name in ("container", "hooks"):
            module = types.ModuleType(f"learnware_dock_subprocess.{name}")
            sys.modules[module.__name__] = module
            code = file_block(f"src/learnware_dock_subprocess/{name}.py")
            exec(compile(code, f"{GUIDE.name}:{name}.py", "exec"), module.__dict__)
            setattr(package, name, module)
        yield package
    finally:
        for name in ("container", "hooks"):
            sys.modules.pop(f"learnware_dock_subprocess.{name}", None)
        sys.modules.pop("learnware_dock_subprocess", None)


MOODY = """
import os, sys, time
import numpy as np

class Moody:
    input_shape = (3,)
    output_shape = (1,)

    def predict(self, X):
        if X[0, 0] == -1000:
            time.sleep(60)
        if X[0, 0] == 1000:
            sys.stderr.write("about to crash\\n")
            sys.stderr.flush()
            os._exit(3)
        return (np.asarray(X)[:, 0] > 2.5).astype(int)
"""


def test_the_guide_container_through_market_load(
    tmp_path: Path,
    plugin_manager: DockPluginManager,
    guide_plugin: types.ModuleType,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DOCK_CACHE", str(tmp_path / "cache"))
    rng = np.random.default_rng(1)
    X = np.vstack([rng.normal(0, 1, (20, 3)), rng.normal(5, 1, (20, 3))])
    centroids = build_package(tmp_path / "c", X, np.repeat([0, 1], 20), stat_specs={})
    folder = write_folder(tmp_path / "moody", model_source=MOODY, class_name="Moody")
    moody = zip_folder(folder, tmp_path / "moody.zip")
    cls: type[Container] = guide_plugin.container.SubprocessContainer
    assert cls.trusted_only and cls.name == "subprocess"
    with (
        register_plugin(plugin_manager, guide_plugin.hooks),
        Market(tmp_path / "market", plugin_manager=plugin_manager) as market,
    ):
        checks = ["package", "semantic"]  # the stat checker would build a venv: not needed
        first = market.add(centroids, table_semantic_spec("c", dimension=3), checkers=checks)
        second = market.add(moody, table_semantic_spec("m", dimension=3), checkers=checks)
        assert market.components.containers.get("subprocess") is cls
        assert choose_container(market.components) is not cls  # trusted_only: only by name
        with (
            market.load(first.id, container="inprocess") as trusted,
            market.load(first.id, container="subprocess") as model,
        ):
            np.testing.assert_array_equal(model.predict(X), trusted.predict(X))
            assert (model.predict(X)[:20] == 0).mean() > 0.9
            assert model.info == ModelInfo((3,), (1,), ("predict",)) == trusted.info
            assert model.ready["pid"] != os.getpid()

        with market.load(second.id, container="subprocess", timeout=1.5) as model:
            with pytest.raises(ContainerError, match=r"predict did not finish within 1.5 s"):
                model.predict(np.full((1, 3), -1000.0))
            with pytest.raises(ContainerError, match=r"died during predict \(exit code 3\)") as e:
                model.predict(np.full((1, 3), 1000.0))
            assert "about to crash" in str(e.value)  # the stderr tail
            assert model.predict(np.array([[0.0, 0, 0], [5, 5, 5]])).tolist() == [0, 1]
            assert model.restarts == 2

        with pytest.raises(ContainerError, match=r"unknown option 'pyhton' \(did you mean"):
            market.load(first.id, container="subprocess", pyhton=sys.executable)
        with pytest.raises(ContainerError, match="load_timeout must be a positive number"):
            market.load(first.id, container="subprocess", load_timeout=-1)
        python = Path(sys.executable)
        with market.load(first.id, container="subprocess", python=str(python)) as model:
            assert model.argv[0] == str(python)  # the option of its own, parsed to a Path
            assert model.predict(X[:2]).shape == (2,)

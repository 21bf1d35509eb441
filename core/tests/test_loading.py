"""Market.load and `dock run`: unpack once into the cache, choose a container, predict."""

from __future__ import annotations

import inspect
import os
import textwrap
import types
from pathlib import Path
from typing import ClassVar

import attrs
import numpy as np
import pytest

from learnware_dock import Market, hookimpl
from learnware_dock.cli import main
from learnware_dock.defaults.inprocess.container import InProcessContainer
from learnware_dock.errors import ContainerError
from learnware_dock.interfaces import Container, ContainerOptions, LoadedModel, ModelInfo
from learnware_dock.loading import choose_container, unpacked
from learnware_dock.options import option
from learnware_dock.package.manifest import Manifest
from learnware_dock.plugins import DockPluginManager, get_plugin_manager
from learnware_dock.registry import Components
from learnware_dock.testing import build_package, register_plugin, table_semantic_spec


@pytest.fixture
def stored(
    tmp_path: Path, toy_market: Market, monkeypatch: pytest.MonkeyPatch
) -> tuple[Market, str, np.ndarray]:
    rng = np.random.default_rng(3)
    monkeypatch.setenv("DOCK_CACHE", str(tmp_path / "cache"))
    X = np.vstack([rng.normal(0, 1, (40, 3)), rng.normal(4, 1, (40, 3))])
    y = np.repeat([0, 1], 40)
    lw = toy_market.add(build_package(tmp_path / "pkg", X, y), table_semantic_spec(dimension=3))
    return toy_market, lw.id, X


def test_load_inprocess_predicts_and_unpacks_once(
    tmp_path: Path, stored: tuple[Market, str, np.ndarray]
) -> None:
    market, lw_id, X = stored
    with market.load(lw_id, container="inprocess") as model:
        got = model.predict(X)
    assert (got[:40] == 0).mean() > 0.9 and (got[40:] == 1).mean() > 0.9
    root = unpacked(market.get(lw_id))
    assert root == tmp_path / "cache" / "unpacked" / market.get(lw_id).sha256
    assert (root / "learnware.yaml").is_file()
    assert not os.access(root / "__init__.py", os.W_OK) or os.geteuid() == 0
    assert not (root / "__init__.py").stat().st_mode & 0o222  # read-only, even for root
    before = (root / "learnware.yaml").stat().st_mtime_ns
    assert unpacked(market.get(lw_id)) == root
    assert (root / "learnware.yaml").stat().st_mtime_ns == before
    assert [p.name for p in root.parent.iterdir()] == [root.name]  # no scratch left behind


def test_without_an_isolating_container_loading_says_what_to_install(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DOCK_DISABLE_PLUGINS", "isolation,docker")
    components = Components(get_plugin_manager())
    with pytest.raises(ContainerError, match="pip install learnware-dock-isolation"):
        choose_container(components)
    assert choose_container(components, "inprocess").name == "inprocess"


def test_dock_run_writes_predictions(
    tmp_path: Path, stored: tuple[Market, str, np.ndarray], capsys: pytest.CaptureFixture[str]
) -> None:
    market, lw_id, X = stored
    np.save(tmp_path / "X.npy", X)
    args = ["run", lw_id, str(tmp_path / "X.npy"), "--market", str(market.root)]
    out = tmp_path / "out.npy"
    with market.load(lw_id, container="inprocess") as model:
        want = model.predict(X)
    assert main([*args, "-o", str(out), "--container", "inprocess"]) == 0
    np.testing.assert_array_equal(np.load(out), want)
    assert "wrote (80,)" in capsys.readouterr().out
    assert main([*args, "-o", str(tmp_path / "out.txt"), "--container", "inprocess"]) == 1
    assert "must be a .npy file" in capsys.readouterr().err
    code = main([*args, "-o", str(out), "--container", "inprocess", "--proba"])
    assert code == 1
    assert "has no predict_proba" in capsys.readouterr().err
    assert main([*args, "-o", str(out), "--container", "nope"]) == 1
    assert "nope" in capsys.readouterr().err
    inprocess = [*args, "-o", str(out), "--container", "inprocess"]
    assert main([*inprocess, "--timeout", "0"]) == 1  # --timeout is a container option
    assert "timeout must be a positive number of seconds, not 0.0" in capsys.readouterr().err
    assert main([*inprocess, "-O", "memory_limit=12"]) == 1
    assert "memory_limit must be None (no limit) or" in capsys.readouterr().err
    assert main([*inprocess, "-O", "timeout=5", "--option", "cpus=2", "-O", "x=y"]) == 1
    err = capsys.readouterr().err
    assert "unknown option 'cpus'" in err and "unknown option 'x'" in err
    assert main([*inprocess, "--timeout", "5", "-O", "memory_limit=none"]) == 0
    np.testing.assert_array_equal(np.load(out), want)


@attrs.frozen
class RecordingOptions(ContainerOptions):
    label: str = option("plain", help="A label, recorded.")


class RecordingContainer(Container):
    """An "isolating" container of the highest priority (it runs the model in process:
    fine for these tests' own packages); records the options it gets."""

    name = "recording"
    priority = 1000
    options_class = RecordingOptions
    seen: ClassVar[list[ContainerOptions]] = []

    def load(self, root: Path, manifest: Manifest, options: ContainerOptions) -> LoadedModel:
        type(self).seen.append(options)
        return InProcessContainer().load(root, manifest, options)


class TrustedTop(InProcessContainer):
    name = "trusted-top"
    priority = 10**6


class Containers:
    def __init__(self, *classes: type[Container]) -> None:
        self.classes = list(classes)

    @hookimpl
    def dock_register_containers(self) -> list[type[Container]]:
        return self.classes


def test_the_default_container_is_the_highest_priority_untrusted_one(
    plugin_manager: DockPluginManager,
) -> None:
    with register_plugin(plugin_manager, Containers(RecordingContainer, TrustedTop)):
        assert choose_container(Components(plugin_manager)) is RecordingContainer
    with register_plugin(plugin_manager, Containers(TrustedTop)):
        components = Components(plugin_manager)
        with pytest.raises(ContainerError, match="no isolating container is installed"):
            choose_container(components)  # trusted_only ones are never chosen by default
        assert choose_container(components, "trusted-top") is TrustedTop


def test_options_are_built_and_validated_through_market_load(
    stored: tuple[Market, str, np.ndarray],
) -> None:
    market, lw_id, X = stored
    RecordingContainer.seen.clear()
    with register_plugin(market.pm, Containers(RecordingContainer)):
        with market.load(lw_id, timeout="5", memory_limit="none", label="x") as model:
            assert (model.predict(X)[:40] == 0).mean() > 0.9
        with market.load(lw_id) as model:
            pass
    assert RecordingContainer.seen == [
        RecordingOptions(timeout=5.0, memory_limit=None, label="x"),
        RecordingOptions(timeout=60.0, load_timeout=120.0, memory_limit=4 << 30),
    ]
    with pytest.raises(ContainerError) as error:
        market.load(lw_id, container="inprocess", timeuot=5, memory_limit=1000)
    message = str(error.value)
    assert message.startswith("container 'inprocess': unknown option 'timeuot'")
    assert "(did you mean 'timeout'?)" in message
    assert "(its options: timeout, load_timeout, memory_limit, network)" in message
    with pytest.raises(ContainerError, match=r"memory_limit must be None .* at least 67108864"):
        market.load(lw_id, container="inprocess", memory_limit=1000)
    with pytest.raises(ContainerError, match="timeout must be a positive number"):
        market.load(lw_id, container="inprocess", timeout=0)
    with pytest.raises(ContainerError, match="network: 'maybe' is not bool"):
        market.load(lw_id, container="inprocess", network="maybe")


def test_inprocess_model_info_comes_from_the_model_object(
    stored: tuple[Market, str, np.ndarray],
) -> None:
    market, lw_id, _ = stored
    with market.load(lw_id, container="inprocess") as model:
        assert model.info == ModelInfo((3,), (1,), ("predict",))

    class Bare(LoadedModel):
        def predict(self, X: np.ndarray) -> np.ndarray:
            return X

    assert Bare().info == ModelInfo(None, None, ("predict",))  # the interface's default


def test_the_interface_docstring_container_runs_the_worker(
    stored: tuple[Market, str, np.ndarray],
) -> None:
    """The complete minimal plugin of ``Container``'s docstring, on public names only."""
    doc = inspect.getdoc(Container) or ""
    code = textwrap.dedent(doc.split("::", 1)[1])
    assert "learnware_dock.defaults" not in code
    module = types.ModuleType("doc_plugin_container")
    exec(compile(code, module.__name__, "exec"), module.__dict__)
    market, lw_id, X = stored
    with register_plugin(market.pm, module):
        with pytest.raises(ContainerError, match="no isolating container"):
            market.load(lw_id)  # trusted_only: never the default
        with market.load(lw_id, container="inprocess") as trusted:
            want = trusted.predict(X)
        with market.load(lw_id, container="counting", timeout=30) as model:
            np.testing.assert_array_equal(model.predict(X), want)
            assert model.info == ModelInfo((3,), (1,), ("predict",))
            assert model.timeout == 30.0
            pid = model.ready["pid"]
            assert isinstance(pid, int) and pid != os.getpid()  # a child process
    assert module.CountingContainer.loads == 1

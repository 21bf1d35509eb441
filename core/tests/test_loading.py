"""Market.load and `dock run`: unpack once into the cache, choose a container, predict."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from learnware_dock import Market
from learnware_dock.cli import main
from learnware_dock.errors import ContainerError
from learnware_dock.loading import choose_container, unpacked
from learnware_dock.plugins import get_plugin_manager
from learnware_dock.registry import Components
from learnware_dock.testing import build_package, table_semantic_spec


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

"""`dock reuse`: search with an RKME file, reuse the mixture on the rows, save predictions."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pytest
from rich.console import Console

from learnware_dock.cli import main
from learnware_dock.demo import USER_CLASSES, run_demo


@pytest.fixture
def demo_market(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("DOCK_DISABLE_PLUGINS", "isolation,docker")  # our own demo models
    console = Console(file=io.StringIO())
    with run_demo(str(tmp_path / "demo"), console=console) as market:
        assert "(not reusing: no isolating container is installed" in console.file.getvalue()  # type: ignore[attr-defined]
        return market.root


@pytest.mark.parametrize("method", ["averaging", "job-selector"])
def test_dock_reuse_predicts_the_users_digits(
    tmp_path: Path, demo_market: Path, capsys: pytest.CaptureFixture[str], method: str
) -> None:
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    X = X / 16.0
    rows = np.flatnonzero(np.isin(y, USER_CLASSES))[::2]
    np.save(tmp_path / "X.npy", X[rows])
    spec = tmp_path / "user.json"
    assert main(["spec", "table", str(tmp_path / "X.npy"), "-o", str(spec)]) == 0
    out = tmp_path / f"{method}.npy"
    args = ["reuse", str(tmp_path / "X.npy"), "--stat", str(spec), "-o", str(out)]
    args += ["--method", method, "--container", "inprocess", "--market", str(demo_market)]
    capsys.readouterr()
    assert main([*args, "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["method"] == method and report["mixture"]
    assert sum(m["weight"] for m in report["mixture"]) == pytest.approx(1.0)
    assert (np.load(out) == y[rows]).mean() > 0.9


def test_dock_reuse_errors(
    tmp_path: Path, demo_market: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    np.save(tmp_path / "X.npy", np.zeros((3, 64)))
    base = ["reuse", str(tmp_path / "X.npy"), "--market", str(demo_market)]
    assert main([*base, "--stat", "missing.json", "-o", str(tmp_path / "o.npy")]) == 1
    assert "cannot read statistical spec" in capsys.readouterr().err
    assert main([*base, "--stat", "x.json", "-o", str(tmp_path / "o.npy"), "--method", "vote"]) == 1
    assert "--method must be one of job-selector, averaging" in capsys.readouterr().err

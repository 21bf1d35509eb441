"""`dock add` / `dock check` / `dock run` with the stat checker and the venv container."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from learnware_dock.cli import main
from learnware_dock.testing import build_package, table_semantic_spec


def test_dock_add_of_a_digits_learnware_runs_the_stat_checker(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rkme = pytest.importorskip("learnware_dock_rkme")
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    X = X / 16.0
    mask = np.isin(y, (3, 8))
    spec = rkme.RKMETableSpecification.generate(X[mask], K=30, seed=0)
    archive = build_package(tmp_path / "digits", X[mask], y[mask], stat_specs={"rkme.json": spec})
    semantic = tmp_path / "semantic.json"
    semantic.write_text(
        json.dumps(table_semantic_spec("digits 3/8", dimension=64, classes=10).to_dict())
    )
    market = ["--market", str(tmp_path / "market")]
    assert main(["check", str(archive), "-s", str(semantic), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    stat = next(r for r in report["results"] if r["checker"] == "stat")
    assert report["status_name"] == "USABLE"
    assert "16 rows of its RKMETableSpecification" in stat["message"]
    assert stat["seconds"] > 0
    assert main(["add", str(archive), "-s", str(semantic), *market, "--json"]) == 0
    added = json.loads(capsys.readouterr().out)
    assert added["status"] == 1  # USABLE
    np.save(tmp_path / "X.npy", X[mask][:20])
    out = tmp_path / "pred.npy"
    assert main(["run", added["id"], str(tmp_path / "X.npy"), "-o", str(out), *market]) == 0
    predicted = np.load(out)  # the centroid model's class index: 0 for 3, 1 for 8
    assert (predicted == (y[mask][:20] == 8)).mean() > 0.8

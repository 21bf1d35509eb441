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
    assert report["status"] == "USABLE" and stat["status"] == "USABLE"
    assert "16 rows of its RKMETableSpecification" in stat["message"]
    assert main(["add", str(archive), "-s", str(semantic), *market, "--json"]) == 0
    added = json.loads(capsys.readouterr().out)
    assert added["status"] == "USABLE" and added["report"]["status"] == "USABLE"
    np.save(tmp_path / "X.npy", X[mask][:20])
    out = tmp_path / "pred.npy"
    assert main(["run", added["id"], str(tmp_path / "X.npy"), "-o", str(out), *market]) == 0
    predicted = np.load(out)  # the centroid model's class index: 0 for 3, 1 for 8
    assert (predicted == (y[mask][:20] == 8)).mean() > 0.8


GARBAGE_ON_THREE_ROWS = """
import os, stat, struct
import numpy as np

class Model:
    input_shape = (4,)
    output_shape = (1,)

    def predict(self, X):
        if len(X) != 3:
            return np.zeros(len(X), dtype=int)
        header = b"[" * 10000 + b"]" * 10000
        for name in os.listdir("/proc/self/fd"):  # the worker's copy of stdout
            fd = int(name)
            if fd > 2 and stat.S_ISFIFO(os.fstat(fd).st_mode):
                flags = open(f"/proc/self/fdinfo/{fd}").read().split("flags:")[1].split()[0]
                if int(flags, 8) & os.O_WRONLY:
                    os.write(fd, struct.pack(">I", len(header)) + header)
        import time
        time.sleep(30)
"""


def test_dock_run_facing_a_worker_that_sends_garbage_is_a_one_line_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rkme = pytest.importorskip("learnware_dock_rkme")
    from learnware_dock.package.writer import write_folder, zip_folder

    X = np.random.default_rng(0).normal(size=(60, 4))
    folder = write_folder(
        tmp_path / "garbage",
        model_source=GARBAGE_ON_THREE_ROWS,
        class_name="Model",
        stat_specs={"rkme.json": rkme.RKMETableSpecification.generate(X, K=10, seed=0)},
        requirements="numpy\n",
    )
    archive = zip_folder(folder, tmp_path / "garbage.zip")
    semantic = tmp_path / "semantic.json"
    semantic.write_text(json.dumps(table_semantic_spec("garbage", dimension=4).to_dict()))
    market = ["--market", str(tmp_path / "market")]
    assert main(["add", str(archive), "-s", str(semantic), *market, "--json"]) == 0
    added = json.loads(capsys.readouterr().out)
    np.save(tmp_path / "X.npy", X[:3])
    args = ["run", added["id"], str(tmp_path / "X.npy"), "-o", str(tmp_path / "p.npy")]
    assert main([*args, *market, "--timeout", "20"]) == 1
    err = capsys.readouterr().err.strip()
    assert "malformed reply to predict" in err and "nested deeper than 32" in err
    assert "Traceback" not in err and not (tmp_path / "p.npy").exists()

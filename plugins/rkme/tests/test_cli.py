"""`dock spec table` and `dock search --stat` end to end through the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from learnware_dock import Market
from learnware_dock.cli import main
from learnware_dock.testing import build_package, table_semantic_spec
from learnware_dock_rkme import RKMETableSpecification


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def two_blob_market(tmp_path: Path) -> Path:
    rng = np.random.default_rng(3)
    root = tmp_path / "market"
    with Market(root) as market:
        for name, centre in (("left", 0.0), ("right", 4.0)):
            X = rng.normal(centre, 1.0, size=(300, 3))
            spec = RKMETableSpecification.generate(X, K=30)
            package = build_package(
                tmp_path / name, X, (X[:, 0] > centre).astype(int), stat_specs={"rkme.json": spec}
            )
            market.add(package, table_semantic_spec(name, dimension=3))
    return root


def test_spec_then_search_with_mixture(
    tmp_path: Path, two_blob_market: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rng = np.random.default_rng(4)
    user = np.vstack([rng.normal(0.0, 1.0, size=(150, 3)), rng.normal(4.0, 1.0, size=(150, 3))])
    np.save(tmp_path / "user.npy", user)
    code, out, err = run(
        capsys,
        "spec",
        "table",
        str(tmp_path / "user.npy"),
        "-o",
        str(tmp_path / "u.json"),
        "--k",
        "40",
        "--seed",
        "1",
        "--json",
    )
    assert code == 0, err
    assert json.loads(out) == {
        "output": str(tmp_path / "u.json"),
        "type": "RKMETableSpecification",
        "rows": 300,
    }
    assert len(json.loads((tmp_path / "u.json").read_text())["z"]) == 40
    code, out, err = run(
        capsys,
        "search",
        "--stat",
        str(tmp_path / "u.json"),
        "--top",
        "2",
        "--mixture",
        "greedy",
        "-m",
        str(two_blob_market),
        "--json",
    )
    assert code == 0, err
    result = json.loads(out)
    assert result["searcher"] == "rkme"
    assert len(result["singles"]) == 2
    mixture = result["mixtures"][0]
    ids = [lw["id"] for lw in mixture["learnwares"]]
    weights = dict(zip(ids, mixture["weights"], strict=True))
    assert set(weights) == {"00000001", "00000002"}
    assert weights["00000001"] == pytest.approx(0.5, abs=0.1)
    code, out, _ = run(
        capsys, "search", "--stat", str(tmp_path / "u.json"), "-m", str(two_blob_market)
    )
    assert code == 0
    assert "mixture 1" in out and "weight" in out


def test_spec_reads_csv_with_header_and_warns_on_degenerate_kernels(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rng = np.random.default_rng(5)
    rows = rng.normal(size=(60, 2)) * 100.0  # wide scale: gamma 0.1 kernels vanish
    (tmp_path / "d.csv").write_text("a,b\n" + "\n".join(f"{x},{y}" for x, y in rows))
    code, _, err = run(
        capsys, "spec", "table", str(tmp_path / "d.csv"), "-o", str(tmp_path / "d.json")
    )
    assert code == 0
    assert "warning: gamma=0.1 is too large" in err
    loaded = RKMETableSpecification.load(tmp_path / "d.json")
    assert loaded.dimension == 2 and loaded.num_points == 60
    code, _, err = run(
        capsys,
        "spec",
        "table",
        str(tmp_path / "d.csv"),
        "-o",
        str(tmp_path / "m.json"),
        "--gamma",
        "median",
    )
    assert code == 0 and "warning" not in err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["spec", "audio", "x.npy", "-o", "o.json"],
            "no specification for data type 'audio'; installed data types: image, table, text",
        ),
        (["spec", "table", "x.txt", "-o", "o.json"], "use a .npy, .csv or .parquet file"),
        (["spec", "table", "missing.npy", "-o", "o.json"], "cannot read a numeric table"),
        (["spec", "table", "x.npy", "-o", "o.json", "--gamma", "wide"], "--gamma must be a number"),
    ],
)
def test_spec_errors(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    args: list[str],
    message: str,
) -> None:
    monkeypatch.chdir(tmp_path)
    np.save(tmp_path / "x.npy", np.ones((5, 2)))
    (tmp_path / "x.txt").write_text("1,2\n")
    code, _, err = run(capsys, *args)
    assert code == 1
    assert message in err


def test_search_with_a_stat_file_without_type(
    tmp_path: Path, two_blob_market: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "bad.json").write_text(json.dumps({"z": [[0.0]], "beta": [1.0]}))
    code, _, err = run(
        capsys, "search", "--stat", str(tmp_path / "bad.json"), "-m", str(two_blob_market)
    )
    assert code == 1
    assert "has no 'type' key" in err

"""`dock reuse --method NAME`: search with an RKME file, reuse the mixture on the rows with
each of this plugin's reusers (options through -O, labels through --labels)."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from rich.console import Console

from learnware_dock.cli import main
from learnware_dock.demo import USER_CLASSES, run_demo


@pytest.fixture(scope="module")
def demo_market(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The demo market (built once for this module), with our own demo models only."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DOCK_DISABLE_PLUGINS", "isolation,docker")
        console = Console(file=io.StringIO())
        with run_demo(str(tmp_path_factory.mktemp("demo") / "demo"), console=console) as market:
            assert "(not reusing: no isolating container is installed" in console.file.getvalue()  # type: ignore[attr-defined]
            root = market.root
        yield root


@pytest.fixture
def user(tmp_path: Path, demo_market: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Path]:
    """The demo user's rows (digits 1 and 7), their labels and their RKME file."""
    from sklearn.datasets import load_digits

    monkeypatch.setenv("DOCK_DISABLE_PLUGINS", "isolation,docker")
    X, y = load_digits(return_X_y=True)
    rows = np.flatnonzero(np.isin(y, USER_CLASSES))[::2]
    np.save(tmp_path / "X.npy", X[rows] / 16.0)
    np.save(tmp_path / "y.npy", y[rows])
    np.savetxt(tmp_path / "y.csv", y[rows], fmt="%d", header="label", comments="")
    spec = tmp_path / "user.json"
    assert main(["spec", "table", str(tmp_path / "X.npy"), "-o", str(spec)]) == 0
    return {"X": tmp_path / "X.npy", "y": tmp_path / "y.npy", "csv": tmp_path / "y.csv"} | {
        "stat": spec,
        "market": demo_market,
        "out": tmp_path / "out.npy",
    }


def reuse(user: dict[str, Path], *args: str) -> list[str]:
    return [
        "reuse",
        str(user["X"]),
        "--stat",
        str(user["stat"]),
        "-o",
        str(user["out"]),
        "--container",
        "inprocess",
        "--market",
        str(user["market"]),
        *args,
    ]


#: the job selector's default options
JOB_SELECTOR = {
    "router": "kernel-logistic",
    "pseudo_samples": "reduced-set",
    "regularisation": 0.1,
    "samples": 1000,
    "selector_iterations": 50,
    "seed": 0,
}


@pytest.mark.parametrize(
    ("method", "options", "built"),
    [
        ("averaging", [], {"weighted": False, "softmax": True}),
        (
            "averaging",
            ["-O", "weighted=true", "-O", "softmax=false"],
            {"weighted": True, "softmax": False},
        ),
        ("job-selector", [], {**JOB_SELECTOR, "samples": 1000, "seed": 0}),
        (
            "job-selector",
            ["-O", "seed=3", "-O", "pseudo_samples=herding", "-O", "samples=400"],
            {**JOB_SELECTOR, "pseudo_samples": "herding", "samples": 400, "seed": 3},
        ),
        (
            "job-selector",
            ["-O", "router=boosting", "-O", "regularisation=0.5"],
            {**JOB_SELECTOR, "router": "boosting", "regularisation": 0.5},
        ),
    ],
)
def test_dock_reuse_predicts_the_users_digits_without_labels(
    user: dict[str, Path],
    capsys: pytest.CaptureFixture[str],
    method: str,
    options: list[str],
    built: dict[str, object],
) -> None:
    capsys.readouterr()
    assert main([*reuse(user, "--method", method, *options), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert set(report) == {"output", "method", "options", "mixture", "seconds"}
    assert report["method"] == method and report["options"] == built and report["mixture"]
    assert sum(m["weight"] for m in report["mixture"]) == pytest.approx(1.0)
    assert (np.load(user["out"]) == np.load(user["y"])).mean() > 0.9


@pytest.mark.parametrize(
    ("method", "options", "labels", "built"),
    [
        (
            "ensemble-pruning",
            ["-O", "population=10", "-O", "generations=5"],
            "y",
            {"population": 10, "generations": 5, "seed": 0},
        ),
        ("feature-augment", ["-O", "cv=2", "-O", "seed=1"], "csv", {"cv": 2, "seed": 1}),
    ],
)
def test_dock_reuse_with_labels(
    user: dict[str, Path],
    capsys: pytest.CaptureFixture[str],
    method: str,
    options: list[str],
    labels: str,
    built: dict[str, object],
) -> None:
    args = reuse(user, "--method", method, *options)
    assert main(args) == 1
    assert f"error: reuser {method!r} needs labels: pass --labels y.npy" in capsys.readouterr().err
    assert not user["out"].exists()
    assert main([*args, "--labels", str(user[labels]), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["method"] == method and report["options"] == built
    assert (np.load(user["out"]) == np.load(user["y"])).mean() > 0.9


def test_dock_reuse_default_method_and_text_output(
    user: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    assert main(reuse(user, "-O", "samples=300")) == 0
    out = capsys.readouterr().out
    assert (
        "job-selector (router=kernel-logistic, pseudo_samples=reduced-set, regularisation=0.1, "
        "samples=300, selector_iterations=50, seed=0): wrote"
    ) in " ".join(out.split())  # rich wraps long lines


def test_dock_reuse_errors(user: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(reuse(user, "--method", "vote")) == 1
    err = capsys.readouterr().err
    assert "no reuser named 'vote'; installed: averaging, ensemble-pruning" in err
    assert main(reuse(user, "--method", "ensemble-pruning", "-O", "population=1")) == 1
    assert "reuser 'ensemble-pruning': 'population' must be >= 2" in capsys.readouterr().err
    assert main(reuse(user, "--method", "job-selector", "-O", "sample=5")) == 1
    err = capsys.readouterr().err
    assert "unknown option 'sample' (did you mean 'samples'?)" in err
    assert (
        "its options: router, pseudo_samples, regularisation, samples, selector_iterations, seed"
    ) in err
    assert main(reuse(user, "-O", "weighted")) == 1
    assert "an option is NAME=VALUE, not 'weighted'" in capsys.readouterr().err
    short = user["y"].with_name("short.npy")
    np.save(short, np.zeros(3))
    assert main(reuse(user, "--method", "feature-augment", "--labels", str(short))) == 1
    assert "short.npy holds 3 labels for" in capsys.readouterr().err
    user["stat"].unlink()
    assert main(reuse(user, "--method", "averaging")) == 1
    assert "cannot read statistical spec" in capsys.readouterr().err


def test_dock_reusers_lists_this_plugins_reusers(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["reusers", "--json"]) == 0
    listed = {r["name"]: r for r in json.loads(capsys.readouterr().out)}
    assert {"averaging", "ensemble-pruning", "feature-augment", "job-selector"} <= set(listed)
    assert [listed[n]["needs_labels"] for n in ("averaging", "ensemble-pruning")] == [False, True]
    pruning = {o["name"]: o for o in listed["ensemble-pruning"]["options"]}
    assert list(pruning) == ["population", "generations", "seed"]
    assert pruning["population"] == {
        "name": "population",
        "type": "int",
        "default": 40,
        "help": "NSGA-II population size.",
    }

"""Both directions against the real ``learnware==0.4.0.post1`` package (DESIGN §4-5).

learnware -> dock: the dock reads the RKME JSON, semantic spec and zips that learnware wrote.
dock -> learnware: learnware's own EasyMarket accepts a package written by ``dock pack``,
and learnware's own ``RKMETableSpecification`` reads the dock's RKME JSON and gives the same
distances as the dock.

The learnware side runs in ``anchor_fixtures.py`` under the same interpreter, in one
subprocess per direction (see that file); the dock side runs here, in-process.
"""

from __future__ import annotations

import hashlib
import io
import json
import subprocess
import sys
import textwrap
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import pytest
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression

from learnware_dock import IOSpec, Market, SemanticSpec, Status
from learnware_dock.package import Manifest, extracted, write_folder
from learnware_dock.packing import pack_folder
from learnware_dock_rkme import RKMETableSpecification

pytestmark = pytest.mark.compat

ANCHOR = Path(__file__).with_name("anchor_fixtures.py")
PREFIX = "compat-result: "
RKME = "RKMETableSpecification"
LEARNWARE_ZIPS = ("learnware_template.zip", "learnware_manual.zip")
# Both sides compute the squared MMD in float64 (learnware: torch double; the dock: numpy
# float64) from the same JSON numbers; only summation order differs. The terms are O(0.1-1)
# and the distances O(1e-3-1e-1), so cancellation costs at most ~1e-13 relative.
DIST_RTOL = 1e-9
DIST_ATOL = 1e-12

# A duck-typed model (no learnware import): learnware's stat checker needs input_shape as a
# tuple equal to (Input.Dimension,), and predictions of shape (n, *output_shape).
DOCK_MODEL = textwrap.dedent(
    """\
    import os

    import joblib


    class DigitsModel:
        input_shape = (64,)
        output_shape = (10,)

        def __init__(self):
            here = os.path.dirname(os.path.abspath(__file__))
            self.model = joblib.load(os.path.join(here, "model.joblib"))

        def fit(self, X, y):
            self.model.fit(X, y)

        def predict(self, X):
            return self.model.predict_proba(X)

        def finetune(self, X, y):
            pass
    """
)
# learnware's own template style: the shapes come from learnware.yaml's model kwargs.
DOCK_MODEL_SHAPES_FROM_KWARGS = textwrap.dedent(
    """\
    import os

    import joblib


    class ShapedModel:
        def __init__(self, input_shape, output_shape, weights="model.joblib"):
            self.input_shape = input_shape
            self.output_shape = output_shape
            here = os.path.dirname(os.path.abspath(__file__))
            self.model = joblib.load(os.path.join(here, weights))

        def predict(self, X):
            return self.model.predict_proba(X)
    """
)


def run_anchor(mode: str, arg: Path) -> dict[str, dict[str, Any]]:
    """Run ``anchor_fixtures.py MODE ARG``; its result lines, by name."""
    proc = subprocess.run(
        [sys.executable, str(ANCHOR), mode, str(arg)],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    if proc.returncode != 0:
        pytest.fail(
            f"anchor_fixtures.py {mode} exited {proc.returncode}\n"
            f"--- stdout ---\n{proc.stdout[-4000:]}\n--- stderr ---\n{proc.stderr[-8000:]}"
        )
    results = {}
    for line in proc.stdout.splitlines():
        if line.startswith(PREFIX):
            record = json.loads(line[len(PREFIX) :])
            results[record["name"]] = record
    return results


def explain(record: Mapping[str, Any]) -> str:
    return "\n".join(f"{c['checker']}: {c['status']} {c['message']}" for c in record["checks"])


def digits() -> tuple[np.ndarray, np.ndarray]:
    X, y = load_digits(return_X_y=True)
    return X / 16.0, y


def test_job_selector_routes_rows_by_learnware_fitted_rkmes(anchor_dir: Path) -> None:
    """The learnware package's RKMEs of two learnwares on disjoint digits (1-3, 4-6): the
    job selector routes a user's rows of those digits to the learnware of their class.
    (On these files the earlier router, boosting on herded samples, routed 87%; boosting
    on the reduced sets themselves 49%.)"""
    from learnware_dock_reuse import JobSelectorReuser

    X, y = digits()
    order = np.random.default_rng(5).permutation(len(X))
    user = order[1000:1600][np.isin(y[order[1000:1600]], (1, 2, 3, 4, 5, 6))]
    specs = [
        RKMETableSpecification.load(anchor_dir / f"rkme_digits_{c}.json") for c in ("123", "456")
    ]

    class Silent:
        def predict(self, rows: np.ndarray) -> np.ndarray:
            return np.zeros((len(rows), 10))

    reuser = JobSelectorReuser([Silent(), Silent()], specs=specs, classes=10, seed=2)
    reuser.fit(X[user])
    assert reuser.mixture is not None and abs(reuser.mixture[0] - 0.5) < 0.1
    assert (reuser.route(X[user]) == (y[user] >= 4)).mean() >= 0.95


# -- learnware writes ----------------------------------------------------------------------------
@pytest.fixture(scope="session")
def anchor(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, dict[str, Any]]]:
    """Fixtures written by learnware itself (one subprocess): folder and result lines."""
    out = tmp_path_factory.mktemp("learnware-written")
    return out, run_anchor("write", out)


@pytest.fixture(scope="session")
def anchor_dir(anchor: tuple[Path, dict[str, dict[str, Any]]]) -> Path:
    return anchor[0]


@pytest.fixture(scope="session")
def anchor_semantic(anchor_dir: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((anchor_dir / "semantic_spec.json").read_text("utf-8"))
    return data


@pytest.mark.parametrize("name", LEARNWARE_ZIPS)
def test_learnware_accepts_its_own_fixtures(
    anchor: tuple[Path, dict[str, dict[str, Any]]], name: str
) -> None:
    """Guard against fixture rot: the packages the dock reads are valid learnwares."""
    record = anchor[1][name]
    assert record["status_name"] == "USABLE", explain(record)


def test_dock_reads_learnware_rkme_json(anchor_dir: Path) -> None:
    path = anchor_dir / "rkme.json"
    spec = RKMETableSpecification.load(path)
    assert spec.z.shape == (100, 64)
    assert spec.z.dtype == np.float64
    assert spec.beta.shape == (100,)
    assert spec.beta.min() >= -1e-9  # learnware's QP weights, not clipped
    assert spec.beta.sum() == pytest.approx(1.0, abs=1e-9)
    assert spec.gamma == 0.1
    assert spec.num_points == 1797
    assert spec.dimension == 64
    assert spec.dist(spec) == pytest.approx(0.0, abs=DIST_ATOL)
    # ... and writes the same JSON back: same keys, same order, same numbers.
    raw = json.loads(path.read_text("utf-8"))
    assert list(spec.to_json()) == list(raw)
    assert spec.to_json() == raw


@pytest.mark.parametrize("name", LEARNWARE_ZIPS)
def test_dock_market_accepts_learnware_zip(
    anchor_dir: Path, anchor_semantic: dict[str, Any], tmp_path: Path, name: str
) -> None:
    package = anchor_dir / name
    with Market(tmp_path / "market") as market:
        lw = market.add(package, anchor_semantic)
        # its model (written for the learnware package) ran in the venv container
        assert lw.status is Status.USABLE
        assert lw.report is not None
        stat = next(r for r in lw.report.results if r.checker == "stat")
        assert "rows of its RKMETableSpecification" in stat.message
        assert len(market) == 1
        assert lw.semantic_spec.to_dict() == anchor_semantic
        stored = market.stat_spec(lw, RKME)
        ref = lw.stat_spec_ref(RKME)
        assert ref is not None
        stored_bytes = (market.root / ref.path).read_bytes()
    with zipfile.ZipFile(package) as zf:
        member = zf.read(ref.file)
    assert stored_bytes == member
    assert ref.sha256 == hashlib.sha256(member).hexdigest()
    original = RKMETableSpecification.load(anchor_dir / "rkme.json")
    assert isinstance(stored, RKMETableSpecification)
    np.testing.assert_array_equal(stored.z, original.z)
    np.testing.assert_array_equal(stored.beta, original.beta)
    assert (stored.gamma, stored.num_points) == (original.gamma, original.num_points)


def test_dock_reads_learnware_template_tuples(anchor_dir: Path) -> None:
    """learnware's template writes shapes as ``!!python/tuple``; the dock reads plain tuples."""
    with extracted(anchor_dir / "learnware_template.zip") as root:
        assert "!!python/tuple" in (root / "learnware.yaml").read_text("utf-8")
        manifest = Manifest.read(root)
    assert manifest.model.class_name == "PickleLoadedModel"
    assert manifest.model.kwargs["input_shape"] == (64,)
    assert manifest.model.kwargs["output_shape"] == (10,)
    assert [(s.class_name, s.file_name) for s in manifest.stat_specifications] == [
        (RKME, "stat_spec.json")
    ]


def test_semantic_spec_round_trips_learnware_dict(anchor_semantic: dict[str, Any]) -> None:
    spec = SemanticSpec.from_dict(anchor_semantic)
    assert spec.to_dict() == anchor_semantic
    assert json.dumps(spec.to_dict(), sort_keys=True) == json.dumps(anchor_semantic, sort_keys=True)
    assert spec.validate() is spec
    assert spec.model == ("Others",)
    assert spec.input is not None and spec.input.dimension == 64
    assert spec.output is not None and spec.output.dimension == 10


# -- the dock writes -----------------------------------------------------------------------------
def dock_semantic_spec() -> SemanticSpec:
    return SemanticSpec(
        name="digits-logreg-dock",
        description="Logistic regression on sklearn digits, packed by dock pack.",
        data=("Table",),
        task=("Classification",),
        library=("Scikit-learn",),
        scenario=("Education",),
        license=("MIT",),
        model=("Others",),  # learnware 0.4 requires Model for Table data; the dock does not
        input=IOSpec(64, {str(i): f"pixel ({i // 8}, {i % 8})" for i in range(64)}),
        output=IOSpec(10, {str(i): f"probability of digit {i}" for i in range(10)}),
    ).validate()


@pytest.fixture(scope="session")
def dock_written(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Packages and RKME JSON written by the dock (in-process; ``dock pack`` as a CLI)."""
    out = tmp_path_factory.mktemp("dock-written")
    X, y = digits()
    model = LogisticRegression(max_iter=1000).fit(X, y)
    buffer = io.BytesIO()
    joblib.dump(model, buffer)
    weights = buffer.getvalue()
    spec = RKMETableSpecification.generate(X, seed=0)
    RKMETableSpecification.generate(X[y < 5], seed=0).save(out / "rkme_digits_0to4.json")
    semantic = out / "semantic_spec.json"
    semantic.write_text(json.dumps(dock_semantic_spec().to_dict(), indent=2), "utf-8")
    requirements = "scikit-learn>=1.4\njoblib>=1.3\nnumpy\n"

    folder = write_folder(
        out / "digits",
        model_source=DOCK_MODEL,
        class_name="DigitsModel",
        stat_specs={"rkme.json": spec},
        files={"model.joblib": weights},
        requirements=requirements,
    )
    packed = out / "dock_pack.zip"
    cli = [sys.executable, "-m", "learnware_dock", "pack", str(folder), "-o", str(packed)]
    proc = subprocess.run(
        [*cli, "-s", str(semantic), "--json"],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert json.loads(proc.stdout)["status"] == "NONUSABLE"

    shaped = write_folder(
        out / "shaped",
        model_source=DOCK_MODEL_SHAPES_FROM_KWARGS,
        class_name="ShapedModel",
        model_kwargs={"input_shape": (64,), "output_shape": (10,)},
        stat_specs={"rkme.json": spec},
        files={"model.joblib": weights},
        requirements=requirements,
    )
    shaped_zip = out / "dock_shaped.zip"
    pack_folder(shaped, shaped_zip, dock_semantic_spec())
    return {
        "out": out,
        "semantic": semantic,
        "dock_pack.zip": packed,
        "dock_shaped.zip": shaped_zip,
        "rkme_digits": folder / "rkme.json",
        "rkme_digits_0to4": out / "rkme_digits_0to4.json",
    }


@pytest.fixture(scope="session")
def learnware_verdicts(dock_written: dict[str, Path], anchor_dir: Path) -> dict[str, Any]:
    """learnware's verdicts on the dock-written files (one subprocess)."""
    request = {
        "packages": [
            {
                "name": name,
                "zip": str(dock_written[name]),
                "semantic": str(dock_written["semantic"]),
            }
            for name in ("dock_pack.zip", "dock_shaped.zip")
        ],
        "rkme": {
            "reference": str(anchor_dir / "rkme.json"),
            "specs": {
                name: str(dock_written[name]) for name in ("rkme_digits", "rkme_digits_0to4")
            },
        },
    }
    path = dock_written["out"] / "request.json"
    path.write_text(json.dumps(request), "utf-8")
    return run_anchor("check", path)


def test_learnware_market_accepts_dock_pack(
    learnware_verdicts: dict[str, Any], dock_written: dict[str, Path]
) -> None:
    record = learnware_verdicts["dock_pack.zip"]
    assert record["status"] == 1, explain(record)  # BaseChecker.USABLE_LEARNWARE
    assert [c["checker"] for c in record["checks"]] == ["EasySemanticChecker", "EasyStatChecker"]
    assert record["stored_z_shape"] == [100, 64]
    # learnware stored the dock-written semantic spec as it was sent
    sent = json.loads(dock_written["semantic"].read_text("utf-8"))
    assert record["stored_semantic_spec"] == sent


def test_learnware_market_accepts_dock_tuple_kwargs(learnware_verdicts: dict[str, Any]) -> None:
    record = learnware_verdicts["dock_shaped.zip"]
    assert record["status"] == 1, explain(record)


@pytest.mark.parametrize("name", ["rkme_digits", "rkme_digits_0to4"])
def test_learnware_reads_dock_rkme_json(
    learnware_verdicts: dict[str, Any],
    dock_written: dict[str, Path],
    anchor_dir: Path,
    name: str,
) -> None:
    record = learnware_verdicts[name]
    dock_spec = RKMETableSpecification.load(dock_written[name])
    reference = RKMETableSpecification.load(anchor_dir / "rkme.json")
    # what learnware read is what the dock wrote
    assert record["type"] == RKME
    assert record["z_shape"] == list(dock_spec.z.shape)
    assert record["z_dtype"] == "float64"
    assert record["gamma"] == dock_spec.gamma == 0.1
    assert record["num_points"] == dock_spec.num_points
    assert record["beta_sum"] == pytest.approx(1.0, abs=1e-9)
    assert record["beta_min"] >= 0.0
    # and learnware's distances agree with the dock's, both ways round
    expected = dock_spec.dist(reference)
    assert expected > 0.0
    assert record["dist"] == pytest.approx(expected, rel=DIST_RTOL, abs=DIST_ATOL)
    assert record["dist_reversed"] == pytest.approx(expected, rel=DIST_RTOL, abs=DIST_ATOL)
    assert reference.dist(dock_spec) == pytest.approx(expected, rel=DIST_RTOL, abs=DIST_ATOL)
    assert record["self_dist"] == pytest.approx(0.0, abs=DIST_ATOL)


def test_dock_and_learnware_rkme_describe_the_same_data(learnware_verdicts: dict[str, Any]) -> None:
    """The dock's RKME of digits is closer to learnware's RKME of digits than the dock's RKME
    of digits 0-4 is (the two generators summarise the same distribution)."""
    full = learnware_verdicts["rkme_digits"]["dist"]
    half = learnware_verdicts["rkme_digits_0to4"]["dist"]
    assert full < half / 2

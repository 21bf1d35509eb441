"""The `learnware` side of the compatibility tests (run with the compat env's python).

This script imports the real ``learnware==0.4.0.post1`` package, so the tests run it in a
subprocess (the import takes seconds, warns, reseeds global RNGs and writes ``~/.learnware``).
``HOME`` is pointed at a temporary folder before the import so nothing lands in the real home.

Two modes, one per direction:

``python anchor_fixtures.py write OUT_DIR``
    learnware writes, the dock reads: trains a LogisticRegression on sklearn digits (X / 16),
    writes into OUT_DIR ``rkme.json`` (``generate_stat_spec(type="table")``),
    ``semantic_spec.json`` (``generate_semantic_spec``), ``learnware_template.zip`` (learnware's
    own ``LearnwareTemplate.generate_learnware_zipfile``: ``!!python/tuple`` shapes in
    ``learnware.yaml``, a pickled model) and ``learnware_manual.zip`` (the documented layout:
    a ``BaseModel`` subclass and joblib weights). As a guard against fixture rot, each zip is
    also added to a fresh learnware market. Prints one result line per zip and one for the spec.

``python anchor_fixtures.py check REQUEST_JSON``
    the dock writes, learnware reads. REQUEST_JSON is
    ``{"packages": [{"name", "zip", "semantic"}], "rkme": {"reference": path, "specs": {name:
    path}}}``. Each package is added to a fresh learnware market; each spec file is loaded with
    learnware's ``RKMETableSpecification().load`` and its ``dist`` to the reference computed.

Every result is one line ``compat-result: {json}`` on stdout; learnware's own logging goes to
stderr (and whatever it prints is not a result line).
"""

from __future__ import annotations

import atexit
import json
import os
import pickle
import shutil
import sys
import tempfile
import textwrap
import traceback
import zipfile
from pathlib import Path
from typing import Any

# learnware computes ~/.learnware when it is first imported and creates folders there at once.
_HOME = tempfile.mkdtemp(prefix="lwcompat-home-")
os.environ["HOME"] = _HOME
atexit.register(shutil.rmtree, _HOME, True)

import joblib  # noqa: E402
import learnware  # noqa: E402
import numpy as np  # noqa: E402
from learnware.config import C  # noqa: E402
from learnware.learnware import get_learnware_from_dirpath  # noqa: E402
from learnware.market import BaseChecker, instantiate_learnware_market  # noqa: E402
from learnware.specification import (  # noqa: E402
    RKMETableSpecification,
    generate_semantic_spec,
    generate_stat_spec,
)
from learnware.tests.templates import (  # noqa: E402
    LearnwareTemplate,
    PickleModelTemplate,
    StatSpecTemplate,
)
from learnware.utils import save_dict_to_yaml  # noqa: E402
from sklearn.datasets import load_digits  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402

PREFIX = "compat-result: "
STATUS_NAMES = {
    BaseChecker.INVALID_LEARNWARE: "INVALID",
    BaseChecker.NONUSABLE_LEARNWARE: "NONUSABLE",
    BaseChecker.USABLE_LEARNWARE: "USABLE",
}
RKME = "RKMETableSpecification"

MANUAL_INIT_PY = textwrap.dedent(
    """\
    import os

    import joblib
    import numpy as np

    from learnware.model import BaseModel


    class DigitsModel(BaseModel):
        def __init__(self):
            super().__init__(input_shape=(64,), output_shape=(10,))
            here = os.path.dirname(os.path.abspath(__file__))
            self.model = joblib.load(os.path.join(here, "model.joblib"))

        def fit(self, X: np.ndarray, y: np.ndarray):
            self.model.fit(X, y)

        def predict(self, X: np.ndarray) -> np.ndarray:
            return self.model.predict_proba(X)

        def finetune(self, X: np.ndarray, y: np.ndarray):
            pass
    """
)


def emit(record: dict[str, Any]) -> None:
    sys.stdout.write(PREFIX + json.dumps(record) + "\n")
    sys.stdout.flush()


def fresh_market() -> Any:
    """An empty EasyMarket whose store and database live under the temporary HOME."""
    root = os.path.join(_HOME, ".learnware")
    # The market reads market_root_path and database_url, which are not derived from root_path.
    C.update(
        root_path=root,
        market_root_path=root,
        database_path=os.path.join(root, "database"),
        database_url=f"sqlite:///{os.path.join(root, 'database')}",
        stdout_path=os.path.join(root, "stdout"),
        cache_path=os.path.join(root, "cache"),
    )
    # rebuild=False: the folder is new anyway, and rebuild=True only logs a spurious error.
    return instantiate_learnware_market(market_id="compat", name="easy", rebuild=False)


def add_package(
    market: Any, name: str, zip_path: str, semantic_spec: dict[str, Any], spec_name: str = RKME
) -> None:
    """Add one zip to learnware's market; emit its status and each checker's verdict
    (and, when stored, the shape of its ``spec_name`` specification)."""
    checks: list[dict[str, Any]] = []
    # What add_learnware does, step by step, so a refusal comes with learnware's reason.
    with tempfile.TemporaryDirectory(prefix="lwcompat-pending-") as tmp:
        try:
            with zipfile.ZipFile(zip_path) as zf:
                zf.extractall(tmp)
            pending = get_learnware_from_dirpath("pending", semantic_spec, tmp, ignore_error=False)
            for checker_name, checker in market.learnware_checker.items():
                status, message = checker(pending)
                checks.append({"checker": checker_name, "status": status, "message": message})
                if status == BaseChecker.INVALID_LEARNWARE:
                    break
        except Exception:
            checks.append({"checker": "load", "status": -1, "message": traceback.format_exc()})
    learnware_id, status = market.add_learnware(zip_path, semantic_spec)
    record: dict[str, Any] = {
        "kind": "package",
        "name": name,
        "id": learnware_id,
        "status": int(status),
        "status_name": STATUS_NAMES.get(status, "?"),
        "checks": checks,
    }
    if learnware_id is not None:
        stored = market.get_learnware_by_ids(learnware_id)
        spec = stored.get_specification().get_stat_spec()[spec_name]
        record["stored_z_shape"] = list(spec.get_z().shape)
        record["stored_semantic_spec"] = stored.get_specification().get_semantic_spec()
    emit(record)


def describe(spec: Any) -> dict[str, Any]:
    """learnware's view of a loaded RKME: what it read from the JSON."""
    z, beta = spec.get_z(), spec.get_beta()
    return {
        "z_shape": list(z.shape),
        "z_dtype": str(z.dtype),
        "beta_sum": float(beta.sum()),
        "beta_min": float(beta.min()),
        "gamma": float(spec.gamma),
        "num_points": int(spec.num_points),
        "type": spec.type,
    }


def write(out_dir: Path) -> int:
    out_dir.mkdir(parents=True, exist_ok=True)
    X, y = load_digits(return_X_y=True)
    X = (X / 16.0).astype(np.float32)
    model = LogisticRegression(max_iter=1000).fit(X, y)
    pkl_path = out_dir / "model.pkl"
    joblib.dump(model, out_dir / "model.joblib")
    with open(pkl_path, "wb") as fh:
        pickle.dump(model, fh)

    spec = generate_stat_spec(type="table", X=X)  # gamma 0.1, 100 points
    assert isinstance(spec, RKMETableSpecification)
    rkme_path = out_dir / "rkme.json"
    spec.save(str(rkme_path))
    emit(
        {"kind": "spec", "name": "rkme.json", "learnware": learnware.__version__, **describe(spec)}
    )

    # two learnwares on disjoint digit classes, for the job selector (RKMEs as the
    # package fits them: points that overshoot the data's range); the split is
    # test_anchor_compat.digit_split's
    order = np.random.default_rng(5).permutation(len(X))
    for classes in ((1, 2, 3), (4, 5, 6)):
        rows = order[:1000][np.isin(y[order[:1000]], classes)]
        part = generate_stat_spec(type="table", X=X[rows])
        part.save(str(out_dir / f"rkme_digits_{''.join(map(str, classes))}.json"))

    semantic_spec = generate_semantic_spec(
        name="digits-logreg",
        description="Logistic regression on sklearn digits (8x8 pixels scaled to [0, 1]).",
        data_type="Table",
        task_type="Classification",
        model_type="Others",  # learnware's EasySemanticChecker requires Model for Table data
        library_type="Scikit-learn",
        scenarios=["Education"],
        license="MIT",
        input_description={
            "Dimension": 64,
            "Description": {str(i): f"pixel ({i // 8}, {i % 8}) intensity" for i in range(64)},
        },
        output_description={
            "Dimension": 10,
            "Description": {str(i): f"probability of digit {i}" for i in range(10)},
        },
    )
    semantic_path = out_dir / "semantic_spec.json"
    semantic_path.write_text(json.dumps(semantic_spec, indent=2), encoding="utf-8")

    template_zip = out_dir / "learnware_template.zip"
    LearnwareTemplate.generate_learnware_zipfile(
        learnware_zippath=str(template_zip),
        model_template=PickleModelTemplate(
            pickle_filepath=str(pkl_path),
            # tuples: learnware's stat checker compares input_shape with (dim,); yaml.dump
            # writes them as !!python/tuple.
            model_kwargs={
                "input_shape": (64,),
                "output_shape": (10,),
                "predict_method": "predict_proba",
            },
        ),
        stat_spec_template=StatSpecTemplate(filepath=str(rkme_path), type=RKME),
        requirements=[("scikit-learn", ">=", "1.0"), "numpy"],
    )

    manual_zip = out_dir / "learnware_manual.zip"
    with tempfile.TemporaryDirectory(prefix="lwcompat-manual-") as tmp:
        folder = Path(tmp)
        save_dict_to_yaml(
            {
                "model": {"class_name": "DigitsModel", "kwargs": {}},
                "stat_specifications": [
                    {
                        "module_path": "learnware.specification",
                        "class_name": RKME,
                        "file_name": "rkme.json",
                        "kwargs": {},
                    }
                ],
            },
            str(folder / "learnware.yaml"),
        )
        (folder / "__init__.py").write_text(MANUAL_INIT_PY, encoding="utf-8")
        (folder / "requirements.txt").write_text("scikit-learn>=1.0\nnumpy\njoblib\n")
        with zipfile.ZipFile(manual_zip, "w") as zf:
            for name in ("learnware.yaml", "__init__.py", "requirements.txt"):
                zf.write(folder / name, arcname=name)
            zf.write(rkme_path, arcname="rkme.json")
            zf.write(out_dir / "model.joblib", arcname="model.joblib")

    market = fresh_market()
    for zip_path in (template_zip, manual_zip):
        add_package(market, zip_path.name, str(zip_path), semantic_spec)
    return 0


def check(request_path: Path) -> int:
    request = json.loads(request_path.read_text(encoding="utf-8"))
    market = fresh_market()
    for package in request.get("packages", []):
        semantic_spec = json.loads(Path(package["semantic"]).read_text(encoding="utf-8"))
        add_package(market, package["name"], package["zip"], semantic_spec)
    rkme = request.get("rkme")
    if rkme:
        reference = RKMETableSpecification()
        reference.load(rkme["reference"])
        for name, path in rkme["specs"].items():
            spec = RKMETableSpecification()
            spec.load(path)
            emit(
                {
                    "kind": "dist",
                    "name": name,
                    # learnware computes the kernel and inner products in float64 (torch double)
                    "dist": float(spec.dist(reference)),
                    "dist_reversed": float(reference.dist(spec)),
                    "self_dist": float(spec.dist(spec)),
                    **describe(spec),
                }
            )
    return 0


def main(argv: list[str]) -> int:
    if len(argv) == 2 and argv[0] == "write":
        return write(Path(argv[1]).resolve())
    if len(argv) == 2 and argv[0] == "check":
        return check(Path(argv[1]).resolve())
    sys.stderr.write(__doc__ or "")
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

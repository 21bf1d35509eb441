"""The `learnware` side of the image compatibility tests (run with the compat env's python).

``python image_fixtures.py run REQUEST_JSON`` imports the real ``learnware==0.4.0.post1``
(through ``anchor_fixtures``, which first points ``HOME`` at a temporary folder) and, both
ways at once (one subprocess: the import takes seconds):

learnware writes, the dock reads
    ``generate``: ``{name: [row, ...]}`` rows of ``images`` (an ``.npy``, N x 1 x 32 x 32
    float32: learnware's 32 x 32, so it never resizes). Each is summarised by learnware's own
    ``RKMEImageSpecification.generate_stat_spec_from_data`` with ``options`` (``K``,
    ``steps``, ``step_size``; ``n_models`` and ``model_config`` go to its constructor; the
    defaults, 16 nets of 256 channels, take hours on a CPU) and saved with its ``save`` as
    ``OUT/<name>.json``. ``pairs``: learnware's ``dist`` between two of those files.
    ``zips``: one package per name, in learnware's documented layout (``learnware.yaml``
    naming ``RKMEImageSpecification``, a ``BaseModel`` subclass, joblib weights of a
    LogisticRegression on sklearn's 8 x 8 digits), ``OUT/<name>.zip``, each added to a fresh
    learnware market as a guard against fixture rot; ``OUT/semantic_image.json`` from
    ``generate_semantic_spec``.

the dock writes, learnware reads
    ``dock_specs``: ``{name: path}`` loaded with learnware's ``load`` (and saved back with its
    ``save`` as ``OUT/<name>.learnware.json``); ``dock_pairs``: learnware's ``dist`` of two of
    them, and the Gram matrices of learnware's own NNGP kernel module run in float64
    (``OUT/<a>__<b>.<which>.npy``): ``shipped`` with its conv weights as it builds them (a
    float32 buffer) and ``exact`` with them recomputed in float64.

torchvision is not installed (see tox.ini); learnware's generator imports its ``Resize``
unconditionally but calls it only on images that are not 32 x 32, so a stand-in whose
construction fails is put in place while generating.

Every result is one line ``compat-result: {json}`` on stdout (``anchor_fixtures.emit``).
"""

from __future__ import annotations

import importlib.machinery
import importlib.util
import json
import sys
import tempfile
import textwrap
import time
import types
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

# isort: off
# first: anchor_fixtures points HOME at a temporary folder, then imports learnware
from anchor_fixtures import add_package, emit, fresh_market

# isort: on
import joblib
import learnware
import numpy as np
import torch
from learnware.specification import RKMEImageSpecification, generate_semantic_spec
from learnware.specification.regular.image import cnn_gp
from learnware.specification.regular.image.rkme import _build_ConvNet_NNGP
from learnware.utils import save_dict_to_yaml
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression

NAME = "RKMEImageSpecification"
INIT_PY = textwrap.dedent(
    """\
    import os

    import joblib
    import numpy as np

    from learnware.model import BaseModel


    class DigitsImageModel(BaseModel):
        \"\"\"8 x 8 grey digit images (N x 1 x 8 x 8, or the same values flat) to the
        probabilities of the ten digits.\"\"\"

        def __init__(self):
            super().__init__(input_shape=(1, 8, 8), output_shape=(10,))
            here = os.path.dirname(os.path.abspath(__file__))
            self.model = joblib.load(os.path.join(here, "model.joblib"))

        def fit(self, X: np.ndarray, y: np.ndarray):
            self.model.fit(np.asarray(X, dtype=float).reshape(len(X), -1), y)

        def predict(self, X: np.ndarray) -> np.ndarray:
            return self.model.predict_proba(np.asarray(X, dtype=float).reshape(len(X), -1))

        def finetune(self, X: np.ndarray, y: np.ndarray):
            pass
    """
)


@contextmanager
def resize_never_called() -> Iterator[None]:
    """A ``torchvision.transforms.Resize`` that fails when built, while torchvision is
    missing (learnware only builds one for images that are not 32 x 32)."""
    if importlib.util.find_spec("torchvision") is not None:
        yield
        return

    class Resize:
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            raise AssertionError("learnware tried to resize: the images must be 32 x 32")

    package = types.ModuleType("torchvision")
    package.__spec__ = importlib.machinery.ModuleSpec("torchvision", None, is_package=True)
    package.__path__ = []
    transforms = types.ModuleType("torchvision.transforms")
    transforms.__spec__ = importlib.machinery.ModuleSpec("torchvision.transforms", None)
    transforms.Resize = Resize  # type: ignore[attr-defined]
    package.transforms = transforms  # type: ignore[attr-defined]
    sys.modules.update({"torchvision": package, "torchvision.transforms": transforms})
    try:
        yield
    finally:
        del sys.modules["torchvision"], sys.modules["torchvision.transforms"]


def describe(spec: Any) -> dict[str, Any]:
    """learnware's view of an image RKME: what it generated or read."""
    z, beta = spec.get_z(), spec.get_beta()
    return {
        "z_shape": list(z.shape),
        "z_dtype": str(z.dtype),
        "beta_dtype": str(beta.dtype),
        "beta_sum": float(beta.sum()),
        "beta_min": float(beta.min()),
        "n_models": spec.n_models,
        "model_config": spec.model_config,
        "type": spec.type,
    }


def load(path: str | Path) -> Any:
    spec = RKMEImageSpecification(cuda_idx=-1)  # -1: the CPU
    spec.load(str(path))
    return spec


def nngp_gram(a: Any, b: Any, exact: bool) -> np.ndarray:
    """learnware's kernel module (``_build_ConvNet_NNGP``, as its ``dist`` builds it) in
    float64; ``exact``: its conv weights recomputed in float64 (it fills a float32 buffer)."""
    module = _build_ConvNet_NNGP(channel=a.z.shape[1], **a.model_config).double()
    if exact:
        for layer in module.modules():
            if isinstance(layer, cnn_gp.Conv2d):
                value = layer.var_weight / layer.kernel_size**2  # a Python float
                layer.kernel = (layer.kernel > 0).double() * value
    with torch.no_grad():
        gram = module(a.z.double()) if a is b else module(a.z.double(), b.z.double())
    result: np.ndarray = gram.numpy()
    return result


def pair_record(name: str, a: Any, b: Any) -> dict[str, Any]:
    """learnware's ``dist`` of two specs and its terms; ``dist64``: the same from its kernel
    module in float64 with exact weights (:func:`nngp_gram`)."""

    def inner64(p: Any, q: Any) -> float:
        return float(p.beta.numpy() @ nngp_gram(p, q, exact=True) @ q.beta.numpy())

    return {
        "kind": "dist",
        "name": name,
        "dist": float(a.dist(b)),
        "dist_reversed": float(b.dist(a)),
        "self_a": float(a.inner_prod(a)),
        "self_b": float(b.inner_prod(b)),
        "inner": float(a.inner_prod(b)),
        "dist64": inner64(a, a) - 2.0 * inner64(a, b) + inner64(b, b),
    }


def write_zip(out: Path, name: str, spec_path: Path, weights: Path) -> Path:
    """A learnware package in learnware's documented layout, with the given image RKME."""
    zip_path = out / f"{name}.zip"
    with tempfile.TemporaryDirectory(prefix="lwcompat-image-") as tmp:
        yaml_path = Path(tmp) / "learnware.yaml"
        save_dict_to_yaml(
            {
                "model": {"class_name": "DigitsImageModel", "kwargs": {}},
                "stat_specifications": [
                    {
                        "module_path": "learnware.specification",
                        "class_name": NAME,
                        "file_name": "rkme.json",
                        "kwargs": {},
                    }
                ],
            },
            str(yaml_path),
        )
        with zipfile.ZipFile(zip_path, "w") as zf:
            zf.write(yaml_path, arcname="learnware.yaml")
            zf.writestr("__init__.py", INIT_PY)
            zf.writestr("requirements.txt", "scikit-learn>=1.0\nnumpy\njoblib\n")
            zf.write(spec_path, arcname="rkme.json")
            zf.write(weights, arcname="model.joblib")
    return zip_path


def run(request_path: Path) -> int:
    # these nets are tiny: one thread beats two fighting over a busy machine's cores
    torch.set_num_threads(1)
    request = json.loads(request_path.read_text(encoding="utf-8"))
    out = Path(request["out"])
    out.mkdir(parents=True, exist_ok=True)
    options = request["options"]

    images = np.load(request["images"])
    for name, rows in request.get("generate", {}).items():
        spec = RKMEImageSpecification(
            cuda_idx=-1, n_models=options["n_models"], model_config=options["model_config"]
        )
        start = time.perf_counter()
        with resize_never_called():
            spec.generate_stat_spec_from_data(
                images[rows],
                K=options["K"],
                step_size=options["step_size"],
                steps=options["steps"],
                verbose=False,
            )
        seconds = time.perf_counter() - start
        spec.save(str(out / f"{name}.json"))
        emit({"kind": "generated", "name": name, "seconds": seconds, **describe(spec)})
    for a, b in request.get("pairs", []):
        emit(pair_record(f"{a}|{b}", load(out / f"{a}.json"), load(out / f"{b}.json")))

    dock = {name: load(path) for name, path in request.get("dock_specs", {}).items()}
    for name, spec in dock.items():
        spec.save(str(out / f"{name}.learnware.json"))
        emit({"kind": "read", "name": name, **describe(spec)})
    for a, b in request.get("dock_pairs", []):
        emit(pair_record(f"{a}|{b}", dock[a], dock[b]))
        for first, second in ((dock[a], dock[b]), (dock[a], dock[a])):
            for exact in (False, True):
                suffix = f"{'exact' if exact else 'shipped'}.npy"
                label = "__".join((a, a if second is first else b))
                np.save(out / f"{label}.{suffix}", nngp_gram(first, second, exact))

    zips = request.get("zips", [])
    if zips:
        X, y = load_digits(return_X_y=True)
        weights = out / "model.joblib"
        joblib.dump(LogisticRegression(max_iter=1000).fit(X / 16.0, y), weights)
        semantic_spec = generate_semantic_spec(
            name="digits-image-logreg",
            description="Logistic regression on sklearn's 8 x 8 digit images (N x 1 x 8 x 8).",
            data_type="Image",
            task_type="Classification",
            model_type="Others",
            library_type="Scikit-learn",
            scenarios=["Education"],
            license="MIT",
            output_description={
                "Dimension": 10,
                "Description": {str(i): f"probability of digit {i}" for i in range(10)},
            },
        )
        semantic_path = out / "semantic_image.json"
        semantic_path.write_text(json.dumps(semantic_spec, indent=2), encoding="utf-8")
        market = fresh_market()
        for name in zips:
            zip_path = write_zip(out, name, out / f"{name}.json", weights)
            add_package(market, f"{name}.zip", str(zip_path), semantic_spec, spec_name=NAME)
    emit({"kind": "done", "name": "done", "learnware": learnware.__version__})
    return 0


def main(argv: list[str]) -> int:
    if len(argv) == 2 and argv[0] == "run":
        return run(Path(argv[1]).resolve())
    sys.stderr.write(__doc__ or "")
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

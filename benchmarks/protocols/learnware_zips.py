"""What every protocol's market does per learnware: package a fitted scikit-learn model
(joblib, loaded by a small model class) with its RKME as a zip that ``Market.add`` takes."""

from __future__ import annotations

import io
from collections.abc import Mapping
from pathlib import Path
from typing import Any

#: a model class that loads ``model.joblib`` beside it and calls ``predict`` on it
JOBLIB_MODEL_SOURCE = '''
import os

import joblib
import numpy as np


class Model:
    """The packaged scikit-learn estimator."""

    def __init__(self):
        here = os.path.dirname(os.path.abspath(__file__))
        self.model = joblib.load(os.path.join(here, "model.joblib"))

    def predict(self, X):
        return self.model.predict(np.asarray(X, dtype=float))
'''


def package_learnware(
    folder: Path,
    spec: Any,
    estimator: Any = None,
    model_source: str = JOBLIB_MODEL_SOURCE,
    class_name: str = "Model",
) -> Path:
    """``folder``'s learnware (``model_source``'s ``class_name``; ``estimator`` saved as
    ``model.joblib`` when given; ``spec`` as ``rkme.json``, or a mapping of file names to
    specs) zipped to ``folder.zip``."""
    import joblib

    from learnware_dock.package.writer import write_folder, zip_folder

    files: dict[str, bytes] = {}
    if estimator is not None:
        weights = io.BytesIO()
        joblib.dump(estimator, weights)
        files["model.joblib"] = weights.getvalue()
    written = write_folder(
        folder,
        model_source=model_source,
        class_name=class_name,
        stat_specs=spec if isinstance(spec, Mapping) else {"rkme.json": spec},
        files=files,
        requirements="scikit-learn\njoblib\nnumpy\n" if files else "",
    )
    return zip_folder(written, folder.with_suffix(".zip"))

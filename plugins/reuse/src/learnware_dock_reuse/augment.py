"""``feature-augment`` (data-dependent): the learnwares' outputs are appended to the
user's features and a linear model tuned by cross-validation is trained on the few labels:
``RidgeCV`` for regression (any number of outputs), logistic regression with C chosen by
cross-validation for classification, both after standard scaling."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Self

import numpy as np

from learnware_dock_reuse.base import CombiningReuser
from learnware_dock_reuse.outputs import OutputKind, ReuseError, Task, check_rows


def logistic_cv(folds: int) -> Any:
    """L2 logistic regression with C chosen by ``folds``-fold cross-validation (a grid
    search: ``LogisticRegressionCV``'s defaults are in flux across scikit-learn versions)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import GridSearchCV

    grid = {"C": np.logspace(-3, 3, 7).tolist()}
    return GridSearchCV(LogisticRegression(max_iter=2000), grid, cv=folds)


class FeatureAugmentReuser(CombiningReuser):
    """See the module docstring."""

    name = "feature-augment"

    def __init__(
        self,
        models: Sequence[Any],
        weights: Sequence[float] | None = None,
        *,
        task: Task = "classification",
        outputs: OutputKind | Sequence[OutputKind] = "auto",
        classes: int | None = None,
        cv: int = 3,
        seed: int = 0,
    ) -> None:
        super().__init__(models, weights, task=task, outputs=outputs, classes=classes)
        self.cv, self.seed = cv, seed
        self.model: Any = None

    def features(self, X: Any) -> np.ndarray:
        X = check_rows(X)
        return np.hstack([X, *self.member_outputs(X)])

    def fit(self, X: Any, y: Any = None) -> Self:
        from sklearn.linear_model import RidgeCV
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler

        if y is None:
            raise ReuseError("feature-augment needs labels: fit(X, y)")
        features = self.features(X)
        y = np.asarray(y)
        if len(y) != len(features):
            raise ReuseError(f"{len(y)} labels for {len(features)} rows")
        if self.task == "classification":
            counts = np.bincount(y.astype(int)) if y.min() >= 0 else np.zeros(0)
            folds = max(2, min(self.cv, int(counts[counts > 0].min()))) if counts.size else 2
            estimator: Any = logistic_cv(folds)
        else:
            estimator = RidgeCV(alphas=np.logspace(-3, 3, 13))
        self.model = make_pipeline(StandardScaler(), estimator).fit(features, y)
        return self

    def predict(self, X: Any) -> np.ndarray:
        if self.model is None:
            raise ReuseError("call fit(X, y) before predict")
        return np.asarray(self.model.predict(self.features(X)))

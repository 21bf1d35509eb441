"""``feature-augment`` (data-dependent): the learnwares' outputs are appended to the
user's features and a linear model tuned by cross-validation is trained on the few labels:
``RidgeCV`` for regression (any number of outputs), logistic regression with C chosen by
cross-validation for classification, both after standard scaling. The ``cv`` folds are
shuffled with ``seed`` (stratified for classification)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Self

import attrs
import numpy as np

from learnware_dock.options import option
from learnware_dock_reuse.base import CombiningReuser
from learnware_dock_reuse.outputs import OutputKind, ReuseError, Task, check_rows


def logistic_cv(folds: int, seed: int = 0) -> Any:
    """L2 logistic regression with C chosen by ``folds``-fold stratified cross-validation
    (a grid search: ``LogisticRegressionCV``'s defaults are in flux across scikit-learn
    versions)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import GridSearchCV, StratifiedKFold

    grid = {"C": np.logspace(-3, 3, 7).tolist()}
    splits = StratifiedKFold(folds, shuffle=True, random_state=seed)
    return GridSearchCV(LogisticRegression(max_iter=2000), grid, cv=splits)


@attrs.frozen
class FeatureAugmentOptions:
    cv: int = option(
        3,
        help="Cross-validation folds (fewer when a class has fewer labels).",
        validator=attrs.validators.ge(2),
    )
    seed: int = option(0, help="Random seed.", validator=attrs.validators.ge(0))


class FeatureAugmentReuser(CombiningReuser):
    """See the module docstring."""

    name = "feature-augment"
    options_class = FeatureAugmentOptions
    needs_labels = True

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
        """The user's features beside the learnwares' outputs (for documents, which
        have no numeric features, the outputs alone)."""
        X = check_rows(X)
        outputs = self.member_outputs(X)
        return np.hstack(outputs if X.ndim == 1 else [X, *outputs])

    def fit(self, X: Any, y: Any = None) -> Self:
        from sklearn.linear_model import RidgeCV
        from sklearn.model_selection import KFold
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
            estimator: Any = logistic_cv(folds, self.seed)
        else:
            splits = KFold(max(2, min(self.cv, len(y))), shuffle=True, random_state=self.seed)
            estimator = RidgeCV(alphas=np.logspace(-3, 3, 13), cv=splits)
        self.model = make_pipeline(StandardScaler(), estimator).fit(features, y)
        return self

    def predict(self, X: Any) -> np.ndarray:
        if self.model is None:
            raise ReuseError("call fit(X, y) before predict")
        return np.asarray(self.model.predict(self.features(X)))

"""Aligners: reuse learnwares whose input columns differ from the user's.

``feature-align`` (no labels) trains, for each learnware of the mixture, a map ``f`` from
the user's feature space into the learnware's input space that minimises the squared MMD
between the mapped user RKME and the learnware's RKME
(:mod:`learnware_dock_hetero.align_train`: both sides standardised, an affine map started
at the best column matching found by local search, with the learnware columns the user
lacks imputed by regression on the learnware's points, then Adam in float64). Its
prediction runs each learnware on ``f(X)`` and combines them as the ``averaging`` reuser
does, with the mixture weights: the weighted mean of class votes (labels) or scores
(probabilities) and its argmax, or the weighted mean of values for regression.

``heteromap-align`` (labels) feature-aligns each learnware, then fits the ``feature-augment``
reuser over the aligned learnwares on the labelled rows: a cross-validated linear model on
the user's features and the aligned learnwares' outputs (the `learnware` package's
HeteroMapAlignLearnware, for classification and regression on current scikit-learn).

The user's side is the user's RKME (the one searched with; without one, ``fit(X)`` builds
it with ``RKMETableSpecification.generate(X, gamma="median")``). Missing or infinite cells
of ``X`` are filled with that RKME's weighted column means (the package's
``fill_data_with_mean``, but from the user's distribution, so a single row works too).

Defaults, measured on breast cancer (12 learnware columns, 7 user columns) and
MASS/Boston: ``init="match"`` with ``restarts=8``; ``epochs=100`` at
``learning_rate=0.001`` and ``hidden=0`` (an affine map). The matching does the work: on
those tables the Adam steps halve the MMD but leave accuracy as it was, while a larger
rate (0.01) or a ReLU layer (``hidden=32``) fit the ~50-100 reduced-set points and lose
2-4 points of accuracy.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Literal, Self

import attrs
import numpy as np

from learnware_dock.interfaces import ReuseContext, ReuseTask
from learnware_dock.options import option
from learnware_dock_reuse import CombiningReuser, FeatureAugmentReuser, ReuseError
from learnware_dock_rkme import RKMETableSpecification

if TYPE_CHECKING:
    from learnware_dock_hetero.align_train import FeatureMap
    from learnware_dock_reuse import OutputKind

RKME = "RKMETableSpecification"
#: how a map starts (see :mod:`learnware_dock_hetero.align_train`)
Init = Literal["match", "mean"]


@attrs.frozen
class FeatureAlignOptions:
    epochs: int = option(100, help="Adam steps per learnware.", validator=attrs.validators.ge(1))
    learning_rate: float = option(
        0.001, help="Adam learning rate (standardised units).", validator=attrs.validators.gt(0)
    )
    hidden: int = option(
        0,
        help="Width of the map's ReLU correction (0: an affine map).",
        validator=attrs.validators.ge(0),
    )
    init: Init = option(
        "match",
        help="Start: 'match' (closest columns, imputed rest) or 'mean'.",
        validator=attrs.validators.in_(("match", "mean")),
    )
    restarts: int = option(
        8,
        help="Random starts of the column matching ('match').",
        validator=attrs.validators.ge(0),
    )
    seed: int = option(0, help="Random seed.", validator=attrs.validators.ge(0))


@attrs.frozen
class HeteroMapAlignOptions(FeatureAlignOptions):
    cv: int = option(
        3,
        help="Cross-validation folds of the output model (fewer when a class has fewer labels).",
        validator=attrs.validators.ge(2),
    )


class AlignedModel:
    """A learnware's model behind its feature map: ``predict(X) = model.predict(f(X))``."""

    def __init__(self, model: Any) -> None:
        self.model = model
        self.map: FeatureMap | None = None

    def predict(self, X: Any) -> np.ndarray:
        if self.map is None:
            raise ReuseError("call fit before predict: the feature maps are not trained")
        rows = user_rows(X, self.map.user_dimension, self.map.user_mean)
        return np.asarray(self.model.predict(self.map.transform(rows)))


def user_rows(X: Any, dimension: int, means: np.ndarray) -> np.ndarray:
    """``X`` as a float64 n x ``dimension`` array, non-finite cells set to ``means``."""
    try:
        rows = np.array(X, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ReuseError(f"X must be a numeric table: {exc}") from exc
    if rows.ndim != 2 or len(rows) == 0:
        raise ReuseError(f"X must be a non-empty 2-D array, not shape {rows.shape}")
    if rows.shape[1] != dimension:
        raise ReuseError(
            f"X has {rows.shape[1]} features; expected {dimension} (the user's RKME's)"
        )
    bad = ~np.isfinite(rows)
    if bad.any():
        rows[bad] = np.broadcast_to(means, rows.shape)[bad]
    return rows


class FeatureAlignReuser(CombiningReuser):
    """See the module docstring. ``models`` run the learnwares (anything with ``predict``),
    ``learnware_rkmes`` are their RKMEs in the same order, ``weights`` the mixture's.
    After ``fit``, ``maps[i].losses`` traces learnware i's squared MMD."""

    name = "feature-align"
    options_class = FeatureAlignOptions
    needs_labels = False

    def __init__(
        self,
        models: Sequence[Any],
        weights: Sequence[float] | None = None,
        *,
        task: ReuseTask = "classification",
        outputs: OutputKind | Sequence[OutputKind] = "auto",
        classes: int | None = None,
        user_rkme: RKMETableSpecification | None = None,
        learnware_rkmes: Sequence[RKMETableSpecification],
        epochs: int = 100,
        learning_rate: float = 0.001,
        hidden: int = 0,
        init: Init = "match",
        restarts: int = 8,
        seed: int = 0,
    ) -> None:
        self.aligned = [AlignedModel(model) for model in models]
        super().__init__(self.aligned, weights, task=task, outputs=outputs, classes=classes)
        rkmes = list(learnware_rkmes)
        if len(rkmes) != len(self.aligned):
            raise ReuseError(f"{len(rkmes)} learnware RKMEs for {len(self.aligned)} learnwares")
        for spec in [*rkmes, *([] if user_rkme is None else [user_rkme])]:
            if not isinstance(spec, RKMETableSpecification):
                raise ReuseError(f"aligners need {RKME}s, not {type(spec).__name__}")
        if init not in ("match", "mean"):
            raise ReuseError(f"init must be 'match' or 'mean', not {init!r}")
        self.user_rkme, self.learnware_rkmes = user_rkme, rkmes
        self.epochs, self.learning_rate, self.hidden = epochs, learning_rate, hidden
        self.init: Init = init
        self.restarts, self.seed = restarts, seed
        self._done: tuple[Any, ...] | None = None

    @classmethod
    def search_arguments(cls, context: ReuseContext, options: Any) -> dict[str, Any]:
        """The user's RKME (from the user info) and the learnwares' stored RKMEs."""
        user = context.user_info.stat_specs.get(RKME)
        if user is None:
            raise ReuseError(
                f"{cls.name} aligns the user's {RKME} with each learnware's: search with "
                f"UserInfo(stat_specs={{'{RKME}': RKMETableSpecification.generate(X)}}) "
                "and pass that user info to the reuser"
            )
        return {"user_rkme": user, "learnware_rkmes": context.stat_specs(RKME)}

    @property
    def maps(self) -> list[FeatureMap]:
        """The trained feature maps, one per learnware (after ``fit``)."""
        if any(a.map is None for a in self.aligned):
            raise ReuseError("call fit before reading the maps")
        return [a.map for a in self.aligned if a.map is not None]

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        return {
            **super().get_params(deep),
            "models": [a.model for a in self.aligned],
            "user_rkme": self.user_rkme,
            "learnware_rkmes": self.learnware_rkmes,
            "epochs": self.epochs,
            "learning_rate": self.learning_rate,
            "hidden": self.hidden,
            "init": self.init,
            "restarts": self.restarts,
            "seed": self.seed,
        }

    def align(self, X: Any = None) -> Self:
        """Train every learnware's map on the user's RKME (from ``X`` when none was given).
        The maps depend on the RKMEs and the options alone: with a given user RKME they are
        trained once, and fitting again (e.g. on other labels) reuses them."""
        from learnware_dock_hetero.align_train import FeatureMap

        user = self.user_rkme
        done = (
            user,
            self.epochs,
            self.learning_rate,
            self.hidden,
            self.init,
            self.restarts,
            self.seed,
        )
        if user is not None and X is not None:
            user_rows(X, user.dimension, np.zeros(user.dimension))  # a wrong width fails now
        previous = self._done
        if user is not None and previous and previous[0] is user and previous[1:] == done[1:]:
            return self
        if user is None:
            if X is None:
                raise ReuseError(
                    f"{self.name} needs the user's data: pass user_rkme= or call fit(X)"
                )
            user = RKMETableSpecification.generate(X, gamma="median", seed=self.seed)
        for aligned, target in zip(self.aligned, self.learnware_rkmes, strict=True):
            fmap = FeatureMap(
                user,
                target,
                hidden=self.hidden,
                init=self.init,
                restarts=self.restarts,
                seed=self.seed,
            )
            aligned.map = fmap.train(self.epochs, self.learning_rate)
        self._done = done
        return self

    def fit(self, X: Any = None, y: Any = None) -> Self:
        """Align (labels are not used)."""
        return self.align(X)

    def _rows(self, X: Any) -> np.ndarray:
        fmap = self.maps[0]
        return user_rows(X, fmap.user_dimension, fmap.user_mean)

    def _combined(self, X: Any) -> np.ndarray:
        return self.weighted_mean(self.member_outputs(self._rows(X)))

    def predict(self, X: Any) -> np.ndarray:
        return self.finish(self._combined(X))

    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities: the combined votes, normalised per row."""
        return self.vote_shares(self._combined, X)


class HeteroMapAlignReuser(FeatureAlignReuser):
    """See the module docstring: feature-align, then ``feature-augment`` on the labels."""

    name = "heteromap-align"
    options_class = HeteroMapAlignOptions
    needs_labels = True

    def __init__(self, *args: Any, cv: int = 3, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.cv = cv
        self.augment: FeatureAugmentReuser | None = None

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        return {**super().get_params(deep), "cv": self.cv}

    def fit(self, X: Any = None, y: Any = None) -> Self:
        """Align on the user's RKME, then fit the output model on the labelled ``(X, y)``."""
        if X is None or y is None:
            raise ReuseError(f"{self.name} needs labelled rows: fit(X, y)")
        self.align(X)
        augment = FeatureAugmentReuser(
            self.aligned,
            self.weights,
            task=self.task,
            outputs=self.kinds,
            classes=self.classes,
            cv=self.cv,
            seed=self.seed,
        )
        self.augment = augment.fit(self._rows(X), y)
        return self

    def predict(self, X: Any) -> np.ndarray:
        if self.augment is None:
            raise ReuseError("call fit(X, y) before predict")
        return self.augment.predict(self._rows(X))

    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities of the output model."""
        if self.augment is None:
            raise ReuseError("call fit(X, y) before predict")
        if self.task != "classification":
            raise ReuseError("predict_proba is for classification")
        return np.asarray(self.augment.model.predict_proba(self.augment.features(self._rows(X))))

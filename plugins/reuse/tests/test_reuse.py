"""The reusers on small constructed markets with known answers."""

from __future__ import annotations

import numpy as np
import pytest

from learnware_dock.errors import DockError
from learnware_dock.plugins import get_plugin_manager, list_plugins
from learnware_dock.registry import Components
from learnware_dock_reuse import (
    AveragingReuser,
    EnsemblePruningReuser,
    FeatureAugmentReuser,
    JobSelectorReuser,
    ReuseError,
)
from learnware_dock_rkme import RKMETableSpecification

CENTRES = {0: (-6.0, -2.0), 1: (-6.0, 2.0), 2: (6.0, -2.0), 3: (6.0, 2.0)}


def blobs(
    classes: tuple[int, ...], n: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    y = rng.choice(classes, size=n)
    X = np.array([CENTRES[c] for c in y]) + rng.normal(0, 0.6, size=(n, 2))
    return X, y


class Nearest:
    """A learnware trained on some classes: nearest class centre among its own."""

    def __init__(self, classes: tuple[int, ...], output: str = "labels") -> None:
        self.classes, self.output = classes, output

    def predict(self, X: np.ndarray) -> np.ndarray:
        centres = np.array([CENTRES[c] for c in self.classes])
        d = ((X[:, None, :] - centres[None]) ** 2).sum(-1)
        if self.output == "labels":
            return np.array(self.classes)[d.argmin(axis=1)]
        scores = np.full((len(X), 4), -50.0)
        scores[:, list(self.classes)] = -d
        return scores


class Linear:
    def __init__(self, coef: np.ndarray) -> None:
        self.coef = coef

    def predict(self, X: np.ndarray) -> np.ndarray:
        return X @ self.coef


def test_plugin_is_installed() -> None:
    infos = {i.name: i for i in list_plugins(get_plugin_manager())}
    assert infos["reuse"].status == "loaded"
    assert infos["reuse"].distribution == "learnware-dock-reuse"
    names = Components(get_plugin_manager()).reusers.names()
    assert {"job-selector", "averaging", "ensemble-pruning", "feature-augment"} <= set(names)


def test_job_selector_routes_to_the_right_learnware() -> None:
    rng = np.random.default_rng(0)
    (Xa, _), (Xb, _) = blobs((0, 1), 400, rng), blobs((2, 3), 400, rng)
    specs = [RKMETableSpecification.generate(X, K=30, seed=0) for X in (Xa, Xb)]
    models = [Nearest((0, 1)), Nearest((2, 3))]
    X, y = blobs((0, 1, 2, 3), 300, rng)
    reuser = JobSelectorReuser(models, specs=specs, classes=4, samples=400, seed=3).fit(X)
    assert reuser.mixture is not None and reuser.mixture.sum() == pytest.approx(1.0)
    assert abs(reuser.mixture[0] - (y < 2).mean()) < 0.15
    routes = reuser.route(X)
    assert (routes == (y >= 2)).mean() > 0.95
    assert (reuser.predict(X) == y).mean() > 0.95
    again = JobSelectorReuser(models, specs=specs, classes=4, samples=400, seed=3).fit(X)
    np.testing.assert_array_equal(again.route(X), routes)  # reproducible with a seed
    single = JobSelectorReuser(models, [0.0, 1.0], specs=specs, classes=4).fit(X)
    assert set(single.route(X).tolist()) == {1}


def test_averaging_weights_votes_and_columns() -> None:
    rng = np.random.default_rng(1)
    X, _ = blobs((0, 1, 2, 3), 50, rng)
    models = [Nearest((0, 1)), Nearest((2, 3)), Nearest((0, 1, 2, 3))]
    only_first = AveragingReuser(models, [1.0, 0.0, 0.0], classes=4).predict(X)
    np.testing.assert_array_equal(only_first, models[0].predict(X))
    vote = AveragingReuser([models[2], models[2], models[0]], classes=4).predict(X)
    np.testing.assert_array_equal(vote, models[2].predict(X))  # majority of three
    proba = AveragingReuser(models[:2], classes=4).predict_proba(X)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    coefs = [rng.normal(size=(2, 3)) for _ in range(2)]
    regression = AveragingReuser([Linear(c) for c in coefs], [0.25, 0.75], task="regression")
    np.testing.assert_allclose(regression.predict(X), X @ (0.25 * coefs[0] + 0.75 * coefs[1]))


def test_output_conventions_are_declared_not_guessed() -> None:
    X, _ = blobs((0, 1, 2, 3), 40, np.random.default_rng(2))
    scores = Nearest((0, 1, 2, 3), output="scores")
    as_scores = AveragingReuser([scores], outputs="scores").predict_proba(X)
    as_logits = AveragingReuser([scores], outputs="logits").predict_proba(X)
    assert not np.allclose(as_scores, as_logits)  # softmax only when declared
    np.testing.assert_allclose(as_logits.sum(axis=1), 1.0)
    np.testing.assert_array_equal(as_logits.argmax(axis=1), Nearest((0, 1, 2, 3)).predict(X))
    mixed = AveragingReuser([scores, Nearest((0, 1, 2, 3))], outputs=["logits", "labels"])
    np.testing.assert_array_equal(mixed.predict(X), Nearest((0, 1, 2, 3)).predict(X))
    with pytest.raises(ReuseError, match="outside \\[0, 2\\)"):
        AveragingReuser([Nearest((2, 3))], classes=2).predict(X)
    with pytest.raises(ReuseError, match="4 scores per row for 3 classes"):
        AveragingReuser([scores], outputs="proba", classes=3).predict(X)
    with pytest.raises(ReuseError, match="unknown output kind"):
        AveragingReuser([scores], outputs="softmax")  # type: ignore[arg-type]


def test_ensemble_pruning_keeps_the_good_and_never_loses_to_the_best_single() -> None:
    rng = np.random.default_rng(4)
    X, y = blobs((0, 1, 2, 3), 200, rng)

    class Noise:
        def __init__(self, seed: int) -> None:
            self.rng = np.random.default_rng(seed)

        def predict(self, X: np.ndarray) -> np.ndarray:
            return self.rng.integers(0, 4, size=len(X))

    models = [Noise(100 + s) for s in range(5)] + [Nearest((0, 1, 2, 3)), Nearest((0, 1))]
    reuser = EnsemblePruningReuser(models, classes=4, population=20, generations=15, seed=0)
    reuser.fit(X, y)
    assert reuser.selected and 5 in reuser.selected
    errors = [(m.predict(X) != y).mean() for m in models]
    assert (reuser.predict(X) != y).mean() <= min(errors)
    assert reuser.front
    coefs = rng.normal(size=(2, 1))
    target = (X @ coefs)[:, 0]
    regression = EnsemblePruningReuser(
        [Linear(coefs), Linear(coefs * 3), Linear(-coefs)], task="regression", generations=5
    ).fit(X, target)
    assert regression.selected == [0]
    with pytest.raises(ReuseError, match="labels must be integers in \\[0, 4\\)"):
        EnsemblePruningReuser(models, classes=4).fit(X, y + 4)


def test_feature_augmentation_multi_output_regression_and_classification() -> None:
    rng = np.random.default_rng(5)
    X = rng.normal(size=(120, 3))
    coef = rng.normal(size=(3, 2))
    y = np.tanh(X @ coef) * 3
    helper = Linear(coef)
    reuser = FeatureAugmentReuser([helper], task="regression").fit(X[:80], y[:80])
    predicted = reuser.predict(X[80:])
    assert predicted.shape == (40, 2)
    assert ((predicted - y[80:]) ** 2).mean() < 0.5 * ((y[80:] - y[:80].mean(0)) ** 2).mean()
    Xc, yc = blobs((0, 1, 2, 3), 120, rng)
    clf = FeatureAugmentReuser([Nearest((0, 1, 2, 3))], classes=4).fit(Xc[:60], yc[:60])
    assert (clf.predict(Xc[60:]) == yc[60:]).mean() > 0.9
    with pytest.raises(ReuseError, match="needs labels"):
        FeatureAugmentReuser([helper], task="regression").fit(X)


def test_bad_input_is_a_clear_error() -> None:
    X, _ = blobs((0, 1), 20, np.random.default_rng(6))
    spec = RKMETableSpecification.generate(X, K=10)
    with pytest.raises(DockError, match="needs at least one learnware"):
        AveragingReuser([])
    with pytest.raises(ReuseError, match="X has 3 features; the learnwares take 2"):
        JobSelectorReuser([Nearest((0, 1))], specs=[spec]).fit(np.zeros((5, 3)))
    with pytest.raises(ReuseError, match="NaN"):
        AveragingReuser([Nearest((0, 1))]).predict(np.full((2, 2), np.nan))
    with pytest.raises(ReuseError, match="weights must be 1 non-negative"):
        AveragingReuser([Nearest((0, 1))], [-1.0])
    with pytest.raises(ReuseError, match="1 RKMEs given for 2 learnwares"):
        JobSelectorReuser([Nearest((0, 1)), Nearest((2, 3))], specs=[spec])
    with pytest.raises(ReuseError, match="task must be"):
        AveragingReuser([Nearest((0, 1))], task="ranking")  # type: ignore[arg-type]


def digits_split() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Real digits: features, labels, a user's rows of digits 1-6, and the training rows
    of digits 1-3 and of 4-6 (for two learnwares on disjoint classes)."""
    from sklearn.datasets import load_digits

    digits = load_digits()
    X, y = digits.data / 16.0, digits.target
    order = np.random.default_rng(5).permutation(len(X))
    train, user = order[:1000], order[1000:1600]
    user = user[np.isin(y[user], (1, 2, 3, 4, 5, 6))]
    low, high = train[np.isin(y[train], (1, 2, 3))], train[np.isin(y[train], (4, 5, 6))]
    return X, y, user, low, high


@pytest.mark.parametrize(
    "options",
    [
        {},
        {"router": "logistic"},
        {"pseudo_samples": "herding", "samples": 600},
        {"router": "boosting"},
    ],
)
def test_job_selector_routes_real_digits_to_the_learnware_of_their_class(
    options: dict[str, object],
) -> None:
    """Two learnwares on disjoint digit classes (1-3, 4-6): a user with those six digits
    has each row routed to the learnware trained on its class (a logistic router trained
    on the learnwares' real rows gets 98%)."""
    X, y, user, low, high = digits_split()
    specs = [RKMETableSpecification.generate(X[rows], K=60, seed=1) for rows in (low, high)]
    models = [Linear(np.zeros((64, 10))), Linear(np.zeros((64, 10)))]  # only routes count
    reuser = JobSelectorReuser(models, specs=specs, classes=10, seed=2, **options)  # type: ignore[arg-type]
    reuser.fit(X[user])
    assert reuser.mixture is not None
    assert abs(reuser.mixture[0] - (y[user] <= 3).mean()) < 0.1
    assert (reuser.route(X[user]) == (y[user] >= 4)).mean() >= 0.95


def test_averaging_with_softmax_averages_each_learnwares_softmaxed_scores() -> None:
    rng = np.random.default_rng(7)
    X, _ = blobs((0, 1, 2, 3), 50, rng)
    members = [Nearest((0, 1), "scores"), Nearest((0, 1, 2, 3), "scores")]

    def softmax(scores: np.ndarray) -> np.ndarray:
        e = np.exp(scores - scores.max(axis=1, keepdims=True))
        return np.asarray(e / e.sum(axis=1, keepdims=True))

    want = np.mean([softmax(m.predict(X)) for m in members], axis=0)
    got = AveragingReuser(members, outputs="scores", classes=4, softmax=True)
    np.testing.assert_allclose(got.predict_proba(X), want / want.sum(axis=1, keepdims=True))
    np.testing.assert_array_equal(got.predict(X), want.argmax(axis=1))
    plain = AveragingReuser(members, outputs="scores", classes=4).predict_proba(X)
    assert not np.allclose(plain, got.predict_proba(X))


@pytest.mark.parametrize("router", ["kernel-logistic", "logistic"])
def test_logistic_routers_do_not_depend_on_the_feature_scale(router: str) -> None:
    """The logistic routers standardise their features before the L2-regularised fit, so
    the same data in other units (x 1000, the kernel width scaled with it) is routed the
    same."""
    X, y, user, low, high = digits_split()
    routes = []
    for scale in (1.0, 1000.0):
        specs = [
            RKMETableSpecification.generate(X[rows] * scale, K=60, gamma=0.1 / scale**2, seed=1)
            for rows in (low, high)
        ]
        models = [Linear(np.zeros((64, 10))), Linear(np.zeros((64, 10)))]
        reuser = JobSelectorReuser(models, specs=specs, classes=10, seed=2, router=router)  # type: ignore[arg-type]
        routes.append(reuser.fit(X[user] * scale).route(X[user] * scale))
    assert (routes[0] == (y[user] >= 4)).mean() >= 0.95
    assert (routes[0] == routes[1]).mean() >= 0.98


def test_kernel_router_separates_what_no_line_can() -> None:
    """Two learnwares: one on a ring around the origin, one on a blob inside it. No linear
    router tells them apart; the kernel router (the RKMEs' own kernel) routes >= 95% of a
    user's rows from both to the learnware whose data they come from, and routes a table
    bigger than one chunk (:data:`ROUTE_ROWS`) the same as its rows one chunk at a time."""
    from learnware_dock_reuse.job_selector import ROUTE_ROWS

    rng = np.random.default_rng(7)

    def ring(n: int) -> np.ndarray:
        angle = rng.uniform(0, 2 * np.pi, n)
        return np.c_[np.cos(angle), np.sin(angle)] * 3.0 + rng.normal(0, 0.2, (n, 2))

    def blob(n: int) -> np.ndarray:
        return rng.normal(0, 0.5, (n, 2))

    specs = [RKMETableSpecification.generate(f(400), K=40, gamma=1.0, seed=1) for f in (ring, blob)]
    models = [Linear(np.zeros((2, 2))), Linear(np.zeros((2, 2)))]
    user = np.vstack([ring(300), blob(300)])
    truth = np.r_[np.zeros(300), np.ones(300)]
    kernel = JobSelectorReuser(models, specs=specs, classes=2, seed=0).fit(user)
    linear = JobSelectorReuser(models, specs=specs, classes=2, seed=0, router="logistic").fit(user)
    assert (kernel.route(user) == truth).mean() >= 0.95
    assert (linear.route(user) == truth).mean() < 0.8
    big = np.vstack([ring(ROUTE_ROWS), blob(500)])
    whole = kernel.route(big)
    assert len(whole) == len(big)
    np.testing.assert_array_equal(whole[:ROUTE_ROWS], kernel.route(big[:ROUTE_ROWS]))
    assert (whole == np.r_[np.zeros(ROUTE_ROWS), np.ones(500)]).mean() >= 0.95

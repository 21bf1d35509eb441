"""Reusers over text learnwares: documents go to the models as they are; the job
selector routes them in the RKMEs' space through the spec's ``embed_rows``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pytest

from learnware_dock_reuse import (
    AveragingReuser,
    EnsemblePruningReuser,
    FeatureAugmentReuser,
    JobSelectorReuser,
    ReuseError,
)
from learnware_dock_rkme import RKMETableSpecification

TOPICS = {
    0: "goal match striker league referee penalty season club",
    1: "orbit rocket launch planet telescope galaxy mission satellite",
    2: "recipe oven flour butter garlic simmer dough spice",
}


def posts(topic: int, n: int, rng: np.random.Generator) -> list[str]:
    words = TOPICS[topic].split()
    return [" ".join(rng.choice(words, size=8)) for _ in range(n)]


class WordShares(RKMETableSpecification):
    """A text RKME whose embedding of a post is its share of each topic's words."""

    def embed_rows(self, X: Any) -> np.ndarray:
        vocab = [set(t.split()) for t in TOPICS.values()]
        return np.array(
            [[sum(w in v for w in doc.split()) / len(doc.split()) for v in vocab] for doc in X]
        )


def learnware(topics: Sequence[int], rng: np.random.Generator) -> tuple[Any, WordShares]:
    """A TF-IDF + naive Bayes model trained on some topics, with the RKME of its posts."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.naive_bayes import MultinomialNB
    from sklearn.pipeline import make_pipeline

    docs = [d for t in topics for d in posts(t, 40, rng)]
    labels = [t for t in topics for _ in range(40)]
    model = make_pipeline(TfidfVectorizer(), MultinomialNB()).fit(docs, labels)
    probe = WordShares(np.zeros((1, 3)), np.ones(1), 1.0, 1)
    spec = WordShares.generate(probe.embed_rows(docs), K=10, gamma=1.0)
    return model, WordShares(spec.z, spec.beta, spec.gamma, spec.num_points)


def test_text_learnwares_are_reused_on_documents() -> None:
    rng = np.random.default_rng(0)
    (sport, sport_spec), (space, space_spec) = learnware([0], rng), learnware([1], rng)
    user = posts(0, 30, rng) + posts(1, 30, rng)
    truth = np.array([0] * 30 + [1] * 30)

    selector = JobSelectorReuser(
        [sport, space], specs=[sport_spec, space_spec], outputs="labels", classes=3
    )
    assert (selector.route(user) == truth).all()  # routed by the spec's embedding
    assert (selector.fit(user).predict(user) == truth).all()
    assert selector.mixture is not None and abs(selector.mixture[0] - 0.5) < 0.2

    averaged = AveragingReuser([sport, space], outputs="labels", classes=3).predict(user)
    assert averaged.shape == (60,) and (averaged == truth).mean() >= 0.4

    # with labels: a learnware that knows both topics, one that knows one and cooking
    both, mixed = learnware([0, 1], rng)[0], learnware([1, 2], rng)[0]
    pruned = EnsemblePruningReuser([both, mixed], outputs="labels", classes=3, seed=0)
    assert (pruned.fit(user, truth).predict(user) == truth).mean() > 0.9
    augmented = FeatureAugmentReuser([mixed, both], outputs="labels", classes=3)
    assert (augmented.fit(user, truth).predict(user) == truth).mean() > 0.9


def test_documents_must_all_be_texts() -> None:
    rng = np.random.default_rng(1)
    model, spec = learnware([2], rng)
    reuser = JobSelectorReuser([model], specs=[spec], outputs="labels", classes=3)
    with pytest.raises(ReuseError, match="row 1 of the documents is not a text"):
        reuser.predict(["a recipe", None, "dough"])

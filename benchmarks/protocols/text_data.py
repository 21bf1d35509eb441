"""The text protocol's data: 20 Newsgroups posts, their superclasses, sentence embeddings
(cached on disk) and the learnwares' model (TF-IDF + naive Bayes, probabilities over the
20 groups).

Posts: ``../shared/data/20news-bydate.jsonl.gz`` (the "bydate" split: 11,315 training and
7,532 test posts), headers removed except the subject line (the sender's address and
organisation would name the group). Superclasses: the group prefixes ``comp``, ``rec``,
``sci``, ``talk`` and ``misc``, with ``alt.atheism`` and ``soc.religion.christian``
folded into ``talk`` (religion is argued in ``talk.religion.misc`` too) and ``misc``
holding ``misc.forsale`` alone.
"""

from __future__ import annotations

import gzip
import hashlib
import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from learnware_dock.testing import shared_data

DATA = shared_data("20news-bydate.jsonl.gz", Path(__file__).parent)
SUPERCLASSES = ("comp", "rec", "sci", "talk", "misc")
FOLDED = {"alt.atheism": "talk", "soc.religion.christian": "talk"}
#: characters of a post kept (the encoder reads its first 256 tokens anyway)
MAX_CHARS = 2000


def superclass(group: str) -> str:
    return FOLDED.get(group, group.split(".")[0])


def strip_headers(post: str, max_chars: int = MAX_CHARS) -> str:
    """The body of a post, after its subject line (the file's training posts have tabs
    where their line breaks were: they are turned back into line breaks)."""
    if post.count("\t") > post.count("\n"):
        post = post.replace("\t", "\n")
    head, _, body = post.partition("\n\n")
    subject = next((line[8:] for line in head.splitlines() if line.startswith("Subject:")), "")
    return f"{subject.strip()}\n{body.strip()}"[:max_chars]


def load_posts(path: Path = DATA, max_chars: int = MAX_CHARS) -> dict[str, Any]:
    """``texts``, ``groups`` (index into ``names``), ``names`` (the 20 groups, sorted),
    ``superclass`` (index into SUPERCLASSES) and ``train`` (bool), one entry per post."""
    if not path.is_file():
        raise SystemExit(f"20 Newsgroups not found at {path} (see ../shared/data/README.md)")
    with gzip.open(path, "rt", encoding="utf-8") as lines:
        rows = [json.loads(line) for line in lines]
    names = sorted({row["group"] for row in rows})
    return {
        "texts": [strip_headers(row["text"], max_chars) for row in rows],
        "groups": np.array([names.index(row["group"]) for row in rows]),
        "names": names,
        "superclass": np.array([SUPERCLASSES.index(superclass(row["group"])) for row in rows]),
        "train": np.array([row["split"] == "train" for row in rows]),
    }


def cached_embeddings(
    texts: Sequence[str],
    encode: Callable[[list[str]], np.ndarray],
    encoder: str,
    cache: Path,
    chunk: int = 1000,
) -> np.ndarray:
    """``encode(texts)``, ``chunk`` texts at a time, each chunk read from or added to
    ``cache`` (one .npy per encoder and chunk of texts, keyed by their sha256), so a rerun,
    or a run after an interrupted one, embeds only what is missing."""
    parts = []
    for start in range(0, len(texts), chunk):
        part = list(texts[start : start + chunk])
        digest = hashlib.sha256(encoder.encode())
        for text in part:
            digest.update(hashlib.sha256(text.encode()).digest())
        path = cache / f"{encoder}-{digest.hexdigest()[:16]}.npy"
        if path.is_file():
            parts.append(np.load(path, allow_pickle=False))
            continue
        vectors = np.asarray(encode(part), dtype=np.float32)
        cache.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(".part.npy")
        np.save(partial, vectors, allow_pickle=False)
        partial.replace(path)
        parts.append(vectors)
        print(f"  embedded {start + len(part)}/{len(texts)}", flush=True)
    return np.concatenate(parts) if parts else np.zeros((0, 0), dtype=np.float32)


def fit_model(texts: Sequence[str], groups: np.ndarray, seed: int) -> Any:
    """The learnware's (and the user's own) model: TF-IDF + multinomial naive Bayes."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.naive_bayes import MultinomialNB
    from sklearn.pipeline import make_pipeline

    del seed  # deterministic
    vectorizer = TfidfVectorizer(sublinear_tf=True, min_df=2, max_features=50_000)
    return make_pipeline(vectorizer, MultinomialNB(alpha=0.01)).fit(list(texts), groups)


class GroupProba:
    """A model's probabilities over all 20 groups (zeros for the groups it never saw)."""

    def __init__(self, model: Any, groups: int = 20) -> None:
        self.model, self.groups = model, groups

    def predict(self, X: Sequence[str]) -> np.ndarray:
        out = np.zeros((len(X), self.groups))
        out[:, self.model.classes_] = self.model.predict_proba(list(X))
        return out


#: the packaged model class: the pipeline in model.joblib, probabilities over 20 groups
MODEL_SOURCE = '''
import os

import joblib
import numpy as np


class GroupProba:
    """Probabilities over the 20 newsgroups (zeros for the groups it never saw)."""

    def __init__(self):
        here = os.path.dirname(os.path.abspath(__file__))
        self.model = joblib.load(os.path.join(here, "model.joblib"))

    def predict(self, X):
        out = np.zeros((len(X), 20))
        out[:, self.model.classes_] = self.model.predict_proba(list(X))
        return out
'''


def semantic(name: str = "", description: str = "") -> Any:
    """A text classifier's semantic spec (a user's: Data and Task only)."""
    from learnware_dock.semantic import IOSpec, SemanticSpec

    if not name:
        return SemanticSpec(data=("Text",), task=("Classification",))
    return SemanticSpec(
        name=name,
        description=description,
        data=("Text",),
        task=("Classification",),
        library=("Scikit-learn",),
        scenario=("Education",),
        license=("MIT",),
        model=("Others",),
        output=IOSpec(20),
    )

"""What a learnware's output means, and turning outputs into comparable class votes.

A classifier's output is declared, never guessed: ``labels`` (one class index per row),
``proba`` (class probabilities), ``logits`` (unnormalised scores: softmax is applied) or
``scores`` (any per-class scores, averaged as they are). ``auto`` reads the width of the
output: one column means labels, C columns mean scores (no softmax). Regressors return
``values``, one or more columns, kept per column.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import numpy as np

from learnware_dock.errors import DockError

OutputKind = Literal["auto", "labels", "proba", "logits", "scores"]
Task = Literal["classification", "regression"]
KINDS = ("auto", "labels", "proba", "logits", "scores")


class ReuseError(DockError):
    """Bad input to a reuser (no learnwares, mismatched shapes, unknown options...)."""


def check_task(task: str) -> Task:
    if task not in ("classification", "regression"):
        raise ReuseError(f"task must be 'classification' or 'regression', not {task!r}")
    return task  # type: ignore[return-value]


def kinds_for(outputs: OutputKind | Sequence[OutputKind], count: int) -> list[OutputKind]:
    """One declared kind per learnware."""
    kinds = [outputs] * count if isinstance(outputs, str) else list(outputs)
    if len(kinds) != count:
        raise ReuseError(f"{len(kinds)} output kinds given for {count} learnwares")
    for kind in kinds:
        if kind not in KINDS:
            raise ReuseError(f"unknown output kind {kind!r}; use one of {', '.join(KINDS)}")
    return kinds


def is_documents(data: Any) -> bool:
    """Whether ``data`` is a sequence of texts (documents), not a numeric table."""
    if isinstance(data, np.ndarray):
        return data.ndim == 1 and data.dtype.kind in "OUS" and len(data) > 0
    return isinstance(data, list | tuple) and len(data) > 0 and isinstance(data[0], str)


def check_rows(data: Any, dimension: int | None = None) -> np.ndarray:
    """The rows the learnwares take: an n x d finite float64 array (with ``dimension``
    columns when given), or, for text learnwares, a 1-D object array of n documents."""
    if is_documents(data):
        docs = np.asarray(list(data), dtype=object)
        bad = [i for i, doc in enumerate(docs) if not isinstance(doc, str)]
        if bad:
            raise ReuseError(f"row {bad[0]} of the documents is not a text ({docs[bad[0]]!r})")
        return docs
    X: np.ndarray = np.asarray(data, dtype=np.float64)
    if X.ndim != 2 or len(X) == 0:
        raise ReuseError(f"X must be a non-empty 2-D array, not shape {X.shape}")
    if dimension is not None and X.shape[1] != dimension:
        raise ReuseError(f"X has {X.shape[1]} features; the learnwares take {dimension}")
    if not np.isfinite(X).all():
        raise ReuseError("X contains NaN or infinite values")
    return X


def predictions(models: Sequence[Any], X: np.ndarray) -> list[np.ndarray]:
    """Every model's raw output on ``X`` (rows checked)."""
    outs = []
    for index, model in enumerate(models):
        out = np.asarray(model.predict(X))
        if out.ndim == 0 or out.shape[0] != len(X):
            raise ReuseError(f"learnware {index} returned shape {out.shape} for {len(X)} rows")
        outs.append(out)
    return outs


def votes(out: np.ndarray, kind: OutputKind, classes: int) -> np.ndarray:
    """An n x classes matrix of class votes (rows sum to 1 for labels/proba/logits)."""
    columns = 1 if out.ndim == 1 else int(np.prod(out.shape[1:]))
    flat = out.reshape(len(out), columns).astype(np.float64)
    if kind == "auto":
        kind = "labels" if columns == 1 else "scores"
    if kind == "labels":
        labels = flat[:, 0]
        if not np.array_equal(labels, np.round(labels)) or labels.min() < 0:
            raise ReuseError("label outputs must be non-negative integers")
        if labels.max() >= classes:
            raise ReuseError(f"a label {int(labels.max())} is outside [0, {classes})")
        one_hot = np.zeros((len(flat), classes))
        one_hot[np.arange(len(flat)), labels.astype(int)] = 1.0
        return one_hot
    if columns != classes:
        raise ReuseError(f"a learnware returned {columns} scores per row for {classes} classes")
    if kind == "logits":
        shifted = flat - flat.max(axis=1, keepdims=True)
        exp = np.exp(shifted)
        return np.asarray(exp / exp.sum(axis=1, keepdims=True))
    return flat


def class_count(
    outs: Sequence[np.ndarray], kinds: Sequence[OutputKind], classes: int | None
) -> int:
    """The number of classes: given, or the widest score output / largest label + 1."""
    if classes is not None:
        if classes < 2:
            raise ReuseError(f"classes must be at least 2, not {classes}")
        return classes
    found = 2
    for out, kind in zip(outs, kinds, strict=True):
        columns = 1 if out.ndim == 1 else int(np.prod(out.shape[1:]))
        if columns == 1 and kind in ("auto", "labels"):
            found = max(found, int(np.max(out)) + 1)
        else:
            found = max(found, columns)
    return found


def values(out: np.ndarray) -> np.ndarray:
    """A regressor's output as an n x outputs matrix."""
    return out.reshape(len(out), -1).astype(np.float64)


def normalised_weights(weights: Sequence[float] | None, count: int) -> np.ndarray:
    if weights is None:
        return np.full(count, 1.0 / count)
    w = np.asarray(weights, dtype=np.float64)
    if w.shape != (count,) or not np.isfinite(w).all() or (w < 0).any() or w.sum() <= 0:
        raise ReuseError(f"weights must be {count} non-negative numbers with a positive sum")
    return np.asarray(w / w.sum())

"""Self-supervised training of the :class:`HeteroMap`: vertical-partition contrastive
learning (VPCL, as TransTab and the `learnware` package).

Each batch holds rows of one table. Its columns are shuffled and cut into
``min(partitions, c)`` contiguous parts, each extended by ``ceil(len(first part) *
overlap_ratio)`` columns of its neighbour; every part is encoded to its CLS state and
projected, and a supervised-contrastive loss takes the views of the same row as positives
and every other row's views as negatives. Like the package, the projections are not
L2-normalised: the dot products are divided by ``temperature``. So a row seen through a
subset of its columns lands near the row seen through all of them, which is what lets a
user with only some of a learnware's columns find it.

Unlike the package: every row is used (it drops row 0), rows with NaN (or infinite) cells
are dropped, each table's rows are split into balanced batches (no batch of 1 at the end),
batches of all tables are interleaved in a seeded order so a big table does not dominate
the end of an epoch, and the views of a batch go through the model in one padded, masked
pass.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import attrs
import numpy as np
import torch
from torch import Tensor

from learnware_dock.errors import SpecificationError
from learnware_dock_hetero.model import HeteroMap, MappingConfig


def _whole(low: int) -> Any:
    def check(instance: object, attribute: attrs.Attribute[Any], value: Any) -> None:
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            raise SpecificationError(
                f"TrainingOptions.{attribute.name} must be an integer >= {low}, got {value!r}"
            )

    return check


def _real(*, positive: bool) -> Any:
    def check(instance: object, attribute: attrs.Attribute[Any], value: Any) -> None:
        number = isinstance(value, int | float) and not isinstance(value, bool)
        if not number or not math.isfinite(value) or (value <= 0 if positive else value < 0):
            bound = "> 0" if positive else ">= 0"
            raise SpecificationError(
                f"TrainingOptions.{attribute.name} must be a finite number {bound}, got {value!r}"
            )

    return check


@attrs.frozen
class TrainingOptions:
    """How long and how fast to train (all validated)."""

    epochs: int = attrs.field(default=20, validator=_whole(1))
    batch_size: int = attrs.field(default=64, validator=_whole(1))
    learning_rate: float = attrs.field(default=1e-3, validator=_real(positive=True))
    weight_decay: float = attrs.field(default=0.0, validator=_real(positive=False))
    seed: int = attrs.field(default=0, validator=_whole(0))


def _prepare(
    tables: Sequence[tuple[np.ndarray, np.ndarray]], column_dim: int
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Checked float32 (finite rows, column embeddings) of the tables with >= 2 columns."""
    if len(tables) == 0:
        raise SpecificationError("the mapping needs at least one training table, got none")
    usable = []
    for i, table in enumerate(tables):
        try:
            rows, columns = table
            data = np.asarray(rows, dtype=np.float64)
            described = np.asarray(columns, dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise SpecificationError(
                f"training table {i} must be a pair (rows n x c, column embeddings "
                f"c x {column_dim}) of numeric arrays: {exc}"
            ) from exc
        if data.ndim != 2:
            raise SpecificationError(
                f"training table {i}: rows must be 2-D (n x c), got shape {data.shape}"
            )
        if described.shape != (data.shape[1], column_dim):
            raise SpecificationError(
                f"training table {i}: column embeddings must be {data.shape[1]} x {column_dim} "
                f"(one per column of rows {data.shape}), got shape {described.shape}"
            )
        if not np.isfinite(described).all():
            raise SpecificationError(
                f"training table {i}: column embeddings contain NaN or infinite values"
            )
        data = data[np.isfinite(data).all(axis=1)]
        if data.shape[1] >= 2 and data.shape[0] > 0:
            usable.append((data.astype(np.float32), described.astype(np.float32)))
    if not usable:
        raise SpecificationError("the mapping needs tables with at least 2 described columns")
    return usable


def partition_columns(order: np.ndarray, partitions: int, overlap_ratio: float) -> list[np.ndarray]:
    """The views of a shuffled column ``order``: ``min(partitions, c)`` contiguous parts,
    each extended by the neighbouring part's first (the last part: the previous part's
    last) ``ceil(len(first part) * overlap_ratio)`` columns."""
    n = min(partitions, len(order))
    parts = np.array_split(order, n)
    overlap = math.ceil(len(parts[0]) * overlap_ratio)
    if overlap == 0:
        return parts
    views = []
    for i, part in enumerate(parts):
        extra = parts[i + 1][:overlap] if i < n - 1 else parts[i - 1][-overlap:]
        views.append(np.concatenate([part, extra]))
    return views


def contrastive_loss(features: Tensor, temperature: float) -> Tensor:
    """Supervised-contrastive (multi-view InfoNCE) loss of ``features`` (B x V x D): the
    V views of a row are each other's positives, all other views are negatives."""
    batch, views, _ = features.shape
    flat = features.transpose(0, 1).reshape(batch * views, -1)  # view-major, as the package
    logits = flat @ flat.T / temperature
    self_pair = torch.eye(batch * views, dtype=torch.bool, device=flat.device)
    logits = logits.masked_fill(self_pair, -math.inf)
    log_prob = logits - torch.logsumexp(logits, dim=1, keepdim=True)
    row = torch.arange(batch, device=flat.device).repeat(views)
    positive = (row[:, None] == row[None, :]) & ~self_pair
    mean_positive = log_prob.masked_fill(~positive, 0.0).sum(1) / positive.sum(1)
    return -mean_positive.mean()


def _encode_views(
    model: HeteroMap, batch: Tensor, columns: Tensor, views: list[np.ndarray]
) -> Tensor:
    """The projections (b x V x projection_dim) of the V views of ``batch`` (b x c), in
    one padded, masked pass through the model (views differ in length by a column or two)."""
    width = max(len(view) for view in views)
    index = np.zeros((len(views), width), dtype=np.int64)
    present = np.zeros((len(views), width), dtype=bool)
    for v, view in enumerate(views):
        index[v, : len(view)] = view
        present[v, : len(view)] = True
    b, device = batch.shape[0], batch.device
    index_t = torch.as_tensor(index, device=device)
    mask = torch.as_tensor(present, device=device).repeat_interleave(b, dim=0)  # (V b) x L
    values = batch[:, index_t].transpose(0, 1).reshape(len(views) * b, width)
    described = columns[index_t].repeat_interleave(b, dim=0)  # (V b) x L x column_dim
    projected = model.project(model(values, described, mask))
    return projected.view(len(views), b, -1).transpose(0, 1)


def _optimiser(model: HeteroMap, options: TrainingOptions) -> torch.optim.Optimizer:
    """AdamW; weight decay on the weight matrices only (not norms, biases, tokens)."""
    decay: list[torch.nn.Parameter] = []
    plain: list[torch.nn.Parameter] = []
    for name, parameter in model.named_parameters():
        matrix = parameter.dim() >= 2 and "norm" not in name
        (decay if matrix else plain).append(parameter)
    groups = [
        {"params": decay, "weight_decay": options.weight_decay},
        {"params": plain, "weight_decay": 0.0},
    ]
    return torch.optim.AdamW(groups, lr=options.learning_rate)


def train_mapping(
    tables: Sequence[tuple[np.ndarray, np.ndarray]],
    config: MappingConfig = MappingConfig(),
    options: TrainingOptions = TrainingOptions(),
    *,
    progress: Callable[[int, int], None] | None = None,
    device: str = "cpu",
) -> tuple[HeteroMap, list[float]]:
    """Train a mapping on ``tables`` (rows n_i x c_i, column embeddings c_i x column_dim);
    return it in eval mode with the mean loss of each epoch. Deterministic given
    ``options.seed`` (on one device and torch build)."""
    prepared = _prepare(tables, config.column_dim)
    rng = np.random.default_rng(options.seed)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(options.seed)
        model = HeteroMap(config)
    model.to(device)
    model.train()
    optimiser = _optimiser(model, options)
    data = [
        (torch.as_tensor(rows, device=device), torch.as_tensor(cols, device=device))
        for rows, cols in prepared
    ]
    counts = [math.ceil(len(rows) / options.batch_size) for rows, _ in prepared]
    total = options.epochs * sum(counts)
    done = 0
    losses = []
    for _ in range(options.epochs):
        batches = [
            (t, idx)
            for t, (rows, _) in enumerate(prepared)
            for idx in np.array_split(rng.permutation(len(rows)), counts[t])
        ]
        epoch_loss = 0.0
        for pick in rng.permutation(len(batches)):
            t, idx = batches[pick]
            values, columns = data[t]
            batch = values[torch.as_tensor(idx, device=device)]
            views = partition_columns(
                rng.permutation(columns.shape[0]), config.partitions, config.overlap_ratio
            )
            loss = contrastive_loss(_encode_views(model, batch, columns, views), config.temperature)
            optimiser.zero_grad(set_to_none=True)
            loss.backward()  # type: ignore[no-untyped-call]
            optimiser.step()
            epoch_loss += float(loss.item())
            done += 1
            if progress is not None:
                progress(done, total)
        losses.append(epoch_loss / len(batches))
    model.eval()
    return model, losses

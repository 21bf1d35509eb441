"""The HeteroMap market mapping: a TransTab-style table encoder over described columns.

A row becomes one token per present column, ``LayerNorm(W_col c_j) * squash(v_j) + bias``,
where ``c_j`` is the embedding of column j's description (from a sentence encoder) and
``squash(v) = sign(v) * log1p(|v|)`` compresses raw magnitudes (counts in the thousands)
so they cannot swamp attention. A learned CLS token is prepended and the sequence runs
through a post-norm ``torch.nn.TransformerEncoder`` (as TransTab and the `learnware`
package: the CLS output is layer-normalised, hence on a bounded scale for kernels). There
is no positional encoding, so the output does not depend on the order of the columns, and
absent columns are masked out, so tables with different columns share one space.

Unlike the package, the LayerNorm acts on the projected description *before* the value
multiplies it (the package normalises its word embeddings there too): a LayerNorm after
the product is scale invariant and would erase most of the value's magnitude.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, Self

import attrs
import numpy as np
import torch
from torch import Tensor, nn

from learnware_dock.errors import SpecificationError


def _whole(low: int) -> Any:
    def check(instance: object, attribute: attrs.Attribute[Any], value: Any) -> None:
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            raise SpecificationError(
                f"MappingConfig.{attribute.name} must be an integer >= {low}, got {value!r}"
            )

    return check


def _real(low: float, high: float, *, high_open: bool) -> Any:
    def check(instance: object, attribute: attrs.Attribute[Any], value: Any) -> None:
        ok = (
            isinstance(value, float)
            and math.isfinite(value)
            and low <= value
            and (value < high if high_open else value <= high)
        )
        if not ok:
            bound = f"< {high:g}" if high_open else f"<= {high:g}"
            raise SpecificationError(
                f"MappingConfig.{attribute.name} must be a number >= {low:g} and {bound}, "
                f"got {value!r}"
            )

    return check


def _to_float(value: Any) -> Any:
    return float(value) if isinstance(value, int) and not isinstance(value, bool) else value


def _heads_divide(instance: MappingConfig, attribute: attrs.Attribute[Any], value: int) -> None:
    if instance.hidden_dim % value:
        raise SpecificationError(
            f"MappingConfig.heads ({value}) must divide hidden_dim ({instance.hidden_dim})"
        )


@attrs.frozen
class MappingConfig:
    """The mapping's architecture and its contrastive-training shape (all validated)."""

    column_dim: int = attrs.field(default=384, validator=_whole(1))
    hidden_dim: int = attrs.field(default=128, validator=_whole(1))
    layers: int = attrs.field(default=2, validator=_whole(1))
    heads: int = attrs.field(default=8, validator=[_whole(1), _heads_divide])
    ffn_dim: int = attrs.field(default=256, validator=_whole(1))
    projection_dim: int = attrs.field(default=128, validator=_whole(1))
    #: vertical partitions (views) per training row; 2 at least, for a positive pair
    partitions: int = attrs.field(default=3, validator=_whole(2))
    overlap_ratio: float = attrs.field(
        default=0.5, converter=_to_float, validator=_real(0.0, 1.0, high_open=True)
    )
    temperature: float = attrs.field(
        default=10.0, converter=_to_float, validator=_real(1e-6, math.inf, high_open=True)
    )

    def to_json(self) -> dict[str, Any]:
        """The fields as plain JSON values."""
        return attrs.asdict(self)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Self:
        """Parse :meth:`to_json`'s output; a missing field takes its default."""
        if not isinstance(data, Mapping):
            raise SpecificationError(f"a MappingConfig must be a JSON object, got {data!r}")
        known = {f.name for f in attrs.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise SpecificationError(f"MappingConfig has no field {unknown[0]!r}")
        return cls(**data)


def squash(values: Tensor) -> Tensor:
    """``sign(v) * log1p(|v|)``: the fixed compression of raw cell values."""
    return torch.sign(values) * torch.log1p(values.abs())


class HeteroMap(nn.Module):
    """Rows plus per-column description embeddings -> one ``hidden_dim`` vector per row."""

    config: MappingConfig

    def __init__(self, config: MappingConfig) -> None:
        super().__init__()
        self.config = config
        h = config.hidden_dim
        bound = 1.0 / math.sqrt(h)
        self.column_projection = nn.Linear(config.column_dim, h)
        self.column_norm = nn.LayerNorm(h)
        self.value_bias = nn.Parameter(torch.empty(h).uniform_(-bound, bound))
        self.cls_token = nn.Parameter(torch.empty(h).uniform_(-bound, bound))
        layer = nn.TransformerEncoderLayer(
            h,
            config.heads,
            dim_feedforward=config.ffn_dim,
            dropout=0.0,
            batch_first=True,
            norm_first=False,
        )
        self.encoder = nn.TransformerEncoder(layer, config.layers, enable_nested_tensor=False)
        self.projection_head = nn.Linear(h, config.projection_dim, bias=False)

    def forward(self, values: Tensor, columns: Tensor, mask: Tensor | None = None) -> Tensor:
        """The CLS outputs (B x hidden_dim) of ``values`` (B x C), described by ``columns``
        (B x C x column_dim, or C x column_dim shared by the batch); ``mask`` (B x C, True
        = present) marks the columns of each row in a padded batch."""
        if values.dim() != 2 or columns.dim() not in (2, 3):
            raise SpecificationError(
                f"HeteroMap takes values B x C and columns [B x] C x column_dim, got "
                f"{tuple(values.shape)} and {tuple(columns.shape)}"
            )
        if columns.shape[-2] != values.shape[1] or columns.shape[-1] != self.config.column_dim:
            raise SpecificationError(
                f"columns {tuple(columns.shape)} do not match values {tuple(values.shape)} "
                f"and column_dim {self.config.column_dim}"
            )
        described = self.column_norm(self.column_projection(columns))  # [B x] C x H
        if mask is not None:
            values = torch.where(mask, values, torch.zeros_like(values))
        tokens = described * squash(values).unsqueeze(-1) + self.value_bias  # B x C x H
        if mask is not None:  # padding never reaches attention, not even as NaN * 0
            tokens = torch.where(mask.unsqueeze(-1), tokens, torch.zeros_like(tokens))
        cls = self.cls_token.expand(values.shape[0], 1, -1)
        sequence = torch.cat([cls, tokens], dim=1)
        padding = None
        if mask is not None:
            present = torch.cat([torch.ones_like(mask[:, :1]), mask], dim=1)
            padding = ~present
        out: Tensor = self.encoder(sequence, src_key_padding_mask=padding)
        return out[:, 0]

    def project(self, hidden: Tensor) -> Tensor:
        """The contrastive projection head (B x projection_dim); training only."""
        out: Tensor = self.projection_head(hidden)
        return out

    def embed(
        self, rows: np.ndarray, columns: np.ndarray, *, max_tokens: int = 65536
    ) -> np.ndarray:
        """The mapping's vectors (n x hidden_dim, float64) of ``rows`` (n x c) whose
        columns' descriptions are embedded in ``columns`` (c x column_dim). NaN or infinite
        cells count as absent. At most ``max_tokens`` cells (one row at least) go through the
        model at once."""
        try:
            data = np.asarray(rows, dtype=np.float64)
            described = np.asarray(columns, dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise SpecificationError(f"rows and columns must be numeric arrays: {exc}") from exc
        if data.ndim != 2:
            raise SpecificationError(f"rows must be a 2-D array (n x c), got shape {data.shape}")
        c = data.shape[1]
        if c == 0:
            raise SpecificationError(f"rows have no columns (shape {data.shape})")
        if described.shape != (c, self.config.column_dim):
            raise SpecificationError(
                f"columns must be {c} x {self.config.column_dim} (one description embedding "
                f"per column of rows {data.shape}), got shape {described.shape}"
            )
        if not np.isfinite(described).all():
            raise SpecificationError("column embeddings contain NaN or infinite values")
        if isinstance(max_tokens, bool) or not isinstance(max_tokens, int) or max_tokens < 1:
            raise SpecificationError(f"max_tokens must be a positive integer, got {max_tokens!r}")
        device = self.cls_token.device
        present = np.isfinite(data)
        cells = np.where(present, data, 0.0)
        column_tensor = torch.as_tensor(described, dtype=torch.float32, device=device)
        step = max(1, max_tokens // c)
        out = np.empty((data.shape[0], self.config.hidden_dim), dtype=np.float64)
        was_training = self.training
        self.eval()
        try:
            with torch.no_grad():
                for start in range(0, data.shape[0], step):
                    stop = start + step
                    values = torch.as_tensor(cells[start:stop], dtype=torch.float32, device=device)
                    mask = None
                    if not present[start:stop].all():
                        mask = torch.as_tensor(present[start:stop], device=device)
                    hidden = self(values, column_tensor, mask)
                    out[start:stop] = hidden.cpu().numpy()
        finally:
            self.train(was_training)
        return out

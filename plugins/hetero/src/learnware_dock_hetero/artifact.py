"""Versioned market-mapping files: safetensors, never pickles.

A file holds the model's ``state_dict`` (float32) and two metadata strings:
``learnware_dock_hetero``, the JSON of :class:`MappingInfo` (whose config rebuilds the
model), and ``learnware_dock_hetero.sha256``, a digest of that JSON and of every tensor
(name, dtype, shape, bytes). safetensors checks the layout but not the bytes, so the digest
is what catches a flipped bit in the weights. Saving writes a temporary file in the same
folder, fsyncs it and renames it over the target: a reader sees the old file or the new
one, never half of one.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import uuid
from pathlib import Path
from typing import Any

import attrs
import torch
from safetensors import safe_open
from safetensors.torch import save_file

from learnware_dock.errors import DockError, StoreError
from learnware_dock_hetero.model import HeteroMap, MappingConfig

#: the file layout's version; bump when it changes (older files are then retrained)
MAPPING_FORMAT: int = 1
INFO_KEY = "learnware_dock_hetero"
DIGEST_KEY = "learnware_dock_hetero.sha256"
RETRAIN = "retrain with `dock hetero train`"


class MappingError(StoreError):
    """The market mapping file is missing, corrupted or of another format."""


@attrs.frozen
class MappingInfo:
    """What a mapping file says about itself."""

    version: int  # the market's mapping version (1, 2, ...)
    format: int  # MAPPING_FORMAT of the writer
    config: MappingConfig
    encoder: str  # the column-description encoder, e.g. "all-MiniLM-L6-v2"
    trained_on: int  # number of training tables
    created: str  # ISO timestamp

    def to_json(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "format": self.format,
            "config": self.config.to_json(),
            "encoder": self.encoder,
            "trained_on": self.trained_on,
            "created": self.created,
        }


def _digest(info_json: str, tensors: dict[str, torch.Tensor]) -> str:
    h = hashlib.sha256(info_json.encode())
    for name in sorted(tensors):
        tensor = tensors[name]
        h.update(f"\0{name}\0{tensor.dtype}\0{list(tensor.shape)}\0".encode())
        h.update(tensor.numpy().tobytes())
    return h.hexdigest()


def _state(model: HeteroMap) -> dict[str, torch.Tensor]:
    return {
        k: v.detach().to("cpu", torch.float32).contiguous() for k, v in model.state_dict().items()
    }


def save_mapping(path: Path, model: HeteroMap, info: MappingInfo) -> None:
    """Write ``model`` and ``info`` to ``path`` atomically (temporary file, fsync, rename)."""
    path = Path(path)
    tensors = _state(model)
    info_json = json.dumps(info.to_json(), sort_keys=True)
    metadata = {INFO_KEY: info_json, DIGEST_KEY: _digest(info_json, tensors)}
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    try:
        save_file(tensors, str(tmp), metadata=metadata)
        with open(tmp, "rb+") as handle:
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    with contextlib.suppress(OSError):  # make the rename durable where the OS allows it
        folder = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(folder)
        finally:
            os.close(folder)


def _info(path: Path, text: str | None) -> MappingInfo:
    if text is None:
        raise MappingError(f"mapping file {path} has no {INFO_KEY} metadata; {RETRAIN}")
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise MappingError(
            f"mapping file {path} has corrupted metadata ({exc}); {RETRAIN}"
        ) from exc
    if not isinstance(data, dict):
        raise MappingError(f"mapping file {path} has corrupted metadata; {RETRAIN}")
    written = data.get("format")
    if written != MAPPING_FORMAT:
        if isinstance(written, int) and not isinstance(written, bool):
            age = "newer" if written > MAPPING_FORMAT else "older"
            raise MappingError(
                f"mapping file {path} has format {written} (this dock reads format "
                f"{MAPPING_FORMAT}): written by a {age} version: {RETRAIN}"
            )
        raise MappingError(f"mapping file {path} has no valid format number; {RETRAIN}")
    try:
        info = MappingInfo(
            version=data["version"],
            format=written,
            config=MappingConfig.from_json(data["config"]),
            encoder=data["encoder"],
            trained_on=data["trained_on"],
            created=data["created"],
        )
    except KeyError as exc:
        raise MappingError(f"mapping file {path}: metadata lacks {exc}; {RETRAIN}") from exc
    except DockError as exc:
        raise MappingError(f"mapping file {path}: bad metadata: {exc}; {RETRAIN}") from exc
    checks = (
        ("version", int, info.version),
        ("trained_on", int, info.trained_on),
        ("encoder", str, info.encoder),
        ("created", str, info.created),
    )
    for name, kind, value in checks:
        if isinstance(value, bool) or not isinstance(value, kind):
            raise MappingError(
                f"mapping file {path}: metadata {name} must be a {kind.__name__}, got "
                f"{value!r}; {RETRAIN}"
            )
    return info


def load_mapping(path: Path) -> tuple[HeteroMap, MappingInfo]:
    """The model (eval mode, CPU) and info of the mapping file at ``path``; a
    :class:`MappingError` naming the file when it is missing, corrupted or of another
    format."""
    path = Path(path)
    if not path.is_file():
        raise MappingError(f"mapping file {path} does not exist; {RETRAIN}")
    try:
        with safe_open(str(path), framework="pt") as handle:
            metadata = handle.metadata() or {}
            tensors = {name: handle.get_tensor(name) for name in handle.keys()}  # noqa: SIM118
    except Exception as exc:  # safetensors raises its own error types, OSError, ValueError
        raise MappingError(
            f"mapping file {path} is not a readable safetensors file (truncated or "
            f"corrupted: {exc}); {RETRAIN}"
        ) from exc
    info = _info(path, metadata.get(INFO_KEY))
    model = HeteroMap(info.config)
    expected = model.state_dict()
    if set(tensors) != set(expected):
        missing = sorted(set(expected) - set(tensors))
        extra = sorted(set(tensors) - set(expected))
        raise MappingError(
            f"mapping file {path} does not hold the tensors of its config's model "
            f"(missing {missing[:3]}, unexpected {extra[:3]}); {RETRAIN}"
        )
    for name, want in expected.items():
        got = tensors[name]
        if got.dtype != torch.float32 or got.shape != want.shape:
            raise MappingError(
                f"mapping file {path}: tensor {name} is {got.dtype} {tuple(got.shape)}, its "
                f"config's model needs float32 {tuple(want.shape)}; {RETRAIN}"
            )
    if metadata.get(DIGEST_KEY) != _digest(metadata[INFO_KEY], tensors):
        raise MappingError(f"mapping file {path} is corrupted (checksum mismatch); {RETRAIN}")
    for name, tensor in tensors.items():
        if not bool(torch.isfinite(tensor).all()):
            raise MappingError(
                f"mapping file {path}: tensor {name} holds NaN or infinite weights; {RETRAIN}"
            )
    model.load_state_dict(tensors, strict=True)
    model.eval()
    return model, info

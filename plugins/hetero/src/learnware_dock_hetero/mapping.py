"""The market mapping in use: a trained :class:`HeteroMap` with its version and kernel width,
and what turns a learnware or a user into a :class:`HeteroMapTableSpecification`."""

from __future__ import annotations

import hashlib
import json
import threading
from pathlib import Path
from typing import TYPE_CHECKING

import attrs
import numpy as np

from learnware_dock.errors import SpecificationError
from learnware_dock_hetero.artifact import MappingInfo, load_mapping
from learnware_dock_hetero.columns import ColumnEncoder, column_descriptions
from learnware_dock_hetero.store import HeteroStore, MappingVersion

if TYPE_CHECKING:
    from learnware_dock.domain import Learnware
    from learnware_dock.market import Market
    from learnware_dock.semantic import SemanticSpec
    from learnware_dock_hetero.model import HeteroMap

RKME = "RKMETableSpecification"

_lock = threading.Lock()
_loaded: dict[tuple[str, int, int], tuple[HeteroMap, MappingInfo]] = {}


@attrs.frozen(eq=False)
class MarketMapping:
    """A loaded mapping of one version, with the encoder of column descriptions."""

    model: HeteroMap
    info: MappingInfo
    version: int
    gamma: float
    encoder: ColumnEncoder

    def embed(self, rows: np.ndarray, descriptions: list[str]) -> np.ndarray:
        """The mapping's vectors (n x width, float64) of ``rows`` whose columns are
        described by ``descriptions``."""
        columns = self.encoder.encode(descriptions)
        return np.asarray(self.model.embed(np.asarray(rows, dtype=np.float64), columns))


def encoder_for(market_root: Path) -> ColumnEncoder:
    return ColumnEncoder(market_root / "hetero" / "columns.db")


def open_mapping(market_root: Path, version: MappingVersion) -> MarketMapping:
    """Load ``version``'s file (once per process and file state)."""
    path = market_root / "hetero" / version.file
    try:
        stat = path.stat()
        key = (str(path), stat.st_mtime_ns, stat.st_size)
    except OSError:
        key = (str(path), -1, -1)  # load_mapping raises the clear error
    with _lock:
        if key not in _loaded:
            _loaded.clear()  # one mapping in use per process: drop the superseded one
            _loaded[key] = load_mapping(path)
        model, info = _loaded[key]
    return MarketMapping(model, info, version.version, version.gamma, encoder_for(market_root))


def current_mapping(market: Market) -> MarketMapping | None:
    """The market's current mapping, or None when it was never trained."""
    store = HeteroStore(market.root)
    try:
        version = store.current()
    finally:
        store.close()
    return None if version is None else open_mapping(market.root, version)


def descriptions_of(semantic_spec: SemanticSpec, dimension: int, where: str) -> list[str]:
    """Every input column's description, checked against the RKME's ``dimension``."""
    io = semantic_spec.input
    if io is None or not io.description:
        raise SpecificationError(
            f"{where} has no Input descriptions; heterogeneous search needs a description "
            "of every column (semantic spec Input.Description: index -> text)"
        )
    if io.dimension != dimension:
        raise SpecificationError(
            f"{where} declares Input.Dimension {io.dimension} but its RKME has {dimension} columns"
        )
    return column_descriptions(io.description, dimension, where)


def columns_sha(descriptions: list[str]) -> str:
    return hashlib.sha256(json.dumps(descriptions).encode()).hexdigest()


def learnware_descriptions(learnware: Learnware, dimension: int) -> list[str] | None:
    """A learnware's column descriptions, or None when it does not describe every column
    (it then stays out of the heterogeneous space)."""
    try:
        return descriptions_of(learnware.semantic_spec, dimension, f"learnware {learnware.id}")
    except SpecificationError:
        return None

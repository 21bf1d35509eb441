"""Read a user's table (n x d numbers) from .npy, .csv or .parquet, safely."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from learnware_dock.errors import DockError


def _csv(path: Path) -> np.ndarray:
    with open(path, encoding="utf-8") as fh:
        first = fh.readline()
    try:
        [float(cell) for cell in first.split(",") if cell.strip()]
        header = 0
    except ValueError:
        header = 1  # a header row of column names
    return np.loadtxt(path, delimiter=",", skiprows=header, dtype=np.float64, ndmin=2)


def load_table(path: str | Path) -> np.ndarray:
    """An n x d float64 array; NaN/inf are kept (specification generators clean them)."""
    path = Path(path)
    suffix = path.suffix.lower()
    try:
        if suffix == ".npy":
            data = np.load(path, allow_pickle=False)
        elif suffix == ".csv":
            data = _csv(path)
        elif suffix == ".parquet":
            try:
                import pandas as pd
            except ImportError as exc:
                raise DockError("reading .parquet needs pandas and pyarrow installed") from exc
            data = pd.read_parquet(path).to_numpy(dtype=np.float64)
        else:
            raise DockError(f"{path.name}: use a .npy, .csv or .parquet file")
        array = np.asarray(data, dtype=np.float64)
    except DockError:
        raise
    except (OSError, ValueError, TypeError) as exc:
        raise DockError(f"cannot read a numeric table from {path}: {exc}") from exc
    if array.ndim == 1:
        array = array[:, None]
    if array.ndim != 2 or 0 in array.shape:
        raise DockError(f"{path.name} must hold an n x d table, got shape {array.shape}")
    return array

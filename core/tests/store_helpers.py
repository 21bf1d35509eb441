"""Helpers of the store's fault and orphan tests: packages to add, the files a market holds."""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np

from learnware_dock.testing import build_package


def learnware_zip(folder: Path, name: str, seed: int = 0, extra: int = 0) -> Path:
    """A valid learnware zip; ``extra`` bytes of incompressible weights make it big."""
    rng = np.random.default_rng(seed)
    package = build_package(folder / name, rng.normal(size=(30, 4)), np.arange(30) % 2)
    if extra:
        with zipfile.ZipFile(package, "a", zipfile.ZIP_STORED) as zf:
            zf.writestr("weights.bin", rng.bytes(extra))
    return package


def stored_files(root: Path) -> list[Path]:
    """Every stored blob and temp file of the market at ``root``."""
    return sorted(
        p for kind in ("packages", "specs") for p in (root / kind).rglob("*") if p.is_file()
    )

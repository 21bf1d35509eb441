"""Builders for hostile learnware packages and a market that checks nothing was left.

Shared by test_hostile_archives.py and test_hostile_manifests.py (on pytest's pythonpath).
"""

from __future__ import annotations

import warnings
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from learnware_dock import Market
from learnware_dock.plugins import DockPluginManager
from learnware_dock.semantic import SemanticSpec
from learnware_dock.testing import build_package, table_semantic_spec

Members = list[tuple[str | zipfile.ZipInfo, bytes]]


# -- helpers ---------------------------------------------------------------------------------
def _data(dimension: int = 4, n: int = 40, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, dimension)), np.arange(n) % 2


def _valid_zip(tmp_path: Path, name: str = "pkg", dimension: int = 4) -> Path:
    X, y = _data(dimension)
    return build_package(tmp_path / "src" / name, X, y)


def _read_members(archive: Path) -> Members:
    with zipfile.ZipFile(archive) as zf:
        return [(info.filename, zf.read(info)) for info in zf.infolist()]


def _write_zip(path: Path, members: Members) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zipfile warns on duplicate names; we want them
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
            for name, content in members:
                zf.writestr(name, content)
    return path


def _rewrite(
    tmp_path: Path, out_name: str, change: Callable[[Members], Members], base: Path | None = None
) -> Path:
    """A copy of a valid package with its member list passed through ``change``."""
    members = _read_members(base or _valid_zip(tmp_path))
    return _write_zip(tmp_path / "hostile" / out_name, change(members))


def _replace(name: str, content: bytes) -> Callable[[Members], Members]:
    def change(members: Members) -> Members:
        return [(n, content if n == name else c) for n, c in members]

    return change


def _manifest(members: Members) -> dict[str, Any]:
    data = dict(members)["learnware.yaml"]
    loaded: dict[str, Any] = yaml.safe_load(data)
    return loaded


def _edit_manifest(edit: Callable[[dict[str, Any]], None]) -> Callable[[Members], Members]:
    def change(members: Members) -> Members:
        manifest = _manifest(members)
        edit(manifest)
        return _replace("learnware.yaml", yaml.safe_dump(manifest).encode())(members)

    return change


def _files_under(path: Path) -> list[Path]:
    return [p for p in path.rglob("*") if p.is_file()] if path.exists() else []


class Env:
    """A market with ToySpecification registered, and a private extraction temp dir."""

    def __init__(self, root: Path, pm: DockPluginManager, scratch: Path) -> None:
        self.root, self.pm, self.scratch = root, pm, scratch
        self.market = Market(root, plugin_manager=pm)

    def add(self, package: Path, spec: SemanticSpec | None = None) -> Any:
        return self.market.add(package, spec if spec is not None else table_semantic_spec())

    def assert_clean(self) -> None:
        """(b) nothing stored, no extraction leftovers; (c) the market reopens, empty."""
        assert len(self.market) == 0
        assert self.market.list() == []
        for kind in ("packages", "specs"):
            assert _files_under(self.root / kind) == [], f"files left under {kind}/"
        assert list(self.scratch.iterdir()) == [], "an extraction folder was left behind"
        with Market(self.root) as reopened:
            assert len(reopened) == 0
            assert reopened.list() == []

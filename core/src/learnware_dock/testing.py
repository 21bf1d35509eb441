"""Fixtures and helpers for plugin authors (a pytest plugin, loaded automatically).

Fixtures: ``plugin_manager`` (a fresh, fully loaded manager), ``market`` (an empty market
in a temporary folder using that manager). Helpers: :func:`register_plugin`,
:func:`write_distribution`, :func:`table_semantic_spec`, :func:`build_package`,
:func:`shared_data` and :class:`ToySpecification`.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Self

import numpy as np
import pytest

from learnware_dock.errors import SpecificationError
from learnware_dock.hookspecs import hookimpl
from learnware_dock.interfaces import StatSpecification
from learnware_dock.market import Market
from learnware_dock.package.writer import write_folder, zip_folder
from learnware_dock.plugins import ENTRY_POINT_GROUP, DockPluginManager, get_plugin_manager
from learnware_dock.semantic import IOSpec, SemanticSpec

#: where the workplace keeps its shared data when no nearer copy is found
WORKPLACE_SHARED_DATA = Path("/work/shared/data")


def shared_data(name: str, start: Path | None = None) -> Path:
    """The path of ``name`` in the workplace's shared data folder (data sets that tests and
    benchmarks read in place, never copied into the repository): ``$DOCK_SHARED_DATA``,
    else the first ``shared/data`` beside ``start`` (default: this checkout) or one of
    its parents, else :data:`WORKPLACE_SHARED_DATA`. The path may not exist; callers say
    so in their own error."""
    if os.environ.get("DOCK_SHARED_DATA"):
        return Path(os.environ["DOCK_SHARED_DATA"]) / name
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        candidate = folder / "shared" / "data" / name
        if candidate.exists():
            return candidate
    return WORKPLACE_SHARED_DATA / name


@contextmanager
def register_plugin(
    pm: DockPluginManager, plugin: object, name: str | None = None
) -> Iterator[object]:
    """Register ``plugin`` (a module, class or object with hookimpls) for a ``with`` block."""
    registered = pm.register(plugin, name=name)
    pm.check_pending()
    try:
        yield plugin
    finally:
        pm.unregister(name=registered)


def _entry_point_line(group: str, name: str, value: str) -> str:
    """``name = value``, refused when it would not read back as that one entry point."""
    broken = any(c in name for c in "=[]") or any("\n" in s or "\r" in s for s in (name, value))
    if broken or not name.strip() or not value.strip():
        raise ValueError(f"entry point {name!r} = {value!r} in [{group}] cannot be written")
    return f"{name.strip()} = {value.strip()}\n"


def write_distribution(
    site: Path,
    name: str,
    entry_points: Mapping[str, str],
    version: str = "1.0",
    group: str = ENTRY_POINT_GROUP,
    *,
    groups: Mapping[str, Mapping[str, str]] | None = None,
) -> Path:
    """Make the folder ``site`` hold an installed distribution ``name``: its metadata only.

    Writes ``site/<name>-<version>.dist-info``, named as wheels name it (runs of ``-``,
    ``_`` and ``.`` in the name become ``_``, lowercased), with ``METADATA`` (name and
    version) and ``entry_points.txt``: ``entry_points`` (entry-point name -> ``module`` or
    ``module:attribute``) in ``group``, the dock's plugin group by default, plus the
    entries of ``groups`` (group -> entries; merged into ``group``'s section where they
    share it). With ``site`` on ``sys.path`` (``monkeypatch.syspath_prepend(site)``) or on
    the ``PYTHONPATH`` of a ``dock`` subprocess, :mod:`importlib.metadata` finds it as it
    finds a pip-installed distribution, so the dock loads its plugins (name them in
    ``DOCK_LOAD_PLUGINS`` to load only those). The modules the entry points name must be
    importable too: write them into ``site`` or put their folder on the path.

    Returns the ``.dist-info`` folder; a second distribution of the same name and version
    in one ``site`` is a :class:`FileExistsError`, a malformed entry point a ValueError.
    """
    sections: dict[str, dict[str, str]] = {group: dict(entry_points)}
    for other, points in (groups or {}).items():
        sections.setdefault(other, {}).update(points)
    text = "\n".join(
        f"[{section}]\n" + "".join(_entry_point_line(section, k, v) for k, v in points.items())
        for section, points in sections.items()
        if points
    )
    folder = re.sub(r"[-_.]+", "_", name).lower()
    site.mkdir(parents=True, exist_ok=True)
    info = site / f"{folder}-{version}.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n", encoding="utf-8"
    )
    (info / "entry_points.txt").write_text(text, encoding="utf-8")
    return info


@pytest.fixture
def plugin_manager() -> DockPluginManager:
    """A fresh plugin manager with installed and built-in plugins."""
    return get_plugin_manager()


@pytest.fixture
def market(tmp_path: Path, plugin_manager: DockPluginManager) -> Iterator[Market]:
    """An empty market in a temporary folder, using ``plugin_manager``."""
    with Market(tmp_path / "market", plugin_manager=plugin_manager) as m:
        yield m


class ToySpecification(StatSpecification):
    """A small real specification for tests: the per-feature mean and std of the data."""

    name = "ToySpecification"

    def __init__(self, mean: np.ndarray, std: np.ndarray) -> None:
        self.mean, self.std = mean, std

    @classmethod
    def generate(cls, X: Any, **options: Any) -> Self:
        data = np.asarray(X, dtype=np.float64)
        return cls(data.mean(axis=0), data.std(axis=0))

    @property
    def dimension(self) -> int:
        return int(self.mean.shape[0])

    def to_json(self) -> dict[str, Any]:
        return {"type": self.name, "mean": self.mean.tolist(), "std": self.std.tolist()}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Self:
        try:
            mean = np.asarray(data["mean"], dtype=np.float64)
            std = np.asarray(data["std"], dtype=np.float64)
        except (KeyError, TypeError, ValueError) as exc:
            raise SpecificationError(f"ToySpecification needs numeric mean and std: {exc}") from exc
        if mean.ndim != 1 or mean.shape != std.shape:
            raise SpecificationError("ToySpecification mean and std must be vectors of one length")
        if not (np.isfinite(mean).all() and np.isfinite(std).all()):
            raise SpecificationError("ToySpecification values must be finite (found NaN or inf)")
        return cls(mean, std)

    def dist(self, other: Self) -> float:
        return float(np.sum((self.mean - other.mean) ** 2 + (self.std - other.std) ** 2))


class ToySpecPlugin:
    """Registers :class:`ToySpecification` (use with :func:`register_plugin`)."""

    @hookimpl
    def dock_register_specifications(self) -> list[type[StatSpecification]]:
        return [ToySpecification]


def table_semantic_spec(
    name: str = "toy classifier", dimension: int = 4, classes: int = 2, **overrides: Any
) -> SemanticSpec:
    """A valid semantic spec for a Table / Classification learnware."""
    fields: dict[str, Any] = {
        "name": name,
        "description": f"a {classes}-class classifier on {dimension} features",
        "data": ("Table",),
        "task": ("Classification",),
        "library": ("Scikit-learn",),
        "scenario": ("Education",),
        "license": ("MIT",),
        "model": ("Others",),
        "input": IOSpec(dimension, {str(i): f"feature {i}" for i in range(dimension)}),
        "output": IOSpec(classes, {str(i): f"class {i}" for i in range(classes)}),
    }
    fields.update(overrides)
    return SemanticSpec(**fields)


#: ``__init__.py`` of the packages built by :func:`build_package`: predicts the class
#: whose centroid (stored as ``centroids.npy``) is nearest. Needs only numpy.
CENTROID_MODEL = """
import os
import numpy as np


class CentroidModel:
    def __init__(self, scale=1.0):
        here = os.path.dirname(os.path.abspath(__file__))
        self.centroids = np.load(os.path.join(here, "centroids.npy")) * scale
        self.input_shape = (self.centroids.shape[1],)
        self.output_shape = (1,)

    def predict(self, X):
        X = np.asarray(X, dtype=float)
        d = ((X[:, None, :] - self.centroids[None]) ** 2).sum(-1)
        return d.argmin(axis=1)
"""


def build_package(
    dest: Path,
    X: np.ndarray,
    y: np.ndarray,
    *,
    stat_specs: Mapping[str, StatSpecification] | None = None,
    files: Mapping[str, bytes] | None = None,
) -> Path:
    """Write a real, runnable learnware zip (a nearest-centroid classifier on ``X, y``).

    ``stat_specs`` maps file names to specs; by default a :class:`ToySpecification`
    of ``X``. ``files`` are extra package files. Returns the path of the zip (``dest``
    with ``.zip``).
    """
    import io

    classes = np.unique(y)
    centroids = np.stack([X[y == c].mean(axis=0) for c in classes])
    buffer = io.BytesIO()
    np.save(buffer, centroids, allow_pickle=False)
    folder = write_folder(
        dest.with_suffix(""),
        model_source=CENTROID_MODEL,
        class_name="CentroidModel",
        stat_specs=stat_specs
        if stat_specs is not None
        else {"stat.json": ToySpecification.generate(X)},
        files={"centroids.npy": buffer.getvalue(), **(files or {})},
        requirements="numpy\n",
    )
    return zip_folder(folder, dest.with_suffix(".zip"))

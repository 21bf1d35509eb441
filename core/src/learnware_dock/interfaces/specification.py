"""Statistical specifications: a summary of a learnware's training distribution."""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Self

from learnware_dock.errors import SpecificationError

if TYPE_CHECKING:
    import numpy as np


class StatSpecification(ABC):
    """Base class of statistical specification types.

    ``name`` is the class name that ``learnware.yaml`` uses to select the type (and, for the
    RKME family, the JSON ``type`` key). ``from_json`` must validate what it reads.

    A complete minimal plugin::

        import numpy as np
        from learnware_dock import hookimpl
        from learnware_dock.errors import SpecificationError
        from learnware_dock.interfaces import StatSpecification

        class MeanSpecification(StatSpecification):
            name = "MeanSpecification"

            def __init__(self, mean):
                self.mean = np.asarray(mean, dtype=np.float64)

            @classmethod
            def generate(cls, X, **options):
                return cls(np.asarray(X, dtype=np.float64).mean(axis=0))

            @property
            def dimension(self):
                return int(self.mean.shape[0])

            def to_json(self):
                return {"type": self.name, "mean": self.mean.tolist()}

            @classmethod
            def from_json(cls, data):
                mean = np.asarray(data.get("mean"), dtype=np.float64)
                if mean.ndim != 1 or not np.isfinite(mean).all():
                    raise SpecificationError("mean must be a finite vector")
                return cls(mean)

            def dist(self, other):
                return float(np.sum((self.mean - other.mean) ** 2))

        @hookimpl
        def dock_register_specifications():
            return [MeanSpecification]
    """

    name: ClassVar[str]
    #: the type of data it summarises, as ``dock spec DATA_TYPE DATA`` names it (e.g. "table",
    #: "image"); empty = not offered there.
    data_type: ClassVar[str] = ""

    @classmethod
    @abstractmethod
    def generate(cls, X: Any, **options: Any) -> Self:
        """Summarise data ``X`` (n x d array-like)."""

    @property
    @abstractmethod
    def dimension(self) -> int | None:
        """Feature dimension the spec describes (checked against semantic Input.Dimension)."""

    @abstractmethod
    def to_json(self) -> dict[str, Any]:
        """JSON-ready content (for the RKME family: the anchor's ``z``, ``beta``, ... keys)."""

    @classmethod
    @abstractmethod
    def from_json(cls, data: Mapping[str, Any]) -> Self:
        """Rebuild and validate; raise :class:`SpecificationError` on bad content."""

    @abstractmethod
    def dist(self, other: Self) -> float:
        """Distance between two specifications of this type (lower is closer)."""

    @classmethod
    def read_data(cls, path: Path) -> Any:
        """The data in file (or folder) ``path`` as :meth:`generate` takes it; what
        ``dock spec DATA_TYPE DATA`` calls. The default reads an n x d numeric table
        (``.npy``, ``.csv``, ``.parquet``); types of other data (images, texts) override it.
        Raises :class:`DockError` naming what is wrong with the file."""
        from learnware_dock.tabular import load_table

        return load_table(path)

    def probe_rows(self, count: int) -> np.ndarray | None:
        """Up to ``count`` input rows (an n x d array) shaped like the data this spec
        describes, for checking that a model runs on such data (the ``stat`` checker);
        None (the default) when this spec cannot give rows."""
        return None

    @classmethod
    def load(cls, path: str | Path) -> Self:
        """Read a JSON file written by :meth:`save` (or by the `learnware` package)."""
        path = Path(path)
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise SpecificationError(f"cannot read {cls.name} file {path}: {exc}") from exc
        try:
            data = json.loads(text)
        except RecursionError:
            raise SpecificationError(f"{cls.name} file {path.name} is nested too deeply") from None
        except ValueError as exc:  # bad JSON, over-long integers
            what = f"{cls.name} file {path.name}"
            raise SpecificationError(f"{what} is not valid JSON: {exc}") from exc
        if not isinstance(data, dict):
            raise SpecificationError(f"{cls.name} file {path} must hold a JSON object")
        try:
            return cls.from_json(data)
        except SpecificationError as exc:
            raise SpecificationError(f"{path.name}: {exc}") from exc

    def save(self, path: str | Path) -> None:
        """Write the JSON content to ``path``."""
        Path(path).write_text(json.dumps(self.to_json()), encoding="utf-8")

"""Size limits of RKME specifications: points K, dimension d, K * d and file bytes.

A spec over any limit is refused with a :class:`SpecificationError` that names the spec,
the value and the limit: when it is read from JSON (lengths checked before numpy builds an
array), when a package is checked, and when a search query arrives. The index leaves out
(with a logged warning) stored specs that exceed them, so one such spec cannot make every
search of a market allocate its padded width for every row.

Each default is overridden by an environment variable (read by :meth:`SpecLimits.from_env`).
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from typing import Any

import attrs

from learnware_dock.errors import DockError, SpecificationError

#: field -> environment variable
ENV = {
    "max_points": "DOCK_MAX_SPEC_POINTS",
    "max_dimension": "DOCK_MAX_SPEC_DIMENSION",
    "max_values": "DOCK_MAX_SPEC_VALUES",
    "max_file_bytes": "DOCK_MAX_SPEC_BYTES",
}


def _positive(instance: object, attribute: attrs.Attribute[int], value: int) -> None:
    if not isinstance(value, int) or value < 1:
        raise DockError(f"spec limit {attribute.name} must be a positive integer, not {value!r}")


@attrs.frozen(kw_only=True)
class SpecLimits:
    """The largest RKME a market takes.

    max_points: points K (rows of z), ``$DOCK_MAX_SPEC_POINTS``, default 10,000.
    max_dimension: features d, ``$DOCK_MAX_SPEC_DIMENSION``, default 100,000.
    max_values: K * d, ``$DOCK_MAX_SPEC_VALUES``, default 50,000,000 (400 MB as float64).
    max_file_bytes: the JSON file, ``$DOCK_MAX_SPEC_BYTES``, default 256 MiB.
    """

    max_points: int = attrs.field(default=10_000, validator=_positive)
    max_dimension: int = attrs.field(default=100_000, validator=_positive)
    max_values: int = attrs.field(default=50_000_000, validator=_positive)
    max_file_bytes: int = attrs.field(default=256 << 20, validator=_positive)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> SpecLimits:
        """The defaults, overridden by the ``DOCK_MAX_SPEC_*`` variables that are set."""
        environ = os.environ if environ is None else environ
        values: dict[str, int] = {}
        for field, variable in ENV.items():
            text = environ.get(variable, "").strip()
            if not text:
                continue
            try:
                values[field] = int(text)
            except ValueError:
                raise DockError(f"${variable} must be a positive integer, not {text!r}") from None
            if values[field] < 1:
                raise DockError(f"${variable} must be a positive integer, not {text!r}")
        return cls(**values)

    def _over(self, what: str, value: int, noun: str, field: str) -> SpecificationError:
        limit = getattr(self, field)
        return SpecificationError(
            f"{what} has {value:,} {noun}, over the limit of {limit:,} (${ENV[field]})"
        )

    def check_shape(self, points: int, dimension: int, what: str) -> None:
        """Refuse K points of d features over ``max_points``, ``max_dimension`` or
        ``max_values``; ``what`` names the spec in the message."""
        if points > self.max_points:
            raise self._over(what, points, "points (K)", "max_points")
        if dimension > self.max_dimension:
            raise self._over(what, dimension, "features (d)", "max_dimension")
        if points * dimension > self.max_values:
            raise self._over(what, points * dimension, "values (K * d)", "max_values")

    def check_bytes(self, size: int, what: str) -> None:
        """Refuse a spec file of ``size`` bytes over ``max_file_bytes``."""
        if size > self.max_file_bytes:
            raise self._over(what, size, "bytes", "max_file_bytes")

    def check_json(self, z: Any, beta: Any, what: str) -> None:
        """Refuse JSON ``z`` / ``beta`` whose lengths are over the limits, before numpy
        builds arrays of them (nested lists can share rows: their memory is no bound).
        numpy refuses ragged lists at once, so the first element's path gives the shape."""
        z_shape = _shape(z)
        if len(z_shape) > 2:
            raise SpecificationError(f"{what}: z must be a K x d list of numbers")
        if z_shape:
            self.check_shape(z_shape[0], z_shape[1] if len(z_shape) == 2 else 1, what)
        beta_shape = _shape(beta)
        size = math.prod(beta_shape) if beta_shape else 0
        if len(beta_shape) > 2:
            raise SpecificationError(f"{what}: beta must be a list of K numbers")
        if size > self.max_points:
            raise self._over(what, size, "weights (beta)", "max_points")


def _shape(value: Any, depth: int = 3) -> tuple[int, ...]:
    """The shape numpy would give ``value`` if it is not ragged (up to ``depth`` + 1 axes)."""
    if hasattr(value, "shape"):
        return tuple(int(n) for n in value.shape)
    if not isinstance(value, list | tuple):
        return ()
    if not value or depth == 0:
        return (len(value),)
    return (len(value), *_shape(value[0], depth - 1))

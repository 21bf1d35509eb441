"""``HeteroMapTableSpecification``: a table's RKME carried into the market mapping's space.

A *system* specification: the market computes it from a learnware's (or a user's) RKME
table specification and the descriptions of its columns, with the market mapping of a
given version; packages never bring one. Its reduced set ``z`` holds the mapping's
embeddings of the RKME's reduced-set points (K x the mapping's width), ``beta`` the RKME's
weights, ``gamma`` the mapping version's kernel width, so embeddings of tables with
different columns compare by squared MMD like any RKME. The JSON is the `learnware`
package's (``z``, ``beta``, ``gamma``, ``num_points``, ``type``) plus ``mapping_version``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self

import numpy as np

from learnware_dock.errors import SpecificationError
from learnware_dock_rkme import RKMETableSpecification

if TYPE_CHECKING:
    from learnware_dock_hetero.mapping import MarketMapping
    from learnware_dock_rkme import SpecLimits


class HeteroMapTableSpecification(RKMETableSpecification):
    """See the module docstring."""

    name = "HeteroMapTableSpecification"
    data_type = ""  # not offered by `dock spec`: the market makes it

    def __init__(
        self,
        z: np.ndarray,
        beta: np.ndarray,
        gamma: float,
        num_points: int,
        mapping_version: int | None = None,
    ) -> None:
        super().__init__(z, beta, gamma, num_points)
        self.mapping_version = mapping_version

    @classmethod
    def generate(
        cls,
        X: Any,
        *,
        descriptions: list[str] | None = None,
        mapping: MarketMapping | None = None,
        **options: Any,
    ) -> Self:
        """The RKME of ``X`` (``options`` are :meth:`RKMETableSpecification.generate`'s),
        mapped with ``mapping`` using the columns' ``descriptions``."""
        if mapping is None or descriptions is None:
            raise SpecificationError(
                f"a {cls.name} is made from a table with its column descriptions and the "
                "market mapping: generate(X, descriptions=[...], mapping=...)"
            )
        rkme = RKMETableSpecification.generate(X, **options)
        return cls.from_rkme(rkme, descriptions, mapping)

    @classmethod
    def from_rkme(
        cls, rkme: RKMETableSpecification, descriptions: list[str], mapping: MarketMapping
    ) -> Self:
        """Map an RKME's reduced set with the columns' ``descriptions``."""
        if len(descriptions) != rkme.dimension:
            raise SpecificationError(
                f"{len(descriptions)} column descriptions for an RKME of dimension "
                f"{rkme.dimension}: describe every column, in order"
            )
        z = mapping.embed(rkme.z, descriptions)
        return cls(z, rkme.beta.copy(), mapping.gamma, rkme.num_points, mapping.version)

    def probe_rows(self, count: int) -> None:  # type: ignore[override]  # the base allows None
        """None: its points are embeddings, not rows a model could run on."""
        return None

    def to_json(self) -> dict[str, Any]:
        data = super().to_json()
        if self.mapping_version is not None:
            data["mapping_version"] = self.mapping_version
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any], *, limits: SpecLimits | None = None) -> Self:
        spec = super().from_json(data, limits=limits)
        version = data.get("mapping_version")
        if version is not None and (
            isinstance(version, bool) or not isinstance(version, int) or version < 1
        ):
            raise SpecificationError(
                f"{cls.name} mapping_version must be a positive integer, not {version!r}"
            )
        spec.mapping_version = version
        return spec

"""The ``rkme`` searcher: semantic filters first, then exact squared-MMD ranking.

Distances are squared MMDs between the user's RKME and each learnware's, over the
learnwares that pass the semantic filters (:meth:`Market.semantic_matches`, whichever
searchers are installed) and share the user's feature dimension and gamma. A batched
float32 scan (the compute backend) ranks everyone; the best few are re-ranked in float64.

Precision: the re-rank is float64 arithmetic on the index's copy of each RKME, whose Z and
beta are kept as float32 (the arrays the scan reads), so a reported distance agrees with
``user_spec.dist(stored_spec)`` (float64 on the spec file's values) to about 1e-7
relative (5e-9 measured on digits RKMEs), not to the last float64 bit. Call ``dist`` on
``market.stat_spec(learnware, name)`` when the exact value matters.

Score (absolute, in [0, 1], comparable across queries and markets)::

    score = 1 - MMD^2 / (|Phi_u|^2 + |Phi_i|^2) = 2 <Phi_u, Phi_i> / (|Phi_u|^2 + |Phi_i|^2)

It is 1 for identical embeddings and falls to 0 as they stop overlapping (Gaussian
kernels are positive, so it never goes below 0). Mixtures are scored the same way with
the mixture's embedding.

Mixture defaults: the mixture is for reuse, so its defaults are the ones that reuse best,
not the anchor's (greedy, at most 5 of the 10 best, stop below 5% improvement). Larger
mixtures reuse better on both protocols, and one simplex QP over the 20 best
(``mixture="oneshot"``, at most 10 members, weights under 0.01 dropped) gives them in
one solve. Averaging (unweighted softmax, which does not depend on the router) went from
0.820 to 0.874 mean accuracy on digits (``benchmarks/protocols/table_digits.py``, 20
users) and from 0.756 to 0.816 on MNIST (``image_mnist.py``, 100 users);
``benchmarks/protocols/mixture_sweep.py`` compares sizes and methods side by side. Pass
``mixture="greedy", max_search_num=5, mixture_candidates=10`` for the anchor's mixture.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

import numpy as np

from learnware_dock.domain import SearchResult, UserInfo
from learnware_dock.errors import SearchError
from learnware_dock.interfaces import Backend, Searcher
from learnware_dock_rkme.backend import best_backend
from learnware_dock_rkme.index import RKMEIndex
from learnware_dock_rkme.kernel import one_blas_thread
from learnware_dock_rkme.limits import SpecLimits
from learnware_dock_rkme.ranking import PRUNE_MIN, MixtureMethod, search_group
from learnware_dock_rkme.table import RKMETableSpecification
from learnware_dock_rkme.vectors import Vector

if TYPE_CHECKING:
    from learnware_dock.market import Market

__all__ = ["PRUNE_MIN", "MixtureMethod", "RKMESearcher"]


class RKMESearcher(Searcher):
    """Statistical search over RKME table specifications (see the module docstring).

    Other RKME types reuse it by subclassing: set ``spec_type`` to a subclass of
    :class:`RKMETableSpecification` (its own index, groups and vector cache; the user's
    spec is looked up under its ``name``) and override :meth:`allowed` to narrow the
    candidates further (e.g. by encoder or language).
    """

    name = "rkme"
    priority = 10
    spec_type: ClassVar[type[RKMETableSpecification]] = RKMETableSpecification

    def __init__(self, market: Market) -> None:
        super().__init__(market)
        self._index: RKMEIndex | None = None
        #: queries over these are refused; stored specs over them are left out
        self.limits = SpecLimits.from_env()

    @property
    def index(self) -> RKMEIndex:
        if self._index is None:
            self._index = RKMEIndex(self.market, self.backend(), self.limits, self.spec_type)
        return self._index

    def supports(self, user_info: UserInfo) -> bool:
        return self.spec_type.name in user_info.stat_specs

    def allowed(self, user_info: UserInfo, spec: RKMETableSpecification) -> set[str]:
        """Ids of the learnwares the query may match: those passing the semantic filters
        (:meth:`Market.semantic_matches`, whichever searchers are installed)."""
        return set(self.market.semantic_matches(user_info).ids)

    def backend(self) -> Backend:
        """The available compute backend with the highest priority."""
        return best_backend(self.market.components)

    @one_blas_thread
    def search(
        self,
        user_info: UserInfo,
        *,
        limit: int = 10,
        mixture: MixtureMethod = "oneshot",
        max_search_num: int = 10,
        mixture_candidates: int = 20,
        min_improvement: float = 0.05,
        prune: bool = True,
    ) -> SearchResult:
        """RKME search.

        limit: singles to return, best (lowest squared MMD) first.
        mixture: "oneshot" (simplex weights over all mixture candidates at once, the
            default), "greedy" (the anchor's method) or "none".
        max_search_num: the most learnwares in the mixture. The defaults reuse best (see
            "Mixture defaults" in the module docstring).
        mixture_candidates: how many of the best singles the mixture chooses from.
        min_improvement: greedy stops when adding a learnware improves the residual by less
            than this fraction.
        prune: skip learnwares that provably cannot reach the best ones, using
            triangle-inequality bounds from the group's pivot RKMEs, whose distances are
            computed at submission (see :mod:`learnware_dock_rkme.pivots`). Exact: the
            ranking is unchanged. Used when at least PRUNE_MIN learnwares pass the
            filters; on markets whose RKMEs are all at similar distances the bounds skip
            little and a plain scan is as fast (see benchmarks/bench_search.py).
        Raises :class:`SpecificationError` for a query over the :class:`SpecLimits`.
        """
        kind = self.spec_type.name
        spec = user_info.stat_specs.get(kind)
        if not isinstance(spec, self.spec_type):
            raise SearchError(f"the {self.name} searcher needs a {kind} in the user info")
        if mixture not in ("greedy", "oneshot", "none"):
            raise SearchError(f"mixture must be greedy, oneshot or none, not {mixture!r}")
        self.limits.check_shape(len(spec.z), spec.dimension, f"the query's {kind}")
        allowed = self.allowed(user_info, spec)
        self.index.sync()
        group = self.index.group(spec.dimension, spec.gamma)
        rows = (
            np.array([i in allowed for i in group.ids], dtype=bool) if group else np.zeros(0, bool)
        )
        if group is None or not rows.any():
            return SearchResult(searcher=self.name, total=0)
        ranked = search_group(
            group,
            Vector.of(spec),
            np.flatnonzero(rows),
            limit=limit,
            mixture=mixture,
            max_search_num=max_search_num,
            mixture_candidates=mixture_candidates,
            min_improvement=min_improvement,
            prune=prune,
        )
        return ranked.result(self.market, self.name)

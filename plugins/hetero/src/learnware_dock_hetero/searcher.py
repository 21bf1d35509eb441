"""The ``hetero`` searcher: a user with other columns than the learnwares' still finds them.

A user brings what the ``rkme`` searcher takes, an :class:`RKMETableSpecification` of
their table, plus the description of each column (semantic spec ``Input.Description``).
Learnwares in the user's own feature space (same dimension, and the same descriptions or
none) are ranked exactly by the ``rkme`` searcher; every other learnware that describes
its columns is compared in the market mapping's space: the user's reduced set is embedded
by the current mapping and ranked against the stored :class:`HeteroMapTableSpecification`
s by squared MMD, with the RKME plugin's batched engine (:func:`search_group`). Singles of
both kinds are merged by their absolute scores; each says its ``space`` ("table" or
"heteromap"). Mixtures come from each space separately (a mixture's members must share
one space), best score first. Without a trained mapping the search says so in its
``notes`` and ranks the same-space learnwares only.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import attrs
import numpy as np

from learnware_dock.domain import SearchResult, SingleMatch, UserInfo
from learnware_dock.errors import SearchError
from learnware_dock.interfaces import Searcher
from learnware_dock_hetero.index import HeteroIndex
from learnware_dock_hetero.mapping import RKME, columns_sha, descriptions_of
from learnware_dock_hetero.spec import HeteroMapTableSpecification
from learnware_dock_rkme import RKMETableSpecification, Vector, search_group

if TYPE_CHECKING:
    from learnware_dock.market import Market
    from learnware_dock_rkme.ranking import MixtureMethod

UNTRAINED = (
    "the market mapping was never trained (run `dock hetero train`): only learnwares in "
    "the user's own feature space were compared"
)


class HeteroSearcher(Searcher):
    """See the module docstring."""

    name = "hetero"
    priority = 20  # above ``rkme``: chosen for RKME queries that describe their columns

    def __init__(self, market: Market) -> None:
        super().__init__(market)
        self.index = HeteroIndex(market)

    def supports(self, user_info: UserInfo) -> bool:
        io = user_info.semantic_spec.input
        return RKME in user_info.stat_specs and io is not None and bool(io.description)

    def search(
        self,
        user_info: UserInfo,
        *,
        limit: int = 10,
        mixture: MixtureMethod = "oneshot",
        max_search_num: int = 10,
        mixture_candidates: int = 20,
        prune: bool = True,
    ) -> SearchResult:
        """Heterogeneous search; the options are the ``rkme`` searcher's (``prune``
        applies to its same-space part)."""
        rkme = user_info.stat_specs.get(RKME)
        if not isinstance(rkme, RKMETableSpecification):
            raise SearchError(f"the hetero searcher needs a {RKME} in the user info")
        descriptions = descriptions_of(
            user_info.semantic_spec, rkme.dimension, "the user's semantic spec"
        )
        allowed = self.market.semantic_matches(user_info).ids
        mapping, group = self.index.sync()
        mine = columns_sha(descriptions)
        same = [i for i in allowed if self.index.same_space(i, rkme.dimension, mine)]
        singles: list[SingleMatch] = []
        mixtures = []
        notes: list[str] = []
        if same:
            exact = self.market.search(
                attrs.evolve(user_info, learnware_ids=same),
                searcher="rkme",
                limit=limit,
                mixture=mixture,
                max_search_num=max_search_num,
                mixture_candidates=mixture_candidates,
                prune=prune,
            )
            singles += [attrs.evolve(m, space="table") for m in exact.singles]
            mixtures += list(exact.mixtures)
        total = len(same)
        if mapping is None or group is None:
            notes.append(UNTRAINED)
        else:
            chosen = set(same)
            wanted = set(allowed) - chosen
            rows = np.flatnonzero([i in wanted for i in group.ids])
            if len(rows):
                user = HeteroMapTableSpecification.from_rkme(rkme, descriptions, mapping)
                ranked = search_group(
                    group,
                    Vector.of(user),
                    rows,
                    limit=limit,
                    mixture=mixture,
                    max_search_num=max_search_num,
                    mixture_candidates=mixture_candidates,
                    prune=False,  # no pivots in the mapping's space
                )
                found, mixed = ranked.matches(self.market, space="heteromap")
                singles += found
                mixtures += mixed
                total += len(rows)
        singles.sort(key=lambda m: (-m.score, m.learnware.id))
        mixtures.sort(key=lambda m: -m.score)
        return SearchResult(
            tuple(singles[:limit]),
            tuple(mixtures),
            searcher=self.name,
            total=total,
            notes=tuple(notes),
        )

"""learnware-dock-rkme: RKME table specifications, and the kernel math other plugins build
on (``simplex_weights``: the mixture QP; ``inner_products``: RKME Gram matrices;
``gaussian_kernel``: the kernel every RKME uses; ``median_gamma``: its width heuristic),
and the batched search engine (``Group``: stacked RKMEs of one dimension and gamma;
``Vector``: one indexed RKME; ``search_group``: scan, re-rank and mixture over a group;
``best_backend``: the compute backend to scan with; ``greedy`` / ``one_shot``: mixtures
from a Gram matrix; ``SpecLimits``: the size limits every RKME is checked against), and
what other RKME types build on (``RKMESearcher`` with its ``spec_type``,
``index_submission`` for their ``dock_learnware_added``).

Names are imported on first use, so loading the plugin (its ``hooks``) stays light.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from learnware_dock.lazy import lazy_exports

if TYPE_CHECKING:
    from learnware_dock_rkme.backend import best_backend
    from learnware_dock_rkme.index import Group
    from learnware_dock_rkme.kernel import gaussian_kernel, simplex_weights
    from learnware_dock_rkme.limits import SpecLimits
    from learnware_dock_rkme.mixture import greedy, inner_products, one_shot
    from learnware_dock_rkme.ranking import GroupRanking, score, search_group
    from learnware_dock_rkme.searcher import RKMESearcher
    from learnware_dock_rkme.submission import index_submission
    from learnware_dock_rkme.table import (
        DEFAULT_K,
        DegenerateKernelWarning,
        RKMETableSpecification,
        median_gamma,
    )
    from learnware_dock_rkme.vectors import Vector

_WHERE = {
    "best_backend": "learnware_dock_rkme.backend",
    "DEFAULT_K": "learnware_dock_rkme.table",
    "DegenerateKernelWarning": "learnware_dock_rkme.table",
    "gaussian_kernel": "learnware_dock_rkme.kernel",
    "greedy": "learnware_dock_rkme.mixture",
    "Group": "learnware_dock_rkme.index",
    "GroupRanking": "learnware_dock_rkme.ranking",
    "index_submission": "learnware_dock_rkme.submission",
    "inner_products": "learnware_dock_rkme.mixture",
    "median_gamma": "learnware_dock_rkme.table",
    "one_shot": "learnware_dock_rkme.mixture",
    "RKMESearcher": "learnware_dock_rkme.searcher",
    "RKMETableSpecification": "learnware_dock_rkme.table",
    "score": "learnware_dock_rkme.ranking",
    "search_group": "learnware_dock_rkme.ranking",
    "simplex_weights": "learnware_dock_rkme.kernel",
    "SpecLimits": "learnware_dock_rkme.limits",
    "Vector": "learnware_dock_rkme.vectors",
}

__all__ = [
    "DEFAULT_K",
    "DegenerateKernelWarning",
    "Group",
    "GroupRanking",
    "RKMESearcher",
    "RKMETableSpecification",
    "SpecLimits",
    "Vector",
    "best_backend",
    "gaussian_kernel",
    "greedy",
    "index_submission",
    "inner_products",
    "median_gamma",
    "one_shot",
    "score",
    "search_group",
    "simplex_weights",
]

__getattr__ = lazy_exports(__name__, _WHERE)

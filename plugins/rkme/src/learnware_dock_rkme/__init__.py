"""learnware-dock-rkme: RKME table specifications, and the kernel math other plugins build
on (``simplex_weights``: the mixture QP; ``inner_products``: RKME Gram matrices;
``gaussian_kernel``: the kernel every RKME uses; ``median_gamma``: its width heuristic),
and the batched search engine (``Group``: stacked RKMEs of one dimension and gamma;
``Vector``: one indexed RKME; ``search_group``: scan, re-rank and mixture over a group;
``best_backend``: the compute backend to scan with).

Names are imported on first use, so loading the plugin (its ``hooks``) stays light.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from learnware_dock.lazy import lazy_exports

if TYPE_CHECKING:
    from learnware_dock_rkme.backend import best_backend
    from learnware_dock_rkme.index import Group
    from learnware_dock_rkme.kernel import gaussian_kernel, simplex_weights
    from learnware_dock_rkme.mixture import inner_products
    from learnware_dock_rkme.ranking import GroupRanking, score, search_group
    from learnware_dock_rkme.table import (
        DegenerateKernelWarning,
        RKMETableSpecification,
        median_gamma,
    )
    from learnware_dock_rkme.vectors import Vector

_WHERE = {
    "DegenerateKernelWarning": "learnware_dock_rkme.table",
    "Group": "learnware_dock_rkme.index",
    "GroupRanking": "learnware_dock_rkme.ranking",
    "RKMETableSpecification": "learnware_dock_rkme.table",
    "Vector": "learnware_dock_rkme.vectors",
    "best_backend": "learnware_dock_rkme.backend",
    "gaussian_kernel": "learnware_dock_rkme.kernel",
    "inner_products": "learnware_dock_rkme.mixture",
    "median_gamma": "learnware_dock_rkme.table",
    "score": "learnware_dock_rkme.ranking",
    "search_group": "learnware_dock_rkme.ranking",
    "simplex_weights": "learnware_dock_rkme.kernel",
}

__all__ = [
    "DegenerateKernelWarning",
    "Group",
    "GroupRanking",
    "RKMETableSpecification",
    "Vector",
    "best_backend",
    "gaussian_kernel",
    "inner_products",
    "median_gamma",
    "score",
    "search_group",
    "simplex_weights",
]

__getattr__ = lazy_exports(__name__, _WHERE)

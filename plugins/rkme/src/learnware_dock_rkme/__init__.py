"""learnware-dock-rkme: RKME table specifications, and the kernel math other plugins build
on (``simplex_weights``: the mixture QP; ``inner_products``: RKME Gram matrices;
``gaussian_kernel``: the kernel every RKME uses).

Names are imported on first use, so loading the plugin (its ``hooks``) stays light.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from learnware_dock.lazy import lazy_exports

if TYPE_CHECKING:
    from learnware_dock_rkme.kernel import gaussian_kernel, simplex_weights
    from learnware_dock_rkme.mixture import inner_products
    from learnware_dock_rkme.table import DegenerateKernelWarning, RKMETableSpecification

_WHERE = {
    "DegenerateKernelWarning": "learnware_dock_rkme.table",
    "RKMETableSpecification": "learnware_dock_rkme.table",
    "gaussian_kernel": "learnware_dock_rkme.kernel",
    "inner_products": "learnware_dock_rkme.mixture",
    "simplex_weights": "learnware_dock_rkme.kernel",
}

__all__ = [
    "DegenerateKernelWarning",
    "RKMETableSpecification",
    "gaussian_kernel",
    "inner_products",
    "simplex_weights",
]

__getattr__ = lazy_exports(__name__, _WHERE)

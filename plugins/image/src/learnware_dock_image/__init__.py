"""learnware-dock-image: RKME image specifications (the `learnware` package's JSON) and
the ``rkme-image`` searcher. ``nngp_kernel`` is the exact CNN-GP kernel that ``dist``
uses; ``RandomConvNet`` the random nets that approximate it.

Names are imported on first use, so loading the plugin (its ``hooks``) stays light.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from learnware_dock.lazy import lazy_exports

if TYPE_CHECKING:
    from learnware_dock_image.features import RandomConvNet
    from learnware_dock_image.nngp import nngp_kernel
    from learnware_dock_image.searcher import ImageSearcher
    from learnware_dock_image.spec import RKMEImageSpecification

_WHERE = {
    "ImageSearcher": "learnware_dock_image.searcher",
    "RKMEImageSpecification": "learnware_dock_image.spec",
    "RandomConvNet": "learnware_dock_image.features",
    "nngp_kernel": "learnware_dock_image.nngp",
}

__all__ = ["ImageSearcher", "RKMEImageSpecification", "RandomConvNet", "nngp_kernel"]

__getattr__ = lazy_exports(__name__, _WHERE)

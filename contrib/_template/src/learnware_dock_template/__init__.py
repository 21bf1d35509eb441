"""learnware-dock-template: a copy-and-rename plugin skeleton (the ``template-readme`` checker).

Names are imported on first use, so loading the plugin (its ``hooks``) stays light.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from learnware_dock.lazy import lazy_exports

if TYPE_CHECKING:
    from learnware_dock_template.checker import ReadmeChecker

_WHERE = {
    "ReadmeChecker": "learnware_dock_template.checker",
}

__all__ = ["ReadmeChecker"]

__getattr__ = lazy_exports(__name__, _WHERE)

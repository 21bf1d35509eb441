"""learnware-dock: publish models with specifications; find and reuse them safely."""

from learnware_dock.domain import (
    CheckReport,
    CheckResult,
    Learnware,
    MixtureMatch,
    SearchResult,
    SingleMatch,
    Status,
    UserInfo,
)
from learnware_dock.errors import (
    CheckError,
    ContainerError,
    DockError,
    PackageError,
    PluginError,
    SearchError,
    SemanticError,
    SpecificationError,
    StoreError,
    UnknownLearnwareError,
)
from learnware_dock.hookspecs import hookimpl
from learnware_dock.market import Market
from learnware_dock.plugins import get_plugin_manager, list_plugins
from learnware_dock.prefilter import SemanticMatches
from learnware_dock.semantic import IOSpec, SemanticSpec, Vocabulary

__version__ = "0.1.0"

__all__ = [
    "CheckError",
    "CheckReport",
    "CheckResult",
    "ContainerError",
    "DockError",
    "IOSpec",
    "Learnware",
    "Market",
    "MixtureMatch",
    "PackageError",
    "PluginError",
    "SearchError",
    "SearchResult",
    "SemanticError",
    "SemanticMatches",
    "SemanticSpec",
    "SingleMatch",
    "SpecificationError",
    "Status",
    "StoreError",
    "UnknownLearnwareError",
    "UserInfo",
    "Vocabulary",
    "__version__",
    "get_plugin_manager",
    "hookimpl",
    "list_plugins",
]

"""The dock's exceptions: one `DockError` root, one subclass per kind of failure.

Messages name the file, field or learnware at fault and say what to do about it.
"""

from __future__ import annotations

from typing import Any


class DockError(Exception):
    """Base class of every error the dock raises on purpose."""


class PackageError(DockError):
    """A learnware package (zip, yaml, files) is malformed or hostile."""


class SpecificationError(DockError):
    """A semantic or statistical specification is invalid."""


class SemanticError(SpecificationError):
    """A semantic specification breaks the vocabulary or cardinality rules."""


class PluginError(DockError):
    """A plugin failed to load, or a requested component is not installed."""


class StoreError(DockError):
    """The market store cannot do what was asked (unknown id, corrupt store)."""


class UnknownLearnwareError(StoreError, KeyError):
    """No learnware with the given id exists in the market."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class CheckError(DockError):
    """A learnware was rejected (INVALID) by a checker; nothing was stored.

    ``report`` is the checkers' :class:`~learnware_dock.domain.CheckReport`, when known.
    """

    def __init__(self, message: str, report: Any = None) -> None:
        super().__init__(message)
        self.report = report


class ContainerError(DockError):
    """A learnware's model failed to load or run inside its container."""


class SearchError(DockError):
    """A search request cannot be answered (bad query, incompatible specs)."""

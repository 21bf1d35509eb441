"""Organizers: the persistence and query layer of a market."""

from __future__ import annotations

import builtins
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar

import attrs

from learnware_dock.domain import CheckReport, Learnware, StatSpecRef, Status
from learnware_dock.semantic import SemanticSpec


@attrs.frozen
class NewStatSpec:
    """A statistical spec to store: its type, file name in the package, and JSON bytes."""

    type: str
    file: str
    content: bytes


@attrs.frozen(kw_only=True)
class NewLearnware:
    """Everything an organizer stores for a checked submission."""

    package: Path  # the zip as submitted (the organizer copies it)
    semantic_spec: SemanticSpec
    status: Status
    stat_specs: tuple[NewStatSpec, ...] = ()
    report: CheckReport | None = None
    id: str | None = None  # an id from ``Organizer.reserve_id()``; None: a fresh one


class Organizer(ABC):
    """Base class of organizers. Writes are atomic; opening executes nothing.

    ``find`` is the query primitive semantic searchers build on: ``filters`` maps a
    Class/Tag key to the values of which a learnware must have at least one; ``text``
    is a free-text query. It returns ``(id, raw_rank)`` best first (rank: lower is better;
    ``None`` without text).

    A complete minimal plugin (an in-memory organizer)::

        import itertools
        from learnware_dock import hookimpl
        from learnware_dock.domain import Learnware
        from learnware_dock.errors import UnknownLearnwareError
        from learnware_dock.interfaces import Organizer

        class MemoryOrganizer(Organizer):
            name = "memory"

            def __init__(self, root, *, create=True):
                self.rows, self.ids = {}, itertools.count(1)

            def add(self, new):
                lw = Learnware(id=f"{next(self.ids):08d}", semantic_spec=new.semantic_spec,
                               status=new.status, sha256="", package_path=new.package)
                self.rows[lw.id] = lw
                return lw

            def update(self, learnware_id, new):
                self.get(learnware_id)
                self.rows[learnware_id] = self.add(new)
                return self.rows[learnware_id]

            def delete(self, learnware_id):
                self.get(learnware_id)
                del self.rows[learnware_id]

            def get(self, learnware_id):
                try:
                    return self.rows[learnware_id]
                except KeyError:
                    raise UnknownLearnwareError(f"no learnware {learnware_id!r}") from None

            def list(self, status=None, limit=None, offset=0):
                rows = [r for r in self.rows.values() if status in (None, r.status)]
                return rows[offset:][:limit]

            def count(self, status=None):
                return len(self.list(status))

            def find(self, filters, text=None, ids=None, limit=None):
                hits = [
                    lw.id for lw in self.rows.values()
                    if all(set(v) & set(lw.semantic_spec.values_of(k)) for k, v in filters.items())
                    and (ids is None or lw.id in ids)
                    and (not text or text.lower() in lw.semantic_spec.text().lower())
                ]
                return [(i, None) for i in hits[:limit]]

            def terms(self):
                return sorted({w for lw in self.rows.values()
                               for w in lw.semantic_spec.text().lower().split()})

            def read_stat_spec(self, ref):
                raise UnknownLearnwareError("this organizer stores no stat specs")

        @hookimpl
        def dock_register_organizers():
            return [MemoryOrganizer]
    """

    name: ClassVar[str]

    @abstractmethod
    def __init__(self, root: Path, *, create: bool = True) -> None:
        """Open (and with ``create``, initialise) the store under ``root``."""

    @abstractmethod
    def add(self, new: NewLearnware) -> Learnware:
        """Store a new learnware atomically and return it with a fresh, never-reused id."""

    @abstractmethod
    def update(self, learnware_id: str, new: NewLearnware) -> Learnware:
        """Replace a learnware's package, specs and status; its version increases."""

    @abstractmethod
    def delete(self, learnware_id: str) -> None:
        """Remove a learnware; raises :class:`UnknownLearnwareError` if absent."""

    @abstractmethod
    def get(self, learnware_id: str) -> Learnware:
        """Return one learnware or raise :class:`UnknownLearnwareError`."""

    @abstractmethod
    def list(
        self, status: Status | None = None, limit: int | None = None, offset: int = 0
    ) -> builtins.list[Learnware]:
        """Learnwares in id order, optionally only those with ``status``."""

    @abstractmethod
    def count(self, status: Status | None = None) -> int:
        """How many learnwares (with ``status``) are stored."""

    @abstractmethod
    def find(
        self,
        filters: Mapping[str, Sequence[str]],
        text: str | None = None,
        ids: Sequence[str] | None = None,
        limit: int | None = None,
    ) -> builtins.list[tuple[str, float | None]]:
        """Ids matching every filter (and ``text``), best first, with the raw text rank."""

    @abstractmethod
    def terms(self) -> builtins.list[str]:
        """Distinct words of the free-text index, as ``find`` matches them (for example
        stemmed); searchers correct misspelled query words against them."""

    @abstractmethod
    def read_stat_spec(self, ref: StatSpecRef) -> dict[str, Any]:
        """The stored JSON content of a learnware's statistical spec."""

    def spec_refs(self, type_name: str) -> dict[str, StatSpecRef]:
        """``id -> StatSpecRef`` of every learnware with a spec of ``type_name`` (for
        statistical indexes; organizers should answer without building learnwares)."""
        found = ((lw.id, lw.stat_spec_ref(type_name)) for lw in self.list())
        return {i: ref for i, ref in found if ref is not None}

    def reserve_id(self) -> str:
        """A fresh id that no other learnware will get, for a later ``add`` of a
        ``NewLearnware`` with that ``id`` (a server answers uploads with it before the
        checks finish). Unused reserved ids are simply skipped."""
        from learnware_dock.errors import StoreError

        raise StoreError(f"organizer {self.name!r} cannot reserve learnware ids")

    def revision(self) -> int | None:
        """A number that changes whenever the market changes (from any process), so
        indexes can skip re-reading an unchanged market; ``None`` if unknown."""
        return None

    def get_many(self, ids: Sequence[str]) -> builtins.list[Learnware]:
        """Several learnwares, in the order of ``ids``."""
        return [self.get(i) for i in ids]

    def close(self) -> None:  # noqa: B027  (optional hook for subclasses)
        """Release connections and locks."""

"""The `Market` facade: add, check, update, delete, get, list and search learnwares."""

from __future__ import annotations

import inspect
import logging
import os
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from learnware_dock.checking import check_archive, run_checkers, stat_spec_files
from learnware_dock.config import resolve_market_root
from learnware_dock.domain import CheckReport, Learnware, SearchResult, Status, UserInfo
from learnware_dock.errors import CheckError, SearchError
from learnware_dock.interfaces import (
    LoadedModel,
    NewLearnware,
    Searcher,
    StatSpecification,
    Submission,
)
from learnware_dock.package.reader import extracted
from learnware_dock.plugins import DockPluginManager, get_plugin_manager
from learnware_dock.prefilter import FUZZY_CUTOFF, SemanticMatches, semantic_matches
from learnware_dock.registry import Components
from learnware_dock.reusing import open_reuser
from learnware_dock.semantic import SemanticSpec

log = logging.getLogger(__name__)

SemanticLike = SemanticSpec | Mapping[str, Any]


def as_semantic(spec: SemanticLike) -> SemanticSpec:
    return spec if isinstance(spec, SemanticSpec) else SemanticSpec.from_dict(spec)


class Market:
    """A learnware market stored in one folder, through an organizer plugin.

    Opening executes no package code and parses no package; statistical indexes load
    lazily in their searchers.
    """

    def __init__(
        self,
        root: str | os.PathLike[str],
        *,
        organizer: str = "sqlite",
        create: bool = True,
        plugin_manager: DockPluginManager | None = None,
    ) -> None:
        self.root = Path(root)
        self.pm = plugin_manager or get_plugin_manager()
        self.components = Components(self.pm)
        self.organizer = self.components.organizers.get(organizer)(self.root, create=create)
        self._searchers: dict[str, Searcher] = {}

    @classmethod
    def open(cls, market: str | os.PathLike[str] | None = None, **kwargs: Any) -> Self:
        """Open a market by name (under ``$DOCK_HOME``) or by path; see ``Market()``."""
        return cls(resolve_market_root(market), **kwargs)

    # -- submissions -------------------------------------------------------------------------
    def _submit(
        self,
        package: str | Path,
        semantic_spec: SemanticLike,
        checkers: Sequence[str] | None,
        learnware_id: str | None = None,
    ) -> tuple[CheckReport, NewLearnware | None]:
        archive = Path(package).expanduser()
        spec = as_semantic(semantic_spec)
        with extracted(archive) as root:
            submission = Submission(root, spec, self.components, archive)
            report = run_checkers(submission, checkers)
            if report.status is Status.INVALID:
                return report, None
            new = NewLearnware(
                package=archive,
                semantic_spec=spec,
                status=report.status,
                stat_specs=stat_spec_files(submission),
                report=report,
                id=learnware_id,
            )
        return report, new

    def check(
        self,
        package: str | Path,
        semantic_spec: SemanticLike,
        *,
        checkers: Sequence[str] | None = None,
    ) -> CheckReport:
        """Run the checkers on a package without storing it."""
        return check_archive(
            Path(package).expanduser(), as_semantic(semantic_spec), self.components, checkers
        )

    def add(
        self,
        package: str | Path,
        semantic_spec: SemanticLike,
        *,
        checkers: Sequence[str] | None = None,
        learnware_id: str | None = None,
    ) -> Learnware:
        """Check and store a package; raises :class:`CheckError` if it is INVALID.

        ``learnware_id``: an id from :meth:`reserve_id` (default: a fresh one).
        """
        report, new = self._submit(package, semantic_spec, checkers, learnware_id)
        if new is None:
            raise CheckError(f"{Path(package).name} was rejected: {report.message}", report)
        learnware = self.organizer.add(new)
        self._notify("dock_learnware_added", learnware=learnware)
        return learnware

    def reserve_id(self) -> str:
        """An id for a later ``add(..., learnware_id=...)``, handed out before checking."""
        return self.organizer.reserve_id()

    def update(
        self,
        learnware_id: str,
        *,
        package: str | Path | None = None,
        semantic_spec: SemanticLike | None = None,
        checkers: Sequence[str] | None = None,
    ) -> Learnware:
        """Replace a learnware's package and/or semantic spec (re-checked); version + 1."""
        old = self.organizer.get(learnware_id)
        report, new = self._submit(
            package if package is not None else old.package_path,
            semantic_spec if semantic_spec is not None else old.semantic_spec,
            checkers,
        )
        if new is None:
            raise CheckError(f"update of {learnware_id} was rejected: {report.message}", report)
        learnware = self.organizer.update(learnware_id, new)
        self._notify("dock_learnware_added", learnware=learnware)
        return learnware

    def delete(self, learnware_id: str) -> None:
        """Remove a learnware and its files (raises for an unknown id)."""
        self.organizer.delete(learnware_id)
        self._notify("dock_learnware_removed", learnware_id=learnware_id)

    def _notify(self, hook: str, **kwargs: Any) -> None:
        """Fire an event hook; the change is committed, so a failing listener only logs."""
        try:
            getattr(self.pm.hook, hook)(market=self, **kwargs)
        except Exception:
            log.exception("a %s listener failed; the market itself is consistent", hook)

    # -- reads ---------------------------------------------------------------------------------
    def get(self, learnware_id: str) -> Learnware:
        return self.organizer.get(learnware_id)

    def list(
        self, status: Status | None = None, *, limit: int | None = None, offset: int = 0
    ) -> list[Learnware]:
        return self.organizer.list(status, limit, offset)

    def load(
        self, learnware: Learnware | str, *, container: str | None = None, **options: Any
    ) -> LoadedModel:
        """Start a learnware's model; returns a :class:`LoadedModel` (``predict`` etc.;
        close it, or use it in a ``with`` block).

        ``container`` defaults to the highest-priority container that is not
        ``trusted_only`` (``venv`` from learnware-dock-isolation); ``"inprocess"`` runs the
        package's code in this process and is for packages you trust. ``options`` are the
        container's declared options (its ``options_class``: ``timeout``, ``memory_limit``,
        ...), validated before anything starts.
        """
        from learnware_dock.loading import load_model

        lw = learnware if isinstance(learnware, Learnware) else self.get(learnware)
        return load_model(self.components, lw, container, **options)

    def stat_spec(self, learnware: Learnware | str, type_name: str) -> StatSpecification:
        """Load one stored statistical spec of a learnware through its registered type."""
        lw = learnware if isinstance(learnware, Learnware) else self.get(learnware)
        ref = lw.stat_spec_ref(type_name)
        if ref is None:
            have = ", ".join(r.type for r in lw.stat_specs) or "none"
            raise SearchError(f"learnware {lw.id} has no {type_name}; it has: {have}")
        cls = self.components.specifications.get(type_name)
        return cls.from_json(self.organizer.read_stat_spec(ref))

    def __len__(self) -> int:
        return self.organizer.count()

    def __contains__(self, learnware_id: object) -> bool:
        from learnware_dock.errors import UnknownLearnwareError

        try:
            self.organizer.get(str(learnware_id))
        except UnknownLearnwareError:
            return False
        return True

    def __iter__(self) -> Iterator[Learnware]:
        return iter(self.list())

    # -- search --------------------------------------------------------------------------------
    def searcher(self, name: str) -> Searcher:
        """The market's instance of the named searcher (built once, keeps its index)."""
        if name not in self._searchers:
            self._searchers[name] = self.components.searchers.get(name)(self)
        return self._searchers[name]

    def semantic_matches(
        self, query: UserInfo | SemanticLike, *, fuzzy_cutoff: float = FUZZY_CUTOFF
    ) -> SemanticMatches:
        """The learnwares that pass the query's semantic filters and free text, best first.

        The pre-filter of every searcher (the ``semantic`` searcher pages and scores these;
        statistical ones rank them), through the organizer alone, so it works whichever
        searchers are installed. Rules: :mod:`learnware_dock.prefilter`.
        """
        info = query if isinstance(query, UserInfo) else UserInfo(semantic_spec=as_semantic(query))
        return semantic_matches(self.organizer, info, fuzzy_cutoff=fuzzy_cutoff)

    def search(
        self,
        query: UserInfo | SemanticLike,
        *,
        searcher: str | None = None,
        **options: Any,
    ) -> SearchResult:
        """Search with a searcher by name, or the best-priority one that supports the query.

        ``options`` go to the searcher's ``search`` (see each searcher's documentation).
        """
        info = query if isinstance(query, UserInfo) else UserInfo(semantic_spec=as_semantic(query))
        if searcher is None:
            classes = sorted(
                self.components.searchers.classes(), key=lambda c: (-c.priority, c.name)
            )
            chosen = next((c.name for c in classes if self.searcher(c.name).supports(info)), None)
            if chosen is None:
                raise SearchError("no installed searcher supports this query")
            searcher = chosen
        instance = self.searcher(searcher)
        try:
            inspect.signature(instance.search).bind(info, **options)
        except TypeError as exc:
            raise SearchError(f"searcher {searcher!r} does not take these options: {exc}") from exc
        return instance.search(info, **options)

    # -- reuse ---------------------------------------------------------------------------------
    #: ``market.reuser(result, method, options=None, *, container=None, mixture=0,
    #: user_info=None)``: the reuser named ``method`` built for a mixture of ``result``, in
    #: a ``with`` block that closes its models (:func:`learnware_dock.reusing.open_reuser`)
    reuser = open_reuser

    # -- lifecycle -----------------------------------------------------------------------------
    def close(self) -> None:
        self.organizer.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Market({str(self.root)!r}, learnwares={len(self)})"

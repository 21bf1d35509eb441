"""The ``rkme-text`` searcher: the RKME engine over text specs of the user's encoder and
languages.

Candidates are the learnwares that pass the semantic filters, whose text spec was made
with the user's encoder and lists every language of the user's documents (as the
`learnware` package filters them); the RKME index then scans only those. Encoders and
languages come from the side table (:mod:`learnware_dock_text.meta`), read once per
market revision. Learnwares whose specs need an encoder that is not installed here are
counted in the result's ``notes``.
"""

from __future__ import annotations

import threading
from collections import Counter
from typing import TYPE_CHECKING, Any

import attrs

from learnware_dock.domain import SearchResult, UserInfo
from learnware_dock.errors import DockError, SearchError
from learnware_dock_rkme import RKMESearcher, RKMETableSpecification
from learnware_dock_text.encoders import DEFAULT_ENCODER, encoder_class
from learnware_dock_text.meta import MetaStore, TextMeta
from learnware_dock_text.spec import RKMETextSpecification

if TYPE_CHECKING:
    from learnware_dock.market import Market


def unavailable_hint(encoder: str) -> str | None:
    """What to install to get ``encoder``; None when it is available here."""
    try:
        cls = encoder_class(encoder)
    except DockError:
        return "no installed plugin registers it"
    return None if cls.is_available() else cls.install_hint()


class RKMETextSearcher(RKMESearcher):
    """Statistical search over ``RKMETextSpecification`` (see the module docstring)."""

    name = "rkme-text"
    priority = 10
    spec_type = RKMETextSpecification

    def __init__(self, market: Market) -> None:
        super().__init__(market)
        self._lock = threading.Lock()
        self._revision: int | None = None
        self._metas: dict[str, TextMeta] = {}

    def metas(self) -> dict[str, TextMeta]:
        """``id -> TextMeta`` of every learnware with a text spec (cached per revision)."""
        with self._lock:
            revision = self.market.organizer.revision()
            if revision is None or revision != self._revision:
                store = MetaStore(self.market)
                try:
                    refs = self.market.organizer.spec_refs(self.spec_type.name)
                    self._metas = store.metas(refs)
                finally:
                    store.close()
                self._revision = revision
            return self._metas

    def allowed(self, user_info: UserInfo, spec: RKMETableSpecification) -> set[str]:
        """The semantic matches whose text spec has the user's encoder and languages."""
        if not isinstance(spec, RKMETextSpecification):
            raise SearchError(f"the {self.name} searcher needs an {self.spec_type.name}")
        wanted = set(spec.language)
        metas = self.metas()
        return {
            i
            for i in super().allowed(user_info, spec)
            if i in metas and metas[i].encoder == spec.encoder and wanted <= metas[i].languages
        }

    def notes(self, user_info: UserInfo) -> tuple[str, ...]:
        """One note per encoder that matching learnwares' specs need but is missing here."""
        metas = self.metas()
        matches = self.market.semantic_matches(user_info).ids
        needed = Counter(metas[i].encoder for i in matches if i in metas)
        notes = []
        for encoder, count in sorted(needed.items()):
            hint = unavailable_hint(encoder)
            if hint is not None:
                whose = (
                    "1 learnware's text spec needs"
                    if count == 1
                    else (f"{count} learnwares' text specs need")
                )
                notes.append(f"{whose} encoder {encoder} ({hint}); they were not compared")
        return tuple(notes)

    def search(self, user_info: UserInfo, **options: Any) -> SearchResult:
        """:meth:`RKMESearcher.search` (same options) over the learnwares of the user's
        encoder and languages; the user's encoder must be available here."""
        spec = user_info.stat_specs.get(self.spec_type.name)
        if isinstance(spec, RKMETextSpecification):
            hint = unavailable_hint(spec.encoder)
            if hint is not None:
                raise SearchError(
                    f"your text spec was made with encoder {spec.encoder}, which this dock "
                    f"cannot use ({hint}); make it with an installed encoder, e.g. "
                    f"RKMETextSpecification.generate(texts) for {DEFAULT_ENCODER}"
                )
        result = super().search(user_info, **options)
        notes = self.notes(user_info)
        return attrs.evolve(result, notes=result.notes + notes) if notes else result

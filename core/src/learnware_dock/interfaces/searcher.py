"""Searchers: rank a market's learnwares against a user's requirement."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import TYPE_CHECKING, ClassVar

from learnware_dock.domain import SearchResult, UserInfo

if TYPE_CHECKING:
    from learnware_dock.market import Market


class Searcher(ABC):
    """Base class of searchers. A searcher is built per market and may keep an index.

    ``Market.search(user_info, searcher=None)`` picks the searcher with the highest
    ``priority`` whose :meth:`supports` accepts the query. The default priority (-1) is
    below the built-in ``semantic`` searcher's (0): set a positive one to be chosen
    automatically for the queries you support. Search options are explicit
    keyword arguments of :meth:`search` with documented defaults.

    A complete minimal plugin (learnwares whose name starts with the user's name)::

        from learnware_dock import hookimpl
        from learnware_dock.domain import SearchResult, SingleMatch
        from learnware_dock.interfaces import Searcher

        class PrefixSearcher(Searcher):
            name = "prefix"

            def search(self, user_info, *, limit=10):
                prefix = (user_info.semantic_spec.name or "").lower()
                hits = [lw for lw in self.market.list() if lw.name.lower().startswith(prefix)]
                singles = tuple(SingleMatch(lw, score=1.0) for lw in hits[:limit])
                return SearchResult(singles, searcher=self.name, total=len(hits))

        @hookimpl
        def dock_register_searchers():
            return [PrefixSearcher]
    """

    name: ClassVar[str]
    priority: ClassVar[int] = -1

    def __init__(self, market: Market) -> None:
        self.market = market

    def supports(self, user_info: UserInfo) -> bool:
        """Whether this searcher can answer ``user_info`` (used for automatic choice)."""
        return True

    @abstractmethod
    def search(self, user_info: UserInfo, *, limit: int = 10) -> SearchResult:
        """Return at most ``limit`` ranked matches, best first.

        Subclasses add their own keyword-only options, each with a default.
        """

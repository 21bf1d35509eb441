"""Reusers: turn found learnwares into a model for the user's task."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, ClassVar, Literal, Self

import attrs

from learnware_dock.domain import Learnware, UserInfo
from learnware_dock.errors import DockError

if TYPE_CHECKING:
    import numpy as np

    from learnware_dock.interfaces.container import LoadedModel
    from learnware_dock.interfaces.specification import StatSpecification
    from learnware_dock.market import Market

#: what the reused model predicts, from the learnwares' semantic specs
ReuseTask = Literal["classification", "regression"]


@attrs.frozen
class NoOptions:
    """The options class of a reuser that takes none."""


@attrs.frozen
class ReuseContext:
    """What a reuser is built from (see :meth:`Reuser.from_search`): one mixture of a search.

    ``models`` are the mixture's learnwares, started (the caller closes them), in the
    order of ``learnwares`` and ``weights``. ``task`` and ``classes`` come from the first
    learnware's semantic spec (its Task, and its Output dimension for classification).
    """

    market: Market
    user_info: UserInfo
    learnwares: tuple[Learnware, ...]
    weights: tuple[float, ...]
    models: tuple[LoadedModel, ...]
    task: ReuseTask
    classes: int | None

    def stat_specs(self, type_name: str | None = None) -> list[StatSpecification]:
        """Each learnware's stored statistical spec of ``type_name``, in model order.

        By default, the one type the user searched with; when the user info holds no
        statistical spec, the one type every learnware of the mixture stores.
        """
        if type_name is None:
            type_name = self._default_type()
        return [self.market.stat_spec(lw, type_name) for lw in self.learnwares]

    def _default_type(self) -> str:
        searched = sorted(self.user_info.stat_specs)
        if len(searched) == 1:
            return searched[0]
        if searched:
            raise DockError(
                f"the search used several statistical spec types ({', '.join(searched)}); "
                "name the one to use: stat_specs(type_name)"
            )
        stored = [{ref.type for ref in lw.stat_specs} for lw in self.learnwares]
        shared = sorted(set.intersection(*stored)) if stored else []
        if len(shared) != 1:
            have = ", ".join(shared) or "none"
            raise DockError(
                "the search used no statistical spec and the learnwares do not share exactly "
                f"one type (shared: {have}); name the one to use: stat_specs(type_name)"
            )
        return shared[0]


class Reuser(ABC):
    """Base class of reusers, with scikit-learn conventions (``fit``, ``predict``).

    ``models`` are runnable learnwares (anything with ``predict``); ``weights`` are the
    mixture weights of a search, when the reuser uses them. Python code may build a
    reuser directly; ``Market.reuser(result, name, options)`` and ``dock reuse --method
    NAME -O key=value`` build it from a search result through :meth:`from_search`, with
    the options declared by ``options_class`` (an attrs class of
    :func:`learnware_dock.options.option` fields, shown by ``dock reusers``). A reuser
    with ``needs_labels`` is fitted on labelled rows (``fit(X, y)``); the others on the
    user's rows alone (``fit(X)``).

    A complete minimal plugin (one member of the mixture predicts)::

        import attrs
        from learnware_dock import hookimpl
        from learnware_dock.interfaces import Reuser
        from learnware_dock.options import option

        @attrs.frozen
        class FirstOptions:
            member: int = option(0, help="Which learnware predicts (0: the first).",
                                 validator=attrs.validators.ge(0))

        class FirstReuser(Reuser):
            name = "first"
            options_class = FirstOptions

            def __init__(self, models, weights=None, member=0):
                super().__init__(models, weights)
                self.member = member

            @classmethod
            def from_search(cls, context, options):
                return cls(list(context.models), list(context.weights), options.member)

            def predict(self, X):
                return self.models[self.member].predict(X)

        @hookimpl
        def dock_register_reusers():
            return [FirstReuser]
    """

    name: ClassVar[str]
    #: an attrs class whose fields are the reuser's options (see ``learnware_dock.options``)
    options_class: ClassVar[type[Any]] = NoOptions
    #: whether ``fit`` needs the user's labels (``dock reuse`` then requires ``--labels``)
    needs_labels: ClassVar[bool] = False

    def __init__(self, models: Sequence[Any], weights: Sequence[float] | None = None) -> None:
        if not models:
            raise DockError(f"reuser {self.name!r} needs at least one learnware")
        self.models = list(models)
        self.weights = None if weights is None else list(weights)

    @classmethod
    def from_search(cls, context: ReuseContext, options: Any) -> Self:
        """Build the reuser for a search's mixture; ``options`` is an instance of
        ``options_class``. The default passes the models and the mixture weights."""
        return cls(list(context.models), list(context.weights))

    def fit(self, X: np.ndarray, y: np.ndarray | None = None) -> Self:
        """Data-free reusers ignore labelled data."""
        return self

    @abstractmethod
    def predict(self, X: np.ndarray) -> np.ndarray:
        """Predictions for ``X``."""

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        return {"models": self.models, "weights": self.weights}

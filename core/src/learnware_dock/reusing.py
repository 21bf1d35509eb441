"""Reusing a search result: the one sequence from a mixture to a built reuser.

:func:`open_reuser` picks a mixture of the result, finds the reuser class in the
registry, builds its declared options (:mod:`learnware_dock.options`), starts every
learnware of the mixture in a container, builds the reuser with
:meth:`~learnware_dock.interfaces.Reuser.from_search` and closes the models when the
``with`` block ends (or when any step fails). ``Market.reuser`` and ``dock reuse`` use it.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import ExitStack, contextmanager
from typing import TYPE_CHECKING, Any

from learnware_dock.domain import MixtureMatch, SearchResult, UserInfo
from learnware_dock.errors import DockError
from learnware_dock.interfaces.reuser import ReuseContext, Reuser, ReuseTask
from learnware_dock.options import build_options

if TYPE_CHECKING:
    from learnware_dock.market import Market


def chosen_mixture(result: SearchResult, mixture: int = 0) -> MixtureMatch:
    """``result.mixtures[mixture]``; a :class:`DockError` when there is none to reuse."""
    found = result.mixtures
    if not found or not any(m.learnwares for m in found):
        raise DockError(
            "the search found no learnwares to reuse (its result holds no mixture; search "
            "with a statistical specification)"
        )
    if not 0 <= mixture < len(found):
        raise DockError(f"the search found {len(found)} mixture(s); there is no mixture {mixture}")
    if not found[mixture].learnwares:
        raise DockError(f"mixture {mixture} of the search holds no learnwares")
    return found[mixture]


def reuse_options(cls: type[Reuser], options: Mapping[str, Any] | object | None) -> Any:
    """An instance of ``cls.options_class``: ``options`` as it is when it already is one,
    else built from a mapping (strings are parsed; every problem in one DockError)."""
    if isinstance(options, cls.options_class):
        return options
    if options is not None and not isinstance(options, Mapping):
        raise DockError(
            f"options of reuser {cls.name!r} are a mapping or a "
            f"{cls.options_class.__name__}, not {type(options).__name__}"
        )
    return build_options(cls.options_class, options or {}, what=f"reuser {cls.name!r}")


def task_of(mixture: MixtureMatch) -> tuple[ReuseTask, int | None]:
    """The task and (for classification) the class count, from the first learnware's
    semantic spec: Task ``Regression`` means regression, anything else classification."""
    semantic = mixture.learnwares[0].semantic_spec
    task: ReuseTask = (
        "regression" if (semantic.task or ("",))[0] == "Regression" else "classification"
    )
    classes = semantic.output.dimension if task == "classification" and semantic.output else None
    return task, classes


@contextmanager
def open_reuser(
    market: Market,
    result: SearchResult,
    method: str,
    options: Mapping[str, Any] | object | None = None,
    *,
    container: str | None = None,
    mixture: int = 0,
    user_info: UserInfo | None = None,
) -> Iterator[Reuser]:
    """Build the reuser named ``method`` for ``result.mixtures[mixture]``; its models are
    closed when the block ends. Also ``Market.reuser``::

        result = market.search(UserInfo(stat_specs={spec.name: spec}))
        with market.reuser(result, "averaging", {"weighted": False}) as reuser:
            predicted = reuser.fit(X).predict(X)

    ``options``: a mapping of the reuser's declared options (``NAME=VALUE`` strings are
    parsed), or an instance of its ``options_class``. ``container``: where the models run
    (see :meth:`Market.load`). ``user_info``: what the search was made with (its
    statistical spec type is the default of :meth:`ReuseContext.stat_specs`).
    """
    chosen = chosen_mixture(result, mixture)
    cls = market.components.reusers.get(method)
    built = reuse_options(cls, options)
    task, classes = task_of(chosen)
    with ExitStack() as stack:
        models = []
        for learnware in chosen.learnwares:
            model = market.load(learnware, container=container)
            stack.callback(model.close)
            models.append(model)
        context = ReuseContext(
            market=market,
            user_info=user_info if user_info is not None else UserInfo(),
            learnwares=tuple(chosen.learnwares),
            weights=tuple(float(w) for w in chosen.weights),
            models=tuple(models),
            task=task,
            classes=classes,
        )
        yield cls.from_search(context, built)

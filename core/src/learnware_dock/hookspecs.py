# mypy: disable-error-code="empty-body"
"""Every hook a learnware-dock plugin can implement, and nothing else.

Registration hooks return one class or a list of classes; each class has a unique
``name: ClassVar[str]``. The kernel collects them into name -> class registries
(see :mod:`learnware_dock.registry`). Hooks evolve only by adding arguments; a hook is
retired with ``warn_on_impl``.

The built-in defaults (:data:`learnware_dock.plugins.DEFAULT_PLUGINS`) are ``trylast``,
which only puts their classes last; it does not let a plugin override one: a second class
with a default's name is a :class:`PluginError`. To replace a default, disable it
(``DOCK_DISABLE_PLUGINS=defaults.semantic``, or ``pm.set_blocked("defaults.semantic")``)
and register a class with its name. Plugins read their settings from the environment
with :func:`learnware_dock.config.setting`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import pluggy

if TYPE_CHECKING:
    from typer import Typer

    from learnware_dock.config import DockConfig
    from learnware_dock.domain import Learnware
    from learnware_dock.interfaces import (
        Backend,
        Checker,
        Container,
        Organizer,
        Reuser,
        Searcher,
        StatSpecification,
        TextEncoder,
    )
    from learnware_dock.market import Market

PROJECT = "learnware_dock"

hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


@hookspec
def dock_register_specifications() -> type[StatSpecification] | Sequence[type[StatSpecification]]:
    """Register statistical specification types (for example ``RKMETableSpecification``).

    Called when a registry of specifications is first needed. The class ``name`` is the
    ``class_name`` that a package's ``learnware.yaml`` uses to select it.
    """


@hookspec
def dock_register_organizers() -> type[Organizer] | Sequence[type[Organizer]]:
    """Register organizers: the storage and index of a market (``sqlite`` by default).

    Called when a market is opened; the market picks one by name.
    """


@hookspec
def dock_register_searchers() -> type[Searcher] | Sequence[type[Searcher]]:
    """Register searchers (``semantic``, ``rkme``, ...). Called when a market searches."""


@hookspec
def dock_register_checkers() -> type[Checker] | Sequence[type[Checker]]:
    """Register checkers run on submission (``semantic``, ``package``, ``stat``, ...).

    Called by ``Market.add`` and ``Market.check``; every registered checker runs, in
    ascending ``order``.
    """


@hookspec
def dock_register_reusers() -> type[Reuser] | Sequence[type[Reuser]]:
    """Register reusers and aligners (``averaging``, ``job-selector``, ...)."""


@hookspec
def dock_register_containers() -> type[Container] | Sequence[type[Container]]:
    """Register containers: runtimes that execute a learnware's model (``inprocess``, ...)."""


@hookspec
def dock_register_backends() -> type[Backend] | Sequence[type[Backend]]:
    """Register compute backends for kernel math (``torch-cpu``, ``cuda``, ...)."""


@hookspec
def dock_register_encoders() -> type[TextEncoder] | Sequence[type[TextEncoder]]:
    """Register text encoders (``all-MiniLM-L6-v2``, ...) that text specifications embed
    documents with. Called when a text specification is generated or loaded; the class
    ``name`` is what a spec's JSON stores as its ``encoder``."""


@hookspec
def dock_register_vocabulary() -> Mapping[str, Sequence[str]]:
    """Add allowed values to semantic-specification keys (for example a new ``Scenario``).

    Returns a mapping key -> extra values; the key must be one of the vocabulary's
    Class or Tag keys. Called when a market builds its vocabulary.
    """


@hookspec(
    historic=True,
    warn_on_impl=DeprecationWarning(
        "dock_configure is retired and will be removed: read plugin settings from the "
        "environment with learnware_dock.config.setting()"
    ),
)
def dock_configure(config: DockConfig) -> None:
    """Retired, never called (nothing implemented it; implementing it warns): plugins read
    their settings with :func:`learnware_dock.config.setting`."""


@hookspec
def dock_learnware_added(market: Market, learnware: Learnware) -> None:
    """Called after a learnware was stored by ``Market.add`` or ``Market.update``.

    For index plugins (for example to precompute and cache derived arrays). The learnware
    is already committed: an exception here is logged, not raised.
    """


@hookspec
def dock_learnware_removed(market: Market, learnware_id: str) -> None:
    """Called after ``Market.delete`` removed a learnware (same error policy as above)."""


@hookspec
def dock_register_commands(app: Typer) -> None:
    """Add commands to the ``dock`` command line (a typer app); called once per run of
    ``dock`` before the arguments are parsed. Import heavy modules inside the commands."""

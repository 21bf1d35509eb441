"""Build plugin managers: hook specs, installed entry points, then the built-in defaults.

Switches (environment variables):

* ``DOCK_DISABLE_PLUGINS``: comma-separated plugin names not to load (built-ins included,
  e.g. ``defaults.inprocess``). This is how a default is replaced: disable it and install
  a plugin registering a class of the same name (``pm.set_blocked(name)`` does the same
  for one manager).
* ``DOCK_LOAD_PLUGINS``: comma-separated entry-point names; when set, only these
  installed plugins load (``""`` loads none). Built-ins are unaffected.
* ``DOCK_STRICT_PLUGINS=1``: a plugin that fails to import raises instead of being skipped.
* ``DOCK_TRACE_PLUGINS=1``: trace every hook call to stderr.
"""

from __future__ import annotations

import importlib
import logging
import os
import sys
from importlib.metadata import EntryPoint, entry_points

import attrs
import pluggy

from learnware_dock import hookspecs
from learnware_dock.errors import PluginError

log = logging.getLogger(__name__)

ENTRY_POINT_GROUP = "learnware_dock.plugins"

#: Built-in plugins, registered after installed ones. Their hooks are ``trylast``, which
#: only lists their classes last: a plugin registering a class with a default's name is a
#: duplicate (:class:`PluginError`) unless that default is disabled or blocked.
DEFAULT_PLUGINS: dict[str, str] = {
    "defaults.sqlite": "learnware_dock.defaults.sqlite.hooks",
    "defaults.semantic": "learnware_dock.defaults.semantic.hooks",
    "defaults.checkers": "learnware_dock.defaults.checkers.hooks",
    "defaults.inprocess": "learnware_dock.defaults.inprocess.hooks",
}


class PluginImportError(PluginError, ImportError):
    """An installed plugin failed to import and ``DOCK_STRICT_PLUGINS`` is set."""


@attrs.frozen
class PluginInfo:
    """What ``dock plugins`` shows for one plugin."""

    name: str
    source: str  # "builtin" or "entrypoint"
    status: str  # "loaded", "failed" or "disabled"
    distribution: str | None = None
    version: str | None = None
    hooks: tuple[str, ...] = ()
    error: str | None = None


class DockPluginManager(pluggy.PluginManager):
    """A pluggy manager that remembers where each plugin came from and which failed."""

    def __init__(self) -> None:
        super().__init__(hookspecs.PROJECT)
        self.add_hookspecs(hookspecs)
        self.infos: dict[str, PluginInfo] = {}


def _names(env: str) -> set[str] | None:
    value = os.environ.get(env)
    if value is None:
        return None
    return {part.strip() for part in value.split(",") if part.strip()}


def _flag(env: str) -> bool:
    return os.environ.get(env, "").strip().lower() in {"1", "true", "yes", "on"}


def _dist_of(ep: EntryPoint) -> tuple[str | None, str | None]:
    dist = ep.dist
    if dist is None:
        return None, None
    return dist.metadata["Name"], dist.version


def _register(pm: DockPluginManager, plugin: object, info: PluginInfo) -> None:
    where = f"{info.distribution} {info.version}" if info.distribution else info.source
    try:
        pm.register(plugin, name=info.name)
        pm.check_pending()
    except (pluggy.PluginValidationError, ValueError) as exc:
        if pm.get_plugin(info.name) is not None:
            pm.unregister(name=info.name)
        raise PluginError(
            f"plugin {info.name!r} ({where}) does not match the learnware-dock hook specs: "
            f"{exc}; upgrade or uninstall {info.distribution or info.name}"
        ) from exc
    hooks = tuple(sorted(h.name for h in pm.get_hookcallers(plugin) or ()))
    pm.infos[info.name] = attrs.evolve(info, hooks=hooks)


def _load_entry_point(pm: DockPluginManager, ep: EntryPoint, strict: bool) -> None:
    dist, version = _dist_of(ep)
    info = PluginInfo(ep.name, "entrypoint", "loaded", dist, version)
    try:
        plugin = ep.load()
    except Exception as exc:
        message = f"{type(exc).__name__}: {exc}"
        if strict:
            raise PluginImportError(
                f"plugin {ep.name!r} ({dist} {version}) failed to import: {message}"
            ) from exc
        log.warning("skipping plugin %r (%s %s): %s", ep.name, dist, version, message)
        pm.infos[ep.name] = attrs.evolve(info, status="failed", error=message)
        return
    _register(pm, plugin, info)


def get_plugin_manager(*, load_entrypoints: bool = True) -> DockPluginManager:
    """Return a fresh, fully loaded plugin manager.

    Installed plugins (entry-point group ``learnware_dock.plugins``) load first, then the
    built-ins of :data:`DEFAULT_PLUGINS`; both honour the ``DOCK_*`` switches.
    """
    pm = DockPluginManager()
    if _flag("DOCK_TRACE_PLUGINS"):
        pm.trace.root.setwriter(sys.stderr.write)
        pm.enable_tracing()
    disabled = _names("DOCK_DISABLE_PLUGINS") or set()
    only = _names("DOCK_LOAD_PLUGINS")
    strict = _flag("DOCK_STRICT_PLUGINS")
    if load_entrypoints:
        for ep in sorted(entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name):
            if ep.name in pm.infos:
                continue  # the same distribution seen twice on sys.path
            if ep.name in disabled or (only is not None and ep.name not in only):
                dist, version = _dist_of(ep)
                pm.infos[ep.name] = PluginInfo(ep.name, "entrypoint", "disabled", dist, version)
                continue
            _load_entry_point(pm, ep, strict)
    for name, module_name in DEFAULT_PLUGINS.items():
        if name in disabled:
            pm.infos[name] = PluginInfo(name, "builtin", "disabled")
            continue
        _register(pm, importlib.import_module(module_name), PluginInfo(name, "builtin", "loaded"))
    return pm


def list_plugins(pm: DockPluginManager | None = None) -> list[PluginInfo]:
    """Every plugin the manager knows of, loaded or not, installed ones first; a plugin
    blocked with ``pm.set_blocked`` after loading shows as disabled."""
    pm = pm or get_plugin_manager()
    infos = (
        attrs.evolve(i, status="disabled", hooks=()) if pm.is_blocked(i.name) else i
        for i in pm.infos.values()
    )
    return sorted(infos, key=lambda i: (i.source != "entrypoint", i.name))

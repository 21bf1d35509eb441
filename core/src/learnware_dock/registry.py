"""Name -> class registries built from the registration hooks.

A name that is not registered, or registered twice, is a :class:`PluginError` that says
which classes are involved, which installed plugins are not loaded (from their
entry-point metadata), and what to enable or block.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterator, Sequence
from typing import Any, Generic, TypeVar

import pluggy

from learnware_dock import interfaces as itf
from learnware_dock.errors import PluginError
from learnware_dock.plugins import DockPluginManager, PluginInfo, list_plugins

T = TypeVar("T")

#: kind -> (registration hook, interface every registered class must subclass)
KINDS: dict[str, tuple[str, type[Any]]] = {
    "specification": ("dock_register_specifications", itf.StatSpecification),
    "organizer": ("dock_register_organizers", itf.Organizer),
    "searcher": ("dock_register_searchers", itf.Searcher),
    "checker": ("dock_register_checkers", itf.Checker),
    "reuser": ("dock_register_reusers", itf.Reuser),
    "container": ("dock_register_containers", itf.Container),
    "backend": ("dock_register_backends", itf.Backend),
    "encoder": ("dock_register_encoders", itf.TextEncoder),
}


def _qualname(cls: type[Any]) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


def _describe(info: PluginInfo) -> str:
    where = f"{info.distribution} {info.version}" if info.distribution else "built-in"
    return f"{info.name} ({where}, {info.status})"


class Registry(Generic[T]):
    """An immutable name -> class mapping for one component kind.

    ``not_loaded`` describes the plugins that are installed but disabled or failed; a
    missing name's error lists them, since one of them may provide it.
    """

    def __init__(
        self, kind: str, classes: Sequence[type[T]], *, not_loaded: Sequence[str] = ()
    ) -> None:
        self.kind = kind
        self.not_loaded = tuple(not_loaded)
        self._classes: dict[str, type[T]] = {}
        interface = KINDS[kind][1] if kind in KINDS else object
        for cls in classes:
            name = getattr(cls, "name", None)
            if not isinstance(cls, type) or not issubclass(cls, interface):
                raise PluginError(
                    f"a plugin registered {cls!r} as a {kind}, but it is not a subclass of "
                    f"{_qualname(interface)}"
                )
            if not isinstance(name, str) or not name:
                raise PluginError(f"{kind} class {_qualname(cls)} has no string `name`")
            if name in self._classes and self._classes[name] is not cls:
                other = self._classes[name]
                raise PluginError(
                    f"two {kind}s are named {name!r}: {_qualname(other)} and {_qualname(cls)}; "
                    "uninstall one, or block its plugin with DOCK_DISABLE_PLUGINS"
                )
            self._classes[name] = cls

    @classmethod
    def collect(cls, pm: pluggy.PluginManager, kind: str) -> Registry[Any]:
        """Call the registration hook for ``kind`` and build its registry."""
        hook_name, _ = KINDS[kind]
        flat: list[type[Any]] = []
        for result in getattr(pm.hook, hook_name)():
            if result is None:
                continue
            flat.extend(result if isinstance(result, list | tuple) else [result])
        infos = list_plugins(pm) if isinstance(pm, DockPluginManager) else []
        return cls(kind, flat, not_loaded=[_describe(i) for i in infos if i.status != "loaded"])

    def get(self, name: str) -> type[T]:
        """Return the class registered as ``name``, or raise a :class:`PluginError` listing
        the installed names, a close match and the plugins that are not loaded."""
        try:
            return self._classes[name]
        except KeyError:
            pass
        message = f"no {self.kind} named {name!r}; installed: {', '.join(self.names()) or 'none'}"
        close = difflib.get_close_matches(name, self.names(), n=1)
        if close:
            message += f"; did you mean {close[0]!r}?"
        if self.not_loaded:
            message += (
                f"; not loaded: {', '.join(self.not_loaded)} (see DOCK_DISABLE_PLUGINS, "
                "DOCK_LOAD_PLUGINS and `dock plugins`)"
            )
        else:
            message += "; install the plugin that provides it (`dock plugins` lists them)"
        raise PluginError(message)

    __getitem__ = get

    def names(self) -> list[str]:
        return sorted(self._classes)

    def classes(self) -> list[type[T]]:
        return [self._classes[n] for n in self.names()]

    def __contains__(self, name: object) -> bool:
        return name in self._classes

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def __len__(self) -> int:
        return len(self._classes)


class Components:
    """The registries of one plugin manager, rebuilt on each access (a cheap hook call),
    so plugins registered later are always seen."""

    def __init__(self, pm: pluggy.PluginManager) -> None:
        self.pm = pm

    def registry(self, kind: str) -> Registry[Any]:
        """The registry of one kind (see :data:`KINDS`)."""
        return Registry.collect(self.pm, kind)

    @property
    def specifications(self) -> Registry[itf.StatSpecification]:
        return self.registry("specification")

    @property
    def organizers(self) -> Registry[itf.Organizer]:
        return self.registry("organizer")

    @property
    def searchers(self) -> Registry[itf.Searcher]:
        return self.registry("searcher")

    @property
    def checkers(self) -> Registry[itf.Checker]:
        return self.registry("checker")

    @property
    def reusers(self) -> Registry[itf.Reuser]:
        return self.registry("reuser")

    @property
    def containers(self) -> Registry[itf.Container]:
        return self.registry("container")

    @property
    def backends(self) -> Registry[itf.Backend]:
        return self.registry("backend")

    @property
    def encoders(self) -> Registry[itf.TextEncoder]:
        return self.registry("encoder")

    @property
    def vocabulary(self) -> Any:
        from learnware_dock.semantic import Vocabulary

        return Vocabulary.default().extended(self.pm.hook.dock_register_vocabulary())

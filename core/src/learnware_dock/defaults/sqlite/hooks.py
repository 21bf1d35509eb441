"""Hooks of the built-in plugin ``defaults.sqlite``: the SQLite organizer (imported when
registered, not when loaded)."""

from __future__ import annotations

from learnware_dock.hookspecs import hookimpl
from learnware_dock.interfaces import Organizer


@hookimpl(trylast=True)
def dock_register_organizers() -> list[type[Organizer]]:
    from learnware_dock.defaults.sqlite.store import SQLiteOrganizer

    return [SQLiteOrganizer]

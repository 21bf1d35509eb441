"""Built-in plugin: the SQLite organizer."""

from __future__ import annotations

from learnware_dock.defaults.sqlite_store import SQLiteOrganizer
from learnware_dock.hookspecs import hookimpl


@hookimpl(trylast=True)
def dock_register_organizers() -> list[type[SQLiteOrganizer]]:
    return [SQLiteOrganizer]

"""Hook implementations of the ``server`` plugin: the ``dock serve`` and ``dock token``
commands."""

from __future__ import annotations

from typing import TYPE_CHECKING

from learnware_dock import hookimpl

if TYPE_CHECKING:
    import typer


@hookimpl
def dock_register_commands(app: typer.Typer) -> None:
    from learnware_dock_server.cli import register

    register(app)

"""The ``dock`` command (typer + rich). Heavy modules are imported inside commands.

Commands live in sibling modules by topic (``store``: packages and the market; ``find``:
search, specs, demo; ``running``: running models; ``reuse``: reusing what a search
found, and the reusers); each registers on :data:`app`.
"""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from learnware_dock.cli import find, reuse, running, store
from learnware_dock.cli.common import app
from learnware_dock.cli.find import print_result
from learnware_dock.errors import DockError


@app.callback()
def _root(
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks on errors.")] = False,
) -> None:
    """learnware-dock: publish models with specifications; find and reuse them."""


__all__ = ["app", "find", "main", "print_result", "reuse", "running", "store"]


_plugin_commands_added = False


def add_plugin_commands() -> None:
    """Let installed plugins add their commands (``dock_register_commands``), once."""
    global _plugin_commands_added
    if not _plugin_commands_added:
        from learnware_dock.plugins import get_plugin_manager

        get_plugin_manager().hook.dock_register_commands(app=app)
        _plugin_commands_added = True


def main(argv: list[str] | None = None) -> int:
    """Entry point: one-line errors and exit code 1, tracebacks only with ``--debug``."""
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        add_plugin_commands()
        code = app(args=args, prog_name="dock", standalone_mode=False)
    except DockError as exc:
        if "--debug" in args:
            raise
        sys.stderr.write(f"error: {exc}\n")
        return 1
    except typer.Exit as exc:
        return int(exc.exit_code)
    except typer.Abort:
        sys.stderr.write("aborted\n")
        return 1
    except Exception as exc:
        # usage errors (typer may vendor click, so match the interface, not the class)
        show, exit_code = getattr(exc, "show", None), getattr(exc, "exit_code", None)
        if callable(show) and isinstance(exit_code, int):
            show()
            return exit_code
        raise
    return code if isinstance(code, int) else 0

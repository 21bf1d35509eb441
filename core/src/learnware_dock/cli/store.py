"""``dock`` commands on packages and the store: plugins, pack, check, add, list, show, rm."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from learnware_dock.cli.common import (
    JsonOpt,
    MarketOpt,
    SemanticFile,
    app,
    emit,
    make_console,
    open_market,
    semantic_flags,
    semantic_spec,
)
from learnware_dock.errors import DockError


@app.command()
def plugins(json_out: JsonOpt = False) -> None:
    """List installed plugins, their hooks, and plugins that failed to load."""
    from learnware_dock.plugins import get_plugin_manager, list_plugins
    from learnware_dock.registry import KINDS, Components

    pm = get_plugin_manager()
    infos = list_plugins(pm)
    components = Components(pm)
    registered = {f"{kind}s": components.registry(kind).names() for kind in KINDS}
    if json_out:
        emit({"plugins": [vars_of(i) for i in infos], "components": registered})
        return
    from rich.table import Table

    table = Table("plugin", "source", "version", "status", "hooks / error")
    for info in infos:
        detail = info.error or ", ".join(h.removeprefix("dock_") for h in info.hooks)
        style = {"failed": "red", "disabled": "dim"}.get(info.status, "")
        table.add_row(
            info.name,
            info.distribution or info.source,
            info.version or "",
            info.status,
            detail,
            style=style,
        )
    console = make_console()
    console.print(table)
    for kind, names in registered.items():
        console.print(f"[bold]{kind}[/]: {', '.join(names) or '-'}")


def vars_of(obj: Any) -> dict[str, Any]:
    import attrs

    return attrs.asdict(obj)


@app.command()
def pack(
    folder: Annotated[Path, typer.Argument(help="Learnware folder with learnware.yaml.")],
    output: Annotated[Path, typer.Option("--output", "-o", help="Zip file to write.")],
    semantic: SemanticFile = None,
    json_out: JsonOpt = False,
) -> None:
    """Zip a learnware folder and validate it (package checker; semantic too with -s)."""
    from learnware_dock.domain import converter
    from learnware_dock.packing import pack_folder

    spec = semantic_spec(semantic, {}) if semantic else None
    report = pack_folder(folder, output, spec)
    if json_out:
        emit({"output": str(output), **converter.unstructure(report)})
    else:
        _print_report(report)
        make_console().print(f"wrote [bold]{output}[/]")


def _print_report(report: Any) -> None:
    from rich.table import Table

    table = Table("checker", "verdict", "seconds", "message")
    for r in report.results:
        table.add_row(r.checker, r.status.name, f"{r.seconds:.3f}", r.message)
    console = make_console()
    console.print(table)
    console.print(f"status: [bold]{report.status.name}[/]")


@app.command()
@semantic_flags()
def check(
    package: Annotated[Path, typer.Argument(help="Learnware zip.")],
    semantic: SemanticFile = None,
    json_out: JsonOpt = False,
    fields: dict[str, Any] | None = None,
) -> None:
    """Run every checker on a package and show each verdict (no market is touched)."""
    from learnware_dock.checking import check_archive
    from learnware_dock.plugins import get_plugin_manager
    from learnware_dock.registry import Components

    spec = semantic_spec(semantic, fields or {})
    report = check_archive(package, spec, Components(get_plugin_manager()))
    if json_out:
        emit(report)
    else:
        _print_report(report)
    if report.status.name == "INVALID":
        raise typer.Exit(1)


@app.command()
@semantic_flags()
def add(
    package: Annotated[Path, typer.Argument(help="Learnware zip.")],
    semantic: SemanticFile = None,
    market: MarketOpt = None,
    json_out: JsonOpt = False,
    fields: dict[str, Any] | None = None,
) -> None:
    """Check a package and add it to the market."""
    spec = semantic_spec(semantic, fields or {})
    with open_market(market) as m:
        lw = m.add(package, spec)
    if json_out:
        emit(lw)
    else:
        make_console().print(f"added [bold]{lw.id}[/] ({lw.name}): {lw.status.name}")


@app.command("list")
def list_(
    status: Annotated[str | None, typer.Option(help="USABLE, NONUSABLE.")] = None,
    limit: Annotated[int | None, typer.Option(help="At most this many.")] = None,
    market: MarketOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """List the market's learnwares."""
    from learnware_dock.domain import Status

    wanted = None
    if status:
        try:
            wanted = Status[status.upper()]
        except KeyError:
            raise DockError(f"unknown status {status!r}; use USABLE or NONUSABLE") from None
    with open_market(market, create=False) as m:
        rows = m.list(wanted, limit=limit)
    if json_out:
        emit(rows)
        return
    from rich.table import Table

    table = Table("id", "name", "status", "data", "task", "specs", "version")
    for lw in rows:
        s = lw.semantic_spec
        table.add_row(
            lw.id,
            lw.name,
            lw.status.name,
            ",".join(s.data or ()),
            ",".join(s.task or ()),
            ",".join(r.type for r in lw.stat_specs),
            str(lw.version),
        )
    make_console().print(table)


@app.command()
def show(
    learnware_id: Annotated[str, typer.Argument(help="Learnware id.")],
    market: MarketOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Show one learnware: semantic spec, status, check report, files."""
    with open_market(market, create=False) as m:
        lw = m.get(learnware_id)
    if json_out:
        emit(lw)
        return
    from rich.pretty import Pretty

    from learnware_dock.domain import converter

    make_console().print(Pretty(converter.unstructure(lw)))


@app.command("rm")
def remove(
    learnware_id: Annotated[str, typer.Argument(help="Learnware id.")],
    market: MarketOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Delete a learnware."""
    with open_market(market, create=False) as m:
        m.delete(learnware_id)
    if json_out:
        emit({"deleted": learnware_id})
    else:
        make_console().print(f"deleted {learnware_id}")

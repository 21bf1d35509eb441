"""``dock`` commands that find learnwares: search, spec, demo."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from learnware_dock.cli.common import (
    JsonOpt,
    MarketOpt,
    SemanticFile,
    app,
    emit,
    load_stat_spec,
    make_console,
    open_market,
    semantic_flags,
    semantic_spec,
)
from learnware_dock.errors import DockError

if TYPE_CHECKING:
    from learnware_dock.domain import SearchResult


@app.command()
@semantic_flags(io=False)
def search(
    stat: Annotated[
        list[Path] | None,
        typer.Option(help="Statistical spec JSON of your data (e.g. from `dock spec table`)."),
    ] = None,
    mixture: Annotated[
        str | None,
        typer.Option(help="Mixture method of a statistical search: greedy, oneshot, none."),
    ] = None,
    learnware_id: Annotated[list[str] | None, typer.Option("--id", help="Only these ids.")] = None,
    searcher: Annotated[str | None, typer.Option(help="Searcher name (default: best).")] = None,
    limit: Annotated[int, typer.Option("--limit", "--top", help="Results to show.")] = 10,
    semantic: SemanticFile = None,
    market: MarketOpt = None,
    json_out: JsonOpt = False,
    fields: dict[str, Any] | None = None,
) -> None:
    """Search by tags (Data, Task, ...), free text (--name) and your data's spec (--stat);
    or with a semantic spec file (-s, e.g. with Input.Description for the hetero searcher)."""
    from learnware_dock.domain import UserInfo

    spec = semantic_spec(semantic, fields or {})
    options: dict[str, Any] = {"limit": limit}
    if mixture is not None:
        options["mixture"] = mixture
    with open_market(market, create=False) as m:
        stat_specs = {s.name: s for s in (load_stat_spec(m, path) for path in stat or [])}
        info = UserInfo(semantic_spec=spec, stat_specs=stat_specs, learnware_ids=learnware_id)
        result = m.search(info, searcher=searcher, **options)
    if json_out:
        emit(result)
        return
    print_result(result)


@app.command("spec")
def spec_(
    data_type: Annotated[str, typer.Argument(help="Type of your data, e.g. table.")],
    data: Annotated[
        Path,
        typer.Argument(help="Data file or folder (a table: .npy, .csv or .parquet)."),
    ],
    output: Annotated[Path, typer.Option("--output", "-o", help="JSON file to write.")],
    k: Annotated[int | None, typer.Option("--k", help="Number of reduced points.")] = None,
    gamma: Annotated[
        str | None, typer.Option(help="Kernel width, or 'median' for the median heuristic.")
    ] = None,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 0,
    json_out: JsonOpt = False,
) -> None:
    """Summarise your data as a statistical specification (to search or to publish)."""
    import inspect
    import warnings

    from rich.progress import Progress

    from learnware_dock.plugins import get_plugin_manager
    from learnware_dock.registry import Components

    registry = Components(get_plugin_manager()).specifications
    by_type = {c.data_type: c for c in registry.classes() if c.data_type}
    if data_type not in by_type:
        offered = ", ".join(sorted(by_type)) or "none (install learnware-dock-rkme)"
        raise DockError(
            f"no specification for data type {data_type!r}; installed data types: {offered}"
        )
    cls = by_type[data_type]
    options: dict[str, Any] = {"seed": seed}
    if k is not None:
        options["K"] = k
    if gamma is not None:
        try:
            options["gamma"] = gamma if gamma == "median" else float(gamma)
        except ValueError:
            raise DockError(f"--gamma must be a number or 'median', not {gamma!r}") from None
    accepted = inspect.signature(cls.generate).parameters
    unknown = [o for o in options if o not in accepted]
    if unknown:
        raise DockError(f"{cls.name} does not take option(s): {', '.join(unknown)}")
    loaded = cls.read_data(data)
    rows = len(loaded)
    shape = " x ".join(str(n) for n in getattr(loaded, "shape", (rows,)))
    console = make_console()
    with (
        warnings.catch_warnings(record=True) as caught,
        Progress(console=console, transient=True, disable=json_out) as progress,
    ):
        warnings.simplefilter("always")
        task = progress.add_task(f"{cls.name} of {shape}", total=None)
        if "progress" in accepted:
            options["progress"] = lambda done, total: progress.update(
                task, completed=done, total=total
            )
        generated = cls.generate(loaded, **options)
    generated.save(output)
    for warning in caught:
        sys.stderr.write(f"warning: {warning.message}\n")
    if json_out:
        emit({"output": str(output), "type": cls.name, "rows": rows})
    else:
        console.print(f"wrote {cls.name} of {rows} rows to [bold]{output}[/]")


def print_result(result: SearchResult, console: Any = None, title: str = "") -> None:
    """Singles (rank, id, name, score, distance) and each mixture with its weights."""
    from rich.table import Table

    heading = f"{title} ({result.total} compared)" if title else f"{result.total} match(es)"
    spaces = any(match.space for match in result.singles)
    columns = ("rank", "id", "name", "score", "distance") + (("space",) if spaces else ())
    table = Table(*columns, title=heading)
    for rank, match in enumerate(result.singles, 1):
        dist = "" if match.distance is None else f"{match.distance:.4g}"
        row = [str(rank), match.learnware.id, match.learnware.name, f"{match.score:.3f}", dist]
        table.add_row(*row, *((match.space,) if spaces else ()))
    console = console or make_console()
    for note in result.notes:
        console.print(f"note: {note}")
    console.print(table)
    for number, mix in enumerate(result.mixtures, 1):
        dist = "" if mix.distance is None else f", distance {mix.distance:.4g}"
        title = f"mixture {number}: score {mix.score:.3f}{dist}"
        rows = Table("weight", "id", "name", title=title)
        for lw, weight in zip(mix.learnwares, mix.weights, strict=True):
            rows.add_row(f"{weight:.3f}", lw.id, lw.name)
        console.print(rows)


@app.command()
def demo(
    market: Annotated[str, typer.Option("--market", "-m", help="Market to (re)build.")] = "demo",
    keep: Annotated[bool, typer.Option(help="Keep an existing demo market.")] = False,
    json_out: JsonOpt = False,
) -> None:
    """Build a demo market of digit classifiers from real data and search it."""
    import io

    from rich.console import Console

    from learnware_dock.demo import run_demo

    console = Console(file=io.StringIO()) if json_out else make_console()
    with run_demo(market, fresh=not keep, console=console) as built:
        if json_out:
            emit({"market": str(built.root), "learnwares": [lw.id for lw in built.list()]})

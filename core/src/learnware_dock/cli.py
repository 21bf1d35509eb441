"""The ``dock`` command (typer + rich). Heavy modules are imported inside commands."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from learnware_dock.errors import DockError

if TYPE_CHECKING:
    from learnware_dock.domain import Learnware, SearchResult
    from learnware_dock.market import Market
    from learnware_dock.semantic import SemanticSpec

app = typer.Typer(
    name="dock",
    help="learnware-dock: publish models with specifications; find and reuse them.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

MarketOpt = Annotated[
    str | None,
    typer.Option(
        "--market", "-m", help="Market name (under $DOCK_HOME) or path.", envvar="DOCK_MARKET"
    ),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON instead of tables.")]


def _console() -> Any:
    from rich.console import Console

    return Console()


def _emit(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, default=str) + "\n")


def _open(market: str | None, create: bool = True) -> Market:
    from learnware_dock.market import Market

    return Market.open(market, create=create)


def _semantic(semantic: Path | None, fields: dict[str, Any]) -> SemanticSpec:
    from learnware_dock.semantic import IOSpec, SemanticSpec

    if semantic is not None:
        try:
            data = json.loads(semantic.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise DockError(f"cannot read semantic spec {semantic}: {exc}") from exc
        return SemanticSpec.from_dict(data)
    kwargs: dict[str, Any] = {}
    for key in ("name", "description"):
        if fields.get(key) is not None:
            kwargs[key] = fields[key]
    for key in ("data", "task", "library", "license", "model"):
        if fields.get(key):
            kwargs[key] = (fields[key],)
    if fields.get("scenario"):
        kwargs["scenario"] = tuple(fields["scenario"])
    for key in ("input", "output"):
        if fields.get(f"{key}_dim"):
            kwargs[key] = IOSpec(fields[f"{key}_dim"])
    return SemanticSpec(**kwargs)


def _learnware_json(lw: Learnware) -> dict[str, Any]:
    from learnware_dock.domain import converter

    data: dict[str, Any] = converter.unstructure(lw)
    return data


def _result_json(result: SearchResult) -> dict[str, Any]:
    return {
        "searcher": result.searcher,
        "total": result.total,
        "singles": [
            {
                "id": m.learnware.id,
                "name": m.learnware.name,
                "score": m.score,
                "distance": m.distance,
            }
            for m in result.singles
        ],
        "mixtures": [
            {
                "ids": [lw.id for lw in m.learnwares],
                "weights": list(m.weights),
                "score": m.score,
                "distance": m.distance,
            }
            for m in result.mixtures
        ],
    }


Name = Annotated[str | None, typer.Option(help="Name (for search: free text).")]
Description = Annotated[str | None, typer.Option(help="Description.")]
Data = Annotated[str | None, typer.Option(help="Data type: Table, Image, Text.")]
Task = Annotated[str | None, typer.Option(help="Task, e.g. Classification.")]
Library = Annotated[str | None, typer.Option(help="Library, e.g. Scikit-learn.")]
Scenario = Annotated[list[str] | None, typer.Option(help="Scenario tag (repeatable).")]
License = Annotated[str | None, typer.Option(help="License, e.g. MIT.")]
InputDim = Annotated[int | None, typer.Option(help="Input dimension.")]
OutputDim = Annotated[int | None, typer.Option(help="Output dimension.")]
SemanticFile = Annotated[
    Path | None,
    typer.Option("--semantic", "-s", help="Semantic spec JSON (learnware dict format)."),
]


@app.callback()
def _root(
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks on errors.")] = False,
) -> None:
    """learnware-dock: publish models with specifications; find and reuse them."""


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
        _emit({"plugins": [vars_of(i) for i in infos], "components": registered})
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
    console = _console()
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
    from learnware_dock.packing import pack_folder

    spec = _semantic(semantic, {}) if semantic else None
    report = pack_folder(folder, output, spec)
    if json_out:
        _emit({"output": str(output), **_report_json(report)})
    else:
        _print_report(report)
        _console().print(f"wrote [bold]{output}[/]")


def _report_json(report: Any) -> dict[str, Any]:
    from learnware_dock.domain import converter

    data: dict[str, Any] = converter.unstructure(report)
    data["status_name"] = report.status.name
    return data


def _print_report(report: Any) -> None:
    from rich.table import Table

    table = Table("checker", "verdict", "seconds", "message")
    for r in report.results:
        table.add_row(r.checker, r.status.name, f"{r.seconds:.3f}", r.message)
    console = _console()
    console.print(table)
    console.print(f"status: [bold]{report.status.name}[/]")


@app.command()
def check(
    package: Annotated[Path, typer.Argument(help="Learnware zip.")],
    semantic: SemanticFile = None,
    name: Name = None,
    description: Description = None,
    data: Data = None,
    task: Task = None,
    library: Library = None,
    scenario: Scenario = None,
    license: License = None,
    input_dim: InputDim = None,
    output_dim: OutputDim = None,
    json_out: JsonOpt = False,
) -> None:
    """Run every checker on a package and show each verdict (no market is touched)."""
    from learnware_dock.checking import check_archive
    from learnware_dock.plugins import get_plugin_manager
    from learnware_dock.registry import Components

    spec = _semantic(semantic, locals())
    report = check_archive(package, spec, Components(get_plugin_manager()))
    if json_out:
        _emit(_report_json(report))
    else:
        _print_report(report)
    if report.status.name == "INVALID":
        raise typer.Exit(1)


@app.command()
def add(
    package: Annotated[Path, typer.Argument(help="Learnware zip.")],
    semantic: SemanticFile = None,
    name: Name = None,
    description: Description = None,
    data: Data = None,
    task: Task = None,
    library: Library = None,
    scenario: Scenario = None,
    license: License = None,
    input_dim: InputDim = None,
    output_dim: OutputDim = None,
    market: MarketOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Check a package and add it to the market."""
    spec = _semantic(semantic, locals())
    with _open(market) as m:
        lw = m.add(package, spec)
    if json_out:
        _emit(_learnware_json(lw))
    else:
        _console().print(f"added [bold]{lw.id}[/] ({lw.name}): {lw.status.name}")


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
    with _open(market, create=False) as m:
        rows = m.list(wanted, limit=limit)
    if json_out:
        _emit([_learnware_json(lw) for lw in rows])
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
    _console().print(table)


@app.command()
def show(
    learnware_id: Annotated[str, typer.Argument(help="Learnware id.")],
    market: MarketOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Show one learnware: semantic spec, status, check report, files."""
    with _open(market, create=False) as m:
        lw = m.get(learnware_id)
    data = _learnware_json(lw)
    if json_out:
        _emit(data)
        return
    from rich.pretty import Pretty

    _console().print(Pretty(data))


@app.command("rm")
def remove(
    learnware_id: Annotated[str, typer.Argument(help="Learnware id.")],
    market: MarketOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Delete a learnware."""
    with _open(market, create=False) as m:
        m.delete(learnware_id)
    if json_out:
        _emit({"deleted": learnware_id})
    else:
        _console().print(f"deleted {learnware_id}")


@app.command()
def search(
    name: Name = None,
    description: Description = None,
    data: Data = None,
    task: Task = None,
    library: Library = None,
    scenario: Scenario = None,
    license: License = None,
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
    market: MarketOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Search by tags (Data, Task, ...), free text (--name) and your data's spec (--stat)."""
    from learnware_dock.domain import UserInfo

    spec = _semantic(None, locals())
    options: dict[str, Any] = {"limit": limit}
    if mixture is not None:
        options["mixture"] = mixture
    with _open(market, create=False) as m:
        stat_specs = {s.name: s for s in (_load_stat_spec(m, path) for path in stat or [])}
        info = UserInfo(semantic_spec=spec, stat_specs=stat_specs, learnware_ids=learnware_id)
        result = m.search(info, searcher=searcher, **options)
    if json_out:
        _emit(_result_json(result))
        return
    print_result(result)


def _load_stat_spec(market: Market, path: Path) -> Any:
    try:
        type_name = json.loads(path.read_text(encoding="utf-8")).get("type")
    except (OSError, json.JSONDecodeError, AttributeError) as exc:
        raise DockError(f"cannot read statistical spec {path}: {exc}") from exc
    if not type_name:
        raise DockError(f"{path} has no 'type' key naming its specification type")
    return market.components.specifications.get(type_name).load(path)


@app.command("spec")
def spec_(
    kind: Annotated[str, typer.Argument(help="Specification kind, e.g. table.")],
    data: Annotated[Path, typer.Argument(help="Data file: .npy, .csv or .parquet.")],
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
    from learnware_dock.tabular import load_table

    registry = Components(get_plugin_manager()).specifications
    kinds = {c.kind: c for c in registry.classes() if c.kind}
    if kind not in kinds:
        offered = ", ".join(sorted(kinds)) or "none (install learnware-dock-rkme)"
        raise DockError(f"no specification kind {kind!r}; installed kinds: {offered}")
    cls = kinds[kind]
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
    table = load_table(data)
    console = _console()
    with (
        warnings.catch_warnings(record=True) as caught,
        Progress(console=console, transient=True, disable=json_out) as progress,
    ):
        warnings.simplefilter("always")
        task = progress.add_task(f"{cls.name} of {table.shape[0]} x {table.shape[1]}", total=None)
        if "progress" in accepted:
            options["progress"] = lambda done, total: progress.update(
                task, completed=done, total=total
            )
        generated = cls.generate(table, **options)
    generated.save(output)
    for warning in caught:
        sys.stderr.write(f"warning: {warning.message}\n")
    if json_out:
        _emit({"output": str(output), "type": cls.name, "rows": table.shape[0]})
    else:
        console.print(f"wrote {cls.name} of {table.shape[0]} rows to [bold]{output}[/]")


def print_result(result: SearchResult, console: Any = None, title: str = "") -> None:
    """Singles (rank, id, name, score, distance) and each mixture with its weights."""
    from rich.table import Table

    heading = f"{title} ({result.total} compared)" if title else f"{result.total} match(es)"
    table = Table("rank", "id", "name", "score", "distance", title=heading)
    for rank, match in enumerate(result.singles, 1):
        dist = "" if match.distance is None else f"{match.distance:.4g}"
        table.add_row(
            str(rank), match.learnware.id, match.learnware.name, f"{match.score:.3f}", dist
        )
    console = console or _console()
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

    console = Console(file=io.StringIO()) if json_out else _console()
    with run_demo(market, fresh=not keep, console=console) as built:
        if json_out:
            _emit({"market": str(built.root), "learnwares": [lw.id for lw in built.list()]})


def main(argv: list[str] | None = None) -> int:
    """Entry point: one-line errors and exit code 1, tracebacks only with ``--debug``."""
    args = list(sys.argv[1:] if argv is None else argv)
    try:
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

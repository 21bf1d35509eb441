"""``dock reuse``: search with your data's statistical spec, reuse the mixture it found on
your rows with any installed reuser; ``dock reusers``: the reusers and their options."""

from __future__ import annotations

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
)
from learnware_dock.errors import DockError

if TYPE_CHECKING:
    import numpy as np

    from learnware_dock.interfaces import Reuser
    from learnware_dock.registry import Registry

#: the reuser of ``dock reuse`` without ``--method`` (learnware-dock-reuse's, data-free)
DEFAULT_METHOD = "job-selector"


def default_method(registry: Registry[Reuser]) -> str:
    """:data:`DEFAULT_METHOD` when it is installed; else an error naming the installed."""
    if DEFAULT_METHOD in registry:
        return DEFAULT_METHOD
    installed = ", ".join(registry.names()) or "none (pip install learnware-dock-reuse)"
    raise DockError(
        f"pass --method: the default reuser {DEFAULT_METHOD!r} is not installed; "
        f"installed reusers: {installed}"
    )


def load_labels(path: Path, rows: int) -> np.ndarray:
    """One numeric label per row of the user's data, from .npy (a vector or one column)
    or a one-column .csv/.parquet table; whole numbers become integers."""
    import numpy as np

    from learnware_dock.tabular import load_table

    if path.suffix.lower() == ".npy":
        try:
            labels = np.asarray(np.load(path, allow_pickle=False))
        except (OSError, ValueError) as exc:
            raise DockError(f"cannot read labels from {path}: {exc}") from exc
    else:
        labels = load_table(path)
    if labels.ndim == 2 and labels.shape[1] == 1:
        labels = labels[:, 0]
    if labels.ndim != 1:
        raise DockError(f"{path.name}: labels are one column, not shape {labels.shape}")
    if labels.dtype.kind not in "biuf" or not np.isfinite(labels.astype(np.float64)).all():
        raise DockError(f"{path.name}: labels must be finite numbers")
    if len(labels) != rows:
        raise DockError(f"{path.name} holds {len(labels)} labels for {rows} rows of data")
    if labels.dtype.kind == "f" and np.array_equal(labels, np.round(labels)):
        labels = labels.astype(np.int64)
    return labels


@app.command("reuse")
def reuse(
    data: Annotated[Path, typer.Argument(help="Your rows: .npy, .csv or .parquet.")],
    stat: Annotated[Path, typer.Option(help="Statistical spec JSON of your data (dock spec).")],
    output: Annotated[Path, typer.Option("--output", "-o", help=".npy file to write.")],
    method: Annotated[
        str | None,
        typer.Option(help=f"Reuser name (`dock reusers` lists them; default {DEFAULT_METHOD})."),
    ] = None,
    option: Annotated[
        list[str] | None,
        typer.Option("--option", "-O", metavar="NAME=VALUE", help="A reuser option (repeatable)."),
    ] = None,
    labels: Annotated[
        Path | None,
        typer.Option(help="Labels of your rows (.npy or one column); for reusers that need them."),
    ] = None,
    top: Annotated[
        int | None,
        typer.Option(
            help="The most learnwares in the mixture (max_search_num; default: the searcher's)."
        ),
    ] = None,
    container: Annotated[
        str | None,
        typer.Option(help="Container (default: the highest-priority untrusted one installed)."),
    ] = None,
    semantic: SemanticFile = None,
    market: MarketOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Find a mixture of learnwares for your data and predict with a reuser of it
    (`dock reusers` lists the reusers and their -O options)."""
    import time

    import numpy as np

    from learnware_dock.domain import UserInfo
    from learnware_dock.options import options_dict, parse_pairs
    from learnware_dock.reusing import chosen_mixture, open_reuser, reuse_options
    from learnware_dock.semantic import SemanticSpec
    from learnware_dock.tabular import load_table

    if output.suffix.lower() != ".npy":
        raise DockError(f"--output must be a .npy file, not {output.name}")
    values = parse_pairs(option or [])
    rows = load_table(data)
    start = time.perf_counter()
    with open_market(market, create=False) as m:
        registry = m.components.reusers
        name = method if method is not None else default_method(registry)
        cls = registry.get(name)
        options = reuse_options(cls, values)
        if cls.needs_labels and labels is None:
            raise DockError(f"reuser {name!r} needs labels: pass --labels y.npy")
        y = None if labels is None else load_labels(labels, len(rows))
        spec = load_stat_spec(m, stat)
        wanted = SemanticSpec() if semantic is None else SemanticSpec.read_json(semantic)
        info = UserInfo(semantic_spec=wanted, stat_specs={spec.name: spec})
        search_options: dict[str, Any] = {} if top is None else {"max_search_num": top}
        result = m.search(info, **search_options)
        mixture = chosen_mixture(result)
        with open_reuser(m, result, name, options, container=container, user_info=info) as r:
            fitted = r.fit(rows) if y is None else r.fit(rows, y)
            predicted = np.asarray(fitted.predict(rows))
    seconds = time.perf_counter() - start
    try:
        np.save(output, predicted, allow_pickle=False)
    except ValueError as exc:
        raise DockError(f"the reuser's output cannot be saved as .npy: {exc}") from exc
    members = [
        {"id": lw.id, "name": lw.name, "weight": w}
        for lw, w in zip(mixture.learnwares, mixture.weights, strict=True)
    ]
    chosen = options_dict(options)
    if json_out:
        emit(
            {
                "output": str(output),
                "method": name,
                "options": chosen,
                "mixture": members,
                "seconds": seconds,
            }
        )
        return
    console = make_console()
    for member in members:
        console.print(f"  {member['weight']:.3f}  {member['id']}  {member['name']}")
    settings = ", ".join(f"{k}={v}" for k, v in chosen.items())
    how = f"{name} ({settings})" if settings else name
    console.print(f"{how}: wrote {predicted.shape} to [bold]{output}[/] ({seconds:.2f} s)")


def describe_reusers(registry: Registry[Reuser]) -> list[dict[str, Any]]:
    """Each installed reuser: its name, whether it needs labels, and its options."""
    from learnware_dock.options import describe_options

    return [
        {
            "name": cls.name,
            "needs_labels": cls.needs_labels,
            "options": [
                {"name": o.name, "type": o.type, "default": o.default, "help": o.help}
                for o in describe_options(cls.options_class)
            ],
        }
        for cls in registry.classes()
    ]


@app.command("reusers")
def reusers(json_out: JsonOpt = False) -> None:
    """List the installed reusers, whether they need --labels, and their -O options."""
    from rich.table import Table

    from learnware_dock.plugins import get_plugin_manager
    from learnware_dock.registry import Components

    described = describe_reusers(Components(get_plugin_manager()).reusers)
    if json_out:
        emit(described)
        return
    table = Table("reuser", "labels", "option", "type", "default", "help")
    for reuser in described:
        needs = "needed" if reuser["needs_labels"] else "-"
        rows = reuser["options"] or [{"name": "-", "type": "", "default": "", "help": ""}]
        for index, o in enumerate(rows):
            first = index == 0
            table.add_row(
                reuser["name"] if first else "",
                needs if first else "",
                o["name"],
                o["type"],
                "" if o["name"] == "-" else repr(o["default"]),
                o["help"],
            )
    console = make_console()
    console.print(table if described else "no reusers installed (pip install learnware-dock-reuse)")

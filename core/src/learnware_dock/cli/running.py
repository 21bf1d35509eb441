"""``dock run``: predict with a stored learnware's model, isolated in a container."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from learnware_dock.cli.common import JsonOpt, MarketOpt, app, emit, make_console, open_market
from learnware_dock.errors import DockError


@app.command()
def run(
    learnware_id: Annotated[str, typer.Argument(help="Learnware id.")],
    data: Annotated[Path, typer.Argument(help="Input rows: .npy, .csv or .parquet.")],
    output: Annotated[Path, typer.Option("--output", "-o", help=".npy file to write.")],
    container: Annotated[
        str | None,
        typer.Option(help="Container (default: the highest-priority isolating one, e.g. venv)."),
    ] = None,
    proba: Annotated[bool, typer.Option(help="predict_proba instead of predict.")] = False,
    timeout: Annotated[
        float | None, typer.Option(help="Seconds allowed per call (container option).")
    ] = None,
    option: Annotated[
        list[str] | None,
        typer.Option(
            "--option",
            "-O",
            help="A container option as NAME=VALUE (repeatable), e.g. -O memory_limit=none.",
        ),
    ] = None,
    market: MarketOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Run a learnware's model on DATA and save its output as .npy."""
    import time

    import numpy as np

    from learnware_dock.options import parse_pairs
    from learnware_dock.tabular import load_table

    if output.suffix.lower() != ".npy":
        raise DockError(f"--output must be a .npy file, not {output.name}")
    rows = load_table(data)
    options: dict[str, object] = dict(parse_pairs(option or []))
    if timeout is not None:
        options["timeout"] = timeout
    start = time.perf_counter()
    with (
        open_market(market, create=False) as m,
        m.load(learnware_id, container=container, **options) as model,
    ):
        result = model.predict_proba(rows) if proba else model.predict(rows)
    seconds = time.perf_counter() - start
    try:
        np.save(output, np.asarray(result), allow_pickle=False)
    except ValueError as exc:
        raise DockError(f"the model's output cannot be saved as .npy: {exc}") from exc
    if json_out:
        emit({"output": str(output), "shape": list(np.shape(result)), "seconds": seconds})
    else:
        make_console().print(
            f"wrote {np.shape(result)} to [bold]{output}[/] ({seconds:.2f} s, {len(rows)} rows)"
        )

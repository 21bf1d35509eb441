"""``dock reuse``: search with your data's RKME, then reuse what was found on your data."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from learnware_dock.cli.common import (
    JsonOpt,
    MarketOpt,
    emit,
    load_stat_spec,
    make_console,
    open_market,
)
from learnware_dock.errors import DockError

if TYPE_CHECKING:
    from learnware_dock_reuse.outputs import Task

METHODS = ("job-selector", "averaging")


def reuse(
    data: Annotated[Path, typer.Argument(help="Your rows: .npy, .csv or .parquet.")],
    stat: Annotated[Path, typer.Option(help="RKME JSON of your data (dock spec table).")],
    output: Annotated[Path, typer.Option("--output", "-o", help=".npy file to write.")],
    method: Annotated[str, typer.Option(help="job-selector or averaging.")] = "job-selector",
    weighted: Annotated[
        bool, typer.Option(help="Averaging weighted by the mixture weights.")
    ] = True,
    top: Annotated[int, typer.Option(help="The most learnwares in the mixture.")] = 5,
    container: Annotated[
        str | None, typer.Option(help="Container (default: the most isolating installed).")
    ] = None,
    seed: Annotated[int, typer.Option(help="Random seed (job selector).")] = 0,
    market: MarketOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Find a mixture of learnwares for your data and predict with it (no labels needed)."""
    import time

    import numpy as np

    from learnware_dock.domain import UserInfo
    from learnware_dock.tabular import load_table

    if method not in METHODS:
        raise DockError(f"--method must be one of {', '.join(METHODS)}, not {method!r}")
    if output.suffix.lower() != ".npy":
        raise DockError(f"--output must be a .npy file, not {output.name}")
    rows = load_table(data)
    start = time.perf_counter()
    with open_market(market, create=False) as m:
        spec = load_stat_spec(m, stat)
        result = m.search(UserInfo(stat_specs={spec.name: spec}), max_search_num=top)
        if not result.mixtures or not result.mixtures[0].learnwares:
            raise DockError("the search found no learnwares for this specification")
        mixture = result.mixtures[0]
        semantic = mixture.learnwares[0].semantic_spec
        task: Task = (
            "regression" if (semantic.task or ("",))[0] == "Regression" else "classification"
        )
        classes = (
            semantic.output.dimension if task == "classification" and semantic.output else None
        )
        models = [m.load(lw, container=container) for lw in mixture.learnwares]
        try:
            reuser: Any
            if method == "averaging":
                from learnware_dock_reuse.averaging import AveragingReuser

                weights = mixture.weights if weighted else None
                reuser = AveragingReuser(models, weights, task=task, classes=classes)
            else:
                from learnware_dock_reuse.job_selector import JobSelectorReuser

                specs: list[Any] = [m.stat_spec(lw, spec.name) for lw in mixture.learnwares]
                reuser = JobSelectorReuser(
                    models, mixture.weights, specs=specs, task=task, classes=classes, seed=seed
                ).fit(rows)
            predicted = reuser.predict(rows)
        finally:
            for model in models:
                model.close()
    seconds = time.perf_counter() - start
    np.save(output, np.asarray(predicted), allow_pickle=False)
    members = [
        {"id": lw.id, "name": lw.name, "weight": w}
        for lw, w in zip(mixture.learnwares, mixture.weights, strict=True)
    ]
    if json_out:
        emit({"output": str(output), "method": method, "mixture": members, "seconds": seconds})
        return
    console = make_console()
    for member in members:
        console.print(f"  {member['weight']:.3f}  {member['id']}  {member['name']}")
    console.print(f"{method}: wrote {np.shape(predicted)} to [bold]{output}[/] ({seconds:.2f} s)")


def register(app: typer.Typer) -> None:
    app.command("reuse")(reuse)

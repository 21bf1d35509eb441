"""``dock hetero train`` (train the market mapping, a market job) and ``dock hetero status``."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from learnware_dock.cli.common import JsonOpt, MarketOpt, emit, make_console, open_market

hetero_app = typer.Typer(
    help="Heterogeneous markets: the market mapping that lets users with other columns "
    "find and reuse learnwares.",
    no_args_is_help=True,
)


@hetero_app.command("train")
def train(
    epochs: Annotated[int, typer.Option(min=1, help="Passes over the training tables.")] = 20,
    batch_size: Annotated[int, typer.Option(min=2, help="Rows per contrastive batch.")] = 64,
    seed: Annotated[int, typer.Option(min=0, help="Random seed.")] = 0,
    threads: Annotated[int, typer.Option(min=0, help="Torch threads (0: torch's default).")] = 1,
    market: MarketOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Train (or retrain) the market mapping on every USABLE learnware that describes its
    input columns, then regenerate their hetero specs; searches switch when it is done."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

    from learnware_dock_hetero.train import train_market_mapping
    from learnware_dock_hetero.training import TrainingOptions

    options = TrainingOptions(epochs=epochs, batch_size=batch_size, seed=seed)
    console = make_console()
    columns = (*Progress.get_default_columns()[:1], BarColumn(), MofNCompleteColumn())
    with (
        open_market(market, create=False) as opened,
        Progress(*columns, TimeRemainingColumn(), console=console, disable=json_out) as bar,
    ):
        tasks: dict[str, Any] = {}

        def progress(stage: str, done: int, total: int) -> None:
            if stage not in tasks:
                label = "training the mapping" if stage == "training" else "hetero specs"
                tasks[stage] = bar.add_task(label, total=total)
            bar.update(tasks[stage], completed=done, total=total)

        report = train_market_mapping(
            opened, options=options, progress=progress, threads=threads or None
        )
    if json_out:
        emit(report)
        return
    console.print(
        f"mapping v{report.version}: trained on {report.trained_on} learnwares in "
        f"{report.tables} feature spaces, {report.specs} hetero specs, gamma "
        f"{report.gamma:.4g}, final loss {report.losses[-1]:.4f}, {report.seconds:.1f} s"
    )
    if report.skipped:
        console.print(f"{len(report.skipped)} learnwares left out (see --json for why)")


@hetero_app.command("status")
def status(market: MarketOpt = None, json_out: JsonOpt = False) -> None:
    """The current mapping version and how many learnwares have hetero specs."""
    from learnware_dock_hetero.store import HeteroStore

    with open_market(market, create=False) as opened:
        store = HeteroStore(opened.root)
        try:
            current = store.current()
            count = len(store.ids(current.version)) if current else 0
        finally:
            store.close()
    data = {"version": None if current is None else current, "specs": count}
    if json_out:
        emit(data)
    elif current is None:
        make_console().print("no market mapping yet: run `dock hetero train`")
    else:
        make_console().print(
            f"mapping v{current.version} (trained {current.created} on {current.trained_on} "
            f"learnwares, gamma {current.gamma:.4g}); {count} learnwares have hetero specs"
        )


def register(app: typer.Typer) -> None:
    app.add_typer(hetero_app, name="hetero")

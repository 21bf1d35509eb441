"""RKME search engine benchmark: our batched scan vs the `learnware` package's per-pair loop.

Run ``python benchmarks/bench_search.py`` (``--quick`` for a CI smoke run). For each market
kind and size N (K = 100 points, d = 64 features, gamma = 0.1) it prints, in one table:

* ours: the `rkme` searcher's engine on the stacked index (float32 batched scan through
  the torch-cpu backend + float64 re-rank of the shortlist), median of repeats;
* anchor: a faithful re-implementation of the `learnware` package's search loop: for every
  learnware, the three kernel blocks of the squared MMD recomputed in float64, nothing
  cached. Timed on a sample of learnwares and scaled to N (the loop is linear in N);
* floor: this machine's time for the unavoidable work of an exact scan, measured in the
  same run: the same GEMMs (K x d times d x N*K) plus N*K*K exponentials, in float32;
* top-10 agreement with an exact float64 reference of the whole market.

Markets: "synthetic" (random RKMEs on [0, 1]^64) and "realistic" (RKMEs of biased class
subsets of scikit-learn's digits, ``--bases`` distinct ones (default 30), replicated with
small perturbations up to N; the query is the RKME of held-out digits of two classes; it
is labelled "real-<bases>" in the table).

"pruned" is the same search with pivot bounds (triangle inequality on sqrt(MMD^2)) and the
pivots the submission policy of ``learnware_dock_rkme.pivots`` would hold for a market of N
learnwares submitted in this order (chosen farthest-first among a sample of the first
64 / 512 / 4,096). It reports its time and the fraction of learnwares it evaluated; the
cost of that pivot choice (paid once, by the submission that triggers it) and of one
submission's own pivot distances are printed below the table.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch

from learnware_dock_rkme import RKMETableSpecification, pivots
from learnware_dock_rkme.backend import TorchCPUBackend
from learnware_dock_rkme.index import Group
from learnware_dock_rkme.ranking import pruned_scan, rerank
from learnware_dock_rkme.vectors import Vector

K, D, GAMMA, TOP = 100, 64, 0.1, 10
RESULTS = Path(__file__).resolve().parent / "results" / "bench_search.json"


def timed(fn: Callable[[], Any], repeats: int) -> tuple[float, Any]:
    """Median seconds over ``repeats`` runs (after one warm-up), and the last result."""
    fn()
    times, out = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), out


def self_terms(z: torch.Tensor, beta: torch.Tensor) -> np.ndarray:
    """<Phi_i, Phi_i> in float64 (what the index stores at submission)."""
    out = np.empty(z.shape[0])
    for s in range(0, z.shape[0], 2000):
        zc = z[s : s + 2000].double()
        bc = beta[s : s + 2000].double()
        sq = (zc * zc).sum(-1)
        d2 = (sq[:, :, None] + sq[:, None, :] - 2 * zc @ zc.transpose(1, 2)).clamp_(min=0)
        out[s : s + 2000] = torch.einsum("nj,njk,nk->n", bc, torch.exp(-GAMMA * d2), bc).numpy()
    return out


def synthetic(n: int, rng: np.random.Generator) -> tuple[torch.Tensor, torch.Tensor, Vector]:
    z = torch.from_numpy(rng.random((n, K, D), dtype=np.float32))
    beta = torch.from_numpy(rng.dirichlet(np.ones(K), size=n).astype(np.float32))
    query = RKMETableSpecification(rng.random((K, D)), rng.dirichlet(np.ones(K)), GAMMA, K)
    return z, beta, Vector.of(query)


def realistic(
    n: int, rng: np.random.Generator, bases_count: int = 30
) -> tuple[torch.Tensor, torch.Tensor, Vector]:
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    X = X / 16.0
    held_out = rng.random(len(y)) < 0.2
    bases = []
    for _ in range(bases_count):  # biased class subsets: 2-4 classes in uneven proportions
        classes = rng.choice(10, size=rng.integers(2, 5), replace=False)
        share = rng.dirichlet(np.ones(len(classes)) * 2)
        rows = np.concatenate(
            [
                rng.choice(np.flatnonzero((y == c) & ~held_out), int(400 * p) + 5)
                for c, p in zip(classes, share, strict=True)
            ]
        )
        bases.append(RKMETableSpecification.generate(X[rows], K=K, seed=int(rng.integers(1 << 30))))
    pick = rng.integers(len(bases), size=n)
    base_z = np.stack([b.z for b in bases]).astype(np.float32)
    base_beta = np.stack([b.beta for b in bases])
    z = np.empty((n, K, D), dtype=np.float32)
    beta = np.empty((n, K), dtype=np.float32)
    for s in range(0, n, 5000):  # in chunks: no float64 copy of the whole market
        part = pick[s : s + 5000]
        noise = rng.normal(0.0, 0.02, size=(len(part), K, D)).astype(np.float32)
        z[s : s + 5000] = base_z[part] + noise  # small perturbations
        b = base_beta[part] * rng.uniform(0.9, 1.1, size=(len(part), K))
        beta[s : s + 5000] = b / b.sum(1, keepdims=True)
    user_rows = np.flatnonzero(np.isin(y, (2, 7)) & held_out)
    query = RKMETableSpecification.generate(X[user_rows], K=K, seed=1)
    return torch.from_numpy(z), torch.from_numpy(beta), Vector.of(query)


def make_group(z: torch.Tensor, beta: torch.Tensor, selfs: np.ndarray | None = None) -> Group:
    group = Group(D, GAMMA)
    group.z, group.beta = z, beta
    group.self_terms = self_terms(z, beta) if selfs is None else selfs
    group.ids = [f"{i:08d}" for i in range(z.shape[0])]
    return group


def ours(group: Group, user: Vector) -> list[int]:
    """The rkme searcher's engine: batched float32 scan, then float64 re-rank."""
    cross = TorchCPUBackend().cross_terms(user.z, user.beta, group.z, group.beta, GAMMA)
    approx = user.self_term - 2.0 * cross + group.self_terms
    everyone = np.arange(len(group.ids))
    return [row for row, _ in rerank(user, group, everyone, approx, TOP)]


def ours_pruned(group: Group, user: Vector) -> tuple[list[int], float]:
    """The same with pivot pruning; also the fraction of learnwares evaluated."""
    everyone = np.arange(len(group.ids))
    rows, approx = pruned_scan(group, user, everyone, TOP)
    exact = rerank(user, group, rows, approx, TOP)
    return [row for row, _ in exact], len(rows) / len(everyone)


def anchor_loop(group: Group, user: Vector, rows: np.ndarray) -> np.ndarray:
    """The `learnware` package's way: per learnware, three float64 kernel blocks."""

    def inner(z1: torch.Tensor, b1: torch.Tensor, z2: torch.Tensor, b2: torch.Tensor) -> float:
        d2 = (z1 * z1).sum(1)[:, None] + (z2 * z2).sum(1)[None, :] - 2 * z1 @ z2.T
        return float(b1 @ torch.exp(-GAMMA * d2) @ b2)

    uz, ub = torch.from_numpy(user.z).double(), torch.from_numpy(user.beta).double()
    out = np.empty(len(rows))
    for n, row in enumerate(rows):
        z, b = group.z[row].double(), group.beta[row].double()
        out[n] = inner(uz, ub, uz, ub) - 2 * inner(uz, ub, z, b) + inner(z, b, z, b)
    return out


def reference(group: Group, user: Vector) -> list[int]:
    """Exact float64 squared MMD of every learnware; the top-10 rows."""
    uz, ub = torch.from_numpy(user.z).double(), torch.from_numpy(user.beta).double()
    cross = np.empty(len(group.ids))
    for s in range(0, len(cross), 1000):
        z, b = group.z[s : s + 1000].double(), group.beta[s : s + 1000].double()
        d2 = (
            (uz * uz).sum(1)[None, :, None]
            + (z * z).sum(-1)[:, None, :]
            - 2 * uz @ z.transpose(1, 2)
        )
        cross[s : s + 1000] = torch.einsum("j,njk,nk->n", ub, torch.exp(-GAMMA * d2), b).numpy()
    mmd = user.self_term - 2 * cross + group.self_terms
    return [int(i) for i in np.argsort(mmd, kind="stable")[:TOP]]


def floor(group: Group, user: Vector) -> float:
    """Seconds for the same GEMMs and exponentials alone (float32, one reused buffer)."""
    q = torch.from_numpy(user.z)
    step = max(1, TorchCPUBackend.chunk_elements // (K * K))
    blocks = [group.z[s : s + step].reshape(-1, D) for s in range(0, len(group.ids), step)]
    buffer = torch.empty(q.shape[0], step * K)

    def essential() -> None:
        for block in blocks:
            out = buffer[:, : block.shape[0]]
            torch.mm(q, block.T, out=out)
            out.exp_()

    with torch.inference_mode():
        seconds, _ = timed(essential, 3)
    return seconds


def submission_pivots(group: Group) -> tuple[float, float]:
    """Give ``group`` the pivots the submission policy would hold at its size, and every
    row's distances to them. Returns the seconds of that one-time choice (at the group
    size it happens) and the median seconds of one submission's own distances."""
    at = pivots.chosen_at(len(group.ids))
    first = make_group(group.z[:at], group.beta[:at], group.self_terms[:at])
    start = time.perf_counter()
    pivots.pick(first)
    choose_s = time.perf_counter() - start
    group.set_pivots(1, first.pivots)
    group.fill_pivot_dist({})  # what the submissions stored, all at once

    def one_submission() -> None:
        single = make_group(group.z[-1:], group.beta[-1:], group.self_terms[-1:])
        single.set_pivots(1, first.pivots)
        single.fill_pivot_dist({})

    submit_s, _ = timed(one_submission, 20)
    return choose_s, submit_s


def run(kind: str, n: int, sample: int, rng: np.random.Generator, bases: int) -> dict[str, Any]:
    if kind == "synthetic":
        z, beta, user = synthetic(n, rng)
    else:
        z, beta, user = realistic(n, rng, bases)
        kind = f"real-{bases}"
    group = make_group(z, beta)
    repeats = 5 if n <= 10_000 else 3
    ours_s, top = timed(lambda: ours(group, user), repeats)

    pivots_s, submit_s = submission_pivots(group)
    pruned_s, (pruned_top, fraction) = timed(lambda: ours_pruned(group, user), repeats)
    rows = rng.choice(n, size=min(n, sample), replace=False)
    loop_s, _ = timed(lambda: anchor_loop(group, user, rows), 1)
    anchor_s = loop_s * n / len(rows)
    floor_s = floor(group, user)
    exact = reference(group, user)
    return {
        "kind": kind,
        "n": n,
        "ours_s": ours_s,
        "anchor_s": anchor_s,
        "anchor_sampled": len(rows),
        "floor_s": floor_s,
        "top10_identical": top == exact,
        "top10_overlap": len(set(top) & set(exact)),
        "pruned_s": pruned_s,
        "pruned_top10_identical": pruned_top == exact,
        "pruned_fraction": fraction,
        "pivots_s": pivots_s,
        "pivots_chosen_at": pivots.chosen_at(n),
        "submit_pivot_dist_s": submit_s,
        "bytes_per_learnware": (z.element_size() * z[0].nelement() + 4 * K + 8),
    }


def machine() -> str:
    cpu = platform.processor() or "?"
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            cpu = next(line.split(":", 1)[1].strip() for line in fh if "model name" in line)
    except (OSError, StopIteration):
        pass
    return (
        f"{platform.platform()} | {cpu} | {os.cpu_count()} CPUs | torch {torch.__version__} "
        f"({torch.get_num_threads()} threads) | Python {platform.python_version()}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--kinds", default="synthetic,realistic")
    parser.add_argument(
        "--bases", type=int, default=30, help="distinct learnwares of the realistic market"
    )
    parser.add_argument("--pair-sample", type=int, default=2000, help="anchor loop sample")
    parser.add_argument("--quick", action="store_true", help="N=1000 and a small sample")
    parser.add_argument("--output", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    sizes = [1000] if args.quick else [int(s) for s in args.sizes.split(",")]
    sample = 200 if args.quick else args.pair_sample
    rng = np.random.default_rng(0)
    results = [
        run(kind, n, sample, rng, args.bases) for kind in args.kinds.split(",") for n in sizes
    ]
    print(f"machine: {machine()}")
    print(f"RKME search, K={K}, d={D}, gamma={GAMMA}: ours vs the anchor's per-pair loop")
    header = (
        f"{'market':<10} {'N':>8} {'ours':>10} {'anchor':>10} {'speed-up':>9} "
        f"{'floor':>10} {'ours/floor':>10} {'top-10':>10} {'pruned':>10} {'speed-up':>9} "
        f"{'evaluated':>9} {'top-10':>10} {'bytes/lw':>9}"
    )
    print(header)
    print("-" * len(header))
    for r in results:
        top = "identical" if r["top10_identical"] else f"{r['top10_overlap']}/10"
        pruned_top = "identical" if r["pruned_top10_identical"] else "DIFFERENT"
        print(
            f"{r['kind']:<10} {r['n']:>8,} {r['ours_s'] * 1000:>8.1f}ms {r['anchor_s']:>9.2f}s "
            f"{r['anchor_s'] / r['ours_s']:>8.0f}x {r['floor_s'] * 1000:>8.1f}ms "
            f"{r['ours_s'] / r['floor_s']:>9.2f}x {top:>10} {r['pruned_s'] * 1000:>8.1f}ms "
            f"{r['anchor_s'] / r['pruned_s']:>8.0f}x {r['pruned_fraction']:>9.1%} "
            f"{pruned_top:>10} {r['bytes_per_learnware']:>9,}"
        )
    print(
        "anchor = per-pair float64 loop timed on a sample of "
        f"{results[0]['anchor_sampled']:,} learnwares and scaled to N; floor = the same GEMMs + "
        "exponentials alone; pruned = with pivot bounds (evaluated = share of learnwares "
        "scanned)"
    )
    for r in results:
        print(
            f"pivots ({r['kind']}, N={r['n']:,}): chosen once at {r['pivots_chosen_at']:,} "
            f"learnwares in {r['pivots_s']:.2f} s (plus their distances); each submission "
            f"then computes its own {pivots.PIVOTS} distances in "
            f"{r['submit_pivot_dist_s'] * 1000:.1f} ms"
        )
    for r in results:
        if r["n"] == 100_000:
            verdict = "MET" if r["ours_s"] <= 4.0 else "MISSED"
            print(f"goal full scan <= 4 s at N=100k ({r['kind']}): {verdict} ({r['ours_s']:.2f} s)")
        verdict = "MET" if r["ours_s"] <= 1.5 * r["floor_s"] else "MISSED"
        print(f"goal within 1.5x floor ({r['kind']}, N={r['n']:,}): {verdict}")
        if r["n"] == 10_000 and r["kind"].startswith("real"):
            ratio = r["anchor_s"] / r["pruned_s"]
            verdict = "MET" if ratio >= 100 else "MISSED"
            print(
                f"goal pruned >= 100x the per-pair loop at N=10k (realistic): "
                f"{verdict} ({ratio:.0f}x)"
            )
        if r["n"] == 100_000 and r["kind"].startswith("real"):
            verdict = "MET" if r["pruned_s"] <= 0.05 else "MISSED"
            print(f"goal pruned search <= 50 ms at N=100k (realistic): {verdict}")
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps({"machine": machine(), "results": results}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

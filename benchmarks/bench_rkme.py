"""RKME generation benchmark: ours (herding + QP; quality="high") vs the anchor's recipe.

Run ``python benchmarks/bench_rkme.py`` (``--quick`` for a CI smoke run). For n in
{1,000, 20,000} rows, d = 64, K = 100, gamma = 0.1, it prints generation time and the exact
squared MMD between each RKME and the full data (float64, all n x n kernel terms).

The anchor's recipe (`learnware` 0.4 ``RKMETableSpecification.generate_stat_spec_from_data``),
re-implemented faithfully: k-means (100 Lloyd iterations, random initial centres) for Z, the
simplex QP for beta, then 3 rounds of one gradient step on Z (step 0.1, a loop over the K
points, as the anchor does) followed by the QP again.

Data: n = 1,000 rows of scikit-learn's digits scaled to [0, 1] (real); n = 20,000 rows
drawn from the digits with Gaussian pixel noise (sd 0.05, clipped to [0, 1]), since the
digits have only 1,797 rows.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from learnware_dock_rkme import RKMETableSpecification
from learnware_dock_rkme.kernel import gaussian_kernel, simplex_weights

K, GAMMA = 100, 0.1
RESULTS = Path(__file__).resolve().parent / "results" / "bench_rkme.json"


def data(n: int, rng: np.random.Generator) -> np.ndarray:
    from sklearn.datasets import load_digits

    digits = load_digits().data / 16.0
    if n <= len(digits):
        return np.asarray(digits[rng.choice(len(digits), n, replace=False)])
    rows = digits[rng.integers(len(digits), size=n)] + rng.normal(0, 0.05, size=(n, 64))
    return np.asarray(np.clip(rows, 0.0, 1.0))


def data_term(X: np.ndarray) -> float:
    """mean k(x, x') over all pairs, in float64 chunks."""
    x = torch.from_numpy(X)
    sq = (x * x).sum(1)
    total = 0.0
    for s in range(0, len(X), 2000):
        block = sq[s : s + 2000, None] + sq[None, :] - 2.0 * x[s : s + 2000] @ x.T
        total += float(torch.exp(-GAMMA * block.clamp_(min=0)).sum())
    return total / len(X) ** 2


def squared_mmd(z: np.ndarray, beta: np.ndarray, X: np.ndarray, xx: float) -> float:
    cross = beta @ gaussian_kernel(z, X, GAMMA).mean(axis=1)
    return float(xx - 2.0 * cross + beta @ gaussian_kernel(z, z, GAMMA) @ beta)


def anchor_recipe(X: np.ndarray, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """k-means + QP + 3 x (gradient step on Z + QP), as the `learnware` package does."""
    gen = torch.Generator().manual_seed(seed)
    x32 = torch.from_numpy(X.astype(np.float32))
    centres = x32[torch.randperm(len(X), generator=gen)[:K]].clone()
    for _ in range(100):  # Lloyd iterations (fast_pytorch_kmeans, max_iter=100)
        labels = torch.cdist(x32, centres).argmin(1)
        for j in range(K):
            members = x32[labels == j]
            if len(members):
                centres[j] = members.mean(0)
    z = centres.double().numpy()

    def update_beta(z: np.ndarray) -> np.ndarray:
        target = gaussian_kernel(z, X, GAMMA).mean(axis=1)
        return simplex_weights(gaussian_kernel(z, z, GAMMA), target)

    beta = update_beta(z)
    for _ in range(3):
        grad = np.zeros_like(z)
        for i in range(K):  # the anchor's per-point gradient loop
            zi = z[i : i + 1]
            term1 = (beta * gaussian_kernel(zi, z, GAMMA)) @ (zi - z)
            term2 = -2 * (gaussian_kernel(zi, X, GAMMA) / len(X)) @ (zi - X)
            grad[i] = -2 * GAMMA * beta[i] * (term1 + term2)
        z = z - 0.1 * grad
        beta = update_beta(z)
    return z, beta


def timed(fn: Any) -> tuple[float, Any]:
    start = time.perf_counter()
    out = fn()
    return time.perf_counter() - start, out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,20000")
    parser.add_argument("--quick", action="store_true", help="n = 300 only")
    parser.add_argument("--output", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    sizes = [300] if args.quick else [int(s) for s in args.sizes.split(",")]
    rng = np.random.default_rng(0)
    rows: list[dict[str, Any]] = []
    for n in sizes:
        X = data(n, rng)
        xx = data_term(X)
        anchor_s, (az, ab) = timed(lambda X=X: anchor_recipe(X, seed=0))
        fast_s, fast = timed(lambda X=X: RKMETableSpecification.generate(X, K=K, seed=0))
        high_s, high = timed(
            lambda X=X: RKMETableSpecification.generate(X, K=K, seed=0, quality="high")
        )
        rows.append(
            {
                "n": n,
                "anchor_s": anchor_s,
                "anchor_mmd2": squared_mmd(az, ab, X, xx),
                "fast_s": fast_s,
                "fast_mmd2": squared_mmd(fast.z, fast.beta, X, xx),
                "high_s": high_s,
                "high_mmd2": squared_mmd(high.z, high.beta, X, xx),
            }
        )
    cpu = platform.processor() or "?"
    machine = f"{platform.platform()} | {cpu} | {os.cpu_count()} CPUs | torch {torch.__version__}"
    print(f"machine: {machine}")
    print(f"RKME generation, d=64, K={K}, gamma={GAMMA}; MMD^2 = exact squared MMD to all n rows")
    header = (
        f"{'n':>7} {'anchor':>9} {'anchor MMD2':>12} {'ours fast':>10} {'MMD2':>10} "
        f"{'speed-up':>9} {'MMD2 ratio':>10} {'ours high':>10} {'MMD2':>10} {'MMD2 ratio':>10}"
    )
    print(header)
    print("-" * len(header))
    for r in rows:
        print(
            f"{r['n']:>7,} {r['anchor_s']:>8.2f}s {r['anchor_mmd2']:>12.3e} {r['fast_s']:>9.2f}s "
            f"{r['fast_mmd2']:>10.3e} {r['anchor_s'] / r['fast_s']:>8.1f}x "
            f"{r['anchor_mmd2'] / r['fast_mmd2']:>9.1f}x {r['high_s']:>9.2f}s "
            f"{r['high_mmd2']:>10.3e} {r['anchor_mmd2'] / r['high_mmd2']:>9.1f}x"
        )
    print("speed-up = anchor time / ours; MMD2 ratio = anchor MMD^2 / ours (>1 = ours closer)")
    for r in rows:
        fast_ok = r["anchor_s"] >= 5 * r["fast_s"] and r["fast_mmd2"] <= r["anchor_mmd2"]
        high_ok = r["anchor_mmd2"] >= 10 * r["high_mmd2"]
        print(
            f"goal n={r['n']:,}: fast >= 5x faster at <= MMD^2: {'MET' if fast_ok else 'MISSED'}; "
            f"high >= 10x lower MMD^2: {'MET' if high_ok else 'MISSED'}"
        )
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(rows, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

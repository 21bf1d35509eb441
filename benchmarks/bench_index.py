"""RKME index cold start: reopen a market of N learnwares, then search twice.

Run ``python benchmarks/bench_index.py`` (``--quick`` for a CI smoke run). The market is
filled through the organizer (checks skipped) with distinct RKMEs (K = 100, d = 64), and
the ``dock_learnware_added`` event fires for each, as ``Market.add`` does, so the binary
vector cache is written at submission. Then, in a fresh ``Market`` object: open time, the
first statistical search (which loads the index from the vector cache) and a warm search.

Baseline: the `learnware` package's reload, which re-reads every learnware's RKME JSON
(timed here as parsing all the stored spec files with ``json.load``; it also imports every
model, which is not counted).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from pathlib import Path

import numpy as np

from learnware_dock import Market, Status, UserInfo
from learnware_dock.interfaces import NewLearnware, NewStatSpec
from learnware_dock.testing import table_semantic_spec
from learnware_dock_rkme import RKMETableSpecification

K, D = 100, 64
RESULTS = Path(__file__).resolve().parent / "results" / "bench_index.json"


def fill(root: Path, n: int, rng: np.random.Generator) -> None:
    package = root.parent / "package.zip"
    package.write_bytes(b"PK\x05\x06" + bytes(18))  # stored as is: checks are skipped
    with Market(root) as market:
        for _ in range(n):
            spec = RKMETableSpecification(rng.random((K, D)), rng.dirichlet(np.ones(K)), 0.1, 500)
            new = NewLearnware(
                package=package,
                semantic_spec=table_semantic_spec(dimension=D),
                status=Status.NONUSABLE,
                stat_specs=(
                    NewStatSpec(spec.name, "rkme.json", json.dumps(spec.to_json()).encode()),
                ),
            )
            learnware = market.organizer.add(new)
            market.pm.hook.dock_learnware_added(market=market, learnware=learnware)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=10_000)
    parser.add_argument("--quick", action="store_true", help="n = 200")
    parser.add_argument("--output", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    n = 200 if args.quick else args.n
    rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory(prefix="dock-bench-index-") as tmp:
        root = Path(tmp) / "market"
        start = time.perf_counter()
        fill(root, n, rng)
        fill_s = time.perf_counter() - start
        start = time.perf_counter()
        import torch  # noqa: F401  (the backend's import: once per process, reported apart)

        torch_s = time.perf_counter() - start
        user = RKMETableSpecification.generate(rng.random((300, D)), seed=0)
        info = UserInfo(stat_specs={user.name: user})
        start = time.perf_counter()
        market = Market(root)
        open_s = time.perf_counter() - start
        start = time.perf_counter()
        market.search(info, limit=10, mixture="none")
        first_s = time.perf_counter() - start
        start = time.perf_counter()
        market.search(info, limit=10, mixture="none")
        warm_s = time.perf_counter() - start
        market.close()
        start = time.perf_counter()
        for path in (root / "specs").rglob("*.json"):
            with open(path, encoding="utf-8") as fh:
                json.load(fh)
        json_s = time.perf_counter() - start
    machine = f"{platform.platform()} | {os.cpu_count()} CPUs | Python {platform.python_version()}"
    print(f"machine: {machine}")
    print(f"RKME index cold start, N={n:,} learnwares, K={K}, d={D} (filled in {fill_s:.0f} s)")
    print(f"{'step':<48} {'seconds':>9}")
    print(f"{'import torch (once per process)':<48} {torch_s:>9.3f}")
    print(f"{'open the market':<48} {open_s:>9.3f}")
    print(f"{'first search (index loaded from vector cache)':<48} {first_s:>9.3f}")
    print(f"{'warm search':<48} {warm_s:>9.3f}")
    print(f"{'baseline: parse every stored RKME JSON':<48} {json_s:>9.3f}")
    print(f"open + first search vs baseline reload: {json_s / (open_s + first_s):.1f}x")
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(
        json.dumps(
            {"n": n, "open_s": open_s, "first_s": first_s, "warm_s": warm_s, "json_s": json_s}
        )
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

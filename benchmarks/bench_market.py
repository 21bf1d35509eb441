"""Market benchmark: add throughput, open time and semantic search latency, ours vs a baseline.

Run ``python benchmarks/bench_market.py`` (``--quick`` for a CI smoke run at N=200,
``--sizes 1000,10000`` to choose N). One side-by-side table is printed, raw figures go to
``benchmarks/results/bench_market.json``; everything else lives in a temporary folder that
is deleted at the end. Nothing is cached between runs.

Baseline, "folder-per-learnware": the way the ``learnware`` package (LAMDA, 0.4) runs its
market. Each learnware is a folder holding its zip, its semantic spec JSON and its stat
spec JSON; opening the market (``reload_market``) reads every learnware back; semantic
search is a Python loop over all learnwares, checking each Class/Tag rule and doing a
case-insensitive substring match of the query over name and description, with a rapidfuzz
``partial_ratio`` fallback when nothing matches exactly (``EasyFuzzSemanticSearcher``).
The baseline is *generous*: opening only parses JSON (the real one also parses each
``learnware.yaml`` and imports each learnware's model), and its Class rule is the dock's
(any of the user's values, where the real one compares only the first).

How the markets are filled: for each N, N - S learnwares are inserted directly (ours:
``market.organizer.add``, which skips the checker but still writes the files, with fsync,
and the rows; baseline: the folder files), then S real, distinct packages go through
``Market.add(..., checkers=["package"])`` / the baseline's add (unzip, parse the yaml,
load and validate each stat spec, write) and are timed: that is the add throughput.
Every learnware has distinct package bytes and spec bytes, so no deduplication helps.
"""

from __future__ import annotations

import argparse
import cProfile
import functools
import json
import os
import platform
import pstats
import random
import sqlite3
import statistics
import sys
import tempfile
import time
import zipfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

import learnware_dock
from learnware_dock import CheckReport, CheckResult, Market, SemanticSpec, Status, UserInfo
from learnware_dock.interfaces import NewLearnware, NewStatSpec
from learnware_dock.testing import build_package
from learnware_dock_rkme import RKMETableSpecification

RESULTS = Path(__file__).resolve().parent / "results" / "bench_market.json"
RKME_K = 10  # RKME points per stat spec (small: generous to the baseline, which parses it)
OPENS = 5
ROUNDS = 3  # each query runs ROUNDS times (after one warm-up pass); its median counts
GOAL_OPEN_MS, GOAL_SEARCH_MS, GOAL_N = 1000.0, 50.0, 10_000
SPEC_TYPE = RKMETableSpecification.name

from folder_baseline import FolderMarket  # noqa: E402
from market_corpus import DIM, make_queries, make_semantic  # noqa: E402


# -- package material -----------------------------------------------------------------------
def build_real_packages(dest: Path, count: int, seed: int) -> list[Path]:
    """``count`` distinct, real learnware zips, each with its own RKME spec."""
    rng = np.random.default_rng(seed)
    zips = []
    for i in range(count):
        X = rng.normal(loc=rng.normal(size=DIM), size=(200, DIM))
        y = (X[:, 0] > np.median(X[:, 0])).astype(int)
        spec = RKMETableSpecification.generate(X, K=RKME_K, seed=seed + i)
        zips.append(build_package(dest / f"pkg-{seed}-{i}", X, y, stat_specs={"rkme.json": spec}))
    return zips


def distinct_zip(template: bytes, tag: int) -> bytes:
    """The template zip with a zip comment, so that its bytes (and sha256) are unique."""
    if template[-22:-18] != b"PK\x05\x06":
        raise ValueError("template zip must end with an end-of-central-directory, no comment")
    comment = f"bench {tag}".encode()
    return template[:-2] + len(comment).to_bytes(2, "little") + comment


def distinct_spec(template: dict[str, Any], rng: np.random.Generator) -> bytes:
    z = np.asarray(template["z"]) + rng.normal(scale=1e-3, size=np.shape(template["z"]))
    return json.dumps({**template, "z": z.tolist()}).encode()


# -- measurements ---------------------------------------------------------------------------
def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    start = time.perf_counter()
    value = fn()
    return time.perf_counter() - start, value


def p95(values: Sequence[float]) -> float:
    return float(np.percentile(values, 95))


@contextmanager
def profiled(label: str) -> Iterator[None]:
    profiler = cProfile.Profile()
    profiler.enable()
    try:
        yield
    finally:
        profiler.disable()
        print(f"\n--- profile: {label} (top 15 by cumulative time) ---")
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(15)


class Bench:
    def __init__(self, scratch: Path, seed: int, sample: int, queries: int, profile: bool) -> None:
        self.scratch, self.sample, self.profile = scratch, sample, profile
        self.rng = random.Random(seed)
        self.nrng = np.random.default_rng(seed)
        self.ours_root, self.base_root = scratch / "ours", scratch / "baseline"
        self.market = Market(self.ours_root)
        self.baseline = FolderMarket(self.base_root)
        self.queries = make_queries(random.Random(seed + 1), queries)
        templates = build_real_packages(scratch / "templates", 8, seed=10_000)
        self.zip_templates = [z.read_bytes() for z in templates]
        self.spec_templates = [json.loads(zipfile.ZipFile(z).read("rkme.json")) for z in templates]
        self.report = CheckReport(
            Status.NONUSABLE,
            (
                CheckResult(
                    "package", Status.NONUSABLE, f"package is well formed ({SPEC_TYPE})", 0.002
                ),
            ),
        )
        self.counter = 0

    def bulk(self, target: int) -> dict[str, float]:
        """Insert learnwares directly (no checker) until both markets hold ``target``."""
        count = target - len(self.baseline)
        ours = base = 0.0
        scratch_zip = self.scratch / "bulk.zip"
        for _ in range(max(count, 0)):
            self.counter += 1
            t = self.counter % len(self.zip_templates)
            zip_bytes = distinct_zip(self.zip_templates[t], self.counter)
            spec_bytes = distinct_spec(self.spec_templates[t], self.nrng)
            semantic = make_semantic(self.rng)
            scratch_zip.write_bytes(zip_bytes)
            new = NewLearnware(
                package=scratch_zip,
                semantic_spec=semantic,
                status=Status.NONUSABLE,
                report=self.report,
                stat_specs=(NewStatSpec(SPEC_TYPE, "rkme.json", spec_bytes),),
            )
            start = time.perf_counter()
            self.market.organizer.add(new)
            middle = time.perf_counter()
            self.baseline.write(zip_bytes, semantic.to_dict(), {SPEC_TYPE: spec_bytes})
            ours, base = ours + middle - start, base + time.perf_counter() - middle
        return {"count": count, "ours_s": ours, "baseline_s": base}

    def adds(self, n: int) -> dict[str, Any]:
        """Time ``sample`` real adds through the package checker, on both sides."""
        count = min(self.sample, n - len(self.baseline))
        zips = build_real_packages(self.scratch / f"sample-{n}", count, seed=n)
        specs = [make_semantic(self.rng) for _ in zips]
        os.sync()  # neither side pays for the other's (or the fill's) pending writeback
        ours = [
            timed(functools.partial(self.market.add, z, s, checkers=["package"]))[0]
            for z, s in zip(zips, specs, strict=True)
        ]
        os.sync()
        base = [
            timed(functools.partial(self.baseline.add, z, s.to_dict()))[0]
            for z, s in zip(zips, specs, strict=True)
        ]
        os.sync()
        return {
            "count": count,
            "ours_per_s": count / sum(ours),
            "baseline_per_s": count / sum(base),
            "ours_median_ms": statistics.median(ours) * 1000,
            "baseline_median_ms": statistics.median(base) * 1000,
            "ours_max_ms": max(ours) * 1000,
            "baseline_max_ms": max(base) * 1000,
        }

    def opens(self) -> dict[str, Any]:
        def ours() -> int:
            with Market(self.ours_root, create=False) as m:
                return len(m)

        first_query = UserInfo(semantic_spec=self.queries[2][1])  # a tags + text query

        def ours_first() -> int:
            with Market(self.ours_root, create=False) as m:
                return len(m.search(first_query, searcher="semantic", limit=10))

        def base_first() -> int:
            return len(FolderMarket(self.base_root).search(first_query.semantic_spec.to_dict()))

        pm = self.market.pm

        def ours_shared_pm() -> int:
            with Market(self.ours_root, create=False, plugin_manager=pm) as m:
                return len(m)

        cases: list[tuple[str, Callable[[], int]]] = [
            ("ours", ours),
            ("baseline", lambda: len(FolderMarket(self.base_root))),
            ("ours_first_search", ours_first),
            ("baseline_first_search", base_first),
            ("ours_shared_plugin_manager", ours_shared_pm),
        ]
        runs: dict[str, list[float]] = {name: [] for name, _ in cases}
        for _ in range(OPENS):  # interleaved rounds
            for name, fn in cases:
                runs[name].append(timed(fn)[0] * 1000)
        if self.profile:
            with profiled(f"ours open, N={len(self.baseline)}"):
                ours()
        return {name: {"median_ms": statistics.median(v), "runs_ms": v} for name, v in runs.items()}

    def searches(self) -> dict[str, Any]:
        searcher: Any = self.market.searcher("semantic")  # SemanticSearcher.candidates
        base_market = self.baseline
        rows = []
        for kind, spec in self.queries:
            info, as_dict = UserInfo(semantic_spec=spec), spec.to_dict()
            ours_fn = functools.partial(self.market.search, info, searcher="semantic", limit=10)
            base_fn = functools.partial(base_market.search, as_dict)
            result, hits = ours_fn(), base_fn()  # warm-up, and the result sizes
            ours_t = statistics.median(timed(ours_fn)[0] for _ in range(ROUNDS)) * 1000
            base_t = statistics.median(timed(base_fn)[0] for _ in range(ROUNDS)) * 1000
            how = searcher.candidates(info)[1]
            rows.append(
                {
                    "kind": kind,
                    "query": as_dict,
                    "how": how,
                    "ours_ms": ours_t,
                    "baseline_ms": base_t,
                    "ours_total": result.total,
                    "baseline_total": len(hits),
                }
            )
        if self.profile:
            worst = max(rows, key=lambda r: r["ours_ms"])
            info = UserInfo(semantic_spec=SemanticSpec.from_dict(worst["query"]))
            with profiled(f"slowest ours search ({worst['kind']}, {worst['how']})"):
                self.market.search(info, searcher="semantic", limit=10)
        summary: dict[str, Any] = {"queries": rows}
        for side in ("ours", "baseline"):
            times = [r[f"{side}_ms"] for r in rows]
            summary[side] = {"median_ms": statistics.median(times), "p95_ms": p95(times)}
            for kind in ("tags", "text", "tags+text", "fuzzy"):
                summary[side][f"{kind}_median_ms"] = statistics.median(
                    r[f"{side}_ms"] for r in rows if r["kind"] == kind
                )
        summary["found"] = {  # queries with at least one match, per kind: [ours, baseline, of]
            kind: [
                sum(r["ours_total"] > 0 for r in rows if r["kind"] == kind),
                sum(r["baseline_total"] > 0 for r in rows if r["kind"] == kind),
                sum(r["kind"] == kind for r in rows),
            ]
            for kind in ("tags", "text", "tags+text", "fuzzy")
        }
        tag_rows = [r for r in rows if r["kind"] == "tags"]
        summary["tag_totals_agree"] = sum(r["ours_total"] == r["baseline_total"] for r in tag_rows)
        summary["tag_queries"] = len(tag_rows)
        summary["ours_modes"] = {
            m: sum(r["how"] == m for r in rows) for m in ("filter", "text", "fuzzy")
        }
        return summary

    def run(self, n: int) -> dict[str, Any]:
        reserve = min(self.sample, n - len(self.baseline))
        bulk = self.bulk(n - reserve)
        adds = self.adds(n)
        assert len(self.market) == len(self.baseline) == n, (len(self.market), n)
        return {"n": n, "bulk": bulk, "add": adds, "open": self.opens(), "search": self.searches()}


# -- output ---------------------------------------------------------------------------------
def machine() -> dict[str, Any]:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "platform": platform.platform(),
        "cpu": cpu,
        "cpu_count": os.cpu_count(),
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "learnware_dock": learnware_dock.__version__,
        "scratch": scratch_fs(),
    }


def scratch_fs() -> str:
    """Where the temporary markets live and on what file system (fsync cost varies)."""
    tmp, best = os.path.realpath(tempfile.gettempdir()), ("", "?")
    try:
        for line in Path("/proc/mounts").read_text().splitlines():
            _, mount, fstype, *_ = line.split()
            if (tmp + "/").startswith(mount.rstrip("/") + "/") and len(mount) > len(best[0]):
                best = (mount, fstype)
    except (OSError, ValueError):
        pass
    return f"{tmp} ({best[1]})"


def rows_for(r: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    """(metric, ours, baseline, ratio) rows; every ratio reads ">1 = ours is better"."""

    def ms(ours: float, base: float, label: str) -> tuple[str, str, str, str]:
        return (label, f"{ours:,.1f} ms", f"{base:,.1f} ms", f"{base / ours:,.1f}x")

    o, s, a = r["open"], r["search"], r["add"]
    out = [
        (
            f"add throughput ({a['count']} adds)",
            f"{a['ours_per_s']:,.0f} lw/s",
            f"{a['baseline_per_s']:,.0f} lw/s",
            f"{a['ours_per_s'] / a['baseline_per_s']:,.2f}x",
        ),
        ms(a["ours_median_ms"], a["baseline_median_ms"], "add latency, median per learnware"),
        ms(o["ours"]["median_ms"], o["baseline"]["median_ms"], f"open (median of {OPENS})"),
        ms(
            o["ours_first_search"]["median_ms"],
            o["baseline_first_search"]["median_ms"],
            "open + first search",
        ),
        ms(
            s["ours"]["median_ms"],
            s["baseline"]["median_ms"],
            f"semantic search, median ({len(s['queries'])} queries)",
        ),
        ms(s["ours"]["p95_ms"], s["baseline"]["p95_ms"], "semantic search, p95"),
    ]
    for kind in ("tags", "text", "tags+text", "fuzzy"):
        out.append(
            ms(
                s["ours"][f"{kind}_median_ms"],
                s["baseline"][f"{kind}_median_ms"],
                f"  search median: {kind}",
            )
        )
    return out


def print_table(results: list[dict[str, Any]], info: dict[str, Any]) -> None:
    header = (
        f"machine: {info['platform']} | {info['cpu']}, {info['cpu_count']} CPUs | "
        f"Python {info['python']} | SQLite {info['sqlite']} | "
        f"learnware-dock {info['learnware_dock']} | scratch {info['scratch']}"
    )
    note = (
        "ratio: baseline/ours for times, ours/baseline for throughput (>1 = ours better).\n"
        "add = Market.add(checkers=['package']) of distinct real packages (ours fsyncs, the "
        "baseline does not).\nbaseline = folder-per-learnware market as in the `learnware` "
        "package, generous: JSON only at open, no yaml, no model import."
    )
    try:
        from rich.console import Console
        from rich.table import Table
    except ImportError:
        print(header)
        for r in results:
            print(f"\nN = {r['n']:,}")
            print(f"{'metric':<46}{'ours':>14}{'baseline':>14}{'ratio':>10}")
            for row in rows_for(r):
                print(f"{row[0]:<46}{row[1]:>14}{row[2]:>14}{row[3]:>10}")
        print(note)
        return
    console = Console(width=110)
    print(header)
    table = Table(title="learnware-dock market vs folder-per-learnware baseline")
    for col, justify in [
        ("N", "right"),
        ("metric", "left"),
        ("ours", "right"),
        ("baseline", "right"),
        ("ratio (>1: ours better)", "right"),
    ]:
        table.add_column(col, justify=justify)  # type: ignore[arg-type]
    for r in results:
        for i, row in enumerate(rows_for(r)):
            table.add_row(f"{r['n']:,}" if i == 0 else "", *row, end_section=i == 9)
    console.print(table)
    print(note)


def goals(results: list[dict[str, Any]]) -> list[str]:
    at = next((r for r in results if r["n"] == GOAL_N), None)
    if at is None:
        return [f"goals: not evaluated (they are set at N={GOAL_N:,}, which was not run)"]
    open_ms = at["open"]["ours"]["median_ms"]
    med, high = at["search"]["ours"]["median_ms"], at["search"]["ours"]["p95_ms"]

    def verdict(ok: bool) -> str:
        return "MET" if ok else "MISSED"

    return [
        f"goal open < {GOAL_OPEN_MS:.0f} ms at N={GOAL_N:,}: {verdict(open_ms < GOAL_OPEN_MS)} "
        f"({open_ms:,.1f} ms)",
        f"goal semantic search < {GOAL_SEARCH_MS:.0f} ms at N={GOAL_N:,}: median "
        f"{verdict(med < GOAL_SEARCH_MS)} ({med:,.1f} ms), p95 {verdict(high < GOAL_SEARCH_MS)} "
        f"({high:,.1f} ms)",
    ]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--sizes", default="1000,10000", help="comma-separated N values")
    parser.add_argument("--quick", action="store_true", help="CI smoke run: N=200 only")
    parser.add_argument("--sample", type=int, default=200, help="timed real adds per N")
    parser.add_argument("--queries", type=int, default=52, help="semantic queries per N")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--profile", action="store_true", help="cProfile open and worst search")
    parser.add_argument("--output", type=Path, default=RESULTS, help="raw results JSON")
    args = parser.parse_args(argv)
    sizes = [200] if args.quick else sorted({int(s) for s in args.sizes.split(",") if s.strip()})
    info = machine()
    started = time.perf_counter()
    results = []
    with tempfile.TemporaryDirectory(prefix="bench-market-") as tmp:
        bench = Bench(Path(tmp), args.seed, args.sample, args.queries, args.profile)
        try:
            for n in sizes:
                print(f"N = {n:,}: filling and measuring ...", file=sys.stderr, flush=True)
                results.append(bench.run(n))
        finally:
            bench.market.close()
    total = time.perf_counter() - started
    print_table(results, info)
    for r in results:
        s = r["search"]
        b = r["bulk"]
        bulk = (
            f"; filled by direct insertion: {b['count']:,} (ours organizer.add "
            f"{b['count'] / b['ours_s']:,.0f}/s, "
            f"baseline {b['count'] / b['baseline_s']:,.0f}/s)"
            if b["count"]
            else ""
        )
        shared = r["open"]["ours_shared_plugin_manager"]["median_ms"]
        found = ", ".join(f"{k} {o}/{n} vs {bl}/{n}" for k, (o, bl, n) in s["found"].items())
        print(
            f"N={r['n']:,}: queries with >= 1 match (ours vs baseline): {found}; tag-only "
            f"result counts agree on {s['tag_totals_agree']}/{s['tag_queries']}; ours matched "
            f"by {s['ours_modes']}; ours open without plugin discovery {shared:,.1f} ms{bulk}"
        )
    for line in goals(results):
        print(line)
    print(f"total runtime: {total:,.1f} s")
    args.output.parent.mkdir(parents=True, exist_ok=True)
    payload = {"machine": info, "sizes": sizes, "total_s": total, "results": results}
    args.output.write_text(json.dumps(payload, indent=2, default=str), encoding="utf-8")
    print(f"raw results: {args.output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

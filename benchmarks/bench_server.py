"""HTTP server load test: the real `dock serve` under concurrent searches and uploads.

Run ``python benchmarks/bench_server.py`` (``--quick`` for a CI smoke run). Loopback only:

1. Market: N learnwares (``--learnwares``, default 1,000), each a real, runnable package
   (a nearest-centroid classifier from ``learnware_dock.testing.build_package``) with the
   RKME (K = 100, d = 64) of a biased class subset of scikit-learn's digits (2-4 classes in
   uneven proportions, 100-300 rows of the 80 % training part). Filled in this process,
   before the server starts, through ``Market.add(..., checkers=["package", "semantic"])``:
   the model-running ``stat`` checker (a venv container per package) is skipped for the
   bulk fill only. Everything lives in a temporary folder deleted at the end; nothing is
   cached between runs except what the market itself stores (and the venv container's
   shared environment cache, which the server's ``stat`` checker uses for uploads).
2. Server: ``dock serve`` (the CLI's entry point, launched with ``python -c`` to register
   a faulthandler first) in a subprocess on 127.0.0.1 and a free port, default settings
   (every installed checker runs on uploads, ``stat`` included), with an API token
   created beforehand. It is always stopped at the end (Ctrl-C included).
3. Load, for ``--seconds`` (60): 8 search clients (threads, each its own ``httpx.Client``)
   posting RKME searches in a closed loop, cycling over distinct queries (RKMEs of biased
   class subsets of the 20 % held-out digits), and 2 upload clients each posting a new,
   distinct pre-built package every ``--upload-every`` seconds (1). Then the upload clients
   poll each accepted upload until it leaves "pending". Recorded: every request's latency
   and status; errors (any non-2xx, exception or empty search result); lost uploads
   (accepted with 202 but finally not USABLE / NONUSABLE, or missing); the server
   process's RSS every 0.5 s (its own process; checker subprocesses not included).
   A request with no answer in ``--timeout`` seconds (30) means the server is stuck: the
   clients stop, the server (started with ``faulthandler`` on SIGUSR1) dumps every
   thread's stack and the innermost frames are printed under the table.
4. Baseline, in the same run: the same queries searched in-process with ``Market.search``
   on the same market (single thread, spec objects already built, after one warm-up
   search), before the server starts. The ratio is the cost of the service (JSON, HTTP,
   validation, queueing behind the one reader thread) under load.

``--blas-threads N`` (default 1) limits BLAS threads for the baseline (threadpoolctl) and
sets ``OPENBLAS_NUM_THREADS`` for the server, which limits itself to one BLAS thread by
default anyway (``ServerSettings.blas_threads``: it gets its parallelism from threads).
The load generator lives in ``server_load.py``.

Raw figures go to ``benchmarks/results/bench_server.json``. Exit status 1 if any error or
lost upload occurred (the latency goal is reported, not enforced).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from learnware_dock import Market, SemanticSpec, UserInfo
from learnware_dock.testing import build_package, table_semantic_spec
from learnware_dock_rkme import RKMETableSpecification
from learnware_dock_server.state import ServerState

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_search import machine as base_machine
from server_load import load

RESULTS = Path(__file__).resolve().parent / "results" / "bench_server.json"
TABLE_SPEC_NAME = RKMETableSpecification.name
GOAL_P95_MS = 100.0
err = Console(stderr=True)


# -- data -------------------------------------------------------------------------------------
class Digits:
    """scikit-learn's digits scaled to [0, 1], split 80 / 20 into training and held-out rows."""

    def __init__(self, rng: np.random.Generator) -> None:
        from sklearn.datasets import load_digits

        X, y = load_digits(return_X_y=True)
        self.X, self.y = X / 16.0, y
        held = rng.random(len(y)) < 0.2
        self.train, self.held = np.flatnonzero(~held), np.flatnonzero(held)

    def subset(self, rng: np.random.Generator, pool: np.ndarray, size: int) -> np.ndarray:
        """Rows of a biased class subset of ``pool``: 2-4 classes in uneven proportions."""
        classes = rng.choice(10, size=int(rng.integers(2, 5)), replace=False)
        share = rng.dirichlet(np.ones(len(classes)) * 2)
        parts = []
        for c, p in zip(classes, share, strict=True):
            rows = pool[self.y[pool] == c]
            parts.append(rng.choice(rows, min(len(rows), int(size * p) + 5), replace=False))
        return np.concatenate(parts)


def make_package(
    folder: Path, digits: Digits, rng: np.random.Generator, name: str, seed: int
) -> tuple[Path, SemanticSpec]:
    """A distinct, runnable learnware zip with its RKME, and its semantic spec."""
    rows = digits.subset(rng, digits.train, int(rng.integers(100, 301)))
    X, y = digits.X[rows], digits.y[rows]
    spec = RKMETableSpecification.generate(X, seed=seed)
    package = build_package(folder / name, X, y, stat_specs={"rkme.json": spec})
    shutil.rmtree(folder / name)  # the zip is what is submitted
    labels = "-".join(str(c) for c in np.unique(y))
    semantic = table_semantic_spec(f"digits {labels} classifier ({name})", 64, 10)
    return package, semantic


def progress() -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err,
    )


def fill(root: Path, work: Path, digits: Digits, n: int, rng: np.random.Generator) -> float:
    """Add N packages through Market.add (package + semantic checkers); seconds taken."""
    start = time.perf_counter()
    with Market(root) as market, progress() as bar:
        task = bar.add_task(f"filling the market (N={n:,})", total=n)
        for i in range(n):
            package, semantic = make_package(work, digits, rng, f"lw-{i:05d}", seed=i)
            market.add(package, semantic, checkers=["package", "semantic"])
            package.unlink()
            bar.advance(task)
    return time.perf_counter() - start


def upload_pools(
    work: Path, digits: Digits, rng: np.random.Generator, clients: int, each: int
) -> list[list[tuple[str, bytes, str]]]:
    """Per upload client: ``each`` distinct (file name, zip bytes, semantic JSON)."""
    pools: list[list[tuple[str, bytes, str]]] = [[] for _ in range(clients)]
    with progress() as bar:
        task = bar.add_task("building upload packages", total=clients * each)
        for c in range(clients):
            for i in range(each):
                name = f"up-{c}-{i:04d}"
                package, semantic = make_package(
                    work, digits, rng, name, seed=100_000 + c * each + i
                )
                pools[c].append(
                    (package.name, package.read_bytes(), json.dumps(semantic.to_dict()))
                )
                package.unlink()
                bar.advance(task)
    return pools


def make_queries(
    digits: Digits, rng: np.random.Generator, count: int
) -> list[RKMETableSpecification]:
    """Distinct user RKMEs of biased class subsets of the held-out digits."""
    return [
        RKMETableSpecification.generate(
            digits.X[digits.subset(rng, digits.held, int(rng.integers(60, 151)))], seed=i
        )
        for i in range(count)
    ]


# -- baseline ---------------------------------------------------------------------------------
def in_process(root: Path, queries: list[RKMETableSpecification], rounds: int) -> dict[str, Any]:
    """The same searches through Market.search in this process, one thread."""
    with Market(root) as market:
        infos = [
            UserInfo(semantic_spec=SemanticSpec.from_dict({}), stat_specs={TABLE_SPEC_NAME: q})
            for q in queries
        ]
        start = time.perf_counter()
        market.search(infos[0], limit=10)  # loads the index
        first_s = time.perf_counter() - start
        latencies = []
        start = time.perf_counter()
        for _ in range(rounds):
            for info in infos:
                t0 = time.perf_counter()
                result = market.search(info, limit=10)
                latencies.append(time.perf_counter() - t0)
                assert result.singles, "in-process search found nothing"
        wall = time.perf_counter() - start
    return {"first_s": first_s, "latencies_s": latencies, "wall_s": wall}


# -- server -----------------------------------------------------------------------------------
@contextlib.contextmanager
def blas_limit(threads: int) -> Iterator[None]:
    if not threads:
        yield
        return
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=threads, user_api="blas"):
        yield


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


#: ``dock serve``, plus a stack dump of every thread on SIGUSR1 (sent if the server hangs)
LAUNCHER = (
    "import faulthandler, signal, sys; faulthandler.register(signal.SIGUSR1, all_threads=True); "
    "sys.argv[0] = 'dock'; from learnware_dock.cli import main; main()"
)


def start_server(root: Path, port: int, log: Path, blas_threads: int) -> subprocess.Popen[bytes]:
    command = [
        sys.executable, "-c", LAUNCHER, "serve", "--market", str(root),
        "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning",
    ]  # fmt: skip
    env = dict(os.environ)
    if blas_threads:
        env["OPENBLAS_NUM_THREADS"] = env["MKL_NUM_THREADS"] = str(blas_threads)
    with open(log, "wb") as out:  # the child keeps its own copy of the descriptor
        return subprocess.Popen(
            command, stdout=out, stderr=subprocess.STDOUT, env=env, start_new_session=True
        )


def thread_dump(log_text: str, frames: int = 5) -> list[str]:
    """The server's last faulthandler dump: the threads in the dock's code, innermost
    frames first."""
    lines = log_text.splitlines()
    current = max((i for i, x in enumerate(lines) if x.startswith("Current thread")), default=-1)
    if current < 0:
        return []
    first = current
    while first > 0 and (
        not lines[first - 1].strip() or lines[first - 1].startswith(("Thread 0x", "  File"))
    ):
        first -= 1
    threads: list[list[str]] = []
    for line in lines[first:]:
        if line.startswith(("Thread 0x", "Current thread")):
            threads.append([line])
        elif line.startswith("  File"):
            threads[-1].append(line)
        elif line.strip():
            break  # the dump is over
    # the threads running the dock's code (not the idle pools and the event loop)
    busy = [
        t
        for t in threads
        if t[0].startswith("Thread 0x") and any("learnware_dock" in f for f in t[1:])
    ]
    return [line for t in busy or threads for line in t[: frames + 1]]


def stop_server(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM (uvicorn's graceful stop), then SIGKILL to the server's process group
    (checker subprocesses included) if it is still there."""
    if proc.poll() is None:
        proc.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=15)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)  # its own session: only what it started
    proc.wait()


def wait_healthy(base: str, proc: subprocess.Popen[bytes], log: Path, timeout: float) -> float:
    start = time.perf_counter()
    while time.perf_counter() - start < timeout:
        if proc.poll() is not None:
            raise RuntimeError(f"the server exited ({proc.returncode}):\n{log.read_text()[-3000:]}")
        try:
            if httpx.get(f"{base}/health", timeout=2).status_code == 200:
                return time.perf_counter() - start
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"the server did not answer /health in {timeout:.0f} s")


def machine() -> str:
    ram = "?"
    try:
        with open("/proc/meminfo", encoding="ascii") as fh:
            kib = next(int(line.split()[1]) for line in fh if line.startswith("MemTotal:"))
        ram = f"{kib / (1 << 20):.1f} GiB RAM"
    except (OSError, StopIteration):
        pass
    load_avg = " / ".join(f"{v:.2f}" for v in os.getloadavg())
    return f"{base_machine()} | {ram} | load average {load_avg} at start"


def pct(values: list[float], q: float) -> float:
    return float(np.percentile(values, q)) * 1000 if values else math.nan


def report(
    host: str,
    n: int,
    fill_s: float,
    ours: dict[str, Any],
    base: dict[str, Any],
    args: argparse.Namespace,
) -> dict[str, Any]:
    s_lat, b_lat, u_lat = (
        ours["search_latencies_s"],
        base["latencies_s"],
        ours["upload_latencies_s"],
    )
    ok_searches = ours["status_codes"].get("search 200", 0)
    ours_tput = ok_searches / ours["search_wall_s"] if ours["search_wall_s"] > 0 else math.nan
    base_tput = len(b_lat) / base["wall_s"]
    rss = [r for _, r in ours["rss_samples"]]
    peak = max(rss, default=0) / (1 << 20)
    final = (rss[-1] if rss else 0) / (1 << 20)
    errors, lost = len(ours["errors"]), len(ours["lost"])
    summary = {
        "search_p50_ms": pct(s_lat, 50),
        "search_p95_ms": pct(s_lat, 95),
        "search_p99_ms": pct(s_lat, 99),
        "search_throughput_rps": ours_tput,
        "searches": len(s_lat),
        "baseline_p50_ms": pct(b_lat, 50),
        "baseline_p95_ms": pct(b_lat, 95),
        "baseline_p99_ms": pct(b_lat, 99),
        "baseline_throughput_rps": base_tput,
        "baseline_searches": len(b_lat),
        "first_search_ms": ours["first_search_s"] * 1000,
        "baseline_first_search_ms": base["first_s"] * 1000,
        "upload_p50_ms": pct(u_lat, 50),
        "upload_p95_ms": pct(u_lat, 95),
        "uploads_posted": len(u_lat),
        "uploads_accepted": ours["accepted"],
        "lost_uploads": lost,
        "errors": errors,
        "drain_s": ours["drain_s"],
        "rss_peak_mib": peak,
        "rss_final_mib": final,
    }

    def ratio(a: float, b: float) -> str:
        return f"{a / b:.2f}x" if b and not math.isnan(a) and not math.isnan(b) else "-"

    cfg = f"{args.search_clients}+{args.upload_clients} clients"
    rows = [
        ("search p50 (ms)", summary["search_p50_ms"], summary["baseline_p50_ms"]),
        ("search p95 (ms)", summary["search_p95_ms"], summary["baseline_p95_ms"]),
        ("search p99 (ms)", summary["search_p99_ms"], summary["baseline_p99_ms"]),
        ("search throughput (req/s)", ours_tput, base_tput),
        ("searches done", len(s_lat), len(b_lat)),
        ("first search, loads the index (ms)", summary["first_search_ms"],
         summary["baseline_first_search_ms"]),
        ("upload accept p50 (ms)", summary["upload_p50_ms"], None),
        ("upload accept p95 (ms)", summary["upload_p95_ms"], None),
        ("uploads accepted / lost", f"{ours['accepted']} / {lost}", None),
        ("uploads checked after the load (s)", ours["drain_s"], None),
        ("errors", errors, None),
        ("server RSS peak / final (MiB)", f"{peak:.0f} / {final:.0f}", None),
    ]  # fmt: skip
    print(f"machine: {host}")
    print(
        f"dock serve under load, N={n:,} learnwares (RKME K=100, d=64, digits subsets; "
        f"filled in {fill_s:.0f} s): ours (server, {cfg}) vs in-process Market.search"
    )
    header = f"{'':<36} {'ours (server, ' + cfg + ')':>26} {'in-process baseline':>20} {'ratio':>8}"
    print(header)
    print("-" * len(header))
    for label, a, b in rows:
        fa = f"{a:,.1f}" if isinstance(a, float) else str(a)
        fb = "-" if b is None else (f"{b:,.1f}" if isinstance(b, float) else str(b))
        r = (
            ratio(float(a), float(b))
            if isinstance(a, int | float) and isinstance(b, int | float)
            else "-"
        )
        if label.startswith("searches done"):
            r = "-"
        print(f"{label:<36} {fa:>26} {fb:>20} {r:>8}")
    print(
        f"ratio = ours / baseline (latency: the service's overhead, queueing behind the one "
        f"reader thread included; throughput: {args.search_clients} HTTP clients vs 1 thread "
        f"in-process). Load {args.seconds:g} s; 1 upload per {args.upload_every:g} s per "
        f"upload client, each checked by the server with every checker (stat included). "
        f"BLAS threads: {args.blas_threads or 'library default'}."
    )
    print(f"upload final states: {ours['final_states']}; status codes: {ours['status_codes']}")
    if ours["errors"]:
        print("first errors:")
        for message in ours["errors"][:10]:
            print(f"  {message}")
    if ours["lost"]:
        print(f"lost uploads: {', '.join(ours['lost'][:20])}")
    if ours["hung"]:
        print(f"the server hung (a request got no answer in {args.timeout:g} s); its threads:")
        for line in ours["thread_dump"]:
            print(f"  {line}")
    print(
        "note: client threads, server and checker subprocesses share this machine's CPUs; "
        "on a small or busy machine the figures are noisy. The server's first search runs "
        "in a fresh process (one-time imports + index load), the baseline's in the process "
        "that filled the market."
    )
    met = errors == 0 and lost == 0 and summary["search_p95_ms"] < GOAL_P95_MS
    print(
        f"goal: 0 errors, 0 lost uploads, search p95 < {GOAL_P95_MS:.0f} ms at N={n:,}: "
        f"{'MET' if met else 'MISSED'} ({errors} errors, {lost} lost, "
        f"p95 {summary['search_p95_ms']:.1f} ms)"
    )
    summary["goal_met"] = met
    return summary


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--learnwares", type=int, default=1000, help="N in the market")
    parser.add_argument("--seconds", type=float, default=60.0, help="load duration")
    parser.add_argument("--search-clients", type=int, default=8)
    parser.add_argument("--upload-clients", type=int, default=2)
    parser.add_argument("--upload-every", type=float, default=1.0, help="seconds per client")
    parser.add_argument("--queries", type=int, default=32, help="distinct query RKMEs")
    parser.add_argument("--baseline-rounds", type=int, default=5, help="passes over the queries")
    parser.add_argument("--drain-timeout", type=float, default=600.0, help="seconds")
    parser.add_argument(
        "--timeout", type=float, default=30.0, help="seconds; a request slower = a hung server"
    )
    parser.add_argument(
        "--blas-threads",
        type=int,
        default=1,
        help="BLAS threads of the baseline and OPENBLAS_NUM_THREADS of the server (which "
        "limits itself to 1 by default, ServerSettings.blas_threads); 0: library default",
    )
    parser.add_argument(
        "--quick", action="store_true", help="N=40, 5 s, 2 search + 1 upload client"
    )
    parser.add_argument("--output", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    if args.quick:
        args.learnwares, args.seconds, args.queries, args.baseline_rounds = 40, 5.0, 8, 3
        args.search_clients, args.upload_clients, args.drain_timeout = 2, 1, 240.0
    n, host = args.learnwares, machine()
    rng = np.random.default_rng(0)
    digits = Digits(rng)
    with tempfile.TemporaryDirectory(prefix="dock-bench-server-") as tmp:
        root, work = Path(tmp) / "market", Path(tmp) / "work"
        work.mkdir()
        fill_s = fill(root, work, digits, n, rng)
        each = math.ceil(args.seconds / args.upload_every) + 1
        pools = upload_pools(work, digits, rng, args.upload_clients, each)
        queries = make_queries(digits, rng, args.queries)
        bodies = [
            json.dumps(
                {
                    "semantic_spec": {},
                    "stat_specs": {TABLE_SPEC_NAME: q.to_json()},
                    "page": 1,
                    "per_page": 10,
                }
            ).encode()
            for q in queries
        ]
        err.print("baseline: in-process Market.search")
        with blas_limit(args.blas_threads):
            base = in_process(root, queries, args.baseline_rounds)
        token = ServerState(root / "server").create_token("bench")
        port, log = free_port(), Path(tmp) / "server.log"
        base_url = f"http://127.0.0.1:{port}"
        proc = start_server(root, port, log, args.blas_threads)
        try:
            start_s = wait_healthy(base_url, proc, log, timeout=180)
            err.print(f"server up on {base_url} in {start_s:.1f} s (pid {proc.pid})")
            ours = load(base_url, token, proc.pid, bodies, pools, args)
        finally:
            stop_server(proc)
        server_log = log.read_text(errors="replace")
    ours["thread_dump"] = thread_dump(server_log) if ours["hung"] else []
    summary = report(host, n, fill_s, ours, base, args)
    if server_log.strip() and not ours["hung"]:
        err.print(f"server log (last lines):\n{server_log[-2000:]}")
    args.output.parent.mkdir(parents=True, exist_ok=True)
    config = {k: v for k, v in vars(args).items() if k != "output"}
    args.output.write_text(
        json.dumps(
            {
                "machine": host,
                "n": n,
                "config": config,
                "fill_s": fill_s,
                "server_start_s": start_s,
                **summary,
                "server": ours,
                "baseline": base,
            },
            indent=1,
        )
    )
    return 1 if summary["errors"] or summary["lost_uploads"] else 0


if __name__ == "__main__":
    try:
        raise SystemExit(main())
    except KeyboardInterrupt:
        err.print("interrupted: the server was stopped and the temporary market deleted")
        raise SystemExit(130) from None

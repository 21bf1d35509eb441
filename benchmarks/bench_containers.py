"""Isolation cost: the venv container's long-lived worker vs a process per predict call.

Run ``python benchmarks/bench_containers.py`` (``--quick`` for a CI smoke run). One run
prints, side by side:

* environment creation, cold (empty cache) and warm (reused), for a learnware needing
  numpy (shared from the host when the pins allow);
* worker start (import the package and build the model in its own process);
* predict round trip for 1 row and for 10,000 rows of 64 features (median of repeats);
* baseline, the `learnware` package's container approach: a fresh interpreter per
  predict call that re-imports the model and exchanges the arrays through files.

Goals (issue 5): warm round trip < 5 ms for 1 row, >= 20x faster than a process per call,
warm environment reuse < 1 s.

A second table gives the sandbox's cost (issue 12): worker start and the predict round
trips with the worker in its bubblewrap sandbox (the default) vs the same worker
unsandboxed (the worker as it ran before the sandbox), as a ratio.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from learnware_dock.package.manifest import Manifest
from learnware_dock.package.reader import extracted
from learnware_dock.package.requirements import read_requirements
from learnware_dock.testing import build_package
from learnware_dock_isolation import sandbox
from learnware_dock_isolation.client import ProcessModel
from learnware_dock_isolation.container import VenvContainer, VenvOptions
from learnware_dock_isolation.envs import EnvCache

RESULTS = Path(__file__).resolve().parent / "results" / "bench_containers.json"
D = 64

BASELINE = """
import importlib.util, sys, numpy as np
root, class_name, data, out = sys.argv[1:]
spec = importlib.util.spec_from_file_location(
    "learnware_pkg", root + "/__init__.py", submodule_search_locations=[root]
)
module = importlib.util.module_from_spec(spec)
sys.modules["learnware_pkg"] = module
spec.loader.exec_module(module)
model = getattr(module, class_name)()
np.save(out, np.asarray(model.predict(np.load(data))))
"""


def median_seconds(fn: Callable[[], Any], repeats: int) -> float:
    fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats")
    parser.add_argument("--output", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    repeats = 3 if args.quick else 20
    rng = np.random.default_rng(0)
    X = rng.normal(size=(10_000, D))
    y = (X[:, 0] > 0).astype(int) + (X[:, 1] > 0).astype(int)
    with tempfile.TemporaryDirectory(prefix="dock-bench-containers-") as tmp:
        work = Path(tmp)
        archive = build_package(work / "pkg", X[:500], y[:500])
        with extracted(archive) as root:
            requirements = read_requirements(root)
            cache = EnvCache(work / "venvs")
            start = time.perf_counter()
            cache.ensure(requirements)
            env_cold = time.perf_counter() - start
            env_warm = median_seconds(lambda: cache.ensure(requirements), repeats)
            manifest = Manifest.read(root)
            container = VenvContainer()

            options = VenvOptions(cache_dir=work / "venvs")

            def start_worker() -> None:
                container.load(root, manifest, options).close()

            worker_start = median_seconds(start_worker, max(3, repeats // 4))
            results: dict[str, Any] = {
                "env_cold_s": env_cold,
                "env_warm_s": env_warm,
                "worker_start_s": worker_start,
            }
            python = str(EnvCache.python(cache.ensure(requirements)))
            script = work / "baseline.py"
            script.write_text(BASELINE)
            with container.load(root, manifest, options) as model:
                for rows in (1, 10_000):
                    batch = X[:rows]
                    ours = median_seconds(lambda b=batch: model.predict(b), repeats * 5)
                    data, out = work / f"in{rows}.npy", work / f"out{rows}.npy"
                    np.save(data, batch)
                    command = [python, str(script), str(root), "CentroidModel", str(data), str(out)]

                    def per_call(cmd: list[str] = command) -> None:
                        subprocess.run(cmd, check=True, capture_output=True)

                    base = median_seconds(per_call, max(3, repeats // 2))
                    assert np.array_equal(np.load(out), model.predict(batch))
                    results[f"predict_{rows}"] = {"ours_s": ours, "baseline_s": base}
            results["sandbox"] = sandbox_cost(root, manifest, cache, requirements, X, repeats)
    machine = f"{platform.platform()} | {os.cpu_count()} CPUs | Python {platform.python_version()}"
    print(f"machine: {machine}")
    print("venv container (long-lived worker) vs a fresh interpreter per predict call")
    header = f"{'step':<34} {'ours':>12} {'per-call process':>17} {'speed-up':>9}"
    print(header)
    print("-" * len(header))
    print(f"{'environment, cold (empty cache)':<34} {env_cold:>11.3f}s")
    print(f"{'environment, warm (reused)':<34} {env_warm * 1000:>10.2f}ms")
    print(f"{'worker start (import + build)':<34} {worker_start * 1000:>10.1f}ms")
    for rows in (1, 10_000):
        r = results[f"predict_{rows}"]
        print(
            f"{f'predict round trip, {rows:,} x {D}':<34} {r['ours_s'] * 1000:>10.2f}ms "
            f"{r['baseline_s'] * 1000:>15.1f}ms {r['baseline_s'] / r['ours_s']:>8.0f}x"
        )
    one = results["predict_1"]
    verdicts = [
        ("warm round trip < 5 ms (1 row)", one["ours_s"] < 0.005),
        (">= 20x a process per call (1 row)", one["baseline_s"] / one["ours_s"] >= 20),
        ("warm environment reuse < 1 s", env_warm < 1.0),
    ]
    for goal, met in verdicts:
        print(f"goal {goal}: {'MET' if met else 'MISSED'}")
    print_sandbox_cost(results["sandbox"])
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps({"machine": machine, **results}, indent=2))
    return 0


def sandbox_cost(
    root: Path,
    manifest: Manifest,
    cache: EnvCache,
    requirements: list[str],
    X: np.ndarray,
    repeats: int,
) -> dict[str, Any]:
    """Worker start and round trips, sandboxed vs unsandboxed (same environment)."""
    reason = sandbox.available()
    if reason is not None:
        return {"unavailable": reason}
    env = cache.ensure(requirements)

    def load(sandboxed: bool) -> ProcessModel:
        return ProcessModel(
            EnvCache.python(env),
            root,
            manifest,
            VenvOptions(),
            sandboxed=sandboxed,
            visible=EnvCache.visible(env),
        ).started()

    found: dict[str, Any] = {}
    for sandboxed in (True, False):
        key = "sandboxed" if sandboxed else "unsandboxed"
        found.setdefault("worker_start", {})[key] = median_seconds(
            lambda b=sandboxed: load(b).close(), max(3, repeats // 4)
        )
        with load(sandboxed) as model:
            for rows in (1, 10_000):
                batch = X[:rows]
                found.setdefault(f"predict_{rows}", {})[key] = median_seconds(
                    lambda b=batch, m=model: m.predict(b), repeats * 5
                )
    return found


def print_sandbox_cost(cost: dict[str, Any]) -> None:
    print()
    if "unavailable" in cost:
        print(f"sandbox cost: not measured, {cost['unavailable']}")
        return
    print("sandbox cost: worker in its bubblewrap sandbox vs the same worker unsandboxed")
    header = f"{'step':<34} {'sandboxed':>12} {'unsandboxed':>12} {'ratio':>7}"
    print(header)
    print("-" * len(header))
    for step, label in (
        ("worker_start", "worker start (import + build)"),
        ("predict_1", f"predict round trip, 1 x {D}"),
        ("predict_10000", f"predict round trip, 10,000 x {D}"),
    ):
        ours, base = cost[step]["sandboxed"], cost[step]["unsandboxed"]
        print(f"{label:<34} {ours * 1000:>10.2f}ms {base * 1000:>10.2f}ms {ours / base:>6.2f}x")


if __name__ == "__main__":
    raise SystemExit(main())

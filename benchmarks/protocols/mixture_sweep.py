"""How the search's mixture (size, method, weights) changes reuse accuracy, per protocol.

Run on an export of either protocol::

    python benchmarks/protocols/table_digits.py --export /tmp/digits-export
    python benchmarks/protocols/mixture_sweep.py /tmp/digits-export
    python benchmarks/protocols/image_mnist.py --curve-users 0 --export /tmp/mnist-export \
        --export-users 100
    python benchmarks/protocols/mixture_sweep.py /tmp/mnist-export --users 20

It builds a market of the export's learnwares (their models and RKME files, in-process),
then for every user and every search setting of ``SETTINGS`` (the ``rkme`` searcher's
``mixture``, ``max_search_num``, ``mixture_candidates``, ``min_improvement``) searches with
the user's RKME (K and gamma of the learnwares' RKMEs) and reuses the mixture through
``market.reuser``: the job selector (its defaults; with the mixture's weights and with
uniform weights) and averaging (unweighted softmax; weighted by the mixture). Prints mean
accuracy, mean mixture size and median seconds per setting, and writes the raw JSON.
``--quick`` runs two settings on three users.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import attrs
import numpy as np

RESULTS = Path(__file__).resolve().parents[1] / "results"

#: (label, rkme search options); the first is the searcher's default
SETTINGS: list[tuple[str, dict[str, Any]]] = [
    ("default", {}),
    ("greedy, <= 3 of 10", {"mixture": "greedy", "max_search_num": 3, "mixture_candidates": 10}),
    (
        "greedy, <= 5 of 10 (previous)",
        {"mixture": "greedy", "max_search_num": 5, "mixture_candidates": 10},
    ),
    (
        "greedy, <= 10 of 20, no stop",
        {"mixture": "greedy", "max_search_num": 10, "mixture_candidates": 20, "min_improvement": 0},
    ),
    ("oneshot, <= 5 of 10", {"mixture": "oneshot", "max_search_num": 5, "mixture_candidates": 10}),
    (
        "oneshot, <= 10 of 20",
        {"mixture": "oneshot", "max_search_num": 10, "mixture_candidates": 20},
    ),
    (
        "oneshot, <= 20 of 30",
        {"mixture": "oneshot", "max_search_num": 20, "mixture_candidates": 30},
    ),
]

#: (key, reuser, options, weights) run on every mixture: "mixture" keeps the search's
#: weights, "uniform" replaces them by equal ones
REUSERS: list[tuple[str, str, dict[str, Any], str]] = [
    ("job_selector", "job-selector", {}, "mixture"),
    ("job_selector_uniform", "job-selector", {}, "uniform"),
    ("averaging", "averaging", {}, "mixture"),
    ("averaging_weighted", "averaging", {"weighted": True}, "mixture"),
]


def build_market(export: Path, tmp: Path) -> tuple[Any, dict[str, int], Any]:
    """A market of the export's learnwares; their ids to the export's numbers; one RKME."""
    from class_mixtures import digit_semantic
    from table_digits import MODEL_SOURCE

    from learnware_dock import Market
    from learnware_dock.package.writer import write_folder, zip_folder
    from learnware_dock_rkme import RKMETableSpecification

    market = Market(tmp / "market")
    index: dict[str, int] = {}
    count = len(list((export / "learnwares").iterdir()))
    spec = None
    for n in range(count):
        source = export / "learnwares" / str(n)
        spec = RKMETableSpecification.load(source / "rkme.json")
        folder = write_folder(
            tmp / f"lw{n}",
            model_source=MODEL_SOURCE,
            class_name="ProbaModel",
            stat_specs={"rkme.json": spec},
            files={"model.joblib": (source / "model.joblib").read_bytes()},
            requirements="scikit-learn\njoblib\nnumpy\n",
        )
        semantic = digit_semantic(f"learnware {n}", spec.dimension)
        index[market.add(zip_folder(folder, tmp / f"lw{n}.zip"), semantic).id] = n
    return market, index, spec


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("export", type=Path, help="a folder written by a protocol's --export")
    parser.add_argument("--users", type=int, default=None, help="only the first N users")
    parser.add_argument("--quick", action="store_true", help="two settings, three users")
    parser.add_argument("--output", type=Path, default=RESULTS / "mixture_sweep.json")
    args = parser.parse_args(argv)
    os.environ.setdefault("DOCK_DISABLE_PLUGINS", "isolation")  # our own models: in-process
    from learnware_dock import UserInfo
    from learnware_dock_rkme import RKMETableSpecification

    settings = SETTINGS[:2] if args.quick else SETTINGS
    users = json.loads((args.export / "users.json").read_text())[: 3 if args.quick else args.users]
    started = time.perf_counter()
    market, index, some_spec = build_market(
        args.export, Path(tempfile.mkdtemp(prefix="dock-sweep-"))
    )
    K, gamma = len(some_spec.z), some_spec.gamma
    rows: list[dict[str, Any]] = []
    for u, user in enumerate(users):
        X, y = np.asarray(user["X"]), np.asarray(user["y"])
        spec = RKMETableSpecification.generate(X, K=K, gamma=gamma, seed=u)
        info = UserInfo(stat_specs={spec.name: spec})
        for label, search_options in settings:
            result = market.search(info, searcher="rkme", limit=10, **search_options)
            mixture = result.mixtures[0]
            row: dict[str, Any] = {
                "user": u,
                "setting": label,
                "members": [index[lw.id] for lw in mixture.learnwares],
                "weights": list(mixture.weights),
            }
            for key, name, options, weights in REUSERS:
                searched = result
                if weights == "uniform":
                    equal = tuple(1.0 / len(mixture.learnwares) for _ in mixture.learnwares)
                    searched = attrs.evolve(
                        result, mixtures=(attrs.evolve(mixture, weights=equal),)
                    )
                with market.reuser(
                    searched, name, options, container="inprocess", user_info=info
                ) as reuser:
                    t = time.perf_counter()
                    predicted = np.asarray(reuser.fit(X).predict(X))
                    row[f"{key}_seconds"] = time.perf_counter() - t
                row[f"{key}_accuracy"] = float((predicted == y).mean())
            rows.append(row)
        print(
            f"user {u}: "
            + ", ".join(
                f"{r['setting']} {len(r['members'])} lw js {r['job_selector_accuracy']:.3f}"
                for r in rows[-len(settings) :]
            ),
            flush=True,
        )
    market.close()
    machine = f"{platform.platform()} | {os.cpu_count()} CPUs | Python {platform.python_version()}"
    print(f"\nmachine: {machine}")
    print(f"{args.export}: {len(users)} users, RKME K = {K}, gamma = {gamma:g}")
    keys = [key for key, _, _, _ in REUSERS]
    header = f"{'search setting':<30} {'size':>5} " + " ".join(f"{k:>21}" for k in keys)
    print(header + f" {'js median s':>12}")
    print("-" * len(header + " " * 13))
    for label, _ in settings:
        mine = [r for r in rows if r["setting"] == label]
        size = np.mean([len(r["members"]) for r in mine])
        accs = " ".join(f"{np.mean([r[f'{k}_accuracy'] for r in mine]):>21.3f}" for k in keys)
        js_s = statistics.median(r["job_selector_seconds"] for r in mine)
        print(f"{label:<30} {size:>5.2f} {accs} {js_s:>12.3f}")
    total_s = time.perf_counter() - started
    print(f"whole sweep {total_s:.1f} s")
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps({"machine": machine, "rows": rows, "total_s": total_s}))
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

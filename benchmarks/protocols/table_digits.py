"""The digits protocol: data-free reuse of a market's learnwares on scikit-learn's digits.

Run ``python benchmarks/protocols/table_digits.py`` (``--quick`` for a CI smoke run).

Data: scikit-learn's bundled 8x8 handwritten digits (1,797 images, offline), features
``data / 16.0`` (64 dimensions), split in half per class: a learnware pool and a user pool.

* 50 learnwares: each a scikit-learn ``LogisticRegression`` trained on 200 rows of 4
  classes in proportions 0.4 : 0.4 : 0.1 : 0.1; it returns probabilities over the 10
  digits and ships an RKME of its training rows (K = 100, gamma = 0.1: the `learnware`
  package's defaults). They are packaged (the model as a joblib file) and added to a real
  market; their models run in this process (container ``inprocess``).
* 20 users: 300 rows of 6 classes in proportions 0.3 : 0.3 : 0.1 x 4 from the user pool,
  searched with the ``rkme`` searcher (its default mixture: up to 10 of the best 20).
* Data-free, per user: Mean in Market and Best in Market (oracle) over all learnwares,
  Top-1 Reuse (the best single of the search), and through ``market.reuser(result, NAME,
  options)``: the job selector with its defaults (kernel logistic router on the RKMEs' reduced
  sets) and as it was (``router=boosting``, ``pseudo_samples=herding``), averaging with its
  defaults (unweighted, softmax), weighted without softmax and unweighted without softmax.
  For both job selectors, the routing accuracy: the share of rows sent to a member that
  was trained on the row's class. Seconds: each reuser's fit + predict on the user's rows
  (its models already loaded); opening a reuser (loading the models) is reported apart.

Prints one table (method, mean accuracy, median seconds), one row per user, the machine
and the wall time; writes the raw JSON to ``benchmarks/results/``. ``--export DIR`` writes
users and learnwares for ``anchor_job_selector.py`` (the `learnware` package's job
selector and averaging on the same data, models and RKME files).
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

import numpy as np
from class_mixtures import ProbaModel, digit_semantic, draw
from learnware_zips import package_learnware

RESULTS = Path(__file__).resolve().parents[1] / "results"
FEATURES, K_RKME, GAMMA = 64, 100, 0.1

#: the package's model: the learnware's logistic regression, probabilities over 10 digits
MODEL_SOURCE = '''
import os

import joblib
import numpy as np


class ProbaModel:
    """Probabilities over all 10 digits (zeros for the digits it was not trained on)."""

    def __init__(self):
        here = os.path.dirname(os.path.abspath(__file__))
        self.model = joblib.load(os.path.join(here, "model.joblib"))

    def predict(self, X):
        out = np.zeros((len(X), 10))
        out[:, self.model.classes_] = self.model.predict_proba(X)
        return out
'''

#: (key, reuser, options) of every reuser run per user
REUSERS: list[tuple[str, str, dict[str, Any]]] = [
    ("job_selector", "job-selector", {}),
    ("job_selector_boosting", "job-selector", {"router": "boosting", "pseudo_samples": "herding"}),
    ("averaging", "averaging", {}),
    ("averaging_weighted_raw", "averaging", {"weighted": True, "softmax": False}),
    ("averaging_raw", "averaging", {"weighted": False, "softmax": False}),
]

NAMES = {
    "mean": "Mean in Market",
    "best": "Best in Market (oracle)",
    "top1": "Top-1 Reuse",
    "job_selector": "Job selector (kernel logistic, reduced sets)",
    "job_selector_boosting": "Job selector (boosting, herding)",
    "averaging": "Averaging (unweighted, softmax)",
    "averaging_weighted_raw": "Averaging (weighted, no softmax)",
    "averaging_raw": "Averaging (unweighted, no softmax)",
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="10 learnwares, 4 users")
    parser.add_argument("--learnwares", type=int, default=50)
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--output", type=Path, default=RESULTS / "table_digits.json")
    parser.add_argument(
        "--export",
        type=Path,
        help="also write the first --export-users users (data, mixture, our job selector's "
        "and averaging's accuracy and time) and every learnware (RKME JSON, model) for "
        "anchor_job_selector.py",
    )
    parser.add_argument("--export-users", type=int, default=20)
    args = parser.parse_args(argv)
    if args.quick:
        args.learnwares, args.users = 10, 4
    os.environ.setdefault("DOCK_DISABLE_PLUGINS", "isolation")  # our own models: in-process
    import joblib
    from sklearn.datasets import load_digits
    from sklearn.linear_model import LogisticRegression

    from learnware_dock import Market, UserInfo
    from learnware_dock_reuse import JobSelectorReuser
    from learnware_dock_rkme import RKMETableSpecification

    started = time.perf_counter()
    rng = np.random.default_rng(args.seed)
    digits = load_digits()
    X, labels = digits.data / 16.0, digits.target
    learnware_pool, user_pool = [], []
    for c in range(10):
        rows = rng.permutation(np.flatnonzero(labels == c))
        learnware_pool += rows[: len(rows) // 2].tolist()
        user_pool += rows[len(rows) // 2 :].tolist()
    by_class_lw = {c: np.array([i for i in learnware_pool if labels[i] == c]) for c in range(10)}
    by_class_user = {c: np.array([i for i in user_pool if labels[i] == c]) for c in range(10)}

    # -- the market -----------------------------------------------------------------------
    models: list[ProbaModel] = []
    specs: list[RKMETableSpecification] = []
    trained_on: list[set[int]] = []
    tmp = Path(tempfile.mkdtemp(prefix="dock-digits-"))
    market = Market(tmp / "market")
    ids: list[str] = []
    build_start = time.perf_counter()
    for n in range(args.learnwares):
        classes = rng.choice(10, 4, replace=False).tolist()
        rows = draw(by_class_lw, classes, [0.4, 0.4, 0.1, 0.1], 200, rng)
        model = ProbaModel(LogisticRegression(max_iter=500).fit(X[rows], labels[rows]))
        spec = RKMETableSpecification.generate(X[rows], K=K_RKME, gamma=GAMMA, seed=n)
        models.append(model)
        specs.append(spec)
        trained_on.append(set(classes))
        package = package_learnware(tmp / f"lw{n}", spec, model.model, MODEL_SOURCE, "ProbaModel")
        ids.append(market.add(package, digit_semantic(f"digits {classes}", FEATURES)).id)
    index = {lw_id: n for n, lw_id in enumerate(ids)}
    build_s = time.perf_counter() - build_start

    # -- users, data-free ------------------------------------------------------------------
    methods = ["mean", "best", "top1", *(key for key, _, _ in REUSERS)]
    accuracy: dict[str, list[float]] = {m: [] for m in methods}
    seconds: dict[str, list[float]] = {"search": [], "open": []}
    seconds.update({key: [] for key, _, _ in REUSERS})
    routing: dict[str, list[float]] = {"job_selector": [], "job_selector_boosting": []}
    per_user: list[dict[str, Any]] = []
    exported: list[dict[str, Any]] = []
    for u in range(args.users):
        classes = rng.choice(10, 6, replace=False).tolist()
        test = draw(by_class_user, classes, [0.3, 0.3, 0.1, 0.1, 0.1, 0.1], 300, rng)
        Xu, yu = X[test], labels[test]
        each = [float((m.predict(Xu).argmax(1) == yu).mean()) for m in models]
        accuracy["mean"].append(float(np.mean(each)))
        accuracy["best"].append(float(np.max(each)))
        t = time.perf_counter()
        user_spec = RKMETableSpecification.generate(Xu, K=K_RKME, gamma=GAMMA, seed=u)
        info = UserInfo(stat_specs={user_spec.name: user_spec})
        result = market.search(info, searcher="rkme", limit=10)
        seconds["search"].append(time.perf_counter() - t)
        accuracy["top1"].append(each[index[result.singles[0].learnware.id]])
        members = [index[lw.id] for lw in result.mixtures[0].learnwares]
        for key, name, options in REUSERS:
            t = time.perf_counter()
            with market.reuser(
                result, name, options, container="inprocess", user_info=info
            ) as reuser:
                seconds["open"].append(time.perf_counter() - t)
                t = time.perf_counter()
                predicted = reuser.fit(Xu).predict(Xu)
                seconds[key].append(time.perf_counter() - t)
                accuracy[key].append(float((np.asarray(predicted) == yu).mean()))
                if key in routing:
                    assert isinstance(reuser, JobSelectorReuser)
                    routes = reuser.route(Xu)
                    right = [yu[i] in trained_on[members[r]] for i, r in enumerate(routes)]
                    routing[key].append(float(np.mean(right)))
        row: dict[str, Any] = {
            "user": u,
            "classes": classes,
            "members": members,
            **{f"{m}_accuracy": accuracy[m][-1] for m in methods},
            **{f"{k}_routing": v[-1] for k, v in routing.items()},
            **{f"{key}_seconds": seconds[key][-1] for key, _, _ in REUSERS},
        }
        per_user.append(row)
        if args.export is not None and u < args.export_users:
            exported.append(
                {
                    "X": Xu.tolist(),
                    "y": yu.tolist(),
                    "members": members,
                    "ours_accuracy": accuracy["job_selector"][-1],
                    "ours_seconds": seconds["job_selector"][-1],
                    "ours_averaging_accuracy": accuracy["averaging"][-1],
                    "ours_averaging_seconds": seconds["averaging"][-1],
                }
            )
    market.close()
    total_s = time.perf_counter() - started
    if args.export is not None:
        for n, (model, spec) in enumerate(zip(models, specs, strict=True)):
            folder = args.export / "learnwares" / str(n)
            folder.mkdir(parents=True, exist_ok=True)
            spec.save(folder / "rkme.json")
            joblib.dump(model.model, folder / "model.joblib")
        (args.export / "users.json").write_text(json.dumps(exported))

    # -- report ----------------------------------------------------------------------------
    machine = f"{platform.platform()} | {os.cpu_count()} CPUs | Python {platform.python_version()}"
    print(f"machine: {machine}")
    print(
        f"digits (scikit-learn, 1,797 real 8x8 digits): {args.learnwares} learnwares, "
        f"{args.users} users, RKME K = {K_RKME}, gamma = {GAMMA}, the searcher's mixtures"
    )
    print(f"{'method':<40} {'accuracy':>9} {'std':>7} {'routing':>8} {'median s':>9}")
    print("-" * 77)
    for m in methods:
        values = accuracy[m]
        route = f"{np.mean(routing[m]):.3f}" if m in routing else "-"
        median = f"{statistics.median(seconds[m]):.3f}" if m in seconds else "-"
        print(
            f"{NAMES[m]:<40} {np.mean(values):>9.3f} {np.std(values):>7.3f} {route:>8} {median:>9}"
        )
    print(
        f"search: median {statistics.median(seconds['search']):.3f} s per user; opening a "
        f"reuser (loading its models): median {statistics.median(seconds['open']):.3f} s"
    )
    print("\nper user (accuracy; routing = rows sent to a member trained on their class):")
    print(
        f"{'user':>4} {'members':>7} {'mean':>6} {'top1':>6} {'js':>6} {'js route':>8} "
        f"{'js-boost':>8} {'boost route':>11} {'avg':>6} {'js s':>6} {'boost s':>7} {'avg s':>6}"
    )
    for row in per_user:
        print(
            f"{row['user']:>4} {len(row['members']):>7} {row['mean_accuracy']:>6.3f} "
            f"{row['top1_accuracy']:>6.3f} {row['job_selector_accuracy']:>6.3f} "
            f"{row['job_selector_routing']:>8.3f} {row['job_selector_boosting_accuracy']:>8.3f} "
            f"{row['job_selector_boosting_routing']:>11.3f} {row['averaging_accuracy']:>6.3f} "
            f"{row['job_selector_seconds']:>6.3f} {row['job_selector_boosting_seconds']:>7.3f} "
            f"{row['averaging_seconds']:>6.3f}"
        )
    print(f"\nmarket built in {build_s:.1f} s; whole protocol {total_s:.1f} s")
    raw = {
        "machine": machine,
        "args": {k: str(v) for k, v in vars(args).items()},
        "accuracy": accuracy,
        "routing": routing,
        "seconds": seconds,
        "per_user": per_user,
        "build_s": build_s,
        "total_s": total_s,
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(raw, indent=2))
    print(f"wrote {args.output}")
    if args.export is not None:
        print(f"exported {len(exported)} users and {len(models)} learnwares to {args.export}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

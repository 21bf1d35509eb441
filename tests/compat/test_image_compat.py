"""Image RKMEs both ways against the real ``learnware==0.4.0.post1`` package.

dock -> learnware: learnware's ``RKMEImageSpecification`` loads the dock's JSON, and its
``dist`` (and its own NNGP kernel module) gives the dock's numbers.
learnware -> dock: the dock loads specs that learnware's own generator wrote, a dock market
of learnware-layout image packages searches them with ``rkme-image``, and accepts such a
package (its model run in the venv container).

Data: sklearn's 8 x 8 digits (X / 16, N x 1 x 8 x 8) in three groups of classes, the first
500 rows of a fixed permutation for the learnwares, rows 1000-1500 for the users. learnware
gets them resized to 32 x 32 by the dock's ``resize`` (its generator would resize them the
same way, with torchvision, which the compat env lacks: see ``image_fixtures.py``).
All fits are small (K = 10, one net of 32 channels) so that both sides take seconds.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from sklearn.datasets import load_digits

from learnware_dock import Market, SemanticSpec, Status, UserInfo
from learnware_dock_image import RKMEImageSpecification, nngp_kernel
from learnware_dock_image.preprocess import resize, to_tensor

pytestmark = pytest.mark.compat

SCRIPT = Path(__file__).with_name("image_fixtures.py")
PREFIX = "compat-result: "
NAME = RKMEImageSpecification.name
GROUPS = {"012": (0, 1, 2), "345": (3, 4, 5), "6789": (6, 7, 8, 9)}
CONFIG = {"k": 2, "mu": 0, "sigma": None, "net_width": 16, "net_depth": 3}
#: learnware's fit. Its generator never moves Z (0.4.0.post1: z does not require grad, so
#: AdaBelief has nothing to step; see test_learnware_generator_keeps_z_at_its_start): Z is
#: its seeded noise and each step only refits beta under fresh random nets, so few steps do.
LEARNWARE_OPTIONS = {"K": 10, "steps": 3, "step_size": 0.1, "n_models": 1, "model_config": CONFIG}
# learnware's dist runs its kernel in float32 (z is float32, the conv weights a float32
# buffer; only the beta-weighted sum is float64). Each kernel value is then off by ~1e-7
# relative, so its dist is off by up to ~1e-7 of the terms that cancel in it (the self
# terms, ~10x the dist of the dock's two specs here); measured on those: 9e-9 absolute,
# 1.3e-8 of the terms, 1.5e-7 of the dist.
F32_TERMS_RTOL = 1e-6
# ... except for pairs of (nearly) equal images, as two of learnware's specs are (the same
# Z): the ReLU's sine sqrt(v1 v2 - c^2) then cancels to ~0 in float32, and its error is
# ~sqrt(float32 eps) / (2 pi) ~ 5e-5 of the kernel. Measured: 3.2e-6 absolute, 5e-6 of the
# terms, 4% of a dist of 7.8e-5 (same digits) and 0.02% of one of 2.2e-2 (other digits).
F32_EQUAL_IMAGES_RTOL = 5e-5
# learnware's kernel code in float64 with exact weights vs the dock's (float64): the same
# formulas in another order (the ReLU's sine as sqrt(v1 v2 - c^2), not sqrt(1 - cos^2)
# sqrt(v1 v2)). Measured 4e-16 on the dock's specs; on (nearly) equal images the sine's
# cancellation costs ~sqrt(float64 eps) / (2 pi) ~ 2e-9 (measured 2.5e-10 of the terms).
F64_RTOL = 1e-12
F64_EQUAL_IMAGES_RTOL = 1e-8


@pytest.fixture(autouse=True, scope="module")
def one_torch_thread() -> Iterator[None]:
    """The dock's kernels on these tiny specs run faster on one thread than two on a busy
    machine (the session fixtures set it themselves, being set up first)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def run_script(request: dict[str, Any], folder: Path) -> dict[str, dict[str, Any]]:
    """Run ``image_fixtures.py run`` on ``request``; its result lines, by name."""
    path = folder / "request.json"
    path.write_text(json.dumps(request), "utf-8")
    proc = subprocess.run(
        [sys.executable, str(SCRIPT), "run", str(path)],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    if proc.returncode != 0:
        pytest.fail(
            f"image_fixtures.py exited {proc.returncode}\n"
            f"--- stdout ---\n{proc.stdout[-4000:]}\n--- stderr ---\n{proc.stderr[-8000:]}"
        )
    results = {}
    for line in proc.stdout.splitlines():
        if line.startswith(PREFIX):
            record = json.loads(line[len(PREFIX) :])
            results[record["name"]] = record
    assert "done" in results, proc.stdout[-4000:]
    return results


def explain(record: dict[str, Any]) -> str:
    return "\n".join(f"{c['checker']}: {c['status']} {c['message']}" for c in record["checks"])


@pytest.fixture(scope="session")
def digit_images() -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]:
    """Images (N x 1 x 8 x 8 in [0, 1]), labels, and the rows of each learnware and user."""
    X, y = load_digits(return_X_y=True)
    images = (X / 16.0).reshape(-1, 1, 8, 8)
    order = np.random.default_rng(0).permutation(len(X))
    rows = {}
    for group, classes in GROUPS.items():
        for part, block in (("train", order[:500]), ("user", order[1000:1500])):
            rows[f"{part}_{group}"] = np.sort(block[np.isin(y[block], classes)])
    return images, y, rows


@pytest.fixture(scope="session")
def dock_specs(
    tmp_path_factory: pytest.TempPathFactory,
    digit_images: tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]],
) -> dict[str, Path]:
    """The dock's specs of two users' images (the learnware side reads these)."""
    images, _, rows = digit_images
    out = tmp_path_factory.mktemp("dock-image-specs")
    paths = {}
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # tiny nets: one thread beats two on a busy machine
    try:
        for seed, group in enumerate(("012", "345"), start=1):
            spec = RKMEImageSpecification.generate(
                images[rows[f"user_{group}"]], K=10, steps=10, n_models=1, net_width=16, seed=seed
            )
            paths[f"dock_{group}"] = out / f"dock_{group}.json"
            spec.save(paths[f"dock_{group}"])
    finally:
        torch.set_num_threads(threads)
    return paths


@pytest.fixture(scope="session")
def learnware_image(
    tmp_path_factory: pytest.TempPathFactory,
    digit_images: tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]],
    dock_specs: dict[str, Path],
) -> tuple[Path, dict[str, dict[str, Any]]]:
    """learnware's side, both directions, in one subprocess: its folder and result lines."""
    images, _, rows = digit_images
    out = tmp_path_factory.mktemp("learnware-image")
    np.save(out / "images32.npy", resize(to_tensor(images)).numpy())
    generate = {
        f"{part}_{g}": rows[f"{part}_{g}"].tolist() for part in ("train", "user") for g in GROUPS
    }
    request = {
        "out": str(out),
        "images": str(out / "images32.npy"),
        "options": LEARNWARE_OPTIONS,
        "generate": generate,
        "pairs": [["user_345", "train_345"], ["user_345", "train_012"]],
        "zips": [f"train_{g}" for g in GROUPS],
        "dock_specs": {name: str(path) for name, path in dock_specs.items()},
        "dock_pairs": [["dock_012", "dock_345"]],
    }
    return out, run_script(request, out)


# -- the dock writes, learnware reads ------------------------------------------------------------
@pytest.mark.parametrize("name", ["dock_012", "dock_345"])
def test_learnware_reads_dock_image_json(
    learnware_image: tuple[Path, dict[str, dict[str, Any]]],
    dock_specs: dict[str, Path],
    name: str,
) -> None:
    out, records = learnware_image
    record = records[name]
    ours = RKMEImageSpecification.load(dock_specs[name])
    assert record["type"] == NAME
    assert record["z_shape"] == [10, 1, 32, 32] == list(ours.z.shape)
    assert (record["z_dtype"], record["beta_dtype"]) == ("float32", "float64")
    assert record["beta_sum"] == pytest.approx(1.0, abs=1e-9)
    assert record["beta_min"] >= 0.0
    assert record["n_models"] == ours.n_models == 1
    assert record["model_config"] == ours.model_config == CONFIG
    # what learnware read, saved back by learnware, is what the dock wrote
    back = RKMEImageSpecification.load(out / f"{name}.learnware.json")
    np.testing.assert_array_equal(back.z, ours.z)
    np.testing.assert_array_equal(back.beta, ours.beta)


def test_learnware_dist_of_dock_specs_is_the_docks(
    learnware_image: tuple[Path, dict[str, dict[str, Any]]], dock_specs: dict[str, Path]
) -> None:
    record = learnware_image[1]["dock_012|dock_345"]
    a, b = (RKMEImageSpecification.load(dock_specs[n]) for n in ("dock_012", "dock_345"))
    terms = a.inner(a) + b.inner(b)
    for key, ours in (("self_a", a.inner(a)), ("self_b", b.inner(b)), ("inner", a.inner(b))):
        assert record[key] == pytest.approx(ours, rel=F32_TERMS_RTOL), key
    expected = a.dist(b)
    assert expected > 0.01 * terms  # the specs differ: the check below is not vacuous
    for key in ("dist", "dist_reversed"):
        error = abs(record[key] - expected)
        assert error <= F32_TERMS_RTOL * terms, (key, record[key], expected, error / expected)
    assert record["dist64"] == pytest.approx(expected, rel=0.0, abs=F64_RTOL * terms)


@pytest.mark.parametrize("pair", [("dock_012", "dock_345"), ("dock_012", "dock_012")])
def test_learnware_nngp_kernel_is_the_docks(
    learnware_image: tuple[Path, dict[str, dict[str, Any]]],
    dock_specs: dict[str, Path],
    pair: tuple[str, str],
) -> None:
    """learnware's own kernel module, run in float64, gives the dock's Gram matrices; the
    only difference is its conv weight sqrt(2) / 9 held in a float32 buffer (0.1571348459
    for 0.1571348403), worth ~1e-7 relative through three layers (measured 9e-8)."""
    out = learnware_image[0]
    a, b = (RKMEImageSpecification.load(dock_specs[n]) for n in pair)
    za, zb = (torch.from_numpy(s.z.astype(np.float64)) for s in (a, b))
    ours = (nngp_kernel(za) if pair[0] == pair[1] else nngp_kernel(za, zb)).numpy()
    exact = np.load(out / f"{'__'.join(pair)}.exact.npy")
    shipped = np.load(out / f"{'__'.join(pair)}.shipped.npy")
    assert ours.shape == exact.shape == (10, 10)
    np.testing.assert_allclose(exact, ours, rtol=F64_RTOL, atol=0.0)
    shipped_error = np.abs(shipped / ours - 1.0).max()
    assert 1e-8 < shipped_error < 1e-6, shipped_error


# -- learnware writes, the dock reads ------------------------------------------------------------
@pytest.mark.parametrize("name", [f"{part}_{g}" for part in ("train", "user") for g in GROUPS])
def test_dock_reads_learnware_generated_image_spec(
    learnware_image: tuple[Path, dict[str, dict[str, Any]]], name: str
) -> None:
    out, records = learnware_image
    record = records[name]
    assert record["z_shape"] == [10, 1, 32, 32]
    path = out / f"{name}.json"
    raw = json.loads(path.read_text("utf-8"))
    assert raw["type"] == NAME and raw["RKME_IMAGE_VERSION"] == 1
    spec = RKMEImageSpecification.load(path)
    assert spec.z.shape == (10, 1, 32, 32)
    np.testing.assert_array_equal(spec.z, np.asarray(raw["z"], dtype=np.float32))
    np.testing.assert_array_equal(spec.beta, np.clip(raw["beta"], 0.0, None))
    assert spec.beta.sum() == pytest.approx(record["beta_sum"], abs=1e-9)
    assert (spec.n_models, spec.model_config) == (1, CONFIG)
    assert spec.dist(spec) == 0.0
    # the dock writes the package's keys back (learnware's extra "msg", null, aside)
    assert [k for k in raw if k != "msg"] == list(spec.to_json())


@pytest.mark.parametrize("pair", ["user_345|train_345", "user_345|train_012"])
def test_dock_dist_of_learnware_specs_is_learnwares(
    learnware_image: tuple[Path, dict[str, dict[str, Any]]], pair: str
) -> None:
    out, records = learnware_image
    record = records[pair]
    a, b = (RKMEImageSpecification.load(out / f"{n}.json") for n in pair.split("|"))
    terms = a.inner(a) + b.inner(b)
    ours = a.dist(b)
    assert ours > 1e-5 * terms  # not two copies of one spec
    assert record["dist64"] == pytest.approx(ours, rel=0.0, abs=F64_EQUAL_IMAGES_RTOL * terms)
    for key in ("dist", "dist_reversed"):  # learnware's own, float32 on equal images
        assert abs(record[key] - ours) <= F32_EQUAL_IMAGES_RTOL * terms, (key, record[key], ours)


def test_learnware_generator_keeps_z_at_its_start(
    learnware_image: tuple[Path, dict[str, dict[str, Any]]],
) -> None:
    """What the tolerances and the search below rest on: learnware 0.4.0.post1's specs of
    different images share one Z (its seeded noise; only beta is fitted)."""
    out = learnware_image[0]
    specs = [
        RKMEImageSpecification.load(out / f"{p}_{g}.json")
        for p in ("train", "user")
        for g in GROUPS
    ]
    for spec in specs[1:]:
        np.testing.assert_array_equal(spec.z, specs[0].z)
        assert np.abs(spec.beta - specs[0].beta).max() > 1e-3
    assert abs(float(specs[0].z.mean())) < 0.1 and float(specs[0].z.std()) == pytest.approx(
        1.0, abs=0.1
    )


def image_semantic(out: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((out / "semantic_image.json").read_text("utf-8"))
    return data


@pytest.mark.parametrize("group", list(GROUPS))
def test_learnware_accepts_its_own_image_zips(
    learnware_image: tuple[Path, dict[str, dict[str, Any]]], group: str
) -> None:
    """Guard against fixture rot: the image packages the dock reads are valid learnwares."""
    record = learnware_image[1][f"train_{group}.zip"]
    assert record["status_name"] == "USABLE", explain(record)
    assert record["stored_z_shape"] == [10, 1, 32, 32]


@pytest.fixture(scope="module")
def image_market(
    tmp_path_factory: pytest.TempPathFactory,
    learnware_image: tuple[Path, dict[str, dict[str, Any]]],
) -> tuple[Path, dict[str, str]]:
    """A dock market of the three learnware-written image packages, added without the
    isolation plugin (their models are not run: the last test does that); its root and ids."""
    out = learnware_image[0]
    semantic = image_semantic(out)
    root = tmp_path_factory.mktemp("image-market") / "m"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DOCK_DISABLE_PLUGINS", "isolation")
        with Market(root) as market:
            ids = {g: market.add(out / f"train_{g}.zip", semantic).id for g in GROUPS}
    return root, ids


@pytest.mark.parametrize("group", list(GROUPS))
def test_dock_market_searches_learnware_image_specs(
    image_market: tuple[Path, dict[str, str]],
    learnware_image: tuple[Path, dict[str, dict[str, Any]]],
    group: str,
) -> None:
    """learnware's spec of a user's digits finds, in the dock's market, the learnware whose
    learnware-written spec covers the same digits. (Not a spec the dock generated: the
    package's Z is noise, see above, so the dock's data-like Z is ~equally far from all.)"""
    root, ids = image_market
    spec = RKMEImageSpecification.load(learnware_image[0] / f"user_{group}.json")
    with Market(root) as market:
        result = market.search(UserInfo(stat_specs={NAME: spec}), searcher="rkme-image", limit=3)
        best = result.singles[0]
        stored = market.stat_spec(best.learnware, NAME)
    assert result.searcher == "rkme-image" and result.total == len(GROUPS)
    assert best.learnware.id == ids[group], [(m.learnware.id, m.distance) for m in result.singles]
    second = result.singles[1].distance
    assert best.distance is not None and second is not None and best.distance < second
    assert isinstance(stored, RKMEImageSpecification)
    assert best.distance == pytest.approx(spec.dist(stored), rel=1e-9)


def test_dock_market_accepts_learnware_image_zip(
    learnware_image: tuple[Path, dict[str, dict[str, Any]]], tmp_path: Path
) -> None:
    out = learnware_image[0]
    package = out / "train_345.zip"
    semantic = image_semantic(out)
    with Market(tmp_path / "market") as market:
        lw = market.add(package, semantic)
        # its model (a learnware BaseModel of 8 x 8 images) ran in the venv container
        assert lw.status is Status.USABLE, lw.report
        assert lw.report is not None
        stat = next(r for r in lw.report.results if r.checker == "stat")
        assert stat.status is Status.USABLE and "output (16, 10)" in stat.message
        assert lw.semantic_spec.to_dict() == semantic
        assert SemanticSpec.from_dict(semantic).data == ("Image",)
        stored = market.stat_spec(lw, NAME)
        ref = lw.stat_spec_ref(NAME)
        assert ref is not None
        stored_bytes = (market.root / ref.path).read_bytes()
    with zipfile.ZipFile(package) as zf:
        member = zf.read(ref.file)
    assert stored_bytes == member == (out / "train_345.json").read_bytes()
    assert ref.sha256 == hashlib.sha256(member).hexdigest()
    original = RKMEImageSpecification.load(out / "train_345.json")
    assert isinstance(stored, RKMEImageSpecification)
    np.testing.assert_array_equal(stored.z, original.z)
    np.testing.assert_array_equal(stored.beta, original.beta)

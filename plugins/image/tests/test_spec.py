"""The image RKME: JSON both ways, validation, generation (and the package's three defects,
fixed), and the exact NNGP kernel against Monte-Carlo random features."""

from __future__ import annotations

import importlib.metadata
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from learnware_dock.errors import SpecificationError
from learnware_dock_image import RKMEImageSpecification, nngp_kernel
from learnware_dock_image.features import draw_nets, random_features
from learnware_dock_image.nngp import DIST_KERNEL, FIT_KERNEL
from learnware_dock_image.preprocess import resize, standardise, to_tensor

PACKAGE_KEYS = ["RKME_IMAGE_VERSION", "z", "beta", "n_models", "model_config", "type"]


def test_plugin_is_installed() -> None:
    eps = importlib.metadata.entry_points(group="learnware_dock.plugins")
    assert "learnware_dock_image.hooks" in {ep.value for ep in eps if ep.name == "image"}


def small_spec(digits: np.ndarray, **options: Any) -> RKMEImageSpecification:
    settings = {"K": 6, "steps": 4, "n_models": 2, "net_width": 8, "seed": 0, **options}
    return RKMEImageSpecification.generate(digits, **settings)


def package_json(K: int = 3, C: int = 3, seed: int = 0) -> dict[str, Any]:
    """What the `learnware` package's ``save`` writes (its get_states: these keys, in
    this order; z float32 values, beta from its QP)."""
    rng = np.random.default_rng(seed)
    beta = rng.dirichlet(np.ones(K))
    return {
        "RKME_IMAGE_VERSION": 1,
        "z": rng.normal(size=(K, C, 32, 32)).astype(np.float32).tolist(),
        "beta": beta.tolist(),
        "n_models": 16,
        "model_config": {"k": 2, "mu": 0, "sigma": None, "net_width": 128, "net_depth": 3},
        "type": "RKMEImageSpecification",
    }


def test_json_round_trip_has_exactly_the_package_keys(
    tmp_path: Path, mnist: tuple[np.ndarray, np.ndarray]
) -> None:
    spec = small_spec(mnist[0][:60])
    spec.save(tmp_path / "spec.json")
    data = json.loads((tmp_path / "spec.json").read_text())
    assert list(data) == PACKAGE_KEYS
    assert np.asarray(data["z"]).shape == (6, 1, 32, 32)
    assert data["model_config"]["net_depth"] == 3 and data["n_models"] == 2
    loaded = RKMEImageSpecification.load(tmp_path / "spec.json")
    np.testing.assert_array_equal(loaded.z, spec.z)  # float32 values survive exactly
    np.testing.assert_array_equal(loaded.beta, spec.beta)
    assert loaded.dist(spec) == pytest.approx(0.0, abs=1e-12)


def test_a_package_written_json_loads_and_compares(tmp_path: Path) -> None:
    (tmp_path / "pkg.json").write_text(json.dumps(package_json(), separators=(",", ":")))
    spec = RKMEImageSpecification.load(tmp_path / "pkg.json")
    other = RKMEImageSpecification.from_json(package_json(K=4, seed=1))
    assert spec.channels == 3 and spec.depth == 3 and spec.dimension is None
    d = spec.dist(other)
    assert d > 0 and d == pytest.approx(other.dist(spec), rel=1e-12)
    assert json.loads(json.dumps(spec.to_json())) == spec.to_json()


def bad(**changes: Any) -> dict[str, Any]:
    data = package_json()
    data.update(changes)
    return data


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (bad(type="RKMETableSpecification"), "has type"),
        (bad(RKME_IMAGE_VERSION=2), "RKME_IMAGE_VERSION"),
        ({"beta": [1.0]}, "missing z"),
        (bad(z=np.zeros((3, 1, 28, 28)).tolist()), "K x C x 32 x 32"),
        (bad(z=np.zeros((3, 1024)).tolist()), "K x C x 32 x 32"),
        (bad(beta=[0.5, 0.5]), "K = 3 numbers"),
        (bad(beta=[0.7, 0.7, -0.4]), ">= 0"),
        (bad(beta=[0.2, 0.2, 0.2]), "sum to 1"),
        (bad(beta=[float("nan"), 0.5, 0.5]), "finite"),
        (bad(z=[[[["x"] * 32] * 32]] * 3), "numbers"),
        (bad(model_config={"net_depth": 6}), "net_depth"),
        (bad(model_config={"net_depth": 3, "colour": 1}), "unknown keys"),
        (bad(n_models=0), "n_models"),
    ],
)
def test_bad_json_is_refused_naming_the_problem(data: dict[str, Any], message: str) -> None:
    with pytest.raises(SpecificationError, match=message):
        RKMEImageSpecification.from_json(data)


def test_size_limits_are_checked_before_arrays_are_built(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOCK_MAX_SPEC_POINTS", "2")
    with pytest.raises(SpecificationError, match=r"3 points \(K\), over the limit of 2"):
        RKMEImageSpecification.from_json(package_json())
    monkeypatch.setenv("DOCK_MAX_SPEC_POINTS", "100")
    monkeypatch.setenv("DOCK_MAX_SPEC_DIMENSION", "2000")
    with pytest.raises(SpecificationError, match=r"3,072 features"):
        RKMEImageSpecification.from_json(package_json())


def test_generation_is_deterministic_and_leaves_global_rngs_alone(
    mnist: tuple[np.ndarray, np.ndarray],
) -> None:
    digits = mnist[0][:80]
    torch_state, numpy_state = torch.get_rng_state(), np.random.get_state()
    first, second = small_spec(digits), small_spec(digits)
    assert torch.equal(torch.get_rng_state(), torch_state)
    assert np.random.get_state()[1].tolist() == numpy_state[1].tolist()
    np.testing.assert_array_equal(first.z, second.z)
    np.testing.assert_array_equal(first.beta, second.beta)
    assert not np.array_equal(small_spec(digits, seed=1).z, first.z)
    assert first.beta.min() >= 0 and first.beta.sum() == pytest.approx(1.0)


def test_progress_is_reported_per_step(mnist: tuple[np.ndarray, np.ndarray]) -> None:
    calls: list[tuple[int, int]] = []
    small_spec(mnist[0][:30], progress=lambda done, total: calls.append((done, total)))
    assert calls == [(1, 4), (2, 4), (3, 4), (4, 4)]


def test_feature_rows_stay_with_their_images() -> None:
    """Defect (a): the package's DataLoader shuffled rows per net, pairing Z's features
    with the wrong beta. Here row i is image i's, under every net."""
    generator = torch.Generator().manual_seed(0)
    images = torch.randn(12, 1, 32, 32, generator=generator)
    nets = draw_nets(3, 1, 8, 3, FIT_KERNEL, generator)
    order = torch.randperm(12, generator=generator)
    together = random_features(nets, images, batch=5)
    assert torch.allclose(random_features(nets, images[order], batch=5), together[order])
    assert torch.allclose(random_features(nets, images[3:4]), together[3:4], atol=1e-6)


def test_reduce_false_keeps_every_image_with_uniform_weights(
    mnist: tuple[np.ndarray, np.ndarray],
) -> None:
    """Defect (b): the package's reduce=False crashed (``torch.to``)."""
    digits = mnist[0][:7]
    spec = RKMEImageSpecification.generate(digits, reduce=False)
    expected = standardise(resize(to_tensor(digits[:, None])))
    np.testing.assert_allclose(spec.z, expected.numpy(), atol=1e-6)
    np.testing.assert_allclose(spec.beta, np.full(7, 1 / 7))


def test_random_nets_never_take_gradients() -> None:
    """Defect (c): the package's random nets kept requires_grad, so every backward pass
    also filled gradients of 16 nets' weights. Only Z gets one here."""
    generator = torch.Generator().manual_seed(0)
    nets = draw_nets(2, 1, 8, 3, FIT_KERNEL, generator)
    z = torch.randn(4, 1, 32, 32, generator=generator, requires_grad=True)
    random_features(nets, z).sum().backward()  # type: ignore[no-untyped-call]
    assert z.grad is not None and z.grad.abs().sum() > 0
    params = [p for net in nets for p in net.parameters()]
    assert params and all(not p.requires_grad and p.grad is None for p in params)


def test_nngp_kernel_is_the_limit_of_wide_random_nets() -> None:
    """Monte Carlo: random ConvNets with random 2x2 pooling (weights N(0, 1/fan_in)),
    conv weights N(0, sqrt(2)/fan_in) and biases N(0, 0.1) converge to the exact kernel
    of ``dist``; the package's fitting nets (average pooling) converge to another."""
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(5, 3, 32, 32, generator=generator, dtype=torch.float64)
    x[1] = 0.8 * x[0] + 0.2 * x[1]  # a correlated pair
    exact = nngp_kernel(x)
    estimate = torch.zeros_like(exact)
    reps = 6
    with torch.no_grad():
        for _ in range(reps):
            nets = draw_nets(4, 3, 256, 3, DIST_KERNEL, generator, pooling="random")
            f = random_features(nets, x.float()).double()
            estimate += f @ f.T / reps
    assert (estimate - exact).abs().max() < 0.05 * exact.abs().max()
    with torch.no_grad():
        f = random_features(draw_nets(4, 3, 256, 3, DIST_KERNEL, generator), x.float()).double()
    assert (f @ f.T - exact).abs().max() > 0.2 * exact.abs().max()


def test_nngp_kernel_blocks_and_self_gram_agree() -> None:
    generator = torch.Generator().manual_seed(1)
    a = torch.randn(7, 1, 32, 32, generator=generator, dtype=torch.float64)
    b = torch.randn(5, 1, 32, 32, generator=generator, dtype=torch.float64)
    whole = nngp_kernel(a, b)
    assert torch.allclose(nngp_kernel(a, b, chunk_values=2048), whole, rtol=1e-12)
    own = nngp_kernel(a, chunk_values=3000)  # blocks straddle the diagonal
    assert torch.allclose(own, own.T, rtol=1e-12)
    assert torch.allclose(own, nngp_kernel(a, a.clone()), rtol=1e-9)
    assert torch.linalg.eigvalsh(own).min() > 0


def test_dist_separates_digit_classes(mnist: tuple[np.ndarray, np.ndarray]) -> None:
    X, y = mnist
    zeros, ones = X[y == 0], X[y == 1]
    a = small_spec(zeros[:100], steps=10, seed=0)
    b = small_spec(zeros[100:200], steps=10, seed=1)
    c = small_spec(ones[:100], steps=10, seed=2)
    assert a.dist(b) < a.dist(c)
    with pytest.raises(SpecificationError, match="1 and 3 channel"):
        a.dist(RKMEImageSpecification.from_json(package_json()))

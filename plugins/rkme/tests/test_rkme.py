"""RKMETableSpecification: generation, anchor-format JSON, validation, distance."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from learnware_dock.errors import SpecificationError
from learnware_dock.plugins import get_plugin_manager, list_plugins
from learnware_dock.registry import Components
from learnware_dock_rkme import RKMETableSpecification


def _two_blobs() -> tuple[np.ndarray, np.ndarray]:
    """Fixed data (constants, drawn once): A around 0, B around 3, in 5 features."""
    rng = np.random.default_rng(0)
    return rng.normal(0.0, 1.0, size=(400, 5)), rng.normal(3.0, 1.0, size=(400, 5))


A, B = _two_blobs()


def test_plugin_is_installed() -> None:
    infos = {i.name: i for i in list_plugins(get_plugin_manager())}
    assert infos["rkme"].status == "loaded" and infos["rkme"].distribution == "learnware-dock-rkme"
    registry = Components(get_plugin_manager()).specifications
    assert registry.get("RKMETableSpecification") is RKMETableSpecification


def test_generate_is_deterministic_and_on_the_simplex() -> None:
    first = RKMETableSpecification.generate(A, K=30, seed=3)
    second = RKMETableSpecification.generate(A, K=30, seed=3)
    assert np.array_equal(first.z, second.z) and np.array_equal(first.beta, second.beta)
    assert first.z.shape == (30, 5) and first.num_points == 400 and first.gamma == 0.1
    assert (first.beta >= 0).all() and abs(first.beta.sum() - 1) < 1e-9


def test_small_inputs_adapt_k() -> None:
    spec = RKMETableSpecification.generate(A[:7], K=100)
    assert spec.z.shape == (7, 5)


def test_distance_separates_distributions() -> None:
    a1 = RKMETableSpecification.generate(A[:200], K=40)
    a2 = RKMETableSpecification.generate(A[200:], K=40)
    b = RKMETableSpecification.generate(B, K=40)
    assert a1.dist(a1) == pytest.approx(0.0, abs=1e-12)
    assert a1.dist(a2) < a1.dist(b) and a1.dist(b) == pytest.approx(b.dist(a1))


def test_json_round_trip_uses_anchor_keys(tmp_path: Path) -> None:
    spec = RKMETableSpecification.generate(A, K=20)
    spec.save(tmp_path / "rkme.json")
    raw = json.loads((tmp_path / "rkme.json").read_text())
    assert list(raw) == ["z", "beta", "gamma", "num_points", "type"]
    assert raw["type"] == "RKMETableSpecification" and len(raw["z"]) == 20
    loaded = RKMETableSpecification.load(tmp_path / "rkme.json")
    assert loaded.dist(spec) == pytest.approx(0.0, abs=1e-12)


def test_missing_gamma_defaults_like_the_anchor() -> None:
    spec = RKMETableSpecification.from_json({"z": [[0.0, 1.0]], "beta": [[1.0]]})
    assert spec.gamma == 0.1 and spec.beta.shape == (1,)


@pytest.mark.parametrize(
    ("patch", "message"),
    [
        ({"z": [[float("nan"), 0.0], [1.0, 1.0]]}, "finite"),
        ({"beta": [0.7, 0.7]}, "sum to 1"),
        ({"beta": [1.5, -0.5]}, ">= 0"),
        ({"gamma": 0}, "gamma must be positive"),
        ({"beta": [1.0]}, "z must be K x d"),
        ({"type": "RKMEImageSpecification"}, "expected 'RKMETableSpecification'"),
        ({"z": "abc"}, "non-numeric|K x d"),
    ],
)
def test_invalid_json_is_refused(patch: dict[str, Any], message: str) -> None:
    data = {"z": [[0.0, 0.0], [1.0, 1.0]], "beta": [0.5, 0.5], "gamma": 0.1, **patch}
    with pytest.raises(SpecificationError, match=message):
        RKMETableSpecification.from_json(data)


def test_nan_literal_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "nan.json"
    path.write_text('{"z": [[NaN, 1.0]], "beta": [1.0], "gamma": 0.1}')
    with pytest.raises(SpecificationError, match=r"nan\.json: .*finite"):
        RKMETableSpecification.load(path)


def test_cleaning_replaces_non_finite_with_column_means() -> None:
    X = np.array([[1.0, np.inf], [3.0, 2.0], [np.nan, 4.0]])
    spec = RKMETableSpecification.generate(X, K=3)
    assert np.isfinite(spec.z).all()
    assert sorted(spec.z[:, 0].tolist()) == [1.0, 2.0, 3.0]
    with pytest.raises(SpecificationError, match=r"column\(s\) \[1\] hold no finite value"):
        RKMETableSpecification.generate(np.array([[1.0, np.nan], [2.0, np.inf]]))


def test_unknown_options_and_mismatched_specs_are_errors() -> None:
    with pytest.raises(SpecificationError, match="unknown RKME options: step_size"):
        RKMETableSpecification.generate(A, step_size=0.1)
    rng = np.random.default_rng(1)
    wide = RKMETableSpecification.generate(rng.normal(size=(20, 3)), K=5)
    with pytest.raises(SpecificationError, match="cannot compare"):
        wide.dist(RKMETableSpecification.generate(A, K=5))


def test_degenerate_kernel_is_detected_with_the_fix() -> None:
    from sklearn.datasets import load_digits

    from learnware_dock_rkme import DegenerateKernelWarning

    pixels = load_digits().data  # raw 0-16 values: gamma 0.1 makes the kernel vanish
    with pytest.warns(DegenerateKernelWarning, match=r"median kernel value .* gamma='median'"):
        RKMETableSpecification.generate(pixels[:300], K=10)
    spec = RKMETableSpecification.generate(pixels[:300], K=10, gamma="median")
    assert 1e-4 < spec.gamma < 1.0
    assert spec.to_json()["gamma"] == spec.gamma
    RKMETableSpecification.generate(pixels[:300] / 16.0, K=10)  # scaled: no warning


def test_progress_is_reported_and_bad_gamma_refused() -> None:
    seen: list[tuple[int, int]] = []
    RKMETableSpecification.generate(A, K=5, progress=lambda done, total: seen.append((done, total)))
    assert seen == [(i, 5) for i in range(1, 6)]
    with pytest.raises(SpecificationError, match="gamma must be a positive number"):
        RKMETableSpecification.generate(A, gamma=-1.0)


def squared_mmd_to_data(spec: RKMETableSpecification, X: np.ndarray) -> float:
    from learnware_dock_rkme.kernel import gaussian_kernel

    g = spec.gamma
    data_term = gaussian_kernel(X, X, g).mean()
    cross = spec.beta @ gaussian_kernel(spec.z, X, g).mean(axis=1)
    return float(data_term - 2 * cross + spec.beta @ gaussian_kernel(spec.z, spec.z, g) @ spec.beta)


def test_high_quality_is_closer_to_the_data_and_deterministic() -> None:
    X = np.random.default_rng(2).normal(size=(300, 4))
    fast = RKMETableSpecification.generate(X, K=10, seed=2)
    high = RKMETableSpecification.generate(X, K=10, seed=2, quality="high", steps=150)
    again = RKMETableSpecification.generate(X, K=10, seed=2, quality="high", steps=150)
    assert squared_mmd_to_data(high, X) < 0.5 * squared_mmd_to_data(fast, X)
    assert np.array_equal(high.z, again.z)
    assert (high.beta >= 0).all() and abs(high.beta.sum() - 1) < 1e-9
    with pytest.raises(SpecificationError, match="quality must be 'fast' or 'high'"):
        RKMETableSpecification.generate(X, quality="best")


def test_herding_samples_reproduce_the_summarised_distribution() -> None:
    rng = np.random.default_rng(4)
    data = np.vstack([rng.normal(-3, 1, (400, 3)), rng.normal(3, 1, (400, 3))])
    spec = RKMETableSpecification.generate(data, K=40, seed=0)
    samples = spec.herding_samples(200, seed=1)
    assert samples.shape == (200, 3)
    np.testing.assert_array_equal(samples, spec.herding_samples(200, seed=1))
    assert abs((samples[:, 0] > 0).mean() - 0.5) < 0.1  # both modes, in proportion
    again = RKMETableSpecification.generate(samples, K=40, seed=0)
    other = RKMETableSpecification.generate(rng.normal(-3, 1, (400, 3)), K=40, seed=0)
    assert spec.dist(again) < 0.1 * spec.dist(other)
    with pytest.raises(SpecificationError, match="at least 1"):
        spec.herding_samples(0)

"""RKMETableSpecification.probe_rows: the heaviest reduced-set points, for the checker."""

from __future__ import annotations

import numpy as np

from learnware_dock_rkme import RKMETableSpecification


def test_probe_rows_are_the_heaviest_points_in_weight_order() -> None:
    z = np.arange(12, dtype=np.float64).reshape(4, 3)
    beta = np.array([0.1, 0.4, 0.2, 0.3])
    spec = RKMETableSpecification(z, beta, 0.1, 100)
    rows = spec.probe_rows(2)
    assert rows.dtype == np.float64
    np.testing.assert_array_equal(rows, z[[1, 3]])
    np.testing.assert_array_equal(spec.probe_rows(10), z[[1, 3, 2, 0]])  # at most K rows
    assert spec.probe_rows(0).shape == (0, 3)


def test_probe_rows_of_a_generated_spec_lie_in_the_data() -> None:
    X = np.random.default_rng(4).normal(5.0, 1.0, size=(200, 4))
    spec = RKMETableSpecification.generate(X, K=20, seed=1)
    rows = spec.probe_rows(16)
    assert rows.shape == (16, 4)
    assert all((row == X).all(axis=1).any() for row in rows)  # herding picks data rows
    weights = [float(spec.beta[(spec.z == row).all(axis=1)][0]) for row in rows]
    assert weights == sorted(spec.beta.tolist(), reverse=True)[:16]

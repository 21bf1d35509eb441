"""Fitting the reduced set: K images Z and weights beta whose embedding matches the data's
under random ConvNet features (the `learnware` package's method).

Z starts as K of the data's images. Each step draws ``n_models`` fresh random nets
(:data:`FIT_KERNEL`, average pooling), computes the data's mean feature vector, takes 3
optimiser steps on Z against ``beta' K_zz beta - 2 beta' k_zx`` (``K = f f' + 0.01``),
then re-solves beta by the simplex QP. Z is optimised with torch's Adam (the package
uses AdaBelief from torch-optimizer, not a dependency here); the nets never require
gradients.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import attrs
import numpy as np

from learnware_dock_image.features import draw_nets, mean_features, random_features
from learnware_dock_image.nngp import FIT_KERNEL

if TYPE_CHECKING:
    import torch

    from learnware_dock_image.features import RandomConvNet

#: optimiser steps on Z per step (each with the step's nets)
INNER_STEPS = 3


@attrs.frozen
class FitOptions:
    """What :func:`fit_reduced_set` does; see :meth:`RKMEImageSpecification.generate`."""

    K: int
    steps: int
    step_size: float
    n_models: int
    width: int  # channels of every conv (the package's k * net_width)
    depth: int
    batch_size: int | None  # data images per step (None: all)


def fit_reduced_set(
    x: torch.Tensor,
    options: FitOptions,
    generator: torch.Generator,
    progress: Callable[[int, int], None] | None = None,
) -> tuple[torch.Tensor, np.ndarray]:
    """Z (K x C x 32 x 32, on ``x``'s device) and beta (float64) for the preprocessed
    images ``x``; deterministic for the generator's state."""
    import torch

    device = x.device
    channels = x.shape[1]

    def nets() -> list[RandomConvNet]:
        return draw_nets(
            options.n_models,
            channels,
            options.width,
            options.depth,
            FIT_KERNEL,
            generator,
            device,
        )

    def data_mean(current: list[RandomConvNet]) -> torch.Tensor:
        batch = x
        if options.batch_size is not None and options.batch_size < len(x):
            rows = torch.randperm(len(x), generator=generator, device=device)
            batch = x[rows[: options.batch_size]]
        return mean_features(current, batch)

    # start from K of the data's own images (the package starts from N(0, 1) noise, which
    # its fit under the random-feature kernel never leaves far enough: measured under the
    # exact kernel of ``dist`` it ended worse than K random images with equal weights)
    start = torch.randperm(len(x), generator=generator, device=device)[: options.K]
    z = x[start].clone()
    if len(z) < options.K:  # fewer images than K: the rest from noise
        noise = torch.randn((options.K - len(z), *x.shape[1:]), generator=generator, device=device)
        z = torch.cat([z, noise])
    z.requires_grad_(True)
    current = nets()
    beta = solve_beta(current, z, data_mean(current))
    optimiser = torch.optim.Adam([z], lr=options.step_size)
    for step in range(options.steps):
        current = nets()
        target = data_mean(current)
        weights = torch.as_tensor(beta, dtype=z.dtype, device=device)
        for _ in range(INNER_STEPS):
            fz = random_features(current, z)
            gram = fz @ fz.T + FIT_KERNEL.constant
            cross = fz @ target + FIT_KERNEL.constant
            loss = weights @ gram @ weights - 2.0 * weights @ cross
            optimiser.zero_grad()
            loss.backward()  # type: ignore[no-untyped-call]
            optimiser.step()
        beta = solve_beta(current, z, target)
        if progress is not None:
            progress(step + 1, options.steps)
    return z.detach(), beta


def solve_beta(nets: list[RandomConvNet], z: torch.Tensor, target: torch.Tensor) -> np.ndarray:
    """Simplex weights of Z's images against the data's mean features (float64)."""
    import torch

    from learnware_dock_rkme import simplex_weights

    with torch.no_grad():
        fz = random_features(nets, z).double()
        gram = (fz @ fz.T + FIT_KERNEL.constant).cpu().numpy()
        cross = (fz @ target.double() + FIT_KERNEL.constant).cpu().numpy()
    return simplex_weights((gram + gram.T) / 2.0, cross)

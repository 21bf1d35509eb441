"""Random ConvNet features: conv3x3 - ReLU - avgpool2x2, ``depth`` times, flattened.

With conv weights drawn N(mean, var_weight / fan_in) and biases N(0, var_bias), the
inner product of two images' features (divided by the feature count) is a Monte-Carlo
estimate of the ConvNet's GP kernel (:func:`learnware_dock_image.nngp.nngp_kernel`)
that converges as nets get wider and more numerous.

The nets are plain tensors that never require gradients (only the images do), built
from a ``torch.Generator`` (global RNGs untouched), and every image keeps its row: the
features of row i are those of image i (the `learnware` package shuffled rows per net).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Literal

import attrs

from learnware_dock_image.nngp import ConvKernel

if TYPE_CHECKING:
    import torch


#: "avg": average pooling (the package's fitting nets); "random": a random 2x2 stride-2
#: convolution (weights N(0, 1 / fan_in)), the pooling whose GP limit is the kernel the
#: package's ``dist`` computes (:mod:`learnware_dock_image.nngp`)
Pooling = Literal["avg", "random"]


@attrs.frozen(eq=False)
class RandomConvNet:
    """One random net: per layer a conv (weight, bias) and, for "random" pooling, a
    pooling weight; no tensor requires gradients."""

    layers: tuple[tuple[torch.Tensor, torch.Tensor], ...]
    pools: tuple[torch.Tensor, ...] = ()

    @classmethod
    def draw(
        cls,
        channels: int,
        width: int,
        depth: int,
        kernel: ConvKernel,
        generator: torch.Generator,
        *,
        device: torch.device | str = "cpu",
        pooling: Pooling = "avg",
    ) -> RandomConvNet:
        import torch

        layers, pools = [], []
        fan_in = channels
        for _ in range(depth):
            std = math.sqrt(kernel.var_weight / (fan_in * 9))
            weight = torch.randn(width, fan_in, 3, 3, generator=generator, device=device)
            bias = torch.randn(width, generator=generator, device=device)
            layers.append((weight.mul_(std), bias.mul_(math.sqrt(kernel.var_bias))))
            if pooling == "random":
                pool = torch.randn(width, width, 2, 2, generator=generator, device=device)
                pools.append(pool.mul_(math.sqrt(1.0 / (width * 4))))
            fan_in = width
        return cls(tuple(layers), tuple(pools))

    def parameters(self) -> list[torch.Tensor]:
        return [t for layer in self.layers for t in layer] + list(self.pools)

    def __call__(self, images: torch.Tensor) -> torch.Tensor:
        """n x (width * positions) features of n images, row i from image i."""
        import torch.nn.functional as F

        out = images
        for layer, (weight, bias) in enumerate(self.layers):
            out = F.relu(F.conv2d(out, weight, bias, padding=1))
            pooled = F.conv2d(out, self.pools[layer], stride=2) if self.pools else None
            out = F.avg_pool2d(out, 2) if pooled is None else pooled
        return out.flatten(1)


def draw_nets(
    count: int,
    channels: int,
    width: int,
    depth: int,
    kernel: ConvKernel,
    generator: torch.Generator,
    device: torch.device | str = "cpu",
    pooling: Pooling = "avg",
) -> list[RandomConvNet]:
    return [
        RandomConvNet.draw(
            channels, width, depth, kernel, generator, device=device, pooling=pooling
        )
        for _ in range(count)
    ]


def random_features(
    nets: Sequence[RandomConvNet], images: torch.Tensor, batch: int = 512
) -> torch.Tensor:
    """The images' features under every net, concatenated and scaled by 1/sqrt(count),
    so ``f(x) . f(y)`` estimates the kernel; computed in batches of ``batch`` images."""
    import torch

    parts = [
        torch.cat([net(images[s : s + batch]) for net in nets], dim=1)
        for s in range(0, images.shape[0], batch)
    ]
    features = torch.cat(parts)
    return features / math.sqrt(features.shape[1])


def mean_features(
    nets: Sequence[RandomConvNet], images: torch.Tensor, batch: int = 512
) -> torch.Tensor:
    """The mean feature vector of ``images`` (no gradients; memory: one batch)."""
    import torch

    with torch.no_grad():
        parts = [
            random_features(nets, images[s : s + batch], batch).sum(0)
            for s in range(0, images.shape[0], batch)
        ]
    return torch.stack(parts).sum(0) / images.shape[0]

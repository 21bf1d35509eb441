"""The exact CNN-GP (NNGP) kernel of the image RKME's ConvNet, in torch, batched over pairs.

The ConvNet is ``depth`` x (conv3x3 - ReLU - avgpool2x2) followed by a linear readout
over the remaining positions. For infinitely many channels, with conv weights of
variance ``var_weight / fan_in`` and biases of variance ``var_bias``, the covariance of
two images' activations at each position evolves layer by layer (Garriga-Alonso et al.,
ICLR 2019, "Deep Convolutional Networks as shallow Gaussian Processes"):

* input: ``c(p) = mean over channels of x(p) y(p)`` (and ``c_xx``, ``c_yy`` alike);
* conv3x3: ``var_bias + var_weight * mean of c over the 3x3 patch`` (zero padding, the
  mean always divides by 9);
* ReLU, the arc-cosine formula: ``(sqrt(c_xx c_yy - c^2) + (pi - theta) c) / (2 pi)``
  with ``cos(theta) = c / sqrt(c_xx c_yy)``; the variances halve;
* avgpool2x2: the mean of c over each 2x2 block; readout: the mean over positions.

The `learnware` package measures ``dist`` with this kernel at ``var_weight = sqrt(2)``,
``var_bias = 0.1`` (:data:`DIST_KERNEL`); the random nets it fits with have weight
variance ``2 / fan_in``, bias variance 0.01 and a +0.01 on the kernel
(:data:`FIT_KERNEL`): a related but different kernel of the same architecture.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import attrs

if TYPE_CHECKING:
    import torch

#: image side every image RKME works at
IMAGE_SIZE = 32
#: pair-positions per block of the kernel computation (512 KiB per float64 map)
CHUNK_VALUES = 1 << 16


@attrs.frozen
class ConvKernel:
    """Parameters of the ConvNet's (NN)GP kernel."""

    var_weight: float
    var_bias: float
    constant: float = 0.0  # added to every kernel value (the fit's random-feature kernel)


#: the kernel of the package's ``dist`` (its ``_build_ConvNet_NNGP``)
DIST_KERNEL = ConvKernel(math.sqrt(2.0), 0.1)
#: the limit of the package's fitting kernel (its ``_ConvNet_wide`` random nets)
FIT_KERNEL = ConvKernel(2.0, 0.01, 0.01)


def _conv(c: torch.Tensor, kernel: ConvKernel) -> torch.Tensor:
    import torch.nn.functional as F

    pooled = F.avg_pool2d(c, 3, stride=1, padding=1, count_include_pad=True)
    return pooled.mul_(kernel.var_weight).add_(kernel.var_bias)


def _relu(xy: torch.Tensor, sx: torch.Tensor, sy: torch.Tensor) -> torch.Tensor:
    """E[relu(u) relu(v)] for centred Gaussians of standard deviations sx, sy and
    covariance xy (``xy`` is overwritten)."""
    import torch

    scale = sx * sy
    cos = torch.div(xy, scale.clamp(min=1e-150)).clamp_(-1.0, 1.0)
    sin = torch.mul(cos, cos).neg_().add_(1.0).sqrt_().mul_(scale)
    return cos.acos_().neg_().add_(math.pi).mul_(xy).add_(sin).div_(2.0 * math.pi)


def _std_maps(x: torch.Tensor, depth: int, kernel: ConvKernel) -> list[torch.Tensor]:
    """Each image's standard deviation map before every ReLU (n x H x W each)."""
    import torch.nn.functional as F

    c = (x * x).mean(1, keepdim=True)
    maps = []
    for _ in range(depth):
        c = _conv(c, kernel)
        maps.append(c[:, 0].sqrt())
        c = F.avg_pool2d(c / 2.0, 2)
    return maps


def nngp_kernel(
    a: torch.Tensor,
    b: torch.Tensor | None = None,
    *,
    depth: int = 3,
    kernel: ConvKernel = DIST_KERNEL,
    chunk_values: int = CHUNK_VALUES,
) -> torch.Tensor:
    """The kernel matrix (n_a x n_b) between images ``a`` (n_a x C x H x W) and ``b``
    (default: ``a``, whose diagonal is then each image's variance exactly), in the dtype
    and on the device of ``a``. Pairs are processed in blocks of about ``chunk_values``
    pair-positions (small blocks stay in cache: 3x faster than one big block on CPU)."""
    import torch

    same = b is None
    other = a if b is None else b
    if a.shape[1:] != other.shape[1:]:
        raise ValueError(f"images of shape {tuple(a.shape[1:])} and {tuple(other.shape[1:])}")
    std_a = _std_maps(a, depth, kernel)
    std_b = std_a if same else _std_maps(other, depth, kernel)
    side = a.shape[2] * a.shape[3]
    cols = max(1, min(other.shape[0], chunk_values // side))
    rows = max(1, chunk_values // (cols * side))
    out = torch.empty((a.shape[0], other.shape[0]), dtype=a.dtype, device=a.device)
    with torch.no_grad():
        for r0 in range(0, a.shape[0], rows):
            r1 = min(r0 + rows, a.shape[0])
            for c0 in range(0, other.shape[0], cols):
                c1 = min(c0 + cols, other.shape[0])
                block = _block(a[r0:r1], other[c0:c1], std_a, std_b, (r0, c0), same, depth, kernel)
                out[r0:r1, c0:c1] = block
    return out


def _block(
    a: torch.Tensor,
    b: torch.Tensor,
    std_a: list[torch.Tensor],
    std_b: list[torch.Tensor],
    offset: tuple[int, int],
    same: bool,
    depth: int,
    kernel: ConvKernel,
) -> torch.Tensor:
    """The kernel between the rows ``a`` and columns ``b`` of a larger matrix whose
    block starts at ``offset``; ``std_*`` are the whole matrix's maps."""
    import torch
    import torch.nn.functional as F

    n1, n2 = a.shape[0], b.shape[0]
    r0, c0 = offset
    c = torch.einsum("ichw,jchw->ijhw", a, b).div_(a.shape[1])
    c = c.reshape(n1 * n2, 1, a.shape[2], a.shape[3])
    if same:  # pairs of one image with itself: exactly its own variance after each ReLU
        rows = torch.arange(r0, r0 + n1, device=a.device)
        hit = (rows >= c0) & (rows < c0 + n2)
        diag = (rows[hit] - r0, rows[hit] - c0)
    for layer in range(depth):
        c = _conv(c, kernel)
        h, w = c.shape[2], c.shape[3]
        sx = std_a[layer][r0 : r0 + n1].view(n1, 1, h, w)
        sy = std_b[layer][c0 : c0 + n2].view(1, n2, h, w)
        c = _relu(c.view(n1, n2, h, w), sx, sy)
        if same and len(diag[0]):
            c[diag] = sx[diag[0], 0] ** 2 / 2.0
        c = F.avg_pool2d(c.view(n1 * n2, 1, h, w), 2)
    return c.mean(dim=(1, 2, 3)).view(n1, n2) + kernel.constant


def embedding_inner(
    z_a: torch.Tensor,
    beta_a: torch.Tensor,
    z_b: torch.Tensor,
    beta_b: torch.Tensor,
    *,
    depth: int = 3,
    kernel: ConvKernel = DIST_KERNEL,
) -> float:
    """<Phi_a, Phi_b> = beta_a' K(z_a, z_b) beta_b."""
    gram = nngp_kernel(z_a, z_b, depth=depth, kernel=kernel)
    return float(beta_a @ gram @ beta_b)


def embedding_products(
    left: list[tuple[torch.Tensor, torch.Tensor]],
    right: list[tuple[torch.Tensor, torch.Tensor]],
    *,
    depth: int = 3,
    kernel: ConvKernel = DIST_KERNEL,
) -> torch.Tensor:
    """<Phi_a, Phi_b> for every embedding a = (z, beta) of ``left`` and b of ``right``,
    from one kernel matrix over all their images (a len(left) x len(right) tensor)."""
    import torch

    za = torch.cat([z for z, _ in left])
    zb = torch.cat([z for z, _ in right])
    gram = nngp_kernel(za, zb, depth=depth, kernel=kernel)
    return _blocks(left, gram) @ gram @ _blocks(right, gram).T


def _blocks(
    embeddings: list[tuple[torch.Tensor, torch.Tensor]], like: torch.Tensor
) -> torch.Tensor:
    import torch

    sizes = [len(beta) for _, beta in embeddings]
    out = torch.zeros((len(sizes), sum(sizes)), dtype=like.dtype, device=like.device)
    start = 0
    for row, (_, beta) in enumerate(embeddings):
        out[row, start : start + len(beta)] = beta.to(like)
        start += len(beta)
    return out

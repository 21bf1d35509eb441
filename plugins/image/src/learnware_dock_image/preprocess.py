"""Image input: arrays in the accepted layouts, folders of PNG/JPEG files, and the
package's preprocessing (NaN repair, resize to 32 x 32, per-channel standardisation,
ZCA whitening for colour images)."""

from __future__ import annotations

import os
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from learnware_dock.errors import SpecificationError
from learnware_dock_image.nngp import IMAGE_SIZE

if TYPE_CHECKING:
    import torch

#: file suffixes read from an image folder
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")
#: the most image files a folder may hold (``$DOCK_MAX_IMAGE_FILES``)
MAX_FILES = 100_000
#: the most pixel values (images x channels x height x width) read from a folder, as
#: uint8 (``$DOCK_MAX_IMAGE_VALUES``, default 512 Mi)
MAX_VALUES = 1 << 29
#: ZCA regularisation: a fraction of the mean eigenvalue added to the covariance
ZCA_REGULARISATION = 0.1


def _limit(variable: str, default: int) -> int:
    text = os.environ.get(variable, "").strip()
    if not text:
        return default
    if not text.isdigit() or int(text) < 1:
        raise SpecificationError(f"${variable} must be a positive integer, not {text!r}")
    return int(text)


def as_nchw(X: Any) -> np.ndarray:
    """``X`` as an N x C x H x W numeric array (not copied when it already is one).

    Accepted: N x C x H x W; N x H x W x C (channels last: the last axis is 1, 3 or 4 and
    the second is not); N x H x W (grey). C must be 1 (grey), 3 (RGB) or 4 (RGBA: the
    alpha channel is dropped).
    """
    if hasattr(X, "detach"):
        X = X.detach().cpu().numpy()
    data = np.asarray(X)
    if data.dtype == object or not (np.issubdtype(data.dtype, np.number) or data.dtype == np.bool_):
        raise SpecificationError(f"images must hold numbers, not {data.dtype}")
    if data.ndim == 3:
        data = data[:, None]
    elif data.ndim == 4:
        if data.shape[3] in (1, 3, 4) and data.shape[1] not in (1, 3, 4):
            data = data.transpose(0, 3, 1, 2)
    else:
        raise SpecificationError(
            "images must be N x C x H x W, N x H x W x C or N x H x W (grey), "
            f"got an array of shape {data.shape}"
        )
    if data.shape[0] == 0:
        raise SpecificationError("no images: the array holds 0 images")
    if data.shape[1] == 4:
        data = data[:, :3]
    if data.shape[1] not in (1, 3):
        raise SpecificationError(
            f"images must have 1 (grey), 3 (RGB) or 4 (RGBA) channels, got {data.shape[1]} "
            f"(shape {data.shape})"
        )
    if data.shape[2] == 0 or data.shape[3] == 0:
        raise SpecificationError(f"images must not be empty, got shape {data.shape}")
    return data


def to_tensor(data: np.ndarray, device: torch.device | str = "cpu") -> torch.Tensor:
    """float32 images (uint8 scaled to [0, 1]); inf and NaN pixels replaced by the mean of
    their image, an image without a finite pixel is an error naming its index."""
    import torch

    images = np.array(data, dtype=np.float32)
    if data.dtype == np.uint8:
        images /= 255.0
    bad = ~np.isfinite(images)
    if bad.any():
        flat = bad.reshape(len(images), -1)
        empty = np.flatnonzero(flat.all(axis=1))
        if empty.size:
            raise SpecificationError(
                f"image {int(empty[0])} has no finite pixel (all NaN or inf); drop it"
            )
        images[bad] = np.nan
        means = np.nanmean(images.reshape(len(images), -1), axis=1)
        rows = np.nonzero(bad)[0]
        images[bad] = means[rows]
    return torch.from_numpy(images).to(device)


def resize(images: torch.Tensor) -> torch.Tensor:
    """Bilinear, antialiased resize to 32 x 32 (unchanged when already that size)."""
    import torch.nn.functional as F

    if images.shape[2:] == (IMAGE_SIZE, IMAGE_SIZE):
        return images
    size = (IMAGE_SIZE, IMAGE_SIZE)
    out: torch.Tensor = F.interpolate(
        images, size=size, mode="bilinear", antialias=True, align_corners=False
    )
    return out


def standardise(images: torch.Tensor, whitening: bool = True) -> torch.Tensor:
    """Per-channel standardisation (mean 0, std 1 over images and pixels; a constant
    channel becomes 0), then ZCA whitening for colour images when ``whitening``."""
    import torch

    mean = images.mean(dim=(0, 2, 3), keepdim=True)
    std = images.std(dim=(0, 2, 3), keepdim=True)  # unbiased, as the package; N*H*W > 1
    out = (images - mean) / torch.where(std > 0, std, torch.ones_like(std))
    if whitening and out.shape[1] > 1:
        out = zca_whiten(out.reshape(out.shape[0], -1)).reshape(out.shape)
    return out


def zca_whiten(flat: torch.Tensor, regularisation: float = ZCA_REGULARISATION) -> torch.Tensor:
    """``flat @ zca_matrix(flat)``; with fewer rows than columns from the thin SVD of
    ``flat`` (n^2 d work, no d x d matrix): the same whitening, in a fraction of the time."""
    import torch

    n, d = flat.shape
    if n >= d:
        return flat @ zca_matrix(flat, regularisation)
    _, singular, vt = torch.linalg.svd(flat, full_matrices=False)
    values = singular**2 / n  # the covariance's non-zero eigenvalues
    ridge = regularisation * values.sum() / d
    projected = flat @ vt.T  # n x n coordinates in the eigenvectors
    rest = flat - projected @ vt  # the part in the null space (rounding only)
    inside = (projected * (values + ridge).rsqrt()) @ vt
    whitened: torch.Tensor = inside + rest * ridge.rsqrt()
    return whitened


def zca_matrix(flat: torch.Tensor, regularisation: float = ZCA_REGULARISATION) -> torch.Tensor:
    """The symmetric ZCA whitening matrix of the rows of ``flat`` (n x d), with a ridge of
    ``regularisation`` times the mean eigenvalue (the package's choice)."""
    import torch

    cov = (flat.T @ flat) / flat.shape[0]
    ridge = regularisation * torch.trace(cov) / cov.shape[0]
    values, vectors = torch.linalg.eigh(cov + ridge * torch.eye(cov.shape[0], device=cov.device))
    whitening: torch.Tensor = (vectors * values.clamp(min=1e-12).rsqrt()) @ vectors.T
    return whitening


def read_images(path: Path) -> np.ndarray:
    """A ``.npy`` array (memory-mapped; layouts of :func:`as_nchw`) or a folder of PNG
    and JPEG files (uint8, N x C x H x W: all in RGB when any is in colour, else grey;
    resized to the most common size), as :meth:`RKMEImageSpecification.generate` takes
    them."""
    path = Path(path)
    if path.is_dir():
        return read_folder(path)
    if not path.is_file():
        raise SpecificationError(f"no such file or folder: {path}")
    if path.suffix.lower() != ".npy":
        raise SpecificationError(
            f"{path.name}: images are read from a .npy file or a folder of PNG/JPEG files"
        )
    try:
        data = np.load(path, mmap_mode="r", allow_pickle=False)
    except (OSError, ValueError) as exc:
        raise SpecificationError(f"cannot read {path.name} as a .npy array: {exc}") from exc
    try:
        return as_nchw(data)
    except SpecificationError as exc:
        raise SpecificationError(f"{path.name}: {exc}") from exc


def read_folder(folder: Path) -> np.ndarray:
    """See :func:`read_images`; bounded by ``$DOCK_MAX_IMAGE_FILES`` files and
    ``$DOCK_MAX_IMAGE_VALUES`` pixel values, checked from the headers before decoding."""
    from PIL import Image, UnidentifiedImageError

    files = sorted(
        p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES
    )
    if not files:
        raise SpecificationError(f"{folder} holds no image files ({', '.join(IMAGE_SUFFIXES)})")
    max_files = _limit("DOCK_MAX_IMAGE_FILES", MAX_FILES)
    if len(files) > max_files:
        raise SpecificationError(
            f"{folder} holds {len(files):,} images, over the limit of {max_files:,} "
            "($DOCK_MAX_IMAGE_FILES)"
        )
    sizes: list[tuple[int, int]] = []
    colour = False
    for file in files:
        try:
            with Image.open(file) as image:
                sizes.append(image.size)
                colour = colour or image.mode not in ("1", "L", "LA", "I", "I;16", "F")
        except (OSError, UnidentifiedImageError) as exc:
            raise SpecificationError(f"cannot read image {file}: {exc}") from exc
    width, height = Counter(sizes).most_common(1)[0][0]
    channels = 3 if colour else 1
    values = len(files) * channels * width * height
    max_values = _limit("DOCK_MAX_IMAGE_VALUES", MAX_VALUES)
    if values > max_values:
        raise SpecificationError(
            f"{folder}: {len(files):,} images of {width} x {height} x {channels} are "
            f"{values:,} values, over the limit of {max_values:,} ($DOCK_MAX_IMAGE_VALUES)"
        )
    out = np.empty((len(files), channels, height, width), dtype=np.uint8)
    for row, file in enumerate(files):
        try:
            with Image.open(file) as image:
                converted = image.convert("RGB" if colour else "L")
                if converted.size != (width, height):
                    converted = converted.resize((width, height), Image.Resampling.BILINEAR)
                pixels = np.asarray(converted, dtype=np.uint8)
        except (OSError, UnidentifiedImageError, ValueError) as exc:
            raise SpecificationError(f"cannot read image {file}: {exc}") from exc
        out[row] = pixels[None] if pixels.ndim == 2 else pixels.transpose(2, 0, 1)
    return out

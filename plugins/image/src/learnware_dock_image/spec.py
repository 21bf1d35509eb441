"""`RKMEImageSpecification`: K weighted 32 x 32 images summarising an image data set.

Anchor-compatible JSON both ways: the `learnware` package's keys ``RKME_IMAGE_VERSION``,
``z`` (K x C x 32 x 32), ``beta`` (K), ``n_models``, ``model_config``, ``type``.

Kernels. The reduced set is fitted under random ConvNet features (:mod:`.fit`, the
package's method); ``dist`` is the squared MMD under the exact CNN-GP kernel of the same
architecture with the package's parameters (:data:`~learnware_dock_image.nngp.DIST_KERNEL`,
float64), so it gives the package's numbers on the same specs (to float32 rounding: the
package computes in float32) and, unlike random features, the same number every time.
The reduced set lives in the data's standardised (and, for colour, ZCA-whitened) space.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Self

import numpy as np

from learnware_dock.errors import SpecificationError
from learnware_dock.interfaces import StatSpecification
from learnware_dock_image.nngp import IMAGE_SIZE
from learnware_dock_rkme import SpecLimits

if TYPE_CHECKING:
    import torch

VERSION = 1
BETA_TOLERANCE = 1e-4
#: the package's defaults (n_models, model_config)
PACKAGE_MODELS = 16
PACKAGE_CONFIG: dict[str, Any] = {"k": 2, "mu": 0, "sigma": None, "net_width": 128, "net_depth": 3}
#: fitting sizes on a CPU, where the package's (16 nets of 256 channels) take hours
CPU_MODELS, CPU_WIDTH, CPU_BATCH = 4, 16, 256
#: Adam steps on Z and their size (the package: 100 x 0.01 of AdaBelief, which never
#: moves its Z): on MNIST 0/1 vs 7/8 (K = 50) the same-class / other-class dist ratio was
#: 0.64 after 100 x 0.01 and 0.26 after 30 x 0.1, at a third of the time.
STEPS, STEP_SIZE = 30, 0.1


def choose_device(device: str) -> torch.device:
    """``"auto"``: the first GPU when the installed torch sees one, else the CPU."""
    import torch

    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        chosen = torch.device(device)
    except RuntimeError as exc:
        raise SpecificationError(f"unknown device {device!r}: {exc}") from exc
    if chosen.type == "cuda" and not torch.cuda.is_available():
        raise SpecificationError(f"device {device!r}: this torch sees no GPU; use 'cpu'")
    return chosen


def _shape(value: Any, depth: int = 5) -> tuple[int, ...]:
    """The shape numpy would give nested lists ``value`` (from first elements)."""
    if not isinstance(value, list | tuple):
        return ()
    if not value or depth == 0:
        return (len(value),)
    return (len(value), *_shape(value[0], depth - 1))


def check_config(model_config: Any, n_models: Any) -> dict[str, Any]:
    """Validate the package's ``model_config`` and ``n_models``; returns the config."""
    if isinstance(n_models, bool) or not isinstance(n_models, int) or n_models < 1:
        raise SpecificationError(f"n_models must be a positive integer, not {n_models!r}")
    if not isinstance(model_config, Mapping):
        raise SpecificationError(f"model_config must be an object, not {model_config!r}")
    config = {**PACKAGE_CONFIG, **model_config}
    unknown = sorted(set(config) - set(PACKAGE_CONFIG))
    if unknown:
        raise SpecificationError(f"model_config has unknown keys: {', '.join(unknown)}")
    depth = config["net_depth"]
    if isinstance(depth, bool) or not isinstance(depth, int) or not 1 <= depth <= 5:
        raise SpecificationError(f"model_config net_depth must be 1 to 5, not {depth!r}")
    for key in ("k", "net_width", "mu"):
        value = config[key]
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not math.isfinite(value)
        ):
            raise SpecificationError(f"model_config {key} must be a number, not {value!r}")
    if config["k"] <= 0 or config["net_width"] <= 0:
        raise SpecificationError("model_config k and net_width must be positive")
    sigma = config["sigma"]
    if sigma is not None and (
        isinstance(sigma, bool) or not isinstance(sigma, int | float) or not sigma > 0
    ):
        raise SpecificationError(f"model_config sigma must be null or positive, not {sigma!r}")
    return config


class RKMEImageSpecification(StatSpecification):
    """Reduced kernel mean embedding of images (see the module docstring)."""

    name = "RKMEImageSpecification"
    data_type = "image"

    def __init__(
        self,
        z: np.ndarray,
        beta: np.ndarray,
        *,
        n_models: int = PACKAGE_MODELS,
        model_config: Mapping[str, Any] | None = None,
    ) -> None:
        self.z = np.require(z, dtype=np.float32, requirements=["C", "W"])
        self.beta = np.require(beta, dtype=np.float64, requirements=["C", "W"])
        self.n_models = n_models
        self.model_config = check_config(dict(model_config or PACKAGE_CONFIG), n_models)
        self._self_term: float | None = None

    # -- generation ------------------------------------------------------------------------
    @classmethod
    def read_data(cls, path: Path) -> np.ndarray:
        """A ``.npy`` (N x C x H x W, N x H x W x C or N x H x W) or a folder of PNG/JPEG
        files, as :meth:`generate` takes it (see :func:`.preprocess.read_images`)."""
        from learnware_dock_image.preprocess import read_images

        return read_images(path)

    @classmethod
    def generate(
        cls,
        X: Any,
        *,
        K: int = 50,
        steps: int = STEPS,
        step_size: float = STEP_SIZE,
        n_models: int | None = None,
        net_width: int | None = None,
        k: int = 2,
        batch_size: int | None = None,
        sample_size: int = 5000,
        whitening: bool = True,
        reduce: bool = True,
        seed: int = 0,
        device: str = "cpu",
        progress: Callable[[int, int], None] | None = None,
        **options: Any,
    ) -> Self:
        """Fit K images and weights to images ``X`` (layouts of :func:`.preprocess.as_nchw`;
        uint8 is scaled to [0, 1]; NaN/inf pixels take their image's mean).

        Preprocessing as the package: resize to 32 x 32 (antialiased bilinear),
        per-channel standardisation, ZCA whitening for colour images (``whitening``).
        At most ``sample_size`` images (drawn with ``seed``) are used.
        steps, step_size: Adam steps on Z (the package: AdaBelief, 100 steps of 0.01;
            see :data:`STEPS`).
        n_models, net_width, k: random nets per step, each of ``k * net_width``
            channels. Default: the package's 16 nets of 256 on a GPU; on a CPU 4 nets of
            32 channels (the package's sizes take hours there). Saved in the JSON.
        batch_size: data images per step (default: all on a GPU, 256 on a CPU).
        reduce: False keeps every (preprocessed) image with uniform weights.
        device: "cpu" (default), "auto" (a GPU when torch sees one), "cuda", "cuda:1".
        progress: called as ``progress(done, total)`` after every step.
        Deterministic for ``seed`` on one device; global RNGs are not touched.
        """
        import torch

        from learnware_dock_image.fit import FitOptions, fit_reduced_set
        from learnware_dock_image.preprocess import as_nchw, resize, standardise, to_tensor

        if options:
            raise SpecificationError(f"unknown image RKME options: {', '.join(sorted(options))}")
        for label, value in (("K", K), ("steps", steps), ("sample_size", sample_size)):
            if isinstance(value, bool) or not isinstance(value, int) or value < (label != "steps"):
                raise SpecificationError(f"{label} must be a positive integer, not {value!r}")
        chosen = choose_device(device)
        gpu = chosen.type == "cuda"
        n_models = n_models or (PACKAGE_MODELS if gpu else CPU_MODELS)
        net_width = net_width or (int(PACKAGE_CONFIG["net_width"]) if gpu else CPU_WIDTH)
        if batch_size is None and not gpu:
            batch_size = CPU_BATCH
        data = as_nchw(X)
        rng = np.random.default_rng(seed)
        if len(data) > sample_size:
            data = data[np.sort(rng.choice(len(data), sample_size, replace=False))]
        limits = SpecLimits.from_env()
        points = K if reduce else len(data)
        limits.check_shape(points, data.shape[1] * IMAGE_SIZE**2, f"the {cls.name}")
        images = standardise(resize(to_tensor(data, chosen)), whitening)
        config = {**PACKAGE_CONFIG, "k": k, "net_width": net_width}
        if not reduce:
            beta = np.full(len(images), 1.0 / len(images))
            return cls(images.cpu().numpy(), beta, n_models=n_models, model_config=config)
        generator = torch.Generator(device=chosen).manual_seed(seed)
        fit = FitOptions(
            K=K,
            steps=steps,
            step_size=step_size,
            n_models=n_models,
            width=int(k * net_width),
            depth=int(config["net_depth"]),
            batch_size=batch_size,
        )
        z, beta = fit_reduced_set(images, fit, generator, progress)
        return cls(z.cpu().numpy(), beta, n_models=n_models, model_config=config)

    # -- shape -------------------------------------------------------------------------------
    @property
    def channels(self) -> int:
        return int(self.z.shape[1])

    @property
    def depth(self) -> int:
        return int(self.model_config["net_depth"])

    @property
    def dimension(self) -> None:
        """None: images are resized to 32 x 32, so no input size of the model follows."""
        return None

    # -- JSON -----------------------------------------------------------------------------
    def to_json(self) -> dict[str, Any]:
        """The package's keys, in its order; z as float32 values (9 significant digits)."""
        flat = np.char.mod("%.9g", self.z.reshape(-1)).astype(np.float64)
        return {
            "RKME_IMAGE_VERSION": VERSION,
            "z": flat.reshape(self.z.shape).tolist(),
            "beta": self.beta.tolist(),
            "n_models": self.n_models,
            "model_config": dict(self.model_config),
            "type": self.name,
        }

    @classmethod
    def load(cls, path: str | Path) -> Self:
        """Read a JSON file (one over the limits' ``max_file_bytes`` is refused unread)."""
        limits = SpecLimits.from_env()
        try:
            size = Path(path).stat().st_size
        except OSError as exc:
            raise SpecificationError(f"cannot read {cls.name} file {path}: {exc}") from exc
        limits.check_bytes(size, f"{cls.name} file {Path(path).name}")
        return super().load(path)

    @classmethod
    def from_json(cls, data: Mapping[str, Any], *, limits: SpecLimits | None = None) -> Self:
        """Rebuild and validate; sizes are checked on the JSON lists before arrays are
        built (K against ``max_points``, C x 32 x 32 against ``max_dimension``)."""
        what = f"the {cls.name}"
        missing = [key for key in ("z", "beta") if key not in data]
        if missing:
            raise SpecificationError(f"{what} JSON is missing {', '.join(missing)}")
        kind = data.get("type", cls.name)
        if kind != cls.name:
            raise SpecificationError(f"{what} JSON has type {kind!r}, expected {cls.name!r}")
        version = data.get("RKME_IMAGE_VERSION", VERSION)
        if version != VERSION or isinstance(version, bool):
            raise SpecificationError(f"{what}: RKME_IMAGE_VERSION {version!r} is not {VERSION}")
        limits = limits or SpecLimits.from_env()
        shape = _shape(data["z"])
        if len(shape) != 4 or shape[2:] != (IMAGE_SIZE, IMAGE_SIZE):
            raise SpecificationError(f"{what}: z must be K x C x 32 x 32, got shape {shape}")
        limits.check_shape(shape[0], shape[1] * IMAGE_SIZE**2, what)
        beta_shape = _shape(data["beta"])
        if len(beta_shape) != 1 or beta_shape[0] != shape[0]:
            raise SpecificationError(f"{what}: beta must hold K = {shape[0]} numbers")
        try:
            z = np.asarray(data["z"], dtype=np.float32)
            beta = np.asarray(data["beta"], dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise SpecificationError(f"{what}: z and beta must be numbers: {exc}") from exc
        if z.shape != shape or shape[0] == 0 or shape[1] == 0:
            raise SpecificationError(f"{what}: z must be K x C x 32 x 32, got {z.shape}")
        if not (np.isfinite(z).all() and np.isfinite(beta).all()):
            raise SpecificationError(f"{what}: z and beta must be finite (found NaN or inf)")
        if (beta < -BETA_TOLERANCE).any() or abs(beta.sum() - 1.0) > BETA_TOLERANCE:
            raise SpecificationError(f"{what}: beta must be >= 0 and sum to 1 ({beta.sum():.6f})")
        config = check_config(data.get("model_config", PACKAGE_CONFIG), data.get("n_models", 16))
        return cls(
            z, np.clip(beta, 0.0, None), n_models=data.get("n_models", 16), model_config=config
        )

    # -- kernel ---------------------------------------------------------------------------------
    def tensors(self) -> tuple[torch.Tensor, torch.Tensor]:
        """(z, beta) as float64 tensors (from the float32 values)."""
        import torch

        return torch.from_numpy(self.z.astype(np.float64)), torch.from_numpy(self.beta)

    def comparable(self, other: RKMEImageSpecification) -> None:
        """Raise unless both use the same kernel (channels and depth)."""
        if (self.channels, self.depth) != (other.channels, other.depth):
            raise SpecificationError(
                f"cannot compare image RKMEs of {self.channels} and {other.channels} "
                f"channel(s), net_depth {self.depth} and {other.depth}"
            )

    def inner(self, other: RKMEImageSpecification) -> float:
        """<Phi_self, Phi_other> under the exact NNGP kernel (float64)."""
        from learnware_dock_image.nngp import nngp_kernel

        self.comparable(other)
        za, ba = self.tensors()
        if other is self:
            if self._self_term is None:
                self._self_term = float(ba @ nngp_kernel(za, depth=self.depth) @ ba)
            return self._self_term
        zb, bb = other.tensors()
        return float(ba @ nngp_kernel(za, zb, depth=self.depth) @ bb)

    def dist(self, other: Self) -> float:
        """Squared MMD under the exact NNGP kernel (the package's ``dist``), float64."""
        self.comparable(other)
        return max(self.inner(self) - 2.0 * self.inner(other) + other.inner(other), 0.0)

"""Image input: .npy layouts, PNG/JPEG folders, every bad input, and `dock spec image`."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from learnware_dock.errors import SpecificationError
from learnware_dock_image import RKMEImageSpecification
from learnware_dock_image.preprocess import as_nchw, read_images, to_tensor

read = RKMEImageSpecification.read_data


@pytest.mark.parametrize(
    ("shape", "layout"),
    [
        ((5, 3, 20, 24), "NCHW"),
        ((5, 20, 24, 3), "NHWC"),
        ((5, 1, 20, 24), "NCHW"),
        ((5, 20, 24, 1), "NHWC"),
        ((5, 20, 24), "NHW"),
        ((5, 3, 20, 3), "NCHW"),  # the second axis is a channel count: channels first
    ],
)
def test_npy_layouts(tmp_path: Path, shape: tuple[int, ...], layout: str) -> None:
    data = np.random.default_rng(0).integers(0, 255, size=shape, dtype=np.uint8)
    np.save(tmp_path / "x.npy", data)
    got = read(tmp_path / "x.npy")
    want = {
        "NCHW": data,
        "NHWC": data.transpose(0, 3, 1, 2) if data.ndim == 4 else data,
        "NHW": data[:, None],
    }[layout]
    np.testing.assert_array_equal(got, want)


def test_rgba_drops_alpha_and_uint8_is_scaled() -> None:
    rgba = np.full((2, 8, 8, 4), 255, dtype=np.uint8)
    images = as_nchw(rgba)
    assert images.shape == (2, 3, 8, 8)
    assert float(to_tensor(images).max()) == 1.0
    assert float(to_tensor(images.astype(np.int16)).max()) == 255.0


def test_nan_pixels_take_their_image_mean_and_all_nan_images_are_named() -> None:
    images = np.ones((3, 1, 4, 4))
    images[1, 0, 0, 0], images[1, 0, 1, 1] = np.nan, np.inf
    images[1, 0, 2, 2] = 4.0
    fixed = to_tensor(images).numpy()
    assert np.isfinite(fixed).all()
    assert fixed[1, 0, 0, 0] == pytest.approx((13 * 1.0 + 4.0) / 14)
    images[2] = np.nan
    with pytest.raises(SpecificationError, match="image 2 has no finite pixel"):
        to_tensor(images)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (np.zeros((5, 64)), "got an array of shape"),
        (np.zeros((2, 2, 3, 8, 8)), "got an array of shape"),
        (np.zeros((5, 2, 8, 8)), "got 2"),
        (np.zeros((5, 5, 8, 8)), "got 5"),
        (np.zeros((0, 8, 8)), "0 images"),
        (np.array([["a"]], dtype=object), "numbers"),
        (np.zeros((2, 1, 0, 8)), "must not be empty"),
    ],
)
def test_bad_arrays_are_refused(data: np.ndarray, message: str) -> None:
    with pytest.raises(SpecificationError, match=message):
        RKMEImageSpecification.generate(data, K=2, steps=1)


def write_pngs(folder: Path, count: int, mode: str = "L", size: tuple[int, int] = (12, 10)) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    for i in range(count):
        shape = (size[1], size[0]) if mode == "L" else (size[1], size[0], 3)
        pixels = rng.integers(0, 255, size=shape, dtype=np.uint8)
        Image.fromarray(pixels, mode=mode).save(folder / f"img{i:02d}.png")


def test_png_folder_grey_then_colour_with_a_common_size(tmp_path: Path) -> None:
    write_pngs(tmp_path / "grey", 4)
    grey = read(tmp_path / "grey")
    assert grey.shape == (4, 1, 10, 12) and grey.dtype == np.uint8
    with Image.open(tmp_path / "grey" / "img00.png") as first:
        np.testing.assert_array_equal(grey[0, 0], np.asarray(first))
    write_pngs(tmp_path / "grey", 1, mode="RGB", size=(30, 30))  # overwrites img00: colour
    Image.new("RGB", (7, 9), (10, 200, 30)).save(tmp_path / "grey" / "odd.jpg")
    mixed = read(tmp_path / "grey")
    assert mixed.shape == (5, 3, 10, 12)  # all RGB, at the most common size
    spec = RKMEImageSpecification.generate(mixed, K=3, steps=2, n_models=1, net_width=4)
    assert spec.z.shape == (3, 3, 32, 32)


def test_bad_folders_and_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "notes.txt").write_text("no images")
    with pytest.raises(SpecificationError, match="holds no image files"):
        read(tmp_path / "empty")
    write_pngs(tmp_path / "broken", 2)
    (tmp_path / "broken" / "bad.png").write_bytes(b"not a png")
    with pytest.raises(SpecificationError, match=r"cannot read image .*bad\.png"):
        read(tmp_path / "broken")
    write_pngs(tmp_path / "many", 3)
    monkeypatch.setenv("DOCK_MAX_IMAGE_FILES", "2")
    with pytest.raises(SpecificationError, match=r"3 images, over the limit of 2"):
        read(tmp_path / "many")
    monkeypatch.setenv("DOCK_MAX_IMAGE_FILES", "10")
    monkeypatch.setenv("DOCK_MAX_IMAGE_VALUES", "100")
    with pytest.raises(SpecificationError, match="DOCK_MAX_IMAGE_VALUES"):
        read(tmp_path / "many")
    with pytest.raises(SpecificationError, match="no such file"):
        read_images(tmp_path / "missing.npy")
    (tmp_path / "x.csv").write_text("1,2\n")
    with pytest.raises(SpecificationError, match=r"a \.npy file or a folder"):
        read(tmp_path / "x.csv")
    (tmp_path / "x.npy").write_bytes(b"garbage")
    with pytest.raises(SpecificationError, match=r"cannot read x\.npy"):
        read(tmp_path / "x.npy")


def test_dock_spec_image_through_the_cli(
    tmp_path: Path, mnist: tuple[np.ndarray, np.ndarray]
) -> None:
    from learnware_dock.cli import add_plugin_commands, app

    add_plugin_commands()
    np.save(tmp_path / "digits.npy", mnist[0][:40])
    args = ["spec", "image", str(tmp_path / "digits.npy"), "-o", str(tmp_path / "s.json")]
    result = CliRunner().invoke(app, [*args, "--k", "4", "--seed", "3", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["type"] == "RKMEImageSpecification"
    spec = RKMEImageSpecification.load(tmp_path / "s.json")
    assert spec.z.shape == (4, 1, 32, 32)
    refused = CliRunner().invoke(app, [*args, "--gamma", "0.1"])
    assert refused.exit_code != 0
    assert "does not take option(s): gamma" in str(refused.exception)


def test_thin_svd_whitening_equals_the_zca_matrix() -> None:
    import torch

    from learnware_dock_image.preprocess import zca_matrix, zca_whiten

    generator = torch.Generator().manual_seed(0)
    mixing = torch.randn(60, 60, generator=generator, dtype=torch.float64)
    few = torch.randn(12, 60, generator=generator, dtype=torch.float64) @ mixing
    torch.testing.assert_close(zca_whiten(few), few @ zca_matrix(few), rtol=1e-9, atol=1e-9)
    many = torch.randn(90, 60, generator=generator, dtype=torch.float64) @ mixing
    white = zca_whiten(many)
    cov = white.T @ white / 90  # whitened: near identity (up to the ridge)
    assert (torch.linalg.eigvalsh(cov) < 1.0 + 1e-9).all()
    assert float(torch.linalg.eigvalsh(cov).max()) > 0.8

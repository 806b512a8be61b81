"""`decode_image`: real-world image files become upright 8-bit RGB, or a readable reason."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from tests.pipelines.image import _images

from cosmos_curate.pipelines.image.decode import (
    ALPHA_BACKGROUND,
    ImageDecodeError,
    decode_image,
)


def _decode(path: Path, **kwargs: int) -> np.ndarray:
    return decode_image(path.read_bytes(), **kwargs).rgb


def test_exif_orientation_is_applied(tmp_path: Path) -> None:
    """A 40x24 JPEG tagged 'rotate 90' comes out 24 wide and 40 high, as viewers show it."""
    decoded = decode_image(_images.exif_rotated_jpeg(tmp_path / "r.jpg").read_bytes())
    assert (decoded.width, decoded.height) == (24, 40)
    assert decoded.exif_orientation == 6
    # Orientation 6 turns the image clockwise: the bright top-left block ends up top-right.
    assert decoded.rgb[:5, -5:].mean() > 230 and decoded.rgb[:5, :5].mean() < 230


@pytest.mark.parametrize(
    ("maker", "mode"),
    [
        (_images.cmyk_jpeg, "CMYK"),
        (_images.palette_png, "P"),
        (_images.rgba_png, "RGBA"),
    ],
)
def test_every_mode_becomes_rgb(tmp_path: Path, maker: object, mode: str) -> None:
    """CMYK, palette and RGBA files all decode to (H, W, 3) uint8, the source mode recorded."""
    suffix = ".jpg" if mode == "CMYK" else ".png"
    decoded = decode_image(maker(tmp_path / f"x{suffix}").read_bytes())  # type: ignore[operator]
    assert decoded.rgb.shape == (32, 32, 3) and decoded.rgb.dtype == np.uint8
    assert decoded.mode == mode


def test_cmyk_colours_survive(tmp_path: Path) -> None:
    """The CMYK JPEG's bright block is still bright after conversion (not inverted)."""
    rgb = _decode(_images.cmyk_jpeg(tmp_path / "c.jpg"))
    assert rgb[:8, :8].mean() > 200


def test_alpha_is_flattened_on_white(tmp_path: Path) -> None:
    """Fully transparent pixels become the stated background (white)."""
    rgb = _decode(_images.rgba_png(tmp_path / "a.png"))
    assert (rgb[:, :16] == ALPHA_BACKGROUND).all()
    assert not (rgb[:, 16:] == ALPHA_BACKGROUND).all()


def test_16_bit_grey_keeps_its_range(tmp_path: Path) -> None:
    """A 16-bit PNG spanning 0-65535 spans 0-255 after decoding (not clipped to white)."""
    decoded = decode_image(_images.png16(tmp_path / "d.png").read_bytes())
    assert decoded.mode.startswith("I")
    assert decoded.rgb.min() == 0 and decoded.rgb.max() == 255
    assert 100 < decoded.rgb.mean() < 155


def test_gif_first_frame(tmp_path: Path) -> None:
    """An animated GIF gives its first frame (red); the frame count is recorded."""
    decoded = decode_image(_images.animated_gif(tmp_path / "g.gif").read_bytes())
    assert decoded.num_frames == 3
    assert tuple(decoded.rgb[16, 16]) == (255, 0, 0)


@pytest.mark.parametrize("suffix", [".bmp", ".tiff", ".webp", ".png"])
def test_other_formats(tmp_path: Path, suffix: str) -> None:
    """BMP, TIFF, WebP and PNG decode to the same size."""
    path = _images.save(tmp_path / f"p{suffix}", Image.fromarray(_images.picture(20, 10)))
    assert _decode(path).shape == (10, 20, 3)


@pytest.mark.parametrize(
    ("maker", "reason"),
    [
        (_images.empty_file, "empty file"),
        (_images.text_named_jpg, "not an image"),
        (_images.truncated_jpeg, "truncated"),
        (_images.bomb_png, "decompression bomb"),
    ],
)
def test_bad_files_raise_a_reason(tmp_path: Path, maker: object, reason: str) -> None:
    """Empty, non-image, truncated and bomb-sized files raise ImageDecodeError saying why."""
    path = maker(tmp_path / "bad.jpg")  # type: ignore[operator]
    with pytest.raises(ImageDecodeError, match=reason):
        decode_image(path.read_bytes())


def test_max_pixels_is_configurable(tmp_path: Path) -> None:
    """A 20x10 image passes a 200-pixel limit and fails a 199-pixel one."""
    path = _images.save(tmp_path / "p.png", Image.fromarray(_images.picture(20, 10)))
    assert _decode(path, max_pixels=200).shape == (10, 20, 3)
    with pytest.raises(ImageDecodeError, match="200 pixels is over the limit of 199"):
        _decode(path, max_pixels=199)

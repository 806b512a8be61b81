"""Images the image tests make with Pillow: ordinary ones, awkward ones, and broken files.

No downloads: every picture is drawn here (gradients and shapes, so that images differ in
content and CLIP sees different inputs), in every format and mode the pipeline accepts,
plus the broken files it must turn into failure records.
"""

from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path

import numpy as np
import numpy.typing as npt
from PIL import Image

EXIF_ORIENTATION = 0x0112


def picture(width: int, height: int, seed: int = 0) -> npt.NDArray[np.uint8]:
    """An RGB test picture: a colour gradient with a bright rectangle in the top-left."""
    rng = np.random.default_rng(seed)
    ys, xs = np.mgrid[0:height, 0:width]
    base = rng.integers(0, 256, 3)
    rgb = np.stack(
        [(xs * 255 // max(width - 1, 1) + base[0]) % 256,
         (ys * 255 // max(height - 1, 1) + base[1]) % 256,
         np.full_like(xs, base[2])],
        axis=-1,
    ).astype(np.uint8)  # fmt: skip
    rgb[: height // 3, : width // 3] = (250, 250, 250)
    return rgb


def save(path: Path, image: Image.Image, **params: object) -> Path:
    """Write `image` to `path` (format from the suffix), parents created."""
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(path, **params)
    return path


def exif_rotated_jpeg(path: Path, width: int = 40, height: int = 24) -> Path:
    """A `width`x`height` JPEG whose EXIF says rotate 90 degrees (viewers show it upright)."""
    image = Image.fromarray(picture(width, height, seed=3))
    exif = Image.Exif()
    exif[EXIF_ORIENTATION] = 6
    return save(path, image, exif=exif.tobytes(), quality=95)


def cmyk_jpeg(path: Path) -> Path:
    """A CMYK JPEG (as print workflows make)."""
    return save(path, Image.fromarray(picture(32, 32, seed=4)).convert("CMYK"), quality=95)


def png16(path: Path, width: int = 32, height: int = 32) -> Path:
    """A 16-bit greyscale PNG with values across the full 0-65535 range."""
    values = np.linspace(0, 65535, width * height).reshape(height, width).astype(np.uint16)
    return save(path, Image.fromarray(values))


def palette_png(path: Path) -> Path:
    """A palette PNG with a transparent colour."""
    image = Image.fromarray(picture(32, 32, seed=5)).convert("P", palette=Image.Palette.ADAPTIVE)
    return save(path, image, transparency=0)


def rgba_png(path: Path) -> Path:
    """An RGBA PNG whose left half is fully transparent."""
    rgba = np.dstack([picture(32, 32, seed=6), np.full((32, 32), 255, np.uint8)])
    rgba[:, :16, 3] = 0
    return save(path, Image.fromarray(rgba))


def animated_gif(path: Path) -> Path:
    """A three-frame GIF: red, green, blue."""
    frames = [Image.new("RGB", (32, 32), c) for c in ((255, 0, 0), (0, 255, 0), (0, 0, 255))]
    path.parent.mkdir(parents=True, exist_ok=True)
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=100)
    return path


def truncated_jpeg(path: Path) -> Path:
    """The first half of a valid JPEG."""
    buffer = io.BytesIO()
    Image.fromarray(picture(64, 64, seed=7)).save(buffer, format="JPEG")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(buffer.getvalue()[: len(buffer.getvalue()) // 2])
    return path


def text_named_jpg(path: Path) -> Path:
    """A text file under an image name."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("this is not an image\n")
    return path


def empty_file(path: Path) -> Path:
    """A zero-byte file under an image name."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"")
    return path


def _png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def bomb_png(path: Path, side: int = 30_000) -> Path:
    """A tiny PNG whose header claims `side`x`side` pixels (900 MP by default)."""
    header = struct.pack(">IIBBBBB", side, side, 8, 0, 0, 0, 0)
    data = zlib.compress(b"\x00" * 64)
    body = _png_chunk(b"IHDR", header) + _png_chunk(b"IDAT", data) + _png_chunk(b"IEND", b"")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + body)
    return path

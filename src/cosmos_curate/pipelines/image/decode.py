"""Decoding an image file's bytes into an RGB array, or a reason why it cannot be.

One function, `decode_image`, for every stage that needs pixels. It applies the EXIF
orientation, takes the first frame of animated or multi-page files (GIF, WebP, TIFF),
converts every mode to 8-bit RGB (CMYK, 16-bit and float grey, palette, grey, and
anything with alpha flattened on `ALPHA_BACKGROUND`), and refuses, with a readable
reason, empty files, files that are not images, truncated or corrupt data, and images
larger than `max_pixels` (checked from the header, before any pixel is decoded).
"""

from __future__ import annotations

import io
import warnings

import attrs
import numpy as np
import numpy.typing as npt
from PIL import Image, ImageOps, UnidentifiedImageError

ALPHA_BACKGROUND = (255, 255, 255)
"""Transparent pixels are composited on white."""
DEFAULT_MAX_PIXELS = 100_000_000
"""100 megapixels; Pillow itself refuses images above about 179 megapixels."""
IMAGE_EXTENSIONS = frozenset({".jpg", ".jpeg", ".png", ".webp", ".gif", ".bmp", ".tif", ".tiff"})

_ALPHA_MODES = frozenset({"RGBA", "LA", "PA", "RGBa", "La"})
_HIGH_DEPTH_MODES = frozenset({"I", "I;16", "I;16B", "I;16L", "I;16N", "F"})


class ImageDecodeError(ValueError):
    """The bytes are not a usable image; the message says why (empty, not an image, ...)."""


@attrs.frozen
class DecodedImage:
    """An image as the stages use it: RGB pixels and what the file said about itself."""

    rgb: npt.NDArray[np.uint8] = attrs.field(repr=False)
    """`(H, W, 3)` uint8, EXIF orientation applied."""
    format: str
    """The format Pillow found in the bytes (`JPEG`, `PNG`, ...), whatever the file's name."""
    mode: str
    """The pixel mode of the file before conversion (`CMYK`, `I;16`, `P`, ...)."""
    exif_orientation: int
    """The EXIF orientation tag (1: none; 2-8 were applied)."""
    num_frames: int

    @property
    def width(self) -> int:
        """Width after orientation."""
        return int(self.rgb.shape[1])

    @property
    def height(self) -> int:
        """Height after orientation."""
        return int(self.rgb.shape[0])


def decode_image(data: bytes, max_pixels: int = DEFAULT_MAX_PIXELS) -> DecodedImage:
    """RGB pixels of the image in `data`; `ImageDecodeError` naming the problem otherwise."""
    if not data:
        msg = "empty file (0 bytes)"
        raise ImageDecodeError(msg)
    with warnings.catch_warnings():
        # Our own limit below replaces Pillow's warning; its hard limit still raises.
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        try:
            image = Image.open(io.BytesIO(data))
        except UnidentifiedImageError as exc:
            msg = "not an image Pillow can read (unknown or corrupt header)"
            raise ImageDecodeError(msg) from exc
        except Image.DecompressionBombError as exc:
            msg = f"decompression bomb guard: {exc}"
            raise ImageDecodeError(msg) from exc
        except (OSError, ValueError, SyntaxError) as exc:
            msg = f"corrupt or truncated image header: {exc}"
            raise ImageDecodeError(msg) from exc
        with image:
            return _decode_open(image, max_pixels)


def _decode_open(image: Image.Image, max_pixels: int) -> DecodedImage:
    width, height = image.size
    if width * height > max_pixels:
        msg = (
            f"image of {width}x{height} = {width * height} pixels is over the limit "
            f"of {max_pixels} (--max-pixels; a guard against decompression bombs)"
        )
        raise ImageDecodeError(msg)
    source_format = str(image.format or "unknown")
    source_mode = image.mode
    try:
        frames = int(getattr(image, "n_frames", 1))
        orientation = int(image.getexif().get(0x0112, 1) or 1)
        image.seek(0)
        image.load()
        oriented = ImageOps.exif_transpose(image) if orientation != 1 else image
        rgb = to_rgb(oriented)
    except (OSError, ValueError, SyntaxError) as exc:
        msg = f"corrupt or truncated {source_format} data: {exc}"
        raise ImageDecodeError(msg) from exc
    return DecodedImage(rgb, source_format, source_mode, orientation, frames)


def to_rgb(image: Image.Image) -> npt.NDArray[np.uint8]:
    """8-bit RGB pixels of a loaded image of any mode (alpha on `ALPHA_BACKGROUND`)."""
    if image.mode in _HIGH_DEPTH_MODES:
        image = _grey_to_8bit(image)
    if image.mode == "P" and "transparency" in image.info:
        image = image.convert("RGBA")
    elif image.mode == "P":
        image = image.convert("RGB")
    if image.mode in _ALPHA_MODES:
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (*ALPHA_BACKGROUND, 255))
        image = Image.alpha_composite(background, rgba)
    return np.asarray(image.convert("RGB"), dtype=np.uint8)


def _grey_to_8bit(image: Image.Image) -> Image.Image:
    """16-bit or 32-bit grey to 8-bit grey, the full 16-bit range mapped onto 0-255."""
    values = np.asarray(image, dtype=np.float64)
    if image.mode == "F":
        top = float(values.max()) if values.size and values.max() > 1.0 else 1.0
        scaled = values / top * 255.0
    else:
        scaled = values / 257.0  # 65535 -> 255
    return Image.fromarray(np.clip(np.rint(scaled), 0, 255).astype(np.uint8))

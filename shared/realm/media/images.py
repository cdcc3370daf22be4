"""Image handling, pure: bytes in, bytes out, no storage and no database.

Two entry points, one for each side of the upload:

* :func:`inspect` runs at the door of ``photo-upload`` and ``signup``. It reads the type from the
  content (magic numbers; the file name and the declared type are ignored), reads the pixel count
  from the header without decoding the pixels, and checks cheaply that the data is a whole image
  (JPEG: decoded at 1/8 scale; PNG: every chunk's CRC and the end chunk, no inflating; WebP and
  HEIC: the container parses completely).
* :func:`render` runs in ``make-thumbnail``. It decodes with an explicit format and the pixel
  limit, lets the decoder downscale (JPEG draft mode: the IDCT itself scales by 1/2, 1/4 or 1/8;
  ``Image.reduce`` for the others), turns the image upright by its EXIF orientation, converts
  it to sRGB, and writes WebP files built from pixels only: no EXIF (so no GPS location), no
  XMP, no ICC profile.

Failures raise :class:`ImageError`, whose ``kind`` says what is wrong in a way callers map to
their own answer (an HTTP status at the door, a ``rejected`` photo in make-thumbnail).
"""

from __future__ import annotations

import functools
import importlib.util
import io
import math
import struct
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Literal

from PIL import Image, ImageCms, ImageFile, ImageOps

ErrorKind = Literal["unsupported_type", "too_many_pixels", "undecodable"]

# Longest side of the display image; phones are at most ~1290 pixels wide.
DISPLAY_MAX = 1280
# Square thumbnails: the avatar sizes of the app.
THUMBNAIL_SIZES = (512, 128)
WEBP_QUALITY = {"display": 82, "512": 80, "128": 80}
# libwebp's effort, 0 fastest .. 6 smallest: for the display image 2 costs less than half the
# time of the default 4 for files ~8% larger; the small thumbnails, fetched most, get 4.
WEBP_METHOD = {"display": 2, "512": 4, "128": 4}

CONTENT_TYPES = {
    "JPEG": "image/jpeg",
    "PNG": "image/png",
    "WEBP": "image/webp",
    "HEIF": "image/heic",
}

# Never decode what the header does not describe completely.
ImageFile.LOAD_TRUNCATED_IMAGES = False


# HEIC/HEIF (iPhone photos) through pillow-heif, when its wheel is installed; imported only when
# such a file arrives (it costs ~80 ms).
HEIF = importlib.util.find_spec("pillow_heif") is not None


@functools.cache
def _register_heif() -> bool:
    try:
        import pillow_heif
    except ImportError:
        return False
    pillow_heif.register_heif_opener()
    return True


class ImageError(Exception):
    def __init__(self, kind: ErrorKind, message: str) -> None:
        super().__init__(message)
        self.kind: ErrorKind = kind
        self.message = message


@dataclass(frozen=True)
class Inspected:
    format: str  # a Pillow format name: JPEG, PNG, WEBP, HEIF
    content_type: str
    width: int  # as stored, before any EXIF rotation
    height: int


@dataclass(frozen=True)
class Output:
    name: str  # "display", "512", "128"
    data: bytes
    width: int
    height: int
    content_type: str = "image/webp"


@dataclass(frozen=True)
class Rendered:
    width: int  # of the upright original
    height: int
    outputs: tuple[Output, ...]


_HEIF_BRANDS = {b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"mif1", b"msf1"}


def sniff(data: bytes) -> str | None:
    """The image format by its magic number, or None for anything we do not accept."""
    if data[:3] == b"\xff\xd8\xff":
        return "JPEG"
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        return "PNG"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "WEBP"
    if HEIF and data[4:8] == b"ftyp" and data[8:12] in _HEIF_BRANDS and _register_heif():
        return "HEIF"
    return None


def accepted_types() -> list[str]:
    return [t for f, t in CONTENT_TYPES.items() if f != "HEIF" or HEIF]


@contextmanager
def _decoding(what: str) -> Iterator[None]:
    """Any failure of the decoder is the data's fault: an undecodable image."""
    try:
        yield
    except ImageError:
        raise
    except Image.DecompressionBombError as error:
        raise ImageError("too_many_pixels", f"The {what} has too many pixels.") from error
    except (OSError, SyntaxError, ValueError, EOFError, struct.error, zlib.error) as error:
        raise ImageError("undecodable", f"The {what} could not be decoded.") from error


def _open(data: bytes, max_pixels: int) -> tuple[str, ImageFile.ImageFile]:
    """Opens (reads the header of) an accepted format, refusing too many declared pixels."""
    image_format = sniff(data)
    if image_format is None:
        kinds = ", ".join(accepted_types())
        raise ImageError("unsupported_type", f"Not an image of an accepted type ({kinds}).")
    with _decoding("image"):
        try:
            # Explicit format: Pillow tries no other decoder, whatever the bytes resemble.
            image = Image.open(io.BytesIO(data), formats=[image_format])
        except Image.DecompressionBombError:  # Pillow's own guard, for the most extreme
            raise ImageError(
                "too_many_pixels", f"The image declares more than {max_pixels:,} pixels."
            ) from None
        width, height = image.size
    if width <= 0 or height <= 0:
        raise ImageError("undecodable", "The image has no pixels.")
    if width * height > max_pixels:
        raise ImageError(
            "too_many_pixels",
            f"The image is {width}x{height} pixels; at most {max_pixels:,} pixels are accepted.",
        )
    return image_format, image


def inspect(data: bytes, max_pixels: int) -> Inspected:
    """The door check: type by content, declared pixel count, and a cheap integrity check.

    Costs one decode at 1/8 scale for a JPEG (a few milliseconds per megapixel, 1/64 of the
    memory) and no pixel decoding at all for the other formats.
    """
    image_format, image = _open(data, max_pixels)
    width, height = image.size
    with _decoding("image"):
        if image_format == "JPEG":
            image.draft(image.mode, (max(1, width // 8), max(1, height // 8)))
            image.load()
        elif image_format == "PNG":
            image.verify()
        # WebP and HEIF: opening already parsed the whole container (a truncated file fails).
    return Inspected(image_format, CONTENT_TYPES[image_format], width, height)


def _upright_size(image: Image.Image) -> tuple[int, int]:
    orientation = image.getexif().get(0x0112, 1)
    width, height = image.size
    return (height, width) if orientation in (5, 6, 7, 8) else (width, height)


def _decode_scale(width: int, height: int) -> float:
    """How small the decoded image may be and still serve every output without upscaling."""
    display = DISPLAY_MAX / max(width, height)
    square = max(THUMBNAIL_SIZES) / min(width, height)
    return min(1.0, max(display, square))


def _to_srgb(image: Image.Image) -> Image.Image:
    """Pixels in sRGB (what a file without a profile means), so dropping the profile is safe."""
    profile = image.info.get("icc_profile")
    if not profile or image.mode not in ("RGB", "RGBA"):
        return image
    try:
        source = ImageCms.ImageCmsProfile(io.BytesIO(profile))
        converted = ImageCms.profileToProfile(
            image, source, ImageCms.createProfile("sRGB"), outputMode=image.mode
        )
    except (ImageCms.PyCMSError, OSError, ValueError):
        return image  # an unreadable profile: keep the pixels as they are
    return converted if converted is not None else image


def _normalise_mode(image: Image.Image) -> Image.Image:
    has_alpha = image.mode in ("RGBA", "LA", "PA") or (
        image.mode == "P" and "transparency" in image.info
    )
    if image.mode in ("I;16", "I;16B", "I;16L", "I"):
        image = image.convert("I").point(lambda value: value * (1 / 256)).convert("L")
    target = "RGBA" if has_alpha else "RGB"
    return image if image.mode == target else image.convert(target)


def _webp(image: Image.Image, name: str) -> Output:
    image.info.clear()  # nothing of the source's metadata may ride along
    buffer = io.BytesIO()
    image.save(
        buffer,
        "WEBP",
        quality=WEBP_QUALITY[name],
        method=WEBP_METHOD[name],
        exif=b"",
        icc_profile=None,
    )
    return Output(name, buffer.getvalue(), image.width, image.height)


def render(data: bytes, max_pixels: int) -> Rendered:
    """The sanitized display image (longest side at most DISPLAY_MAX) and square thumbnails.

    Thumbnails are centre crops of exactly NxN pixels (upscaled only if the source is smaller);
    the display image keeps the aspect ratio and is never upscaled.
    """
    image_format, opened = _open(data, max_pixels)
    image: Image.Image = opened
    with _decoding("image"):
        width, height = image.size
        upright_w, upright_h = _upright_size(image)
        scale = _decode_scale(width, height)
        if image_format == "JPEG" and scale < 1.0:
            # The decoder picks the largest 1/2^k reduction still at least this size.
            opened.draft(image.mode, (math.ceil(width * scale), math.ceil(height * scale)))
        image.load()
        factor = int(1 / scale) if scale < 1.0 else 1
        if image_format != "JPEG" and factor >= 2:
            # Box-averages whole blocks: cheap, and leaves at least the size we need.
            image = image.reduce(factor)
        # Upright first (the orientation lives in the metadata that is dropped below), then
        # 8-bit RGB(A) in sRGB.
        if image.getexif().get(0x0112, 1) != 1:
            image = ImageOps.exif_transpose(image)
        image = _to_srgb(_normalise_mode(image))

        display = image
        fit = DISPLAY_MAX / max(image.size)
        if fit < 1.0:
            display_size = (max(1, round(image.width * fit)), max(1, round(image.height * fit)))
            display = image.resize(display_size, Image.Resampling.LANCZOS)
        outputs = [_webp(display, "display")]
        # Each square from the smallest image still large enough: 512 from the display image
        # (unless that is too narrow, as a panorama's is), 128 from the 512.
        source = display if min(display.size) >= max(THUMBNAIL_SIZES) else image
        for size in THUMBNAIL_SIZES:
            source = ImageOps.fit(source, (size, size), Image.Resampling.LANCZOS)
            outputs.append(_webp(source, str(size)))
    return Rendered(upright_w, upright_h, tuple(outputs))

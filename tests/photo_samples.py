"""Test images, generated at run time with Pillow (no file from anywhere else)."""

from __future__ import annotations

import io
import struct
import zlib

from PIL import ExifTags, Image, ImageDraw

RED = (220, 20, 20)
BLUE = (20, 20, 220)


def picture(size: tuple[int, int] = (640, 480)) -> Image.Image:
    """Something photo-like: a gradient with shapes, so that encoders behave as on photos."""
    width, height = size
    gradient = Image.linear_gradient("L")
    across = gradient.transpose(Image.Transpose.ROTATE_90)
    image = Image.merge("RGB", (gradient, across, gradient)).resize(size)
    draw = ImageDraw.Draw(image)
    for i in range(8):
        x, y = width * i // 8, height * ((i * 3) % 8) // 8
        draw.ellipse((x, y, x + width // 6, y + height // 6), fill=(40 * i % 256, 90, 200))
    return image


def encode(image: Image.Image, image_format: str, **options: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, image_format, **options)
    return buffer.getvalue()


def jpeg(size: tuple[int, int] = (640, 480), **options: object) -> bytes:
    return encode(picture(size), "JPEG", quality=88, **options)


def png(size: tuple[int, int] = (640, 480)) -> bytes:
    return encode(picture(size), "PNG")


def webp(size: tuple[int, int] = (640, 480)) -> bytes:
    return encode(picture(size), "WEBP", quality=80)


def heic(size: tuple[int, int] = (640, 480)) -> bytes:
    import pillow_heif

    pillow_heif.register_heif_opener()
    return encode(picture(size), "HEIF", quality=60)


def gif() -> bytes:
    return encode(picture((64, 48)).convert("P"), "GIF")


def pdf() -> bytes:
    return encode(picture((64, 48)), "PDF")


def text_file() -> bytes:
    return b"Dear app, this is a text file called photo.jpg. It is not a photo.\n"


def truncated_jpeg() -> bytes:
    data = jpeg((800, 600))
    return data[: len(data) // 2]


def jpeg_with_gps() -> bytes:
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "Realm Test Camera"
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSLatitudeRef] = "N"
    gps[ExifTags.GPS.GPSLatitude] = (52.0, 31.0, 12.0)
    gps[ExifTags.GPS.GPSLongitudeRef] = "E"
    gps[ExifTags.GPS.GPSLongitude] = (13.0, 24.0, 36.0)
    return encode(picture((640, 480)), "JPEG", quality=88, exif=exif)


def gps_of(data: bytes) -> dict[int, object]:
    return dict(Image.open(io.BytesIO(data)).getexif().get_ifd(ExifTags.IFD.GPSInfo))


def jpeg_rotated_by_exif() -> bytes:
    """Stored 600x400, red on the left and blue on the right, with EXIF orientation 6 ("rotate
    90° clockwise to view"): upright it is 400x600, red on top and blue below."""
    image = Image.new("RGB", (600, 400), BLUE)
    ImageDraw.Draw(image).rectangle((0, 0, 299, 399), fill=RED)
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = 6
    return encode(image, "JPEG", quality=95, exif=exif)


def _chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def png_declaring(width: int, height: int) -> bytes:
    """A valid-looking PNG of a few hundred bytes whose header declares width x height pixels
    (1-bit greyscale): a decompression bomb's header, with only a sliver of its data."""
    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    rows = zlib.compress(b"\x00" * (1 + (width + 7) // 8) * 4)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", rows)
        + _chunk(b"IEND", b"")
    )


def png_with_corrupt_pixels() -> bytes:
    """Every chunk's CRC is right, but the compressed pixel data is garbage: it passes the
    door's cheap check and only a decoder can tell."""
    header = struct.pack(">IIBBBBB", 64, 64, 8, 2, 0, 0, 0)
    garbage = bytes(range(256)) * 4
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", garbage)
        + _chunk(b"IEND", b"")
    )


def decode(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image

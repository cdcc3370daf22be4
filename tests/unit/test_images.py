"""The image code of the upload door and of make-thumbnail, on images generated here."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import textwrap

import pytest
from PIL import Image, ImageCms

from realm.media import images
from tests import photo_samples as samples

LIMIT = 40_000_000


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (samples.jpeg(), "JPEG"),
        (samples.png(), "PNG"),
        (samples.webp(), "WEBP"),
        (samples.gif(), None),
        (samples.pdf(), None),
        (samples.text_file(), None),
        (b"", None),
    ],
    ids=["jpeg", "png", "webp", "gif", "pdf", "text", "empty"],
)
def test_the_type_is_read_from_the_content(data: bytes, expected: str | None) -> None:
    assert images.sniff(data) == expected


def test_the_door_reports_type_and_stored_size_of_an_accepted_image() -> None:
    inspected = images.inspect(samples.jpeg((800, 600)), LIMIT)

    assert inspected == images.Inspected("JPEG", "image/jpeg", 800, 600)


@pytest.mark.parametrize(
    "data",
    [samples.gif(), samples.pdf(), samples.text_file()],
    ids=["gif", "pdf", "text"],
)
def test_the_door_refuses_what_is_not_jpeg_png_or_webp(data: bytes) -> None:
    with pytest.raises(images.ImageError) as refused:
        images.inspect(data, LIMIT)

    assert refused.value.kind == "unsupported_type"


@pytest.mark.parametrize(
    "data",
    [
        samples.truncated_jpeg(),
        samples.png()[:-200],
        samples.webp()[:-100],
        b"\xff\xd8\xff\xe0 not really a jpeg",
    ],
    ids=["jpeg", "png", "webp", "jpeg-magic-only"],
)
def test_the_door_refuses_a_truncated_or_broken_image_as_undecodable(data: bytes) -> None:
    with pytest.raises(images.ImageError) as refused:
        images.inspect(data, LIMIT)

    assert refused.value.kind == "undecodable"


def test_the_door_refuses_an_image_over_the_pixel_limit() -> None:
    with pytest.raises(images.ImageError) as refused:
        images.inspect(samples.jpeg((400, 300)), max_pixels=400 * 300 - 1)

    assert refused.value.kind == "too_many_pixels"


def test_a_small_png_declaring_100000_by_100000_pixels_is_refused_quickly_in_little_memory() -> (
    None
):
    # In a fresh process whose peak memory is reset (Linux inherits it over fork), so that the
    # peak is this check's alone. Decoding those pixels would take 1.25 GB (one bit each).
    bomb = samples.png_declaring(100_000, 100_000)
    assert len(bomb) < 2000
    script = textwrap.dedent(
        """
        import json, sys, time
        from pathlib import Path
        from realm.media import images

        def status_kb(field):
            lines = Path("/proc/self/status").read_text().splitlines()
            return next(int(line.split()[1]) for line in lines if line.startswith(field + ":"))

        bomb = sys.stdin.buffer.read()
        Path("/proc/self/clear_refs").write_text("5")  # resets the peak to the current RSS
        baseline = status_kb("VmRSS")
        kinds, started = [], time.perf_counter()
        for check in (images.inspect, images.render):
            try:
                check(bomb, 40_000_000)
            except images.ImageError as error:
                kinds.append(error.kind)
        elapsed = time.perf_counter() - started
        added_mb = (status_kb("VmHWM") - baseline) / 1024
        print(json.dumps({"kinds": kinds, "seconds": elapsed, "added_mb": added_mb}))
        """
    )
    run = subprocess.run(
        [sys.executable, "-c", script], input=bomb, capture_output=True, check=True, timeout=60
    )
    result = json.loads(run.stdout)

    assert result["kinds"] == ["too_many_pixels", "too_many_pixels"]
    assert result["seconds"] < 1.0
    assert result["added_mb"] < 20, result


def test_rendering_makes_a_display_image_and_square_thumbnails_in_webp() -> None:
    rendered = images.render(samples.jpeg((3000, 2000)), LIMIT)

    assert (rendered.width, rendered.height) == (3000, 2000)
    sizes = {output.name: samples.decode(output.data).size for output in rendered.outputs}
    assert sizes == {"display": (1280, 853), "512": (512, 512), "128": (128, 128)}
    for output in rendered.outputs:
        assert samples.decode(output.data).format == "WEBP"
        assert (output.width, output.height) == sizes[output.name]


def test_a_small_image_is_not_upscaled_for_display() -> None:
    rendered = images.render(samples.png((300, 200)), LIMIT)

    display = next(output for output in rendered.outputs if output.name == "display")
    assert samples.decode(display.data).size == (300, 200)


@pytest.mark.parametrize("make", [samples.png, samples.webp], ids=["png", "webp"])
def test_png_and_webp_render_too(make: object) -> None:
    assert callable(make)
    rendered = images.render(make((2000, 1500)), LIMIT)

    assert [samples.decode(o.data).size for o in rendered.outputs] == [
        (1280, 960),
        (512, 512),
        (128, 128),
    ]


def test_a_jpeg_with_a_gps_location_comes_out_without_any_metadata() -> None:
    original = samples.jpeg_with_gps()
    assert samples.gps_of(original), "the test image must carry a GPS location"

    for output in images.render(original, LIMIT).outputs:
        assert samples.gps_of(output.data) == {}
        decoded = samples.decode(output.data)
        assert dict(decoded.getexif()) == {}
        assert not {"exif", "xmp", "icc_profile"} & set(decoded.info)
        assert b"Exif" not in output.data
        assert b"GPS" not in output.data


def test_an_embedded_colour_profile_is_applied_and_dropped() -> None:
    profile = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    original = samples.encode(samples.picture(), "JPEG", icc_profile=profile)
    assert Image.open(io.BytesIO(original)).info.get("icc_profile")

    for output in images.render(original, LIMIT).outputs:
        assert "icc_profile" not in samples.decode(output.data).info


def test_a_jpeg_with_orientation_6_comes_out_upright() -> None:
    rendered = images.render(samples.jpeg_rotated_by_exif(), LIMIT)

    assert (rendered.width, rendered.height) == (400, 600)
    display = samples.decode(rendered.outputs[0].data).convert("RGB")
    assert display.size == (400, 600)
    top, bottom = display.getpixel((200, 100)), display.getpixel((200, 500))
    assert isinstance(top, tuple)
    assert isinstance(bottom, tuple)
    assert _close(top, samples.RED), top
    assert _close(bottom, samples.BLUE), bottom


def test_transparency_survives_in_the_thumbnails() -> None:
    image = Image.new("RGBA", (600, 600), (0, 0, 0, 0))
    image.paste((200, 10, 10, 255), (0, 0, 300, 600))
    rendered = images.render(samples.encode(image, "PNG"), LIMIT)

    thumbnail = samples.decode(rendered.outputs[-1].data)
    assert thumbnail.mode == "RGBA"
    assert thumbnail.getpixel((120, 64)) == (0, 0, 0, 0)


def test_corrupt_pixel_data_behind_a_valid_png_header_is_undecodable() -> None:
    data = samples.png_with_corrupt_pixels()
    images.inspect(data, LIMIT)  # the cheap door check cannot tell

    with pytest.raises(images.ImageError) as refused:
        images.render(data, LIMIT)

    assert refused.value.kind == "undecodable"


def test_a_large_jpeg_is_decoded_at_reduced_scale() -> None:
    # 4000x3000 needs a 1280-pixel display image: JPEG draft mode decodes it at 1/2 scale.
    assert images._decode_scale(4000, 3000) == pytest.approx(0.32)
    # A long panorama still needs 512 pixels across its short side for the square thumbnail.
    assert images._decode_scale(8000, 1000) == pytest.approx(0.512)


@pytest.mark.skipif(not images.HEIF, reason="pillow-heif is not installed")
def test_heic_from_an_iphone_is_accepted_when_pillow_heif_is_installed() -> None:
    data = samples.heic((800, 600))

    assert images.inspect(data, LIMIT).content_type == "image/heic"
    assert [o.name for o in images.render(data, LIMIT).outputs] == ["display", "512", "128"]


def _close(pixel: tuple[int, ...], expected: tuple[int, int, int], tolerance: int = 40) -> bool:
    return all(abs(a - b) <= tolerance for a, b in zip(pixel[:3], expected, strict=True))

"""Benchmark of make-thumbnail's image code (not a test): a generated 12-megapixel JPEG through
``realm.media.images.render`` beside a naive Pillow open → resize → save of the same image producing
the same three WebP outputs, in the same run.

    .venv/bin/python -m bench.thumbnail [--runs 7] [--megapixels 12]

Each variant runs in a fresh child process (so that one's memory does not hide the other's):
the median wall time of ``--runs`` runs after one warm-up, and the peak resident memory the
runs added on top of the process after imports and reading the file (``ru_maxrss``, which
counts Pillow's C buffers, unlike tracemalloc).
"""

from __future__ import annotations

import argparse
import io
import json
import math
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.common import REPO

VARIANTS = {
    "render": "make-thumbnail: realm.media.images.render (draft decode, 3 WebP)",
    "naive": "naive: open, full decode, resize x3, save 3 WebP",
    "inspect": "the door: realm.media.images.inspect (header + 1/8 decode)",
}


def make_jpeg(megapixels: float) -> bytes:
    """A photo-like 4:3 JPEG: gradients, shapes and sensor-like noise (quality 90)."""
    from PIL import Image, ImageDraw, ImageFilter

    width = int(math.sqrt(megapixels * 1e6 * 4 / 3))
    height = width * 3 // 4
    gradient = Image.linear_gradient("L")
    base = Image.merge(
        "RGB", (gradient, gradient.transpose(Image.Transpose.ROTATE_90), gradient.rotate(45))
    ).resize((width, height), Image.Resampling.BILINEAR)
    draw = ImageDraw.Draw(base)
    for i in range(40):
        x, y = (i * 7919) % width, (i * 104729) % height
        r = width // (8 + i % 7)
        draw.ellipse((x - r, y - r, x + r, y + r), fill=((i * 37) % 256, (i * 91) % 256, 128))
    noise = Image.effect_noise((width, height), 24).convert("RGB")
    picture = Image.blend(base.filter(ImageFilter.GaussianBlur(3)), noise, 0.12)
    buffer = io.BytesIO()
    picture.save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


def naive(data: bytes) -> list[bytes]:
    """What one writes first: decode everything, resize from full size, save."""
    from PIL import Image, ImageOps

    from realm.media.images import WEBP_METHOD, WEBP_QUALITY

    image = Image.open(io.BytesIO(data))
    image.load()
    outputs = []
    display = image.resize(
        (1280, round(image.height * 1280 / image.width)), Image.Resampling.LANCZOS
    )
    outputs.append(display)
    for size in (512, 128):
        outputs.append(ImageOps.fit(image, (size, size), Image.Resampling.LANCZOS))
    encoded = []
    for name, output in zip(("display", "512", "128"), outputs, strict=True):
        # The same encoder settings as make-thumbnail's: the difference is decoding and resizing.
        buffer = io.BytesIO()
        output.save(buffer, "WEBP", quality=WEBP_QUALITY[name], method=WEBP_METHOD[name])
        encoded.append(buffer.getvalue())
    return encoded


def _child(variant: str, path: str, runs: int) -> None:
    from realm.media import images

    data = Path(path).read_bytes()
    if variant == "render":

        def work() -> object:
            return images.render(data, 40_000_000)
    elif variant == "inspect":

        def work() -> object:
            return images.inspect(data, 40_000_000)
    else:

        def work() -> object:
            return naive(data)

    baseline = _reset_peak_kb()
    work()  # warm-up (and the first peak)
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        work()
        times.append((time.perf_counter() - started) * 1000)
    peak = _peak_kb()
    print(json.dumps({"median_ms": statistics.median(times), "peak_mb": (peak - baseline) / 1024}))


def _status_kb(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise KeyError(field)


def _reset_peak_kb() -> int:
    """Resets the peak RSS (Linux: a child's starts at its parent's, inherited over fork) and
    returns the current RSS."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return _status_kb("VmRSS")
    except OSError:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def _peak_kb() -> int:
    try:
        return _status_kb("VmHWM")
    except OSError:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def _measure(variant: str, path: Path, runs: int) -> dict[str, float]:
    run = subprocess.run(
        [sys.executable, "-m", "bench.thumbnail", "--child", variant, str(path), str(runs)],
        capture_output=True,
        check=True,
        cwd=REPO,
        timeout=600,
    )
    result: dict[str, float] = json.loads(run.stdout.decode().strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--megapixels", type=float, default=12)
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        variant, path, runs = args.child
        _child(variant, path, int(runs))
        return

    from PIL import Image

    data = make_jpeg(args.megapixels)
    size = Image.open(io.BytesIO(data)).size
    with tempfile.TemporaryDirectory(prefix="realm-bench-") as directory:
        path = Path(directory) / "photo.jpg"
        path.write_bytes(data)
        results = {variant: _measure(variant, path, args.runs) for variant in VARIANTS}

    print(
        f"\nmake-thumbnail image code: {size[0]}x{size[1]} JPEG "
        f"({size[0] * size[1] / 1e6:.1f} MP, {len(data) / 1e6:.1f} MB), "
        f"median of {args.runs} runs, peak RSS added over the idle process\n"
    )
    print(f"| {'variant':<58} | {'median ms':>9} | {'peak MB':>7} |")
    print(f"|{'-' * 60}|{'-' * 11}|{'-' * 9}|")
    for variant, label in VARIANTS.items():
        r = results[variant]
        print(f"| {label:<58} | {r['median_ms']:>9.1f} | {r['peak_mb']:>7.1f} |")
    ours, theirs = results["render"], results["naive"]
    time_ratio = theirs["median_ms"] / ours["median_ms"]
    memory_ratio = theirs["peak_mb"] / max(ours["peak_mb"], 0.1)
    print(f"| {'ratio naive / make-thumbnail':<58} | {time_ratio:>8.1f}x | {memory_ratio:>6.1f}x |")


if __name__ == "__main__":
    main()

"""The codecs a benchmark can sweep, by stable short name, and their default rate points.

The CRF points span about 0.02-1 bpp on the eval clips (GOP 32, low delay, 30 frames; measured
with packet sizes): x264 CRF 17..42 gave 0.027-0.31 bpp on cars 320x240, 0.021-0.51 on sintel
1024x436 and 0.055-0.88 on walk 176x144; x265 0.020-1.17 and SVT-AV1 CRF 20..62 0.022-1.28 over
the same clips. SVT-AV1's CRF scale (0-63) is not x264's (0-51), hence other numbers. gancodec's
points are its continuous --quality (1..8).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from gancodec.errors import UsageError


@dataclass(frozen=True)
class CodecSpec:
    name: str  # stable id used on the command line, in file names and in the cache key
    label: str  # what plots and tables show
    param: str  # "crf" or "quality": what a rate point means
    default_points: tuple[float, ...]
    description: str


_SPECS = (
    CodecSpec(
        "gancodec", "gancodec", "quality", (1.0, 2.5, 4.0, 5.5, 7.0, 8.0),
        "gancodec learned codec: I-frames every GOP frames, P-frames (block motion + learned residual) between",
    ),
    CodecSpec(
        "gancodec-slow", "gancodec slow", "quality", (1.0, 2.5, 4.0, 5.5, 7.0, 8.0),
        "gancodec with --preset slow: the encoder refines each frame's latents (same decoder)",
    ),
    CodecSpec(
        "gancodec-raw", "gancodec (no restoration)", "quality", (1.0, 2.5, 4.0, 5.5, 7.0, 8.0),
        "gancodec decoded without its restoration stage (decode --postfilter off): the reconstruction itself",
    ),
    CodecSpec(
        "x264", "x264", "crf", (17.0, 22.0, 27.0, 32.0, 37.0, 42.0),
        "libx264 via PyAV, low delay: bf=0, g=keyint_min=GOP, sc_threshold=0",
    ),
    CodecSpec(
        "x265", "x265", "crf", (17.0, 22.0, 27.0, 32.0, 37.0, 42.0),
        "libx265 via PyAV, low delay: bframes=0, keyint=min-keyint=GOP, scenecut=0",
    ),
    CodecSpec(
        "svtav1", "SVT-AV1", "crf", (20.0, 30.0, 38.0, 46.0, 54.0, 62.0),
        "libsvtav1 via PyAV, preset 8, low delay: pred-struct=1, g=GOP, scd=0",
    ),
)  # fmt: skip
CODECS: dict[str, CodecSpec] = {spec.name: spec for spec in _SPECS}
DEFAULT_CODECS = ("gancodec", "x264", "x265", "svtav1")
LEARNED_PRESETS = {"gancodec": "fast", "gancodec-slow": "slow", "gancodec-raw": "fast"}  # name -> encode --preset
LEARNED_POSTFILTER = {"gancodec": "on", "gancodec-slow": "on", "gancodec-raw": "off"}  # name -> decode --postfilter


def resolve_codecs(names: str | list[str] | tuple[str, ...]) -> list[CodecSpec]:
    """'gancodec,x264' -> specs, in the given order; an unknown name is a usage error."""
    if isinstance(names, str):
        names = [n for n in (part.strip() for part in names.split(",")) if n]
    if not names:
        raise UsageError("--codecs is empty (choose from: " + ", ".join(CODECS) + ")")
    specs = []
    for name in names:
        key = name.lower()
        if key not in CODECS:
            raise UsageError(f"unknown codec '{name}' (choose from: {', '.join(CODECS)})")
        if CODECS[key] not in specs:
            specs.append(CODECS[key])
    return specs


def parse_points(text: str | list[float] | tuple[float, ...], what: str = "--qualities") -> tuple[float, ...]:
    """'1,2.5,4' -> (1.0, 2.5, 4.0); rejects empty lists and non-numbers with a one-line message."""
    items = text.split(",") if isinstance(text, str) else list(text)
    try:
        points = tuple(float(p) for p in items if not isinstance(p, str) or p.strip())
    except (TypeError, ValueError):
        raise UsageError(f"{what} expects comma-separated numbers, e.g. 1,2.5,4 (got '{text}')") from None
    if any(not math.isfinite(p) for p in points):
        raise UsageError(f"{what}: points must be finite numbers (got '{text}')")
    if not points:
        raise UsageError(f"{what} is empty")
    return points

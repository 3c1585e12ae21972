"""Typed results of the enhancement benchmark (gancodec.bench.enhance), shared with its reports.

Deltas are always enhanced − decoded, both measured against the original frames; bpp comes from the
coded bytes (sum of packet sizes, no container).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import NamedTuple

from gancodec.models.yuv import YuvFrame

SHOWN_METRICS = ("psnr-y", "psnr-yuv", "ssim", "ms-ssim", "vmaf", "tpsnr-y")
REPORT_FILES = ("enhance.json", "enhance.md")


class Condition(NamedTuple):
    """One way of damaging the clips before restoration: a baseline codec at one CRF."""

    codec: str
    crf: float

    @property
    def label(self) -> str:
        return f"{self.codec} CRF {self.crf:g}"


CONDITIONS = (Condition("x265", 32), Condition("x265", 37), Condition("x265", 42), Condition("x264", 37))
BAR_CONDITION = Condition("x265", 37)
BAR_GAIN_DB = 0.6


@dataclass
class Clip:
    """The first frames of one input video, decoded once and reused by every condition."""

    name: str
    path: str
    width: int
    height: int
    fps: Fraction
    frames: list[YuvFrame]

    def info(self) -> dict:
        return {
            "name": self.name, "path": self.path, "width": self.width, "height": self.height,
            "fps": float(self.fps), "frames": len(self.frames),
        }  # fmt: skip


@dataclass
class EnhanceResult:
    """One sequence under one condition: decoded and enhanced quality (means), speed, per-frame data."""

    sequence: str
    codec: str
    crf: float
    frames: int
    width: int
    height: int
    bytes: int
    enhance_seconds: float  # time inside enhance_frames only (decoded frames already in memory)
    decoded: dict[str, float | None] = field(default_factory=dict)
    enhanced: dict[str, float | None] = field(default_factory=dict)
    per_frame: dict[str, dict[str, list]] = field(default_factory=dict)  # metric -> decoded/enhanced

    @property
    def condition(self) -> Condition:
        return Condition(self.codec, self.crf)

    @property
    def bpp(self) -> float:
        return self.bytes * 8 / (self.frames * self.width * self.height)

    @property
    def enhance_fps(self) -> float | None:
        return self.frames / self.enhance_seconds if self.enhance_seconds > 0 else None

    @property
    def delta(self) -> dict[str, float | None]:
        return {m: _sub(self.enhanced.get(m), self.decoded.get(m)) for m in self.decoded}

    def to_dict(self) -> dict:
        return {**asdict(self), "bpp": self.bpp, "enhance_fps": self.enhance_fps, "delta": self.delta}


@dataclass
class CropSource:
    """One frame (original, decoded, enhanced) kept per sequence for the side-by-side crop."""

    sequence: str
    condition: Condition
    index: int
    original: YuvFrame
    decoded: YuvFrame
    enhanced: YuvFrame


@dataclass
class BarVerdict:
    condition: Condition
    sequences: int
    mean_delta: float | None
    worst: tuple[str, float] | None  # (sequence, ΔPSNR-Y) of the lowest delta
    met: bool | None  # None: the condition was not measured

    def text(self) -> str:
        bar = f"ΔPSNR-Y ≥ +{BAR_GAIN_DB:.1f} dB averaged at {self.condition.label}, no sequence worse"
        if self.met is None:
            return f"Not evaluated: {self.condition.label} was not measured (bar: {bar})."
        verdict = "Met" if self.met else "Not met"
        worst = f"worst {self.worst[0]} {self.worst[1]:+.2f} dB" if self.worst else "no sequence"
        return (
            f"{verdict}: ΔPSNR-Y {self.mean_delta:+.2f} dB averaged over {self.sequences} sequence(s), "
            f"{worst} (bar: {bar})."
        )

    def to_dict(self) -> dict:
        return {
            "codec": self.condition.codec, "crf": self.condition.crf, "min_mean_gain_db": BAR_GAIN_DB,
            "sequences": self.sequences, "mean_delta_psnr_y": self.mean_delta,
            "worst_sequence": self.worst[0] if self.worst else None,
            "worst_delta_psnr_y": self.worst[1] if self.worst else None, "met": self.met, "text": self.text(),
        }  # fmt: skip


@dataclass
class EnhanceReport:
    command: str
    machine: dict
    versions: dict
    enhancer: dict  # id, sha256 (None when the network was passed in), config
    settings: dict
    conditions: list[Condition]
    videos: list[dict] = field(default_factory=list)  # Clip.info() of every clip read
    results: list[EnhanceResult] = field(default_factory=list)
    crops: list[CropSource] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    seconds: float = 0.0
    written: list[Path] = field(default_factory=list)

    def for_condition(self, condition: Condition) -> list[EnhanceResult]:
        return [r for r in self.results if r.condition == condition]

    def bar(self) -> BarVerdict:
        results = self.for_condition(BAR_CONDITION)
        deltas = [(r.sequence, r.delta["psnr-y"]) for r in results if r.delta.get("psnr-y") is not None]
        if not deltas:
            return BarVerdict(BAR_CONDITION, 0, None, None, None)
        mean = sum(d for _, d in deltas) / len(deltas)
        worst = min(deltas, key=lambda sd: sd[1])
        return BarVerdict(BAR_CONDITION, len(deltas), mean, worst, mean >= BAR_GAIN_DB and worst[1] >= 0)


def _sub(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None else a - b


def mean_of(values: Iterable[float | None]) -> float | None:
    defined = [v for v in values if v is not None]
    return sum(defined) / len(defined) if defined else None


def average(results: Sequence[EnhanceResult]) -> dict:
    """Mean over sequences of every number in the tables (a metric undefined somewhere: mean of the rest)."""
    return {
        "sequences": len(results),
        "bpp": mean_of(r.bpp for r in results),
        "enhance_fps": mean_of(r.enhance_fps for r in results),
        **{
            part: {m: mean_of(getattr(r, part).get(m) for r in results) for m in SHOWN_METRICS}
            for part in ("decoded", "enhanced", "delta")
        },
    }

"""Typed results shared by the sweep, the cache and the reports.

bpp and bitrate always come from the bytes actually produced: packet sizes for ffmpeg codecs (no
container), the .gcv file size for gancodec (its container header and index included).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from fractions import Fraction

from gancodec.metrics import METRICS


@dataclass(frozen=True)
class VideoInfo:
    """One benchmark input, probed once: `frames` is how many frames the sweep really codes."""

    path: str
    name: str
    width: int
    height: int
    fps: Fraction
    frames: int
    mtime_ns: int
    size_bytes: int


@dataclass
class PointResult:
    """One encode + decode + measurement of one video by one codec at one rate point."""

    sequence: str
    video: str
    codec: str
    label: str
    param: str
    point: float
    frames: int
    width: int
    height: int
    fps: float
    bytes: int
    encode_seconds: float
    decode_seconds: float
    options: dict[str, str] = field(default_factory=dict)
    keyframes: int | None = None
    metrics: dict[str, float | None] = field(default_factory=dict)  # per-frame means
    summary: dict[str, dict | None] = field(default_factory=dict)  # mean/median/stdev/min/max
    per_frame: dict[str, list] = field(default_factory=dict)
    cached: bool = False

    @property
    def bpp(self) -> float:
        return self.bytes * 8 / (self.frames * self.width * self.height)

    @property
    def bitrate_kbps(self) -> float:
        return self.bytes * 8 * self.fps / self.frames / 1000

    @property
    def encoding_fps(self) -> float | None:
        return self.frames / self.encode_seconds if self.encode_seconds > 0 else None

    @property
    def decoding_fps(self) -> float | None:
        return self.frames / self.decode_seconds if self.decode_seconds > 0 else None

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> PointResult:
        return cls(**data)

    def row(self) -> dict:
        """One tidy CSV row (no per-frame data)."""
        out = {
            "sequence": self.sequence, "codec": self.codec, "label": self.label, "param": self.param,
            "point": self.point, "frames": self.frames, "width": self.width, "height": self.height,
            "fps": round(self.fps, 6), "bytes": self.bytes, "bpp": self.bpp,
            "bitrate_kbps": self.bitrate_kbps,
        }  # fmt: skip
        out.update({m: self.metrics.get(m) for m in METRICS})
        out.update(
            encoding_fps=self.encoding_fps, decoding_fps=self.decoding_fps, keyframes=self.keyframes,
            cached=self.cached,
        )  # fmt: skip
        return out

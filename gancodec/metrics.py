"""Quality metrics on 8-bit YUV 4:2:0 frames (vectorized numpy / torch), per frame and per video.

Conventions (stated in every report, because published numbers differ on exactly these points):

- PSNR is capped at PSNR_CAP dB for identical planes: an infinite value would poison averages.
- PSNR-YUV weights the per-plane PSNRs 6:1:1 (JVET common test conditions, CompressAI's video results).
- PSNR-RGB: both frames go through the same BT.601 limited-range YUV->RGB matrix (numpy, chroma
  upsampled by pixel replication, rounded and clipped to 8-bit like an rgb24 frame); the MSE is
  taken over all three channels together.
- SSIM is on Y only, scikit-image `structural_similarity(gaussian_weights=True, sigma=1.5,
  use_sample_covariance=False, data_range=255)` -- the Wang et al. settings, equal to pytorch-msssim's.
- MS-SSIM is on Y only, pytorch-msssim `ms_ssim(data_range=255)`. Its five scales need a short
  side > MS_SSIM_MIN_SIDE (160) pixels; for smaller frames it is None (not computed), never a guess.
- VMAF (vmaf_v0.6.1, scores clipped to [0, 100]) from vmaf-torch when it is installed, else None;
  computed on Y in chunks with one frame of context each side (gancodec/vmaf.py).
- Temporal PSNR-Y (tPSNR-Y), a flicker detector that needs no optical flow: for each pair of
  consecutive frames, the PSNR (peak 255, capped) between the distorted and the reference luma
  differences (frame t minus frame t-1); a video's value is the mean over pairs. A constant error
  scores the cap, an error that changes from frame to frame (flicker, temporal noise) scores lower.
- A video's `global` block summarizes the per-frame values: mean, median, population stdev, min, max
  (the mean of per-frame PSNRs, like ffmpeg and ffmpeg-quality-metrics).
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field, fields

import numpy as np

from gancodec.errors import InputError
from gancodec.models.yuv import YuvFrame
from gancodec.vmaf import StreamingVmaf, vmaf_available

PSNR_CAP = 100.0
MS_SSIM_MIN_SIDE = 160  # pytorch-msssim asserts short side > (win_size - 1) * 2**4 = 160
METRICS = ("psnr-y", "psnr-u", "psnr-v", "psnr-yuv", "psnr-rgb", "ssim", "ms-ssim", "vmaf")

# BT.601 limited range (16..235 luma, 16..240 chroma) -> full-range RGB, the matrix ffmpeg uses by default.
_Y_SCALE = 255.0 / 219.0
_C_SCALE = 255.0 / 224.0
_RGB_FROM_UV = np.array(
    [[0.0, 1.402 * _C_SCALE], [-0.344136 * _C_SCALE, -0.714136 * _C_SCALE], [1.772 * _C_SCALE, 0.0]],
    dtype=np.float32,
)


def mse(a: np.ndarray, b: np.ndarray) -> float:
    diff = a.astype(np.float64) - b.astype(np.float64)
    return float(np.mean(diff * diff))


def psnr_from_mse(value: float, peak: float = 255.0) -> float:
    if value <= 0:
        return PSNR_CAP
    return min(PSNR_CAP, 10.0 * math.log10(peak * peak / value))


@dataclass
class FramePsnr:
    y: float
    u: float
    v: float

    @property
    def yuv(self) -> float:
        return (6 * self.y + self.u + self.v) / 8


def frame_psnr(ref: YuvFrame, dist: YuvFrame) -> FramePsnr:
    return FramePsnr(*(psnr_from_mse(mse(a, b)) for a, b in zip(ref, dist)))


def yuv_to_rgb(frame: YuvFrame) -> np.ndarray:
    """YuvFrame -> (H, W, 3) uint8 RGB, BT.601 limited range, chroma upsampled by replication."""
    h, w = frame.y.shape
    uv = np.stack([frame.u, frame.v], axis=-1).astype(np.float32) - 128.0
    uv = uv.repeat(2, axis=0).repeat(2, axis=1)[:h, :w]
    y = (frame.y.astype(np.float32) - 16.0) * _Y_SCALE
    rgb = y[..., None] + uv @ _RGB_FROM_UV.T
    return np.clip(np.rint(rgb), 0, 255).astype(np.uint8)


def ssim_y(ref: np.ndarray, dist: np.ndarray) -> float:
    """SSIM of two luma planes (Gaussian window, sigma 1.5: the Wang et al. 2004 settings)."""
    from skimage.metrics import structural_similarity

    return float(
        structural_similarity(
            ref, dist, gaussian_weights=True, sigma=1.5, use_sample_covariance=False, data_range=255
        )
    )


def ms_ssim_y(ref: np.ndarray, dist: np.ndarray) -> float | None:
    """MS-SSIM of two luma planes, or None when the short side is <= 160 px (too small for 5 scales)."""
    if min(ref.shape) <= MS_SSIM_MIN_SIDE:
        return None
    import torch
    from pytorch_msssim import ms_ssim

    a = torch.from_numpy(np.ascontiguousarray(ref)).float()[None, None]
    b = torch.from_numpy(np.ascontiguousarray(dist)).float()[None, None]
    with torch.no_grad():
        return float(ms_ssim(a, b, data_range=255))


@dataclass
class FrameMetrics:
    """All metrics of one frame pair; keys of `as_dict` are the names used in every report."""

    psnr_y: float
    psnr_u: float
    psnr_v: float
    psnr_yuv: float
    psnr_rgb: float
    ssim: float
    ms_ssim: float | None

    def as_dict(self) -> dict[str, float | None]:
        return {f.name.replace("_", "-"): getattr(self, f.name) for f in fields(self)}


def check_same_size(ref: YuvFrame, dist: YuvFrame, ref_name: str = "REF", dist_name: str = "DIST") -> None:
    if ref.y.shape != dist.y.shape or ref.u.shape != dist.u.shape:
        raise InputError(
            f"frame sizes differ: {ref.width}x{ref.height} vs {dist.width}x{dist.height} "
            f"({ref_name}, {dist_name}) — compare videos of the same size"
        )


def temporal_psnr_y(ref: Sequence[YuvFrame], dist: Sequence[YuvFrame]) -> list[float]:
    """Per consecutive pair (t-1, t): PSNR between dist's and ref's luma differences.

    Why: per-frame PSNR cannot see flicker (an error that changes sign every frame scores like a
    constant one), but the frame-to-frame change of the picture can.
    """
    if len(ref) != len(dist):
        raise InputError(f"frame counts differ: {len(ref)} vs {len(dist)} (temporal PSNR)")
    out = []
    for t in range(1, len(ref)):
        check_same_size(ref[t], dist[t])
        d_ref = ref[t].y.astype(np.int16) - ref[t - 1].y.astype(np.int16)
        d_dist = dist[t].y.astype(np.int16) - dist[t - 1].y.astype(np.int16)
        out.append(psnr_from_mse(mse(d_dist, d_ref)))
    return out


def frame_metrics(ref: YuvFrame, dist: YuvFrame) -> FrameMetrics:
    """Every metric of one pair of 8-bit yuv420p frames (see the module docstring for definitions)."""
    check_same_size(ref, dist)
    p = frame_psnr(ref, dist)
    psnr_rgb = psnr_from_mse(mse(yuv_to_rgb(ref), yuv_to_rgb(dist)))
    return FrameMetrics(
        psnr_y=p.y, psnr_u=p.u, psnr_v=p.v, psnr_yuv=p.yuv, psnr_rgb=psnr_rgb,
        ssim=ssim_y(ref.y, dist.y), ms_ssim=ms_ssim_y(ref.y, dist.y),
    )  # fmt: skip


def summarize(values: Iterable[float | None]) -> dict[str, float] | None:
    """mean / median / stdev (population) / min / max of the defined values, or None if there are none."""
    arr = np.array([v for v in values if v is not None and not math.isnan(v)], dtype=np.float64)
    if arr.size == 0:
        return None
    return {
        "mean": float(arr.mean()), "median": float(np.median(arr)), "stdev": float(arr.std()),
        "min": float(arr.min()), "max": float(arr.max()),
    }  # fmt: skip


@dataclass
class VideoMetrics:
    """Per-frame values (one list per metric, in frame order) and their `global` summary."""

    frames: int = 0
    width: int = 0
    height: int = 0
    per_frame: dict[str, list[float | None]] = field(default_factory=lambda: {m: [] for m in METRICS})
    vmaf: StreamingVmaf | None = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.vmaf is None and vmaf_available():
            self.vmaf = StreamingVmaf()

    def add(self, ref: YuvFrame, dist: YuvFrame) -> FrameMetrics:
        m = frame_metrics(ref, dist)
        for key, value in m.as_dict().items():
            self.per_frame[key].append(value)
        if self.vmaf is not None:
            self.vmaf.push(ref.y, dist.y)
        self.frames += 1
        self.width, self.height = ref.width, ref.height
        return m

    def finish(self) -> None:
        """Completes the metrics that need look-ahead (VMAF's motion feature)."""
        if self.vmaf is not None:
            self.per_frame["vmaf"] = list(self.vmaf.finish())
            self.vmaf = None
        elif len(self.per_frame["vmaf"]) != self.frames:
            self.per_frame["vmaf"] = [None] * self.frames  # vmaf-torch not installed

    @property
    def global_(self) -> dict[str, dict[str, float] | None]:
        return {key: summarize(values) for key, values in self.per_frame.items()}

    def mean(self, key: str) -> float | None:
        summary = summarize(self.per_frame[key])
        return summary["mean"] if summary else None

    def to_dict(self) -> dict:
        out = {"frames": self.frames, "width": self.width, "height": self.height}
        out["psnr_cap"] = PSNR_CAP
        out["per_frame"] = [
            {"frame": i, **{k: v[i] for k, v in self.per_frame.items()}} for i in range(self.frames)
        ]
        out["global"] = self.global_
        return out


Progress = Callable[[int, int | None], None]


def compare_frames(
    ref: Iterable[YuvFrame],
    dist: Iterable[YuvFrame],
    ref_name: str = "REF",
    dist_name: str = "DIST",
    total: int | None = None,
    progress: Progress | None = None,
) -> VideoMetrics:
    """Streams two frame sequences pairwise (one frame of each in memory) and measures every pair."""
    result = VideoMetrics()
    ref_it: Iterator[YuvFrame] = iter(ref)
    dist_it: Iterator[YuvFrame] = iter(dist)
    while True:
        a = next(ref_it, None)
        b = next(dist_it, None)
        if a is None and b is None:
            break
        if a is None or b is None:
            short, long_ = (ref_name, dist_name) if a is None else (dist_name, ref_name)
            raise InputError(
                f"frame counts differ: {short} ended after {result.frames} frames, {long_} has more "
                f"({ref_name}, {dist_name}) — use --frames N to compare the first N frames"
            )
        check_same_size(a, b, ref_name, dist_name)
        result.add(a, b)
        if progress:
            progress(result.frames, total)
    if result.frames == 0:
        raise InputError(f"no frames to compare ({ref_name}, {dist_name})")
    result.finish()
    return result


def compare_videos(
    ref_path: str | os.PathLike,
    dist_path: str | os.PathLike,
    frames: int | None = None,
    size: tuple[int, int] | None = None,
    fps: float | None = None,
    progress: Progress | None = None,
) -> VideoMetrics:
    """Metrics of two whole videos, streamed frame by frame (`frames`: only the first N).

    Raises InputError when the frame sizes or frame counts differ. `size`/`fps` are for raw .yuv.
    """
    from gancodec.io import VideoReader

    with VideoReader(ref_path, size=size, fps=fps) as ref, VideoReader(dist_path, size=size, fps=fps) as dist:
        if (ref.width, ref.height) != (dist.width, dist.height):
            raise InputError(
                f"frame sizes differ: {ref.width}x{ref.height} vs {dist.width}x{dist.height} "
                f"({ref_path}, {dist_path}) — compare videos of the same size"
            )
        known = [c for c in (ref.frame_count, dist.frame_count, frames) if c]
        total = min(known) if known else None
        return compare_frames(
            ref.frames(limit=frames),
            dist.frames(limit=frames),
            str(ref_path),
            str(dist_path),
            total,
            progress,
        )


def format_table(result: VideoMetrics) -> str:
    """Human-readable per-frame table followed by the global summary rows (n/a: not defined)."""
    digits = {m: (4 if "ssim" in m else 2) for m in METRICS}
    header = f"{'frame':>8}" + "".join(f"{m:>10}" for m in METRICS)

    def cell(value: float | None, metric: str) -> str:
        return f"{'n/a':>10}" if value is None else f"{value:>10.{digits[metric]}f}"

    lines = [header]
    for i in range(result.frames):
        lines.append(f"{i:>8}" + "".join(cell(result.per_frame[m][i], m) for m in METRICS))
    lines.append("")
    summary = result.global_
    for stat in ("mean", "median", "stdev", "min", "max"):
        lines.append(
            f"{stat:>8}" + "".join(cell(summary[m][stat] if summary[m] else None, m) for m in METRICS)
        )
    return "\n".join(lines)

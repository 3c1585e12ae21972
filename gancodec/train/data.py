"""Training crops from the shared videos and images, held in memory as 8-bit YUV 4:2:0.

Every source (a video file or an image) is equally likely to be drawn, then a random frame and a
random crop of it, so long clips of one scene do not dominate. Large frames are sometimes halved
first, which gives cleaner, more detailed texture at the crop size.
"""

from __future__ import annotations

import glob
import math
import os
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from gancodec.models.yuv import YuvFrame

VIDEO_SUFFIXES = (".mkv", ".mp4", ".avi", ".webm", ".y4m", ".png", ".jpg")
FRAME_ARRAY_SUFFIX = ".npz"  # frames exported by export_frames(): arrays y (N,H,W), u, v (N,H/2,W/2)


@dataclass
class Source:
    """One video or image. `pairs`: the frames are (previous, current) pairs cut from a video
    (export_frames(pairs=True)), so only frame 2k+1 follows the frame before it (frame 2k)."""

    name: str
    frames: list[YuvFrame]
    pairs: bool = False


def load_sources(patterns: list[str], crop: int, max_frames: int = 60) -> list[Source]:
    """Loads every file matched by `patterns` (globs). Frames smaller than `crop` are skipped."""
    sources = []
    for pattern in patterns:
        for path in sorted(glob.glob(os.path.expanduser(pattern))):
            pairs = False
            if path.lower().endswith(FRAME_ARRAY_SUFFIX):
                frames, pairs = _read_frame_arrays(path, max_frames)
            elif path.lower().endswith(VIDEO_SUFFIXES):
                frames = _read_video(path, max_frames)
            else:
                continue
            if frames and min(frames[0].y.shape) >= crop:
                sources.append(Source(os.path.basename(path), frames, pairs))
    if not sources:
        raise ValueError(f"no training frames found in {patterns}")
    return sources


def _read_video(path: str, max_frames: int) -> list[YuvFrame]:
    from gancodec.io import VideoReader  # PyAV: not needed (and not installed) for .npz training data

    with VideoReader(path) as reader:
        return list(reader.frames(limit=max_frames))


def _read_frame_arrays(path: str, max_frames: int) -> tuple[list[YuvFrame], bool]:
    with np.load(path) as arrays:
        y, u, v = (arrays[k][:max_frames] for k in ("y", "u", "v"))
        pairs = bool(arrays["pairs"]) if "pairs" in arrays.files else False
    if pairs:
        y, u, v = (a[: len(a) // 2 * 2] for a in (y, u, v))  # never half a pair
    return [YuvFrame(y[i], u[i], v[i]) for i in range(len(y))], pairs


def export_frames(
    patterns: list[str],
    out_dir: str | os.PathLike,
    every: int = 3,
    max_frames: int = 60,
    max_mpixels: float = 0.0,
    pairs: bool = False,
) -> list[str]:
    """Writes every `every`-th frame (of the first `max_frames`) of each source as one .npz file.

    For training where PyAV is not installed (the GPU machine): load_sources() reads the .npz files
    like videos. `max_mpixels` (0 = no limit) thins a source whose kept frames hold more luma
    megapixels than that to every k-th of them, so that a few HD clips do not fill the 64 MiB that
    travels. `pairs`: keep, from every `2 * every`-th frame t of a video, frames t and t+1 (as many
    frames as without it), so that P-frame residuals (ResidualSampler) can be drawn from consecutive
    frames; images are kept as they are. Returns the paths written.
    """
    os.makedirs(out_dir, exist_ok=True)
    written = []
    for pattern in patterns:
        for path in sorted(glob.glob(os.path.expanduser(pattern))):
            if not path.lower().endswith(VIDEO_SUFFIXES):
                continue
            frames = _read_video(path, max_frames)
            paired = pairs and len(frames) >= 2
            groups = _pairs(frames, 2 * every) if paired else [[f] for f in frames[::every]]
            if max_mpixels and groups:
                mpixels = sum(len(g) for g in groups) * frames[0].y.size / 1e6
                groups = groups[:: math.ceil(mpixels / max_mpixels)]
            kept = [f for g in groups for f in g]
            out = os.path.join(out_dir, os.path.splitext(os.path.basename(path))[0] + FRAME_ARRAY_SUFFIX)
            arrays = {k: np.stack([getattr(f, k) for f in kept]) for k in ("y", "u", "v")}
            np.savez_compressed(out, **arrays, pairs=np.array(paired))
            written.append(out)
    return written


def _pairs(frames: list[YuvFrame], stride: int) -> list[list[YuvFrame]]:
    """[frames t, t+1] for every `stride`-th t that has a successor."""
    return [frames[t : t + 2] for t in range(0, len(frames) - 1, stride)]


def _to_tensors(frame: YuvFrame) -> tuple[torch.Tensor, torch.Tensor]:
    y = torch.from_numpy(np.ascontiguousarray(frame.y)).float()[None] / 255.0
    uv = torch.from_numpy(np.stack([frame.u, frame.v])).float() / 255.0
    return y, uv


class CropSampler:
    """Draws batches of random crops: y (B,1,S,S) and uv (B,2,S/2,S/2), floats in [0,1]."""

    def __init__(self, sources: list[Source], crop: int, seed: int = 0):
        self.sources = sources
        self.crop = crop
        self.rng = np.random.default_rng(seed)

    def _crop(self) -> tuple[torch.Tensor, torch.Tensor]:
        """One crop; frames at least twice the crop size are halved (2x2 mean) half of the time."""
        source = self.sources[self.rng.integers(len(self.sources))]
        frame = source.frames[self.rng.integers(len(source.frames))]
        h, w = frame.y.shape
        scale = 2 if min(h, w) >= 2 * self.crop and self.rng.random() < 0.5 else 1
        size = self.crop * scale  # crop this many source pixels (even offsets keep chroma aligned)
        top = 2 * self.rng.integers((h - size) // 2 + 1)
        left = 2 * self.rng.integers((w - size) // 2 + 1)
        region = YuvFrame(
            frame.y[top : top + size, left : left + size],
            frame.u[top // 2 : (top + size) // 2, left // 2 : (left + size) // 2],
            frame.v[top // 2 : (top + size) // 2, left // 2 : (left + size) // 2],
        )
        y, uv = _to_tensors(region)
        if scale == 2:
            y, uv = F.avg_pool2d(y, 2), F.avg_pool2d(uv, 2)
        if self.rng.random() < 0.5:
            y, uv = y.flip(-1), uv.flip(-1)
        return y, uv

    def batch(self, size: int) -> tuple[torch.Tensor, torch.Tensor]:
        crops = [self._crop() for _ in range(size)]
        return torch.stack([c[0] for c in crops]), torch.stack([c[1] for c in crops])


class ResidualSampler:
    """Draws P-frame residual crops: what the codec codes for a P-frame (models/inter.py).

    A random video source, a random frame t >= 1 (the second of a pair in a `pairs` source) and a
    random crop; frame t-1 (the original, not a
    decoded one: an open-loop stand-in for the decoder's reference) predicts it by the codec's own
    block motion search, and the crop of (frame - prediction) / 255 + 0.5 is returned like a
    CropSampler crop: y (1,S,S), uv (2,S/2,S/2), values in [-0.5, 1.5].

    The motion search costs about as much as a training step, so crops are kept in a pool of
    `pool_size` and reused (flipped at random); once the pool is full, only `fresh_fraction` of the
    draws are searched anew (replacing a random pool entry).
    """

    def __init__(
        self, sources: list[Source], crop: int, seed: int = 0, pool_size: int = 256, fresh_fraction: float = 0.125
    ):
        if pool_size < 1 or not 0.0 <= fresh_fraction <= 1.0:
            raise ValueError(f"residual pool must hold 1 crop or more and its fresh share lie in [0, 1], "
                             f"got {pool_size} and {fresh_fraction}")  # fmt: skip
        self.sources = [s for s in sources if len(s.frames) >= 2]
        if not self.sources:
            raise ValueError("residual training needs video sources (2 frames or more)")
        self.crop = crop
        self.rng = np.random.default_rng(seed)
        self.pool: list[tuple[torch.Tensor, torch.Tensor]] = []
        self.pool_size, self.fresh_fraction = pool_size, fresh_fraction

    def draw(self, bit_cost: float) -> tuple[torch.Tensor, torch.Tensor]:
        """One crop, searched with motion bits priced at bit_cost (SAD units) or from the pool."""
        if len(self.pool) < self.pool_size:
            self.pool.append(self.crop_for(bit_cost))
            y, uv = self.pool[-1]
        elif self.rng.random() < self.fresh_fraction:
            slot = int(self.rng.integers(len(self.pool)))
            self.pool[slot] = self.crop_for(bit_cost)
            y, uv = self.pool[slot]
        else:
            y, uv = self.pool[int(self.rng.integers(len(self.pool)))]
        if self.rng.random() < 0.5:
            y, uv = y.flip(-1), uv.flip(-1)
        if self.rng.random() < 0.5:
            y, uv = y.flip(-2), uv.flip(-2)
        return y, uv

    def crop_for(self, bit_cost: float) -> tuple[torch.Tensor, torch.Tensor]:
        from gancodec.models import motion
        from gancodec.models.yuv import pack_residual

        source = self.sources[self.rng.integers(len(self.sources))]
        t = self.frame_index(source)
        h, w = source.frames[t].y.shape
        top = 2 * self.rng.integers((h - self.crop) // 2 + 1)
        left = 2 * self.rng.integers((w - self.crop) // 2 + 1)
        cur, ref = (_region(source.frames[i], top, left, self.crop) for i in (t, t - 1))
        # predicted as the encoder predicts a format 3.0 P-frame: the closer of "P" and "Pq"
        _, _, predicted = motion.best_prediction(cur, ref, bit_cost, (motion.HALF_BILINEAR, motion.QUARTER_SHARP))
        prediction = YuvFrame(*predicted)
        x = pack_residual(cur, prediction, 2)[0]  # (6, S/2, S/2)
        return F.pixel_shuffle(x[None, :4], 2)[0], x[4:]

    def frame_index(self, source: Source) -> int:
        """A random frame t that follows frame t-1 in the source's video."""
        if source.pairs:  # only the second frame of a pair follows its predecessor
            return int(1 + 2 * self.rng.integers(len(source.frames) // 2))
        return int(1 + self.rng.integers(len(source.frames) - 1))

    def batch(self, bit_costs: list[float]) -> tuple[torch.Tensor, torch.Tensor]:
        crops = [self.draw(c) for c in bit_costs]
        return torch.stack([c[0] for c in crops]), torch.stack([c[1] for c in crops])


def _region(frame: YuvFrame, top: int, left: int, size: int) -> YuvFrame:
    """The size x size luma crop at (top, left) (even) and its chroma, as contiguous arrays."""
    return YuvFrame(
        np.ascontiguousarray(frame.y[top : top + size, left : left + size]),
        np.ascontiguousarray(frame.u[top // 2 : (top + size) // 2, left // 2 : (left + size) // 2]),
        np.ascontiguousarray(frame.v[top // 2 : (top + size) // 2, left // 2 : (left + size) // 2]),
    )

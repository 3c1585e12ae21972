"""Training crops from the shared videos and images, held in memory as 8-bit YUV 4:2:0.

Every source (a video file or an image) is equally likely to be drawn, then a random frame and a
random crop of it, so long clips of one scene do not dominate. Large frames are sometimes halved
first, which gives cleaner, more detailed texture at the crop size.
"""

from __future__ import annotations

import glob
import os
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from gancodec.io import VideoReader
from gancodec.models.yuv import YuvFrame

VIDEO_SUFFIXES = (".mkv", ".mp4", ".avi", ".webm", ".y4m", ".png", ".jpg")


@dataclass
class Source:
    name: str
    frames: list[YuvFrame]


def load_sources(patterns: list[str], crop: int, max_frames: int = 60) -> list[Source]:
    """Loads every file matched by `patterns` (globs). Frames smaller than `crop` are skipped."""
    sources = []
    for pattern in patterns:
        for path in sorted(glob.glob(os.path.expanduser(pattern))):
            if not path.lower().endswith(VIDEO_SUFFIXES):
                continue
            with VideoReader(path) as reader:
                if min(reader.width, reader.height) < crop:
                    continue
                frames = list(reader.frames(limit=max_frames))
            if frames:
                sources.append(Source(os.path.basename(path), frames))
    if not sources:
        raise ValueError(f"no training frames found in {patterns}")
    return sources


def _to_tensors(frame: YuvFrame) -> tuple[torch.Tensor, torch.Tensor]:
    y = torch.from_numpy(frame.y).float()[None] / 255.0
    uv = torch.from_numpy(np.stack([frame.u, frame.v])).float() / 255.0
    return y, uv


class CropSampler:
    """Draws batches of random crops: y (B,1,S,S) and uv (B,2,S/2,S/2), floats in [0,1]."""

    def __init__(self, sources: list[Source], crop: int, seed: int = 0):
        self.sources = sources
        self.crop = crop
        self.rng = np.random.default_rng(seed)

    def _crop(self) -> tuple[torch.Tensor, torch.Tensor]:
        source = self.sources[self.rng.integers(len(self.sources))]
        frame = source.frames[self.rng.integers(len(source.frames))]
        y, uv = _to_tensors(frame)
        h, w = y.shape[-2:]
        if min(h, w) >= 2 * self.crop and self.rng.random() < 0.5:
            y, uv = F.avg_pool2d(y, 2), F.avg_pool2d(uv, 2)
            h, w = y.shape[-2:]
        top = 2 * self.rng.integers((h - self.crop) // 2 + 1)
        left = 2 * self.rng.integers((w - self.crop) // 2 + 1)
        y = y[:, top : top + self.crop, left : left + self.crop]
        c = self.crop // 2
        uv = uv[:, top // 2 : top // 2 + c, left // 2 : left // 2 + c]
        if self.rng.random() < 0.5:
            y, uv = y.flip(-1), uv.flip(-1)
        return y, uv

    def batch(self, size: int) -> tuple[torch.Tensor, torch.Tensor]:
        crops = [self._crop() for _ in range(size)]
        return torch.stack([c[0] for c in crops]), torch.stack([c[1] for c in crops])

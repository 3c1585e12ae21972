"""Quality metrics on 8-bit YUV 4:2:0 frames (vectorized numpy).

PSNR is capped at PSNR_CAP dB for identical planes (an infinite value would poison averages);
reports say so. PSNR-YUV weights the planes' MSE 6:1:1 (as in the JVET common test conditions
and CompressAI's video results, averaging PSNRs per plane).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from gancodec.models.yuv import YuvFrame

PSNR_CAP = 100.0


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

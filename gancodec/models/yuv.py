"""YUV 4:2:0 frames <-> the packed tensor that the networks see.

gancodec codes frames in YUV 4:2:0, the format video lives in, so no colour conversion loses
anything and the loss can weight luma the way PSNR-YUV does. The luma plane is folded into four
half-resolution channels (space-to-depth, 2x2) and stacked with U and V, giving one
(B, 6, H/2, W/2) tensor. Frames are padded (edge replication) to a multiple of the network's
total stride, and cropped back after decoding.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

LUMA_CHANNELS = 4
PACKED_CHANNELS = 6


class YuvFrame(NamedTuple):
    """One 8-bit 4:2:0 frame: y (H, W), u and v (ceil(H/2), ceil(W/2)), all uint8."""

    y: np.ndarray
    u: np.ndarray
    v: np.ndarray

    @property
    def width(self) -> int:
        return self.y.shape[1]

    @property
    def height(self) -> int:
        return self.y.shape[0]


def chroma_size(width: int, height: int) -> tuple[int, int]:
    return (width + 1) // 2, (height + 1) // 2


def padded_size(width: int, height: int, multiple: int) -> tuple[int, int]:
    return -(-width // multiple) * multiple, -(-height // multiple) * multiple


def _pad_plane(plane: Tensor, height: int, width: int) -> Tensor:
    pad_h, pad_w = height - plane.shape[-2], width - plane.shape[-1]
    if pad_h == 0 and pad_w == 0:
        return plane
    # replicate padding needs a 3-D/4-D input; edges copied so the padding costs few bits
    return F.pad(plane[None], (0, pad_w, 0, pad_h), mode="replicate")[0]


def pack(frame: YuvFrame, multiple: int) -> Tensor:
    """YuvFrame -> (1, 6, Hp/2, Wp/2) float32 in [0, 1], padded to `multiple` (luma pixels)."""
    planes = (torch.from_numpy(np.array(p, dtype=np.float32)) / 255.0 for p in frame)
    return _pack_float(*planes, multiple)


def pack_residual(frame: YuvFrame, prediction: YuvFrame, multiple: int) -> Tensor:
    """(frame - prediction) / 255 + 0.5, packed and padded like pack(): what a P-frame codes.
    Values lie in [-0.5, 1.5]; a perfect prediction is a flat 0.5 frame."""
    planes = (
        (torch.from_numpy(c.astype(np.float32)) - torch.from_numpy(p.astype(np.float32))) / 255.0 + 0.5
        for c, p in zip(frame, prediction)
    )
    return _pack_float(*planes, multiple)


def add_residual(prediction: YuvFrame, x_hat: Tensor) -> YuvFrame:
    """prediction + the decoded residual x_hat (1, 6, Hp/2, Wp/2, see pack_residual), as uint8."""
    height, width = prediction.y.shape
    residual = torch.round(x_hat * 255.0 - 127.5)
    y = F.pixel_shuffle(residual[:, :LUMA_CHANNELS], 2)[0, 0, :height, :width]
    cw, ch = chroma_size(width, height)
    planes = (y, residual[0, LUMA_CHANNELS, :ch, :cw], residual[0, LUMA_CHANNELS + 1, :ch, :cw])
    out = (
        (torch.from_numpy(p.astype(np.float32)) + r).clamp(0, 255).to(torch.uint8).numpy()
        for p, r in zip(prediction, planes)
    )
    return YuvFrame(*out)


def _pack_float(y: Tensor, u: Tensor, v: Tensor, multiple: int) -> Tensor:
    """Planes (H, W), (H/2, W/2) x 2 float -> (1, 6, Hp/2, Wp/2), edge-padded to `multiple`."""
    wp, hp = padded_size(y.shape[1], y.shape[0], multiple)
    y = _pad_plane(y[None], hp, wp)
    u = _pad_plane(u[None], hp // 2, wp // 2)
    v = _pad_plane(v[None], hp // 2, wp // 2)
    return torch.cat([F.pixel_unshuffle(y[None], 2), u[None], v[None]], dim=1)


def pack_planes(y: Tensor, uv: Tensor) -> Tensor:
    """Training-side packing. y (B, 1, H, W), uv (B, 2, H/2, W/2) -> (B, 6, H/2, W/2)."""
    return torch.cat([F.pixel_unshuffle(y, 2), uv], dim=1)


def unpack(x: Tensor, width: int, height: int) -> YuvFrame:
    """(1, 6, Hp/2, Wp/2) float in [0, 1] -> YuvFrame cropped to width x height (rounded to uint8)."""
    x = torch.round(x.clamp(0.0, 1.0) * 255.0).to(torch.uint8)
    y = F.pixel_shuffle(x[:, :LUMA_CHANNELS], 2)[0, 0, :height, :width]
    cw, ch = chroma_size(width, height)
    u = x[0, LUMA_CHANNELS, :ch, :cw]
    v = x[0, LUMA_CHANNELS + 1, :ch, :cw]
    return YuvFrame(y.numpy().copy(), u.numpy().copy(), v.numpy().copy())


def yuv_distortion(x: Tensor, x_hat: Tensor) -> Tensor:
    """Per-sample MSE weighted 6:1:1 (Y:U:V) like PSNR-YUV. x, x_hat (B, 6, h, w) -> (B,)."""
    se = (x - x_hat).square()
    mse_y = se[:, :LUMA_CHANNELS].mean(dim=(1, 2, 3))
    mse_u = se[:, LUMA_CHANNELS].mean(dim=(1, 2))
    mse_v = se[:, LUMA_CHANNELS + 1].mean(dim=(1, 2))
    return (6.0 * mse_y + mse_u + mse_v) / 8.0

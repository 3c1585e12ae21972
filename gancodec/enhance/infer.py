"""Streaming, tiled inference: frames in, restored frames out, with bounded memory.

Only `window` frames are held at a time (the first and last frames are repeated at the ends), and
frames larger than `tile` are processed in overlapping tiles whose overlap covers the network's
receptive field, so the stitched result equals an untiled run.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Iterator

import torch
from torch import Tensor

from gancodec.enhance.net import EnhanceNet
from gancodec.models.yuv import YuvFrame, pack, unpack



@torch.no_grad()
def restore_window(net: EnhanceNet, window: Tensor, tile: int | None) -> Tensor:
    """window (1,T,6,h,w) -> restored middle frame (1,6,h,w); `tile` in luma pixels (None = whole)."""
    h, w = window.shape[-2:]
    overlap = net.config.receptive_radius  # packed pixels: the stitched result equals an untiled run
    step = max(8, tile // 2) if tile else max(h, w)
    if h <= step and w <= step:
        return net(window)
    out = torch.empty(window.shape[0], window.shape[2], h, w)
    for top in range(0, h, step):
        for left in range(0, w, step):
            t0, l0 = max(0, top - overlap), max(0, left - overlap)
            t1, l1 = min(h, top + step + overlap), min(w, left + step + overlap)
            restored = net(window[..., t0:t1, l0:l1])
            out[..., top : top + step, left : left + step] = restored[
                ..., top - t0 : top - t0 + step, left - l0 : left - l0 + step
            ]
    return out


def enhance_frames(
    net: EnhanceNet, frames: Iterable[YuvFrame], tile: int | None = None, device: str = "cpu"
) -> Iterator[YuvFrame]:
    """Restores a stream of frames; yields one output frame per input frame, in order."""
    radius = net.config.window // 2
    buffer: deque[Tensor] = deque(maxlen=net.config.window)
    width = height = 0
    pending = 0  # frames pushed whose output is not yet yielded

    def emit() -> YuvFrame:
        window = torch.stack(list(buffer), dim=1).to(device)
        return unpack(restore_window(net, window, tile).cpu(), width, height)

    for frame in frames:
        packed = pack(frame, net.config.multiple)
        width, height = frame.width, frame.height
        if not buffer:
            buffer.extend([packed] * (radius + 1))  # repeat the first frame before the start
        else:
            buffer.append(packed)
        pending += 1
        if len(buffer) == net.config.window and pending > radius:
            yield emit()
            pending -= 1
    while pending > 0:  # repeat the last frame after the end
        buffer.append(buffer[-1])
        yield emit()
        pending -= 1

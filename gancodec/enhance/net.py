"""The multi-frame restoration network: 3 decoded frames in, the restored middle frame out.

    frames t-1, t, t+1 (each packed YUV 4:2:0, (B,6,H/2,W/2)) --concat--> (B,18,H/2,W/2)
    --conv 3x3--> features (B,C,H/2,W/2) --K residual blocks--> --conv 3x3--> residual (B,6,H/2,W/2)
    restored = frame t + residual

Early fusion (no explicit alignment) keeps it small enough for real-time CIF on a 2-core CPU; the
neighbours still help wherever motion is smaller than the receptive field (about 2*(2K+2) luma
pixels). The last conv starts at zero, so an untrained network is the identity: training can only
move it away from "do no harm" as far as the data supports. Working on packed YUV (see
models/yuv.py) means no colour conversion and half-resolution convolutions.
"""

from __future__ import annotations

from dataclasses import dataclass

from torch import Tensor, nn

from gancodec.models.yuv import PACKED_CHANNELS


@dataclass(frozen=True)
class EnhanceConfig:
    channels: int = 32
    blocks: int = 6
    window: int = 3  # frames in, odd; the middle one is restored

    @property
    def receptive_radius(self) -> int:
        """Packed pixels each side that one output pixel depends on: one per 3x3 conv."""
        return 2 * self.blocks + 2

    @property
    def multiple(self) -> int:
        """Frames are padded to a multiple of this many luma pixels (2: the packing)."""
        return 2


class ResidualBlock(nn.Module):
    def __init__(self, channels: int):
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(channels, channels, 3, padding=1),
            nn.ReLU(inplace=True),
            nn.Conv2d(channels, channels, 3, padding=1),
        )

    def forward(self, x: Tensor) -> Tensor:
        return x + self.body(x)


class EnhanceNet(nn.Module):
    """Args: window (B, T, 6, H/2, W/2) in [0,1], T = config.window. Returns (B, 6, H/2, W/2)."""

    def __init__(self, config: EnhanceConfig = EnhanceConfig()):
        super().__init__()
        self.config = config
        c = config.channels
        self.head = nn.Sequential(
            nn.Conv2d(PACKED_CHANNELS * config.window, c, 3, padding=1), nn.ReLU(inplace=True)
        )
        self.body = nn.Sequential(*(ResidualBlock(c) for _ in range(config.blocks)))
        self.tail = nn.Conv2d(c, PACKED_CHANNELS, 3, padding=1)
        nn.init.zeros_(self.tail.weight)
        nn.init.zeros_(self.tail.bias)

    def forward(self, window: Tensor) -> Tensor:
        b, t, c, h, w = window.shape
        center = window[:, t // 2]
        features = self.head((window - 0.5).reshape(b, t * c, h, w))
        return center + self.tail(self.body(features))

"""The multi-frame restoration network: 3 decoded frames in, the restored middle frame out.

    frames t-1, t, t+1 (each packed YUV 4:2:0, (B,6,H/2,W/2)) --concat--> (B,18,H/2,W/2)
    --conv 3x3--> features (B,C,H/2,W/2) --encoder--> ... --blocks at 1/2^(S-1)--> ... --decoder-->
    --conv 3x3--> residual (B,6,H/2,W/2);   restored = frame t + residual

With `scales` S = 1 it is a plain stack of residual blocks (the 0.3 release, "gc-enhance-s" v1).
With S > 1 it is a small U-Net: each level halves the resolution (2x2 stride-2 conv) and doubles the
channels, the blocks run at the coarsest level, and pixel-shuffle upsampling adds the skip features
back. The coarse levels cost as much per pixel as one fine level but see far more: HEVC blocks reach
64x64 luma pixels, much more than a flat stack of 3x3 convs can see at real-time cost.

Early fusion (no explicit alignment) keeps it small enough for real-time CIF on a 2-core CPU; the
neighbours still help wherever motion is smaller than the receptive field. The last conv starts at
zero, so an untrained network is the identity: training can only move it away from "do no harm" as
far as the data supports. Working on packed YUV (see models/yuv.py) means no colour conversion and
half-resolution convolutions.
"""

from __future__ import annotations

from dataclasses import dataclass

from torch import Tensor, nn

from gancodec.models.yuv import PACKED_CHANNELS


@dataclass(frozen=True)
class EnhanceConfig:
    channels: int = 32  # at the finest (packed) level; doubled at each coarser one
    blocks: int = 6  # residual blocks at the coarsest level
    window: int = 3  # frames in, odd; the middle one is restored
    scales: int = 1  # resolution levels (1 = no U-Net)
    level_blocks: int = 1  # residual blocks per level on the way down and again on the way up

    @property
    def receptive_radius(self) -> int:
        """Packed pixels each side that one output pixel can depend on (an upper bound).

        A 3x3 conv at level i reaches 2^i packed pixels; a 2x2 stride-2 conv from level i, 2^i more.
        """
        coarsest = 2 ** (self.scales - 1)
        levels = sum(2 * (2 * self.level_blocks) * 2**i + 2**i for i in range(self.scales - 1))
        return 2 + levels + 2 * self.blocks * coarsest

    @property
    def multiple(self) -> int:
        """Frames are padded to a multiple of this many luma pixels: the packing, then each level."""
        return 2 * self.stride

    @property
    def stride(self) -> int:
        """Packed pixels per pixel of the coarsest level; tiles must start on multiples of it."""
        return 2 ** (self.scales - 1)


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


def _blocks(channels: int, count: int) -> nn.Sequential:
    return nn.Sequential(*(ResidualBlock(channels) for _ in range(count)))


class EnhanceNet(nn.Module):
    """Args: window (B, T, 6, H/2, W/2) in [0,1], T = config.window, H and W multiples of
    config.multiple. Returns the restored middle frame (B, 6, H/2, W/2)."""

    def __init__(self, config: EnhanceConfig = EnhanceConfig()):
        super().__init__()
        self.config = config
        widths = [config.channels * 2**i for i in range(config.scales)]
        self.head = nn.Sequential(
            nn.Conv2d(PACKED_CHANNELS * config.window, widths[0], 3, padding=1), nn.ReLU(inplace=True)
        )
        self.encoders = nn.ModuleList(_blocks(w, config.level_blocks) for w in widths[:-1])
        self.downs = nn.ModuleList(
            nn.Sequential(nn.Conv2d(w, 2 * w, 2, stride=2), nn.ReLU(inplace=True)) for w in widths[:-1]
        )
        self.body = _blocks(widths[-1], config.blocks)  # named as in v1, whose weights still load
        self.ups = nn.ModuleList(
            nn.Sequential(nn.Conv2d(2 * w, 4 * w, 1), nn.PixelShuffle(2)) for w in widths[:-1]
        )
        self.decoders = nn.ModuleList(_blocks(w, config.level_blocks) for w in widths[:-1])
        self.tail = nn.Conv2d(widths[0], PACKED_CHANNELS, 3, padding=1)
        nn.init.zeros_(self.tail.weight)
        nn.init.zeros_(self.tail.bias)

    def forward(self, window: Tensor) -> Tensor:
        b, t, c, h, w = window.shape
        center = window[:, t // 2]
        x = self.head((window - 0.5).reshape(b, t * c, h, w))
        skips = []
        for encode, down in zip(self.encoders, self.downs):
            x = encode(x)
            skips.append(x)
            x = down(x)
        x = self.body(x)
        for i in reversed(range(len(skips))):
            x = self.decoders[i](self.ups[i](x) + skips[i])
        return center + self.tail(x)

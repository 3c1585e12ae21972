"""The multi-frame restoration network: 3 decoded frames in, the restored middle frame out.

    frames t-1, t, t+1 (each packed YUV 4:2:0, (B,6,H/2,W/2)) --concat--> (B,18,H/2,W/2)
    --conv 3x3--> features (B,C,H/2,W/2) --encoder--> ... --blocks at 1/2^(S-1)--> ... --decoder-->
    --conv 3x3--> residual (B,6,H/2,W/2);   restored = frame t + residual

With `scales` S = 1 it is a plain stack of residual blocks (the 0.3 release, "gc-enhance-s" v1).
With `coarse_factor` F > 0 a context branch adds what a coarse view sees to the head's features:

    features --average FxF--> --conv 3x3--> (B,Cc,h/F,w/F) --blocks--> --conv 3x3--> --bilinear xF--> + features

It costs a few per cent of the network (it runs on 1/F^2 of the pixels) but reaches over several
coding blocks, and its last conv starts at zero, so it can be added to a trained network ("grown")
without changing its output until training gives it something to say.
With S > 1 it is a small U-Net: each level halves the resolution (2x2 stride-2 conv) and doubles the
channels, the blocks run at the coarsest level, and pixel-shuffle upsampling adds the skip features
back. The coarse levels cost as much per pixel as one fine level but see far more: HEVC blocks reach
64x64 luma pixels, much more than a flat stack of 3x3 convs can see at real-time cost.

With `quality_input`, each frame carries a 7th plane, constant: the quality it was coded with
(quality_plane(), 0 at gancodec's quality 1, 1 at 8). The decoder's restoration stage knows every
frame's quality from its record; a network that does not know it learns one average strength, too
strong for lightly coded frames (measured: a blind network fine-tuned on our codec's frames lost
0.6 dB on cars at quality 8 while it gained 1.2 dB at quality 4). The enhancer of x264/x265 video
has no such plane (it cannot know the CRF).

Early fusion (no explicit alignment) keeps it small enough for real-time CIF on a 2-core CPU; the
neighbours still help wherever motion is smaller than the receptive field. The last conv starts at
zero, so an untrained network is the identity: training can only move it away from "do no harm" as
far as the data supports. Working on packed YUV (see models/yuv.py) means no colour conversion and
half-resolution convolutions.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn

from gancodec.layers import PointwiseConv2d
from gancodec.models.yuv import PACKED_CHANNELS


@dataclass(frozen=True)
class EnhanceConfig:
    channels: int = 32  # at the finest (packed) level; doubled at each coarser one
    blocks: int = 6  # residual blocks at the coarsest level
    window: int = 3  # frames in, odd; the middle one is restored
    scales: int = 1  # resolution levels (1 = no U-Net)
    level_blocks: int = 1  # residual blocks per level on the way down and again on the way up
    coarse_factor: int = 0  # 0 = no context branch; else its downscaling (a power of 2)
    coarse_channels: int = 64
    coarse_blocks: int = 4
    quality_input: bool = False  # a 7th plane per frame: its coding quality (quality_plane())

    def __post_init__(self) -> None:
        f = self.coarse_factor
        if f < 0 or f & (f - 1):
            raise ValueError("coarse_factor must be 0 or a power of 2")

    @property
    def receptive_radius(self) -> int:
        """Packed pixels each side that one output pixel can depend on (an upper bound).

        A 3x3 conv at level i reaches 2^i packed pixels; a 2x2 stride-2 conv from level i, 2^i more.
        """
        coarsest = 2 ** (self.scales - 1)
        levels = sum(2 * (2 * self.level_blocks) * 2**i + 2**i for i in range(self.scales - 1))
        # The branch, in coarse cells of F pixels: two 3x3 convs, 2 per block, 1 for the bilinear
        # upsampling, and the pixel's own cell.
        cells = 2 + 2 * self.coarse_blocks + 1
        coarse = (cells + 1) * self.coarse_factor - 1 if self.coarse_factor else 0
        return 2 + coarse + levels + 2 * self.blocks * coarsest

    @property
    def in_channels(self) -> int:
        """Planes per frame of the window: the packed YUV, and the quality plane if any."""
        return PACKED_CHANNELS + int(self.quality_input)

    @property
    def multiple(self) -> int:
        """Frames are padded to a multiple of this many luma pixels: the packing, then each level."""
        return 2 * self.stride

    @property
    def stride(self) -> int:
        """Packed pixels per pixel of the coarsest grid; tiles must start on multiples of it."""
        return max(2 ** (self.scales - 1), self.coarse_factor)


QUALITY_RANGE = (1.0, 8.0)  # gancodec's --quality scale


def quality_value(quality: float | Tensor) -> float | Tensor:
    """A coding quality as its plane's value: 0 at quality 1, 1 at 8."""
    low, high = QUALITY_RANGE
    return (quality - low) / (high - low)


def quality_plane(quality: float, like: Tensor) -> Tensor:
    """The quality plane of a packed frame `like` (B,6,h,w): (B,1,h,w) filled with quality_value."""
    return torch.full_like(like[:, :1], quality_value(quality))


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


def _coarse_branch(config: EnhanceConfig, channels: int) -> nn.Sequential:
    f, cc = config.coarse_factor, config.coarse_channels
    branch = nn.Sequential(
        nn.AvgPool2d(f),
        nn.Conv2d(channels, cc, 3, padding=1),
        nn.ReLU(inplace=True),
        _blocks(cc, config.coarse_blocks),
        nn.Conv2d(cc, channels, 3, padding=1),
        nn.Upsample(scale_factor=f, mode="bilinear", align_corners=False),
    )
    nn.init.zeros_(branch[4].weight)
    nn.init.zeros_(branch[4].bias)
    return branch


class EnhanceNet(nn.Module):
    """Args: window (B, T, P, H/2, W/2) in [0,1], T = config.window, P = config.in_channels (6, or 7
    with the quality plane), H and W multiples of config.multiple. Returns the restored middle frame
    (B, 6, H/2, W/2)."""

    def __init__(self, config: EnhanceConfig = EnhanceConfig()):
        super().__init__()
        self.config = config
        widths = [config.channels * 2**i for i in range(config.scales)]
        self.head = nn.Sequential(
            nn.Conv2d(config.in_channels * config.window, widths[0], 3, padding=1), nn.ReLU(inplace=True)
        )
        self.coarse = _coarse_branch(config, widths[0]) if config.coarse_factor else None
        self.encoders = nn.ModuleList(_blocks(w, config.level_blocks) for w in widths[:-1])
        self.downs = nn.ModuleList(
            nn.Sequential(nn.Conv2d(w, 2 * w, 2, stride=2), nn.ReLU(inplace=True)) for w in widths[:-1]
        )
        self.body = _blocks(widths[-1], config.blocks)  # named as in v1, whose weights still load
        self.ups = nn.ModuleList(
            nn.Sequential(PointwiseConv2d(2 * w, 4 * w), nn.PixelShuffle(2)) for w in widths[:-1]
        )
        self.decoders = nn.ModuleList(_blocks(w, config.level_blocks) for w in widths[:-1])
        self.tail = nn.Conv2d(widths[0], PACKED_CHANNELS, 3, padding=1)
        nn.init.zeros_(self.tail.weight)
        nn.init.zeros_(self.tail.bias)

    def forward(self, window: Tensor) -> Tensor:
        return self.restore(self.features(window), window[:, window.shape[1] // 2])

    def features(self, window: Tensor) -> Tensor:
        """window (B,T,6,h,w) -> the head's features (B,C,h,w), the coarse context added."""
        b, t, c, h, w = window.shape
        x = self.head((window - 0.5).reshape(b, t * c, h, w))
        if self.coarse is not None:
            x = x + self.coarse(x)
        return x

    def restore(self, x: Tensor, center: Tensor) -> Tensor:
        """features (B,C,h,w) and the middle frame (B,P,h,w) -> the restored middle frame (B,6,h,w)."""
        skips = []
        for encode, down in zip(self.encoders, self.downs):
            x = encode(x)
            skips.append(x)
            x = down(x)
        x = self.body(x)
        for i in reversed(range(len(skips))):
            x = self.decoders[i](self.ups[i](x) + skips[i])
        return center[:, :PACKED_CHANNELS] + self.tail(x)


def with_quality_input(state: dict[str, Tensor], window: int) -> dict[str, Tensor]:
    """A blind network's weights for the same network with quality planes: the head's convolution
    gets a zero input weight for each frame's new plane, so the grown network computes exactly what
    the blind one did until training gives the plane a use."""
    weight = state["head.0.weight"]  # (C, 6 * window, 3, 3), frames' planes interleaved by frame
    c, _, kh, kw = weight.shape
    per_frame = weight.reshape(c, window, PACKED_CHANNELS, kh, kw)
    grown = torch.cat([per_frame, per_frame.new_zeros(c, window, 1, kh, kw)], dim=2)
    return {**state, "head.0.weight": grown.reshape(c, window * (PACKED_CHANNELS + 1), kh, kw)}


def with_more_blocks(state: dict[str, Tensor], fresh: dict[str, Tensor]) -> dict[str, Tensor]:
    """A trained network's weights grown to a deeper body: `fresh` is the state_dict of the deeper
    network as built (random init). The new blocks go after the trained ones, each with its last
    convolution at zero, so each starts as the identity and the grown network computes exactly
    what the trained one did (zero-initialised residual branches, as in Fixup / SkipInit)."""
    new_keys = [k for k in fresh if k not in state]
    if any(not k.startswith("body.") for k in new_keys):
        raise ValueError("only the body can grow: " + ", ".join(k for k in new_keys if not k.startswith("body.")))
    grown = dict(state)
    for key in new_keys:
        last_conv = key.split(".")[2:4] == ["body", "2"]  # body.<i>.body.2.{weight,bias}
        grown[key] = torch.zeros_like(fresh[key]) if last_conv else fresh[key].clone()
    return grown

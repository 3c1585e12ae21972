"""1x1 convolutions whose results do not depend on the CPU thread count.

PyTorch sends a 1x1, stride-1 convolution of a batch under 16 through oneDNN only when more than
one thread is set; with one thread it takes its own im2col + GEMM path. The two sum in different
orders, so the same stream decoded to different pixels with --threads 1 and 2 (measured: a cars
P-frame at quality 5, 0.16.0; a P-frame carries the difference on to the end of its GOP). oneDNN
alone gives one answer for every thread count (measured: 1x1 and 3x3 at 1 and 2 threads, in
separate processes), so on the CPU these layers always call it. Elsewhere (CUDA, or a build
without oneDNN) they are plain convolutions.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from compressai.layers import GDN
from torch import Tensor, nn


def pointwise_conv(x: Tensor, weight: Tensor, bias: Tensor | None) -> Tensor:
    """F.conv2d(x, weight, bias) for a (C_out, C_in, 1, 1) weight, the same for any thread count.

    x: (B, C_in, H, W) -> (B, C_out, H, W)."""
    if x.device.type == "cpu" and x.dtype == torch.float32 and torch.backends.mkldnn.is_available():
        return torch.mkldnn_convolution(x.contiguous(), weight, bias, (0, 0), (1, 1), (1, 1), 1)
    return F.conv2d(x, weight, bias)


class PointwiseConv2d(nn.Conv2d):
    """nn.Conv2d(in, out, 1) through pointwise_conv (same parameters, same state-dict keys)."""

    def __init__(self, in_channels: int, out_channels: int):
        super().__init__(in_channels, out_channels, 1)

    def forward(self, x: Tensor) -> Tensor:
        return pointwise_conv(x, self.weight, self.bias)


class PointwiseGDN(GDN):
    """CompressAI's GDN / inverse GDN (same parameters and keys) with its 1x1 convolution through
    pointwise_conv: the synthesis transform's IGDNs are where the decoder's pixels depended on the
    thread count."""

    def forward(self, x: Tensor) -> Tensor:
        channels = x.shape[1]
        beta = self.beta_reparam(self.beta)
        gamma = self.gamma_reparam(self.gamma).reshape(channels, channels, 1, 1)
        norm = pointwise_conv(x**2, gamma, beta)
        norm = torch.sqrt(norm) if self.inverse else torch.rsqrt(norm)
        return x * norm

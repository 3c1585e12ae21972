"""Bit-exact evaluation of a small ReLU conv network, for anything that selects an entropy table.

Float convolutions give results that depend on the summation order, which changes with the
thread count, the CPU's vector width and the library version. If the hyper-synthesis output
(the Gaussian scales and means) differs by one ulp between encoder and decoder, a scale can
land in a different table bucket and the rANS decoder reads garbage.

The trick used here: quantize weights and activations to integers and run the convolution in
float64. Every product and every partial sum is then an integer whose magnitude stays far below
2**53, so float64 addition is exact and *associative* -- any order, any thread count, any
IEEE-754 machine gives the same bits. Rescaling is by powers of two (exact), activations are
clamped so the bound always holds, even on hostile input.

Bound: |activation| <= 2**ACT_CLAMP_BITS, |weight| < 2**(WEIGHT_BITS + 3) (weights checked at
load), fan-in < 2**14, so every partial sum stays below 2**(20 + 17 + 14) = 2**51.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

ACT_BITS = 10  # activations are multiples of 2**-10
WEIGHT_BITS = 14  # weights are multiples of 2**-14
ACT_CLAMP_BITS = 20  # activations are clamped to +-2**20 (i.e. +-1024.0)
_MAX_FAN_IN = 2**14


class FixedPointNet:
    """An exact, integer-valued twin of a float ``nn.Sequential`` of convs and ReLUs.

    Supported layers: ``nn.Conv2d``, ``nn.ConvTranspose2d``, ``nn.ReLU``. The float network
    is used for training; this twin is used by both encoder and decoder at inference.
    """

    def __init__(self, net: nn.Sequential):
        self.layers: list[tuple[str, dict]] = []
        for layer in net:
            if isinstance(layer, (nn.Conv2d, nn.ConvTranspose2d)):
                self.layers.append(_quantize_conv(layer))
            elif isinstance(layer, nn.ReLU):
                self.layers.append(("relu", {}))
            else:
                raise TypeError(f"FixedPointNet cannot represent {type(layer).__name__}")

    def __call__(self, x: Tensor) -> Tensor:
        """Args: x (B, C, H, W) float. Returns float64, a multiple of 2**-ACT_BITS."""
        limit = float(2**ACT_CLAMP_BITS)
        acc = torch.round(x.double() * 2**ACT_BITS).clamp_(-limit, limit)
        for kind, p in self.layers:
            if kind == "relu":
                acc = acc.clamp_(min=0.0)
                continue
            if kind == "conv":
                acc = F.conv2d(acc, p["weight"], p["bias"], stride=p["stride"], padding=p["padding"])
            else:
                acc = F.conv_transpose2d(
                    acc,
                    p["weight"],
                    p["bias"],
                    stride=p["stride"],
                    padding=p["padding"],
                    output_padding=p["output_padding"],
                )
            acc = torch.floor(acc / 2**WEIGHT_BITS).clamp_(-limit, limit)
        return acc / 2**ACT_BITS


def _quantize_conv(layer: nn.Conv2d | nn.ConvTranspose2d) -> tuple[str, dict]:
    weight = torch.round(layer.weight.detach().double() * 2**WEIGHT_BITS)
    if weight.abs().max() >= 2 ** (WEIGHT_BITS + 3):
        raise ValueError("weight too large for exact fixed-point evaluation")
    is_transposed = isinstance(layer, nn.ConvTranspose2d)
    fan_in = weight[0].numel() if not is_transposed else weight[:, 0].numel()
    if fan_in >= _MAX_FAN_IN:
        raise ValueError("fan-in too large for exact fixed-point evaluation")
    bias = (
        layer.bias.detach().double()
        if layer.bias is not None
        else torch.zeros(layer.out_channels, dtype=torch.float64)
    )
    params = {
        "weight": weight,
        "bias": torch.round(bias * 2 ** (WEIGHT_BITS + ACT_BITS)),
        "stride": layer.stride,
        "padding": layer.padding,
    }
    if is_transposed:
        params["output_padding"] = layer.output_padding
        return "deconv", params
    return "conv", params

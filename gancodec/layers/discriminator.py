"""A multi-scale conditional PatchGAN discriminator on packed YUV 4:2:0.

    image (B,6,h,w) [+ condition (B,Cc,h,w)] --concat--> PatchDiscriminator at scale 1
                                              --avgpool 2x--> PatchDiscriminator at scale 2 ...
    each scale returns its intermediate features (for feature matching) and a logit map
    (B,1,h/8,w/8): one real/fake judgement per patch of about 70x70 packed pixels.

After pix2pixHD / HiFiC: several scales judge fine texture and larger structure; the condition
(the degraded input, or the codec's latents upsampled) lets the discriminator ask "is this a
plausible restoration of *that* input", not just "is this a natural image". Spectral norm keeps
it Lipschitz so the adversarial game stays stable on small batches. Shared by the enhancer's GAN
stage and, later, the codec's GAN decoder.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn
from torch.nn.utils.parametrizations import spectral_norm


def _conv(cin: int, cout: int, stride: int) -> nn.Module:
    return spectral_norm(nn.Conv2d(cin, cout, 4, stride, padding=1))


class PatchDiscriminator(nn.Module):
    """Four strided convs and a 1-channel head. Input (B,C,h,w), h,w >= 16."""

    def __init__(self, in_channels: int, channels: int = 64, layers: int = 3):
        super().__init__()
        blocks, cin = [], in_channels
        for i in range(layers):
            cout = channels * 2**i
            blocks.append(nn.Sequential(_conv(cin, cout, 2), nn.LeakyReLU(0.2, inplace=True)))
            cin = cout
        blocks.append(nn.Sequential(_conv(cin, cin, 1), nn.LeakyReLU(0.2, inplace=True)))
        self.blocks = nn.ModuleList(blocks)
        self.head = spectral_norm(nn.Conv2d(cin, 1, 3, padding=1))

    def forward(self, x: Tensor) -> tuple[list[Tensor], Tensor]:
        features = []
        for block in self.blocks:
            x = block(x)
            features.append(x)
        return features, self.head(x)


class MultiScaleDiscriminator(nn.Module):
    """`scales` PatchDiscriminators on the input downsampled 1x, 2x, 4x...

    forward(image, condition) -> list over scales of (features, logits).
    """

    def __init__(
        self, image_channels: int = 6, condition_channels: int = 0, channels: int = 64, scales: int = 2
    ):
        super().__init__()
        self.condition_channels = condition_channels
        cin = image_channels + condition_channels
        self.scales = nn.ModuleList(PatchDiscriminator(cin, channels) for _ in range(scales))

    def forward(self, image: Tensor, condition: Tensor | None = None) -> list[tuple[list[Tensor], Tensor]]:
        x = image - 0.5
        if self.condition_channels:
            if condition is None:
                raise ValueError("this discriminator is conditional: pass the condition")
            x = torch.cat([x, condition - 0.5], dim=1)
        outputs = []
        for i, disc in enumerate(self.scales):
            if i:
                x = nn.functional.avg_pool2d(x, 2, ceil_mode=True)
            outputs.append(disc(x))
        return outputs

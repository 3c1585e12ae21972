"""Encoder-side latent refinement: the slow presets' rate-distortion search.

The analysis transform g_a is amortized: one forward pass guesses latents for every image, and an
under-trained (or any) g_a leaves rate-distortion on the table. For the frame at hand the encoder
can do better by searching: starting from g_a's guess, a few Adam steps on the latents y minimize
the training loss itself,

    L(y) = lambda(q) * 255^2 * D_yuv(x, g_s(Q(y) / gain)) + R(Q(y) | z_hat),

with Q the rounding around the means (straight-through gradient). The hyper-latents z are kept, so
the entropy parameters stay those the decoder will compute. Only the encoder changes: the
bitstream and the decoder are the same, which makes this a preset (like x264's --preset), not a
format change (Campos et al. 2019; Yang et al. 2020 call it closing the amortization gap).
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor

from gancodec.models.intra import SCALES_MIN, IntraCodec, lambda_for_quality, latent_shape
from gancodec.models.yuv import yuv_distortion

# Steps of latent search per preset; "fast" is the plain amortized encoder.
PRESET_STEPS = {"fast": 0, "slow": 20}
DEFAULT_PRESET = "fast"
LIKELIHOOD_BOUND = 1e-9  # CompressAI's default likelihood lower bound
LEARNING_RATE = 0.006  # in latent units (quantization step 1); larger steps flip roundings at random


def _likelihoods(y_hat: Tensor, scales: Tensor, means: Tensor) -> Tensor:
    """GaussianConditional's likelihood of integer offsets from the means, with the same bounds.

    Written out (rather than calling the module) because the module rounds without a gradient
    and keeps its bounds on the CPU, while the search may run on the GPU.
    """
    values = (y_hat - means).abs()
    scales = scales.clamp_min(SCALES_MIN)
    upper = 0.5 * torch.erfc(-(0.5 - values) / (scales * 2**0.5))
    lower = 0.5 * torch.erfc(-(-0.5 - values) / (scales * 2**0.5))
    return (upper - lower).clamp_min(LIKELIHOOD_BOUND)


def search_objective(
    model: IntraCodec, x: Tensor, z_hat: Tensor, quality: float, frame_size: tuple[int, int] | None = None
) -> Callable[[Tensor], Tensor]:
    """The loss the search minimizes, as a function of the latents y (B,M,h,w): the training loss
    with hard rounding (straight-through) and the float context -- a proxy of the coded cost.

    frame_size (width, height) in luma pixels: the real frame inside the padded x. Only its pixels
    count as distortion and only they divide the bits, as in training on unpadded crops; otherwise
    the search buys quality for padding that is cropped away.
    """
    q = torch.tensor([quality], dtype=torch.float32)
    lam = lambda_for_quality(q).to(x.device)
    width, height = frame_size or (2 * x.shape[-1], 2 * x.shape[-2])
    rows, cols = (height + 1) // 2, (width + 1) // 2  # packed positions holding real pixels
    num_pixels = width * height
    y_rows, y_cols = latent_shape(x)  # of the padded x, before the crop below
    x = x[..., :rows, :cols]
    with torch.no_grad():  # h_s stays on the CPU beside the exact copy (prepare_inference)
        params = model.h_s(z_hat.float())[..., :y_rows, :y_cols]
        scales, means = params.to(x.device).chunk(2, 1)
        inv_gain = model.inv_gain(q)

    def rd_loss(y: Tensor) -> Tensor:
        y_hat, y_scales, y_means = model.quantize_with_context(y, scales, means)
        x_hat = (model.g_s(y_hat * inv_gain) + 0.5)[..., :rows, :cols]
        bpp = -torch.log2(_likelihoods(y_hat, y_scales, y_means)).sum() / num_pixels
        return lam * 255**2 * yuv_distortion(x, x_hat).mean() + bpp

    return rd_loss


def refine_latents(
    model: IntraCodec,
    x: Tensor,
    y_g: Tensor,
    z_hat: Tensor,
    quality: float,
    steps: int,
    frame_size: tuple[int, int] | None = None,
) -> Tensor:
    """Returns latents y_g (B,M,h,w) that lower search_objective() for packed frame x (B,6,H,W).

    z_hat must be the decoder's hyper-latents (already quantized); the float h_s used here differs
    from the exact one only by rounding noise. The objective is a proxy: IntraCodec.compress codes
    both these latents and g_a's and keeps whichever costs less for real.
    """
    if steps <= 0:
        return y_g
    rd_loss = search_objective(model, x, z_hat, quality, frame_size)
    # The best iterate, g_a's guess included, is kept: with well-trained weights the search can
    # also make things worse (rounding flips).
    y = y_g.detach().clone().requires_grad_(True)
    best, best_loss = y_g.detach(), float("inf")
    optimizer = torch.optim.Adam([y], lr=LEARNING_RATE)
    with torch.enable_grad():
        for _ in range(steps):
            loss = rd_loss(y)
            if loss.item() < best_loss:
                best, best_loss = y.detach().clone(), loss.item()
            (grad,) = torch.autograd.grad(loss, [y])
            y.grad = grad
            optimizer.step()
    with torch.no_grad():
        if rd_loss(y).item() < best_loss:
            best = y.detach()
    return best

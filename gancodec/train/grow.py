"""Growing a trained intra codec by more latent channels (net2wider), without changing what it does.

A model with M latent channels in S context slices of M/S channels becomes one with M' > M channels
in S' = M'/(M/S) slices: the new channels are new slices at the end, so every existing slice keeps
its context network, and the grown model codes exactly like the old one would if its new latents
cost nothing -- training then teaches it to spend them where the old model ran out of capacity
(the top of the rate range: at quality 8, 95 % of the bits of walk and cars are spread over 111-117
of v11's 128 channels, ~2 bits per channel and position; CompressAI's high-rate mean-scale models
use M = 320).

Per layer (m0 -> m1 channels, k = m1 - m0):
    g_a's last conv      new output channels drawn like the old ones (`new_spread` x their spread,
                         1 by default): latents below half a step all round to zero, and the
                         synthesis then has nothing to learn from (session 15: at 0.1 they never
                         carried a bit; at 1, with the rate ramp of IntraTrainer, they did)
    g_s's first deconv   new input channels small (a tenth of the old spread)
    h_a's first conv     new input channels zero: z, and so every old entropy table, is unchanged
    h_s                  its hidden widths stay (IntraConfig.hyper_synthesis_channels = the old M);
                         the output [scales(m) | means(m)] gets the new channels' scales (zero
                         weights, the old scales' mean bias) and means (zero) in their places
    gains                new columns start at each quality's mean gain
    context              the new slices' networks start at zero correction (as _context_net does)
"""

from __future__ import annotations

import torch
from torch import Tensor

from gancodec.models.intra import IntraCodec, IntraConfig


def can_grow(old: IntraConfig, new: IntraConfig) -> bool:
    """True when `new` is `old` with more latent channels in more slices of the same size, and the
    same hyper-synthesis widths."""
    slices_old, slices_new = max(1, old.context_slices), max(1, new.context_slices)
    return (
        old.channels == new.channels
        and (old.hyper_synthesis_channels or old.latent_channels) == new.hyper_synthesis_channels
        and old.hyper_channels == new.hyper_channels
        and new.latent_channels > old.latent_channels
        and slices_old > 1
        and old.latent_channels // slices_old == new.latent_channels // slices_new
        and new.latent_channels % slices_new == 0
    )


def grow_latent_channels(
    state: dict[str, Tensor],
    old: IntraConfig,
    new: IntraConfig,
    seed: int = 0,
    new_spread: float = 1.0,
) -> dict[str, Tensor]:
    """Returns a state dict for IntraCodec(new) that computes what `state` (an IntraCodec(old)) does.

    new_spread: the new latents' g_a weights relative to the old ones' spread.
    """
    if not can_grow(old, new):
        raise ValueError(f"cannot grow {old} into {new}")
    torch.manual_seed(seed)
    grown = {k: v.detach().clone().float() for k, v in IntraCodec(new).state_dict().items()}
    state = {k: v.detach().float() for k, v in state.items()}
    m0, m1 = old.latent_channels, new.latent_channels

    for key, value in state.items():  # everything whose shape does not depend on M
        if key in grown and grown[key].shape == value.shape:
            grown[key] = value.clone()

    # g_a's last conv (out=M): new latents drawn with the old rows' spread, zero bias
    w, b = state["g_a.4.weight"], state["g_a.4.bias"]
    grown["g_a.4.weight"][:m0] = w
    grown["g_a.4.weight"][m0:] = torch.randn_like(grown["g_a.4.weight"][m0:]) * new_spread * float(w.std())
    grown["g_a.4.bias"][:m0], grown["g_a.4.bias"][m0:] = b, 0.0

    # g_s's first deconv (in=M): the new latents' weights small
    w = state["g_s.0.weight"]
    grown["g_s.0.weight"][:m0] = w
    grown["g_s.0.weight"][m0:] = torch.randn_like(grown["g_s.0.weight"][m0:]) * 0.1 * float(w.std())

    # h_a's first conv (in=M): the new latents do not reach z yet
    grown["h_a.0.weight"].zero_()
    grown["h_a.0.weight"][:, :m0] = state["h_a.0.weight"]

    # h_s keeps its hidden layers (copied above); its last conv (-> 2M = [scales | means]) gets
    # the new channels' rows, zero weights
    w, b = state["h_s.4.weight"], state["h_s.4.bias"]
    out_w, out_b = grown["h_s.4.weight"], grown["h_s.4.bias"]
    out_w.zero_()
    out_w[:m0], out_w[m1 : m1 + m0] = w[:m0], w[m0:]
    out_b[:m0], out_b[m1 : m1 + m0] = b[:m0], b[m0:]
    out_b[m0:m1] = float(b[:m0].mean())
    out_b[m1 + m0 :] = 0.0

    for name in ("log_gain", "log_inv_gain"):
        g = state[name]
        grown[name][:, :m0] = g
        grown[name][:, m0:] = g.mean(dim=1, keepdim=True)
    return grown

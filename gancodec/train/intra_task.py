"""Rate-distortion training of the intra codec.

Loss per sample (HiFiC/CompressAI convention):  L = lambda(q) * 255^2 * D_yuv + R,
D_yuv = (6 MSE_Y + MSE_U + MSE_V) / 8 on [0,1] pixels, R = bits per luma pixel (y and z),
with q drawn from [1, 8] for every sample so one network learns the whole rate range: uniformly by
default, or as 1 + 7 u^p (u uniform) with `[task] quality_power = p` < 1 to spend more of the
training on high qualities (where a run is furthest from its target) without dropping low ones.
The entropy bottleneck's quantiles are trained by a separate optimizer on its aux loss.

`[task] residual_fraction = f` (0 by default) makes that share of every batch P-frame residuals
(train/data.py ResidualSampler) instead of pictures: the same network codes both (models/inter.py),
so it learns the statistics of what motion compensation leaves as well as those of images.
The residual crops come from a pool (`[task] residual_pool`, 256 by default) of which a share
`residual_fresh` (1/8) of the draws is searched anew: the motion search runs on the CPU, so a GPU
run, whose steps are far faster, keeps it small (1/32 in configs/intra-gpu-hqp.toml).

A config whose [model] has more latent channels than its `init_weights` grows those weights first
(train/grow.py; `[task] grow_new_spread`: the new g_a rows' spread relative to the old ones'), and
`[task] rate_ramp_from = C, rate_ramp_steps = S` lets the new channels C.. code for free at first
(IntraTrainer.latent_rate_weight).
"""

from __future__ import annotations

import torch

from gancodec.models.intra import IntraCodec, IntraConfig, lambda_for_quality
from gancodec.models.yuv import pack_planes, yuv_distortion
from gancodec.train.data import CropSampler, ResidualSampler, load_sources
from gancodec.train.loop import Trainer


def rd_loss(model: IntraCodec, y, uv, quality, latent_rate_weight: torch.Tensor | None = None) -> dict:
    """latent_rate_weight (M,): what each latent channel's bits count in the loss (None: 1); `bpp`
    reports the real bits either way."""
    x = pack_planes(y, uv)
    out = model(x, quality)
    num_pixels = y.shape[-1] * y.shape[-2]
    channel_bits = -torch.log2(out["likelihoods"]["y"]).sum(dim=(2, 3))  # (B, M)
    z_bits = -torch.log2(out["likelihoods"]["z"]).sum(dim=(1, 2, 3))
    bpp = (channel_bits.sum(1) + z_bits) / num_pixels
    if latent_rate_weight is not None:
        channel_bits = channel_bits * latent_rate_weight.to(channel_bits.device)
    charged_bpp = (channel_bits.sum(1) + z_bits) / num_pixels
    distortion = yuv_distortion(x, out["x_hat"].float())
    lam = lambda_for_quality(quality).to(x.device)
    loss = (lam * 255**2 * distortion + charged_bpp).mean()
    psnr = (10 * torch.log10(1.0 / distortion.clamp_min(1e-10))).mean()
    return {"loss": loss, "bpp": bpp.mean().detach(), "psnr_yuv": psnr.detach()}


def sample_qualities(n: int, power: float, device: torch.device | str = "cpu") -> torch.Tensor:
    """n qualities in [1, 8]: 1 + 7 u^power, u uniform (power 1 = uniform; < 1 leans to high q)."""
    if power <= 0:
        raise ValueError(f"quality_power must be > 0, got {power}")
    return 1.0 + 7.0 * torch.rand(n, device=device) ** power


class IntraTrainer(Trainer):
    def build(self) -> None:
        self.model = IntraCodec(IntraConfig(**self.cfg.model)).to(self.device)
        named = list(self.model.named_parameters())
        main = [p for n, p in named if not n.endswith(".quantiles")]
        aux = [p for n, p in named if n.endswith(".quantiles")]
        self.optimizers = {
            "optimizer": torch.optim.Adam(main, lr=self.cfg.lr),
            "aux_optimizer": torch.optim.Adam(aux, lr=self.cfg.aux_lr),
        }

    def prepare_data(self) -> None:
        sources = load_sources(self.cfg.data, self.cfg.crop)
        self.log(f"data: {len(sources)} sources, {sum(len(s.frames) for s in sources)} frames")
        self.sampler = CropSampler(sources, self.cfg.crop, seed=self.cfg.seed + self.step)
        fraction = float(self.cfg.task.get("residual_fraction", 0.0))
        self.residual_count = round(fraction * self.cfg.batch)
        self.residuals = None
        if self.residual_count:
            self.residuals = ResidualSampler(
                sources, self.cfg.crop, seed=self.cfg.seed + self.step + 1,
                pool_size=int(self.cfg.task.get("residual_pool", 256)),
                fresh_fraction=float(self.cfg.task.get("residual_fresh", 0.125)),
            )  # fmt: skip

    def compute_loss(self) -> dict[str, torch.Tensor]:
        from gancodec.models.inter import motion_bit_cost

        quality = sample_qualities(self.cfg.batch, float(self.cfg.task.get("quality_power", 1.0)))
        y, uv = self.sampler.batch(self.cfg.batch - self.residual_count)
        if self.residuals is not None:
            costs = [motion_bit_cost(float(q)) for q in quality[y.shape[0] :]]
            y_res, uv_res = self.residuals.batch(costs)
            y, uv = torch.cat([y, y_res]), torch.cat([uv, uv_res])
        y, uv, quality = y.to(self.device), uv.to(self.device), quality.to(self.device)
        return rd_loss(self.model, y, uv, quality, self.latent_rate_weight())

    def latent_rate_weight(self) -> torch.Tensor | None:
        """`[task] rate_ramp_from = C, rate_ramp_steps = S`: latent channels C.. (those a grown model
        added, train/grow.py) have their bits count step/S in the loss over the first S steps of the
        run, then fully. Charged in full from the start, new channels die before they learn anything
        (session 15: after 2,150 steps the 64 new channels of intra-wide coded 0 bits at every
        quality); free at first, they carry bits, and the rate then prunes them unless the synthesis
        has learnt to use them (on the CPU it had not: pruned again by step 1,650)."""
        start = int(self.cfg.task.get("rate_ramp_from", 0))
        ramp = int(self.cfg.task.get("rate_ramp_steps", 0))
        if not start or not ramp or self.step >= ramp:
            return None
        weight = torch.ones(self.model.config.latent_channels)
        weight[start:] = self.step / ramp
        return weight

    def init_from_weights(self, path: str) -> None:
        """Starts from a weights file; one with fewer latent channels is grown first (train/grow.py)."""
        import json

        from gancodec.models.registry import load_state_dict_file
        from gancodec.train.grow import can_grow, grow_latent_channels

        state, metadata = load_state_dict_file(path)
        old = IntraConfig(**json.loads(metadata.get("config", "{}")))
        new = self.model.config
        if old != new and can_grow(old, new):
            spread = float(self.cfg.task.get("grow_new_spread", 1.0))
            state = grow_latent_channels(state, old, new, seed=self.cfg.seed, new_spread=spread)
            self.log(f"grown from {old.latent_channels} to {new.latent_channels} latent channels")
        self.model.load_state_dict(state, strict=False)
        self.log(f"initialised from weights {path}")

    def after_step(self) -> None:
        aux = self.model.aux_loss()
        opt = self.optimizers["aux_optimizer"]
        opt.zero_grad(set_to_none=True)
        aux.backward()
        opt.step()

    def describe(self) -> str:
        return f" aux {self.model.aux_loss().item():.1f}"

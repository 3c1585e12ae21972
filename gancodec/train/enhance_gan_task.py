"""The enhancer's GAN stage: fine-tune the fidelity network for realistic detail.

Starts from fidelity weights (`init_weights`: the shipped/exported .safetensors or a fidelity
run's last.ckpt), which are also kept unchanged as the *anchor*. Generator loss per batch:

    fidelity_weight * mean(10 log10 MSE_YUV)                  (stay close to the original)
  + s * (adversarial_weight * hinge/BCE generator loss      (look like undamaged video)
         + feature_matching_weight * L1(D features real/fake)) (perceptual term, no pretrained net)

with s = 1, or with `balance` > 0 the VQGAN adaptive weight (see adversarial.balanced_weight).

The discriminator (multi-scale PatchGAN, conditioned on the degraded middle frame) takes one step
per generator step. Export writes both the anchor and the tuned network into one weights file;
`--realism r` at inference interpolates the two parameter sets, theta = theta_fid + r (theta_gan -
theta_fid) (ESRGAN's network interpolation), so one file covers fidelity (0) to detail (1).
"""

from __future__ import annotations

import copy
import dataclasses
from pathlib import Path

import torch

from gancodec.errors import UsageError
from gancodec.models.yuv import PACKED_CHANNELS, yuv_distortion
from gancodec.train.adversarial import AdversarialStage, GanConfig, balanced_weight
from gancodec.train.enhance_task import EnhanceTrainer

DEFAULT_FIDELITY_WEIGHT = 1.0


class EnhanceGanTrainer(EnhanceTrainer):
    def build(self) -> None:
        super().build()
        settings = {k: v for k, v in self.cfg.gan.items() if k != "fidelity_weight"}
        unknown = sorted(set(settings) - {f.name for f in dataclasses.fields(GanConfig)})
        if unknown:
            raise UsageError(f"[gan]: unknown setting(s) {', '.join(unknown)}")
        self.gan_cfg = GanConfig(**settings)
        self.fidelity_weight = float(self.cfg.gan.get("fidelity_weight", DEFAULT_FIDELITY_WEIGHT))
        self.stage = AdversarialStage(self.gan_cfg, PACKED_CHANNELS, PACKED_CHANNELS, self.device)
        self.anchor: dict[str, torch.Tensor] | None = None
        self._last: tuple[torch.Tensor, torch.Tensor, torch.Tensor] | None = None

    def init_from_weights(self, path: str) -> None:
        """Loads the fidelity network (strictly) and keeps a copy of it as the anchor."""
        if Path(path).suffix == ".ckpt":
            state = torch.load(path, map_location="cpu", weights_only=True)["model"]
        else:
            from gancodec.models.registry import load_state_dict_file

            state, _ = load_state_dict_file(path)
            state = {k: v for k, v in state.items() if not k.startswith("realism.")}
        self.model.load_state_dict(state)
        self.anchor = copy.deepcopy({k: v.detach().cpu() for k, v in self.model.state_dict().items()})
        self.log(f"GAN stage starts from fidelity weights {path}")

    def train(self) -> None:
        if self.anchor is None:
            raise ValueError("the GAN stage needs fidelity weights: set init_weights in the config")
        super().train()

    def compute_loss(self) -> dict[str, torch.Tensor]:
        window, target = self.batch()
        degraded = window[:, window.shape[1] // 2, :6]  # without a quality plane
        restored = self.model(window)
        log_mse = 10 * torch.log10(yuv_distortion(target, restored).clamp_min(1e-10))
        gan = self.stage.generator_loss(target, restored, degraded)
        self._last = (target, restored.detach(), degraded)
        fidelity = self.fidelity_weight * log_mse.mean()
        gan_term = gan.pop("gan_total")
        if self.gan_cfg.balance > 0:
            scale = balanced_weight(fidelity, gan_term, self.model.tail.weight, self.gan_cfg.balance)
            gan_term = scale * gan_term
            gan["gan_scale"] = scale
        return {"loss": fidelity + gan_term, "psnr_yuv": -log_mse.mean().detach(), **gan}

    def after_step(self) -> None:
        if self._last is not None:
            self.d_loss = self.stage.discriminator_step(*self._last)
            self._last = None
        super().after_step()  # the fidelity task's redraws (task["redraw_minutes"])

    def describe(self) -> str:
        return f" d_loss {getattr(self, 'd_loss', float('nan')):.3f}"

    def extra_state(self) -> dict:
        return {"gan": self.stage.state_dict(), "anchor": self.anchor}

    def load_extra_state(self, state: dict) -> None:
        if "gan" in state:
            self.stage.load_state_dict(state["gan"])
        self.anchor = state.get("anchor")

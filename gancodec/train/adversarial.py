"""Adversarial training pieces shared by every GAN stage (enhancer now, codec decoder later).

Losses take the discriminator's output format, a list over scales of (features, logits):

- `d_loss`: hinge (default) or non-saturating BCE, averaged over scales;
- `g_adversarial_loss`: the generator's side of the same game;
- `feature_matching_loss`: L1 between the discriminator's features on the real and on the
  generated image, the perceptual term of pix2pixHD. No pretrained network (VGG/LPIPS) exists
  offline here, and the discriminator's features are trained on exactly our data.

`balanced_weight` scales the GAN term against the fidelity term by their gradients at the
generator's last layer (Esser et al. 2021, VQGAN), so `balance` means the same whatever the scale of
the fidelity loss: our log-MSE fidelity term has gradients ~1/MSE, thousands of times those of a
plain MSE, and fixed weights tuned for one would leave the other's GAN term without effect.

`AdversarialStage` holds the discriminator, its optimizer and the loss weights, and does one
discriminator update per generator update (detached fakes), so a task needs only
`stage.generator_loss(real, fake, cond)` and `stage.discriminator_step(real, fake, cond)`.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor

from gancodec.layers.discriminator import MultiScaleDiscriminator

DiscOutput = list[tuple[list[Tensor], Tensor]]


def d_loss(real: DiscOutput, fake: DiscOutput, kind: str = "hinge") -> Tensor:
    """Discriminator loss: real patches -> high logits, fake patches -> low."""
    losses = []
    for (_, real_logits), (_, fake_logits) in zip(real, fake, strict=True):
        if kind == "hinge":
            losses.append(F.relu(1 - real_logits).mean() + F.relu(1 + fake_logits).mean())
        elif kind == "bce":
            losses.append(F.softplus(-real_logits).mean() + F.softplus(fake_logits).mean())
        else:
            raise ValueError(f"unknown GAN loss '{kind}' (hinge or bce)")
    return sum(losses) / len(losses)


def g_adversarial_loss(fake: DiscOutput, kind: str = "hinge") -> Tensor:
    """Generator loss: make the discriminator call the fake patches real."""
    losses = []
    for _, logits in fake:
        losses.append(-logits.mean() if kind == "hinge" else F.softplus(-logits).mean())
    return sum(losses) / len(losses)


def feature_matching_loss(real: DiscOutput, fake: DiscOutput) -> Tensor:
    """Mean L1 distance between discriminator features of real and generated images."""
    losses = [
        F.l1_loss(f_fake, f_real.detach())
        for (feats_real, _), (feats_fake, _) in zip(real, fake, strict=True)
        for f_real, f_fake in zip(feats_real, feats_fake, strict=True)
    ]
    return sum(losses) / len(losses)


def balanced_weight(
    reference: Tensor, term: Tensor, last_layer: Tensor, ratio: float, max_weight: float = 1e4
) -> Tensor:
    """w (detached scalar) such that |d(w * term)/dW| = ratio * |d reference/dW| at W = last_layer."""
    (g_reference,) = torch.autograd.grad(reference, last_layer, retain_graph=True)
    (g_term,) = torch.autograd.grad(term, last_layer, retain_graph=True)
    return (ratio * g_reference.norm() / (g_term.norm() + 1e-12)).clamp(max=max_weight).detach()


@dataclass
class GanConfig:
    """The `[gan]` table of a training config."""

    loss: str = "hinge"  # hinge | bce
    adversarial_weight: float = 0.01
    feature_matching_weight: float = 1.0
    disc_channels: int = 64
    disc_scales: int = 2
    disc_lr: float = 1e-4
    conditional: bool = True  # the discriminator also sees the degraded input
    # > 0: the discriminator judges residual_gain * (image - condition), the detail a restoration
    # adds, instead of the image; needs a condition shaped like the image (the enhancer's input).
    # Why: the real and restored images differ by ~1 % of their range, and a spectrally normalized
    # discriminator (Lipschitz 1) cannot map so small a difference to logits a hinge margin of 1
    # apart -- with the image itself, d_loss stayed at chance (2.00) for hundreds of steps.
    residual_gain: float = 0.0
    # > 0: scale the GAN term (adversarial + feature matching, with the weights above) so that its
    # gradient at the generator's last layer is `balance` times the fidelity term's; 0: fixed weights.
    balance: float = 0.0


class AdversarialStage:
    """The discriminator side of a GAN stage (model, optimizer, loss weights)."""

    def __init__(self, cfg: GanConfig, image_channels: int, condition_channels: int, device):
        self.cfg = cfg
        self.disc = MultiScaleDiscriminator(
            image_channels, condition_channels if cfg.conditional else 0, cfg.disc_channels, cfg.disc_scales
        ).to(device)
        self.optimizer = torch.optim.Adam(self.disc.parameters(), lr=cfg.disc_lr, betas=(0.5, 0.999))

    def _judge(self, image: Tensor, condition: Tensor | None) -> DiscOutput:
        if self.cfg.residual_gain > 0:
            if condition is None or condition.shape != image.shape:
                raise ValueError("residual_gain needs a condition shaped like the image")
            image = 0.5 + self.cfg.residual_gain * (image - condition)
        return self.disc(image, condition if self.cfg.conditional else None)

    def generator_loss(self, real: Tensor, fake: Tensor, condition: Tensor | None) -> dict[str, Tensor]:
        """Adversarial + feature-matching terms for the generator (gradients flow into `fake`)."""
        self.disc.requires_grad_(False)
        judged_fake = self._judge(fake, condition)
        with torch.no_grad():
            judged_real = self._judge(real, condition)
        self.disc.requires_grad_(True)
        adversarial = g_adversarial_loss(judged_fake, self.cfg.loss)
        matching = feature_matching_loss(judged_real, judged_fake)
        total = self.cfg.adversarial_weight * adversarial + self.cfg.feature_matching_weight * matching
        return {"gan_total": total, "g_adv": adversarial.detach(), "g_fm": matching.detach()}

    def discriminator_step(self, real: Tensor, fake: Tensor, condition: Tensor | None) -> float:
        """One optimizer step of the discriminator on detached images; returns its loss."""
        cond = None if condition is None else condition.detach()
        loss = d_loss(self._judge(real.detach(), cond), self._judge(fake.detach(), cond), self.cfg.loss)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()
        return loss.item()

    def state_dict(self) -> dict:
        return {"disc": self.disc.state_dict(), "disc_optimizer": self.optimizer.state_dict()}

    def load_state_dict(self, state: dict) -> None:
        self.disc.load_state_dict(state["disc"])
        self.optimizer.load_state_dict(state["disc_optimizer"])

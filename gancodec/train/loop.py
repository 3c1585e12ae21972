"""Rate-distortion training of the intra codec: resumable, CPU or CUDA, logged.

Loss per sample (HiFiC/CompressAI convention):  L = lambda(q) * 255^2 * D_yuv + R,
D_yuv = (6 MSE_Y + MSE_U + MSE_V) / 8 on [0,1] pixels, R = bits per luma pixel (y and z),
with q drawn uniformly from [1, 8] for every sample so one network learns the whole rate range.
The entropy bottleneck's quantiles are trained by a separate optimizer on its aux loss.
"""

from __future__ import annotations

import math
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import tomllib
import torch

from gancodec.models.intra import IntraCodec, IntraConfig, lambda_for_quality
from gancodec.models.yuv import pack_planes, yuv_distortion
from gancodec.train.data import CropSampler, load_sources


@dataclass
class TrainConfig:
    name: str = "intra"
    data: list[str] = field(default_factory=lambda: ["../shared/data/train/*.mkv"])
    crop: int = 256
    batch: int = 8
    lr: float = 1e-4
    warmup_steps: int = 500
    lr_decay_at: int = 0  # step after which lr drops 10x (0 = never)
    grad_clip: float = 1.0
    aux_lr: float = 1e-3
    steps: int = 1_000_000  # stop after this many steps in total
    minutes: float = 0.0  # stop after this many minutes of this run (0 = no limit)
    checkpoint_minutes: float = 3.0
    log_every: int = 50
    seed: int = 0
    init_weights: str = ""  # start from these .safetensors weights (when no checkpoint exists)
    model: dict = field(default_factory=dict)


def load_config(path: str | os.PathLike) -> TrainConfig:
    with open(path, "rb") as f:
        raw = tomllib.load(f)
    return TrainConfig(**raw)


def pick_device(name: str = "auto") -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


def _lr_at(cfg: TrainConfig, step: int) -> float:
    lr = cfg.lr * min(1.0, (step + 1) / max(1, cfg.warmup_steps))
    if cfg.lr_decay_at and step >= cfg.lr_decay_at:
        lr *= 0.1
    return lr


def rd_loss(model: IntraCodec, y, uv, quality) -> dict:
    x = pack_planes(y, uv)
    out = model(x, quality)
    num_pixels = y.shape[-1] * y.shape[-2]
    bits = sum(-torch.log2(lk).sum(dim=(1, 2, 3)) for lk in out["likelihoods"].values())
    bpp = bits / num_pixels
    distortion = yuv_distortion(x, out["x_hat"].float())
    lam = lambda_for_quality(quality).to(x.device)
    loss = (lam * 255**2 * distortion + bpp).mean()
    psnr = (10 * torch.log10(1.0 / distortion.clamp_min(1e-10))).mean()
    return {"loss": loss, "bpp": bpp.mean(), "psnr_yuv": psnr}


class Trainer:
    def __init__(self, cfg: TrainConfig, run_dir: Path, device: torch.device, log=print):
        self.cfg, self.run_dir, self.device, self.log = cfg, run_dir, device, log
        torch.manual_seed(cfg.seed)
        self.model = IntraCodec(IntraConfig(**cfg.model)).to(device)
        main_params = [p for n, p in self.model.named_parameters() if not n.endswith(".quantiles")]
        aux_params = [p for n, p in self.model.named_parameters() if n.endswith(".quantiles")]
        self.optimizer = torch.optim.Adam(main_params, lr=cfg.lr)
        self.aux_optimizer = torch.optim.Adam(aux_params, lr=cfg.aux_lr)
        self.step = 0
        self.sampler: CropSampler | None = None

    # -- checkpoints ---------------------------------------------------------------------------
    def save(self) -> Path:
        path = self.run_dir / "last.ckpt"
        tmp = path.with_suffix(".tmp")
        torch.save(
            {
                "step": self.step,
                "model": self.model.state_dict(),
                "optimizer": self.optimizer.state_dict(),
                "aux_optimizer": self.aux_optimizer.state_dict(),
                "model_config": self.cfg.model,
            },
            tmp,
        )
        os.replace(tmp, path)
        return path

    def resume(self, path: Path) -> None:
        state = torch.load(path, map_location=self.device, weights_only=True)
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.aux_optimizer.load_state_dict(state["aux_optimizer"])
        self.step = state["step"]
        self.log(f"resumed from {path} at step {self.step}")

    def init_from_weights(self, path: str) -> None:
        from gancodec.models.registry import load_state_dict_file

        state, _ = load_state_dict_file(path)
        self.model.load_state_dict(state, strict=False)
        self.log(f"initialised from weights {path}")

    # -- loop ----------------------------------------------------------------------------------
    def train(self) -> None:
        cfg = self.cfg
        if self.sampler is None:
            sources = load_sources(cfg.data, cfg.crop)
            self.log(f"data: {len(sources)} sources, {sum(len(s.frames) for s in sources)} frames")
            self.sampler = CropSampler(sources, cfg.crop, seed=cfg.seed + self.step)
        start = last_ckpt = time.monotonic()
        stats = {"loss": 0.0, "bpp": 0.0, "psnr_yuv": 0.0, "n": 0, "skipped": 0}
        self.model.train()
        while self.step < cfg.steps:
            if cfg.minutes and time.monotonic() - start > cfg.minutes * 60:
                break
            self._train_step(stats)
            if self.step % cfg.log_every == 0:
                self._log_stats(stats, start)
            if time.monotonic() - last_ckpt > cfg.checkpoint_minutes * 60:
                self.save()
                last_ckpt = time.monotonic()
        self.save()
        self.log(f"stopped at step {self.step}; checkpoint {self.run_dir / 'last.ckpt'}")

    def _train_step(self, stats: dict) -> None:
        y, uv = self.sampler.batch(self.cfg.batch)
        y, uv = y.to(self.device), uv.to(self.device)
        quality = 1.0 + 7.0 * torch.rand(y.shape[0], device=self.device)
        for group in self.optimizer.param_groups:
            group["lr"] = _lr_at(self.cfg, self.step)
        out = rd_loss(self.model, y, uv, quality)
        self.optimizer.zero_grad(set_to_none=True)
        if not math.isfinite(out["loss"].item()):
            stats["skipped"] += 1  # a NaN batch must not poison the weights
            self.step += 1
            return
        out["loss"].backward()
        torch.nn.utils.clip_grad_norm_(self.model.parameters(), self.cfg.grad_clip)
        self.optimizer.step()
        aux = self.model.aux_loss()
        self.aux_optimizer.zero_grad(set_to_none=True)
        aux.backward()
        self.aux_optimizer.step()
        self.step += 1
        for key in ("loss", "bpp", "psnr_yuv"):
            stats[key] += out[key].item()
        stats["n"] += 1

    def _log_stats(self, stats: dict, start: float) -> None:
        n = max(1, stats["n"])
        rate = self.cfg.log_every / max(1e-9, time.monotonic() - stats.setdefault("t", start))
        self.log(
            f"step {self.step} loss {stats['loss'] / n:.4f} bpp {stats['bpp'] / n:.4f} "
            f"psnr_yuv {stats['psnr_yuv'] / n:.2f} lr {_lr_at(self.cfg, self.step):.2e} "
            f"aux {self.model.aux_loss().item():.1f} skipped {stats['skipped']} {rate:.2f} it/s"
        )
        stats.update(loss=0.0, bpp=0.0, psnr_yuv=0.0, n=0, skipped=0, t=time.monotonic())


def run_training(config_path: str, resume: str | None, device_name: str, runs_dir: str = "runs") -> Path:
    cfg = load_config(config_path)
    run_dir = Path(runs_dir) / cfg.name
    run_dir.mkdir(parents=True, exist_ok=True)
    log_file = open(run_dir / "train.log", "a", buffering=1)

    def log(msg: str) -> None:
        line = f"{time.strftime('%Y-%m-%d %H:%M:%S')} {msg}"
        print(line, flush=True)
        log_file.write(line + "\n")

    device = pick_device(device_name)
    torch.set_num_threads(max(1, torch.get_num_threads()))
    trainer = Trainer(cfg, run_dir, device, log)
    ckpt = Path(resume) if resume else run_dir / "last.ckpt"
    if ckpt.exists():
        trainer.resume(ckpt)
    elif resume:
        raise FileNotFoundError(f"no checkpoint at {resume}")
    elif cfg.init_weights:
        trainer.init_from_weights(cfg.init_weights)
    log(f"config {cfg}; device {device}")
    trainer.train()
    log_file.close()
    return run_dir / "last.ckpt"

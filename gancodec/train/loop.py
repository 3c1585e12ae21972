"""The training loop shared by every model: resumable, CPU or CUDA, checkpointed, logged.

A run is one TOML config (`kind` picks the task) and one folder, runs/NAME/, holding last.ckpt and
train.log. Re-running the same config resumes from last.ckpt; a fresh run can start from shipped
weights (`init_weights`). The tasks (what a step computes) live beside this file:
intra_task.py (rate-distortion training of the codec) and enhance_task.py (restoration).
"""

from __future__ import annotations

import dataclasses
import math
import os
import signal
import time
from dataclasses import dataclass, field
from pathlib import Path

import tomllib
import torch


@dataclass
class TrainConfig:
    name: str = "intra"
    kind: str = "intra"  # intra | enhance | enhance-gan
    data: list[str] = field(default_factory=lambda: ["../shared/data/train/*.mkv"])
    crop: int = 256
    batch: int = 8
    lr: float = 1e-4
    warmup_steps: int = 500
    lr_decay_at: int = 0  # step after which lr drops 10x (0 = never)
    # ... or after this many minutes of this run (0 = never): for runs bounded by time, not steps,
    # like a lent GPU machine's few minutes
    lr_decay_after_minutes: float = 0.0
    grad_clip: float = 1.0
    aux_lr: float = 1e-3
    steps: int = 1_000_000  # stop after this many steps in total
    minutes: float = 0.0  # stop after this many minutes of this run (0 = no limit)
    checkpoint_minutes: float = 3.0
    log_every: int = 50
    seed: int = 0
    init_weights: str = ""  # start from these .safetensors weights (when no checkpoint exists)
    # "bf16": the forward pass under torch.autocast in bfloat16 (weights, optimizer and loss stay float32).
    # Why: on a CPU with AMX/AVX-512 BF16 (this project's machines) an enhancer step takes ~0.45x the
    # time, so a CPU session trains twice the steps; the residual is added to the frame in float32.
    precision: str = "fp32"
    # > 0: keep an exponential moving average of the weights (BasicSR's ema_decay, e.g. 0.999), saved in
    # the checkpoint and exported instead of the last step's weights. Why: at a constant learning rate
    # the enhancer's eval gain moved ±0.03 dB from one checkpoint to the next (session 22).
    ema_decay: float = 0.0
    model: dict = field(default_factory=dict)
    task: dict = field(default_factory=dict)  # task-specific settings (e.g. codecs and CRFs to restore)
    gan: dict = field(default_factory=dict)  # adversarial stage settings (train/adversarial.py GanConfig)


def load_config(path: str | os.PathLike) -> TrainConfig:
    from gancodec.errors import UsageError

    try:
        with open(path, "rb") as f:
            raw = tomllib.load(f)
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(f"{path}: not valid TOML ({exc})") from None
    unknown = sorted(set(raw) - {f.name for f in dataclasses.fields(TrainConfig)})
    if unknown:
        raise UsageError(f"{path}: unknown setting(s) {', '.join(unknown)}")
    cfg = TrainConfig(**raw)
    if not 0.0 <= cfg.ema_decay < 1.0:
        raise UsageError(f"{path}: ema_decay must be in [0, 1) (got {cfg.ema_decay})")
    if cfg.precision not in ("fp32", "bf16"):
        raise UsageError(f"{path}: precision must be fp32 or bf16 (got {cfg.precision!r})")
    return cfg


def pick_device(name: str = "auto") -> torch.device:
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    device = torch.device(name)
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True  # fixed crop sizes: let cuDNN pick the fastest kernels
    return device


def lr_at(cfg: TrainConfig, step: int, resumed_at: int | None = None) -> float:
    """The learning rate at `step`: a linear warm-up over cfg.warmup_steps from step 0 and again
    from a resume. Why again: Adam's saved moments belong to the rate they were saved at, and
    raising the rate on them at once wrecked a converged codec in one step (measured: a checkpoint
    saved at 1e-5, one step at 1e-4, loss 0.61 -> 4.64; fresh moments or a warm-up do not)."""
    warm = max(1, cfg.warmup_steps)
    lr = cfg.lr * min(1.0, (step + 1) / warm)
    if resumed_at is not None:
        lr *= min(1.0, (step - resumed_at + 1) / warm)
    if cfg.lr_decay_at and step >= cfg.lr_decay_at:
        lr *= 0.1
    return lr


class Trainer:
    """The loop. A task subclass builds `self.model`/`self.optimizers` and implements
    `prepare_data()` and `compute_loss()` -> {"loss": tensor, other scalars to log...}."""

    def __init__(self, cfg: TrainConfig, run_dir: Path, device: torch.device, log=print):
        self.cfg, self.run_dir, self.device, self.log = cfg, run_dir, device, log
        torch.manual_seed(cfg.seed)
        self.step = 0
        self.resumed_at: int | None = None  # the step a resume started from (the lr warms up again)
        self.model: torch.nn.Module
        self.optimizers: dict[str, torch.optim.Optimizer] = {}
        self.ema: dict[str, torch.Tensor] | None = None  # the weights' moving average (cfg.ema_decay)
        self.build()

    # -- task hooks ----------------------------------------------------------------------------
    def build(self) -> None:
        raise NotImplementedError

    def prepare_data(self) -> None:
        raise NotImplementedError

    def compute_loss(self) -> dict[str, torch.Tensor]:
        raise NotImplementedError

    def after_step(self) -> None:
        """Extra optimisation after the main step (e.g. the entropy bottleneck's aux loss)."""

    def describe(self) -> str:
        return ""

    def extra_state(self) -> dict:
        """Task state beyond the model and its optimizers (e.g. a discriminator), checkpointed."""
        return {}

    def load_extra_state(self, state: dict) -> None:
        """Restores what extra_state() returned."""

    # -- checkpoints ---------------------------------------------------------------------------
    def save(self) -> Path:
        path = self.run_dir / "last.ckpt"
        tmp = path.with_suffix(".tmp")
        state = {
            "step": self.step,
            "kind": self.cfg.kind,
            "model": self.model.state_dict(),
            "model_config": self.cfg.model,
        }
        state.update({name: opt.state_dict() for name, opt in self.optimizers.items()})
        state["extra"] = self.extra_state()
        if self.ema is not None:
            state["ema"] = self.ema
        torch.save(state, tmp)
        os.replace(tmp, path)
        return path

    def resume(self, path: Path) -> None:
        state = torch.load(path, map_location=self.device, weights_only=True)
        self.model.load_state_dict(state["model"])
        for name, opt in self.optimizers.items():
            if name in state:
                opt.load_state_dict(state[name])
            else:  # a slim checkpoint (model only, e.g. brought back from a GPU machine)
                self.log(f"{name}: no state in {path}, starting with fresh moments")
        self.step = self.resumed_at = state["step"]
        self.ema = state.get("ema")  # absent: the average starts from these weights
        self.load_extra_state(state.get("extra", {}))
        self.log(f"resumed from {path} at step {self.step}")

    def init_from_weights(self, path: str) -> None:
        from gancodec.models.registry import load_state_dict_file

        state, _ = load_state_dict_file(path)
        self.model.load_state_dict(state, strict=False)
        self.log(f"initialised from weights {path}")

    # -- loop ----------------------------------------------------------------------------------
    def train(self) -> None:
        cfg = self.cfg
        self.prepare_data()
        start = last_ckpt = last_log = time.monotonic()
        sums: dict[str, float] = {}
        counted = skipped = 0
        self.model.train()
        while self.step < cfg.steps:
            if cfg.minutes and time.monotonic() - start > cfg.minutes * 60:
                break
            if (
                cfg.lr_decay_after_minutes
                and not (cfg.lr_decay_at and self.step >= cfg.lr_decay_at)
                and time.monotonic() - start > cfg.lr_decay_after_minutes * 60
            ):
                cfg.lr_decay_at = self.step
                self.log(f"lr drops 10x from step {self.step} ({cfg.lr_decay_after_minutes} minutes)")
            values = self._train_step()
            if values is None:
                skipped += 1
            else:
                counted += 1
                for key, value in values.items():
                    sums[key] = sums.get(key, 0.0) + value
            if self.step % cfg.log_every == 0:
                rate = cfg.log_every / max(1e-9, time.monotonic() - last_log)
                means = " ".join(f"{k} {v / max(1, counted):.4f}" for k, v in sums.items())
                self.log(
                    f"step {self.step} {means} lr {lr_at(cfg, self.step, self.resumed_at):.2e}{self.describe()} "
                    f"skipped {skipped} {rate:.2f} it/s"
                )
                sums, counted, skipped, last_log = {}, 0, 0, time.monotonic()
            if time.monotonic() - last_ckpt > cfg.checkpoint_minutes * 60:
                self.save()
                last_ckpt = time.monotonic()
        self.save()
        self.log(f"stopped at step {self.step}; checkpoint {self.run_dir / 'last.ckpt'}")

    def _train_step(self) -> dict[str, float] | None:
        main = self.optimizers["optimizer"]
        for group in main.param_groups:
            group["lr"] = lr_at(self.cfg, self.step, self.resumed_at)
        with torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.cfg.precision == "bf16"):
            out = self.compute_loss()
        main.zero_grad(set_to_none=True)
        self.step += 1
        if not math.isfinite(out["loss"].item()):
            return None  # a NaN batch must not poison the weights
        out["loss"].backward()
        torch.nn.utils.clip_grad_norm_(self.model.parameters(), self.cfg.grad_clip)
        main.step()
        self._update_ema()
        self.after_step()
        return {key: value.item() for key, value in out.items()}


    @torch.no_grad()
    def _update_ema(self) -> None:
        decay = self.cfg.ema_decay
        if not decay:
            return
        current = self.model.state_dict()
        if self.ema is None:
            self.ema = {k: v.detach().clone() for k, v in current.items()}
            return
        for key, value in current.items():
            if value.is_floating_point():
                self.ema[key].lerp_(value, 1.0 - decay)
            else:
                self.ema[key].copy_(value)


def make_trainer(cfg: TrainConfig, run_dir: Path, device: torch.device, log) -> Trainer:
    if cfg.kind == "intra":
        from gancodec.train.intra_task import IntraTrainer

        return IntraTrainer(cfg, run_dir, device, log)
    if cfg.kind == "enhance":
        from gancodec.train.enhance_task import EnhanceTrainer

        return EnhanceTrainer(cfg, run_dir, device, log)
    if cfg.kind == "enhance-gan":
        from gancodec.train.enhance_gan_task import EnhanceGanTrainer

        return EnhanceGanTrainer(cfg, run_dir, device, log)
    raise ValueError(f"unknown training kind '{cfg.kind}' (intra, enhance or enhance-gan)")


def run_training(
    config_path: str,
    resume: str | None,
    device_name: str,
    runs_dir: str = "runs",
    overrides: dict | None = None,
) -> Path:
    cfg = dataclasses.replace(load_config(config_path), **(overrides or {}))
    run_dir = Path(runs_dir) / cfg.name
    run_dir.mkdir(parents=True, exist_ok=True)
    with open(run_dir / "train.log", "a", buffering=1) as log_file:

        def log(msg: str) -> None:
            line = f"{time.strftime('%Y-%m-%d %H:%M:%S')} {msg}"
            print(line, flush=True)
            log_file.write(line + "\n")

        device = pick_device(device_name)
        trainer = make_trainer(cfg, run_dir, device, log)
        ckpt = Path(resume) if resume else run_dir / "last.ckpt"
        if ckpt.exists():
            trainer.resume(ckpt)
        elif resume:
            raise FileNotFoundError(f"no checkpoint at {resume}")
        elif cfg.init_weights:
            trainer.init_from_weights(cfg.init_weights)
        log(f"config {cfg}; device {device}")
        signal.signal(signal.SIGTERM, _raise_interrupt)
        try:
            trainer.train()
        except KeyboardInterrupt:
            trainer.save()  # Ctrl-C or SIGTERM: keep every step done so far
            log(f"interrupted at step {trainer.step}; checkpoint saved")
            raise
    return run_dir / "last.ckpt"


def _raise_interrupt(signum, frame) -> None:
    raise KeyboardInterrupt

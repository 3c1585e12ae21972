"""Loading the shipped restoration weights (safetensors only, no pickle).

Two networks of one kind ship: the enhancer (gc-enhance-s, for video damaged by x264/x265/SVT-AV1)
and the decoder's restoration stage (gc-postfilter-s, the same network trained on what gancodec's
own decoder reconstructs; api.decode_file runs it after the reconstruction, outside the
prediction loop). Each file holds a fidelity network and, from the GAN stage, a realism one.
"""

from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources
from pathlib import Path

import torch
from safetensors.torch import load_file
from torch import Tensor

from gancodec import __version__
from gancodec.enhance.net import EnhanceConfig, EnhanceNet
from gancodec.errors import ModelError, UsageError
from gancodec.models.registry import file_sha256

ENHANCER_ID = "gc-enhance-s"
WEIGHTS_FILE = "gc-enhance-s.safetensors"
POSTFILTER_ID = "gc-postfilter-s"
POSTFILTER_FILE = "gc-postfilter-s.safetensors"


def enhancer_path() -> Path:
    return Path(str(resources.files("gancodec.weights") / WEIGHTS_FILE))


def postfilter_path() -> Path:
    return Path(str(resources.files("gancodec.weights") / POSTFILTER_FILE))


def interpolate(fidelity: dict[str, Tensor], realism: dict[str, Tensor], r: float) -> dict[str, Tensor]:
    """theta = theta_fid + r * (theta_gan - theta_fid): network interpolation (ESRGAN)."""
    return {k: torch.lerp(v, realism[k], r) for k, v in fidelity.items()}  # exact at r = 0 and 1


@lru_cache(maxsize=4)
def load_enhancer(
    device: str = "cpu", path: str | None = None, realism: float = 0.0, option: str = "--weights"
) -> tuple[EnhanceNet, bytes]:
    """Returns (network in eval mode on `device`, SHA-256 of its weights file).

    `realism` in [0, 1] blends the fidelity network (0) with the GAN-tuned one (1); it needs a
    weights file made by the GAN stage. `option`: the command-line option that named `path`, for
    error messages.
    """
    if not 0.0 <= realism <= 1.0:
        raise UsageError(f"--realism must be between 0 and 1 (got {realism:g})")
    weights = Path(path) if path else enhancer_path()
    if path and not weights.is_file():
        raise ModelError(f"restoration weights are missing ({weights}) — check {option}")
    if not weights.is_file():
        raise ModelError(
            f"this gancodec ({__version__}) ships no enhancer weights yet: the enhancer is still in training "
            "(see benchmarks/results/experiments); pass trained weights with --weights"
        )
    from safetensors import SafetensorError, safe_open

    try:
        with safe_open(str(weights), framework="pt") as f:
            metadata = f.metadata() or {}
        tensors = {k: v.float() for k, v in load_file(str(weights)).items()}
        net = EnhanceNet(EnhanceConfig(**json.loads(metadata.get("config", "{}"))))
    except (SafetensorError, ValueError, TypeError, OSError) as exc:
        raise ModelError(f"not usable enhancer weights ({weights}): {str(exc).splitlines()[0]}") from None
    fidelity = {k: v for k, v in tensors.items() if not k.startswith("realism.")}
    tuned = {k.removeprefix("realism."): v for k, v in tensors.items() if k.startswith("realism.")}
    if realism > 0 and not tuned:
        raise UsageError(
            f"--realism needs GAN-stage enhancer weights; {weights.name} has only the fidelity stage"
        )
    try:
        net.load_state_dict(interpolate(fidelity, tuned, realism) if realism > 0 else fidelity)
    except (RuntimeError, KeyError) as exc:
        raise ModelError(
            f"enhancer weights do not fit the network ({weights.name}): {str(exc).splitlines()[0]}"
        ) from None
    return net.eval().to(device), file_sha256(weights)

"""Loading the shipped restoration weights (safetensors only, no pickle)."""

from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources
from pathlib import Path

from safetensors.torch import load_file

from gancodec.enhance.net import EnhanceConfig, EnhanceNet
from gancodec.errors import ModelError
from gancodec.models.registry import file_sha256

ENHANCER_ID = "gc-enhance-s"
WEIGHTS_FILE = "gc-enhance-s.safetensors"


def enhancer_path() -> Path:
    return Path(str(resources.files("gancodec.weights") / WEIGHTS_FILE))


@lru_cache(maxsize=2)
def load_enhancer(device: str = "cpu", path: str | None = None) -> tuple[EnhanceNet, bytes]:
    """Returns (network in eval mode on `device`, SHA-256 of its weights file)."""
    weights = Path(path) if path else enhancer_path()
    if not weights.is_file():
        raise ModelError(f"enhancer weights are missing ({weights}) — reinstall gancodec")
    from safetensors import safe_open

    with safe_open(str(weights), framework="pt") as f:
        metadata = f.metadata() or {}
    net = EnhanceNet(EnhanceConfig(**json.loads(metadata.get("config", "{}"))))
    net.load_state_dict({k: v.float() for k, v in load_file(str(weights)).items()})
    return net.eval().to(device), file_sha256(weights)

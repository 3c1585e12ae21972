"""Shipped models: stable string ids -> architecture + weights file + hash.

Weights are loaded with safetensors only (no pickle in the inference path). A model's id is a
stable string written into every .gcv, never an index, so adding a model never renumbers old
files; the SHA-256 of the weights file is written beside it and checked before decoding.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path

import torch
from safetensors import safe_open

from gancodec.errors import ModelError, UsageError
from gancodec.models.intra import IntraCodec, IntraConfig

DEFAULT_MODEL = "gc-intra-hp"


@dataclass(frozen=True)
class ModelSpec:
    model_id: str
    weights_file: str  # the release that new streams are encoded with
    description: str
    # Earlier releases of the same model, kept so that their streams still decode (newest first).
    earlier_weights: tuple[str, ...] = ()


MODELS = {
    "gc-intra-hp": ModelSpec(
        "gc-intra-hp",
        "gc-intra-hp.safetensors",
        "variable-rate mean-scale hyperprior on YUV 4:2:0 (intra frames)",
        # v11 has made every stream since gancodec 0.12.0; v10 (0.11.0's) left the package in 0.17.0
        earlier_weights=(),
    ),
}


def register_model(
    model_id: str, weights_file: str | Path, description: str = "", earlier: tuple[str | Path, ...] = ()
) -> None:
    """Adds a model whose weights live outside the package (used by the tests)."""
    earlier_files = tuple(str(Path(p).resolve()) for p in earlier)
    MODELS[model_id] = ModelSpec(model_id, str(Path(weights_file).resolve()), description, earlier_files)


def _spec(model_id: str) -> ModelSpec:
    if model_id not in MODELS:
        known = ", ".join(sorted(MODELS))
        raise ModelError(f"unknown model '{model_id}' (this gancodec knows: {known}) — upgrade gancodec")
    return MODELS[model_id]


def _locate(model_id: str, name: str) -> Path:
    path = Path(name) if Path(name).is_absolute() else Path(str(resources.files("gancodec.weights") / name))
    if not path.is_file():
        raise ModelError(f"weights for model '{model_id}' are missing ({path}) — reinstall gancodec")
    return path


def weights_path(model_id: str) -> Path:
    """The current weights of `model_id` (what new streams are encoded with)."""
    return _locate(model_id, _spec(model_id).weights_file)


@lru_cache(maxsize=16)
def _sha_of(path: str) -> bytes:
    return file_sha256(path)


def weights_path_for_stream(model_id: str, stream_sha256: bytes) -> Path | None:
    """The shipped weights file (current or earlier release) whose SHA-256 is the stream's, if any."""
    spec = _spec(model_id)
    for name in (spec.weights_file, *spec.earlier_weights):
        path = _locate(model_id, name)
        if _sha_of(str(path)) == stream_sha256:
            return path
    return None


def file_sha256(path: str | Path) -> bytes:
    return hashlib.sha256(Path(path).read_bytes()).digest()


def load_state_dict_file(path: str | Path) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    """Reads a .safetensors file -> (fp32 state dict, metadata). Half-precision tensors are upcast."""
    state = {}
    with safe_open(str(path), framework="pt") as f:
        metadata = f.metadata() or {}
        for key in f.keys():  # noqa: SIM118 - safe_open is not a dict
            tensor = f.get_tensor(key)
            state[key] = tensor.float() if tensor.dtype == torch.float16 else tensor
    return state, metadata


def resolve_device(name: str = "auto") -> str:
    if name == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise UsageError(f"--device {name}: no CUDA device is available (use --device cpu)")
    if not (name == "cpu" or name.startswith("cuda")):
        raise UsageError(f"unknown --device '{name}' (use auto, cpu, cuda or cuda:N)")
    return name


def load_model(model_id: str = DEFAULT_MODEL, device: str = "cpu") -> tuple[IntraCodec, bytes]:
    """Returns (current model ready for compress/decompress on `device`, SHA-256 of its weights)."""
    return _load_weights(model_id, str(weights_path(model_id)), device)


@lru_cache(maxsize=4)
def _load_weights(model_id: str, path: str, device: str) -> tuple[IntraCodec, bytes]:
    state, metadata = load_state_dict_file(path)
    config = IntraConfig(**json.loads(metadata.get("config", "{}")))
    model = IntraCodec(config)
    model.load_state_dict(state)
    model.prepare_inference(device)
    return model, file_sha256(path)


def check_stream_model(
    model_id: str, stream_sha256: bytes, device: str = "cpu", encoder: str | None = None
) -> IntraCodec:
    """Loads the model a stream was made with and checks its weights hash.

    Each weights release changes the hash, and a stream decodes only with the exact weights that
    made it; `encoder` (the stream's "encoder" metadata, e.g. "gancodec 0.1.0") names the release
    to install for an older file.
    """
    path = weights_path_for_stream(model_id, stream_sha256)
    if path is None:
        installed = _sha_of(str(weights_path(model_id)))
        release = re.fullmatch(r"gancodec [0-9][0-9A-Za-z.+-]{0,30}", encoder or "")
        made_by = release.group(0) if release else "the gancodec version that encoded it"
        raise ModelError(
            f"stream was made with other weights for model '{model_id}' "
            f"(stream {stream_sha256.hex()[:12]}, installed {installed.hex()[:12]}) — decode it with {made_by}"
        )
    model, _ = _load_weights(model_id, str(path), device)
    return model

"""Training checkpoint -> shipped .safetensors weights (with entropy-coding tables).

The CDF tables are computed here, once, and shipped: recomputing them at load time from float
parameters could differ across machines and break decoding. Large conv kernels are stored in
float16 to keep the package small; the entropy models and GDN parameters stay float32.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

import torch
from safetensors.torch import save_file

from gancodec.models.intra import IntraCodec, IntraConfig, scale_table

_KEEP_FP32 = ("entropy_bottleneck", "gaussian_conditional", "g_a.1", "g_a.3", "g_s.1", "g_s.3", "log_")


def export_weights(checkpoint: str | Path, output: str | Path, model_id: str = "gc-intra-hp") -> Path:
    """Training checkpoint -> shippable weights."""
    state = torch.load(checkpoint, map_location="cpu", weights_only=True)
    model = IntraCodec(IntraConfig(**state.get("model_config", {})))
    model.load_state_dict(state["model"])
    return save_weights(model, output, model_id, step=state.get("step", 0))


def save_weights(model: IntraCodec, output: str | Path, model_id: str, step: int = 0) -> Path:
    """Computes the entropy tables and writes the model as .safetensors (atomically)."""
    model.update(scale_table=scale_table(), force=True)
    tensors = {}
    for key, value in model.state_dict().items():
        keep = value.numel() < 4096 or any(tag in key for tag in _KEEP_FP32)
        if value.is_floating_point() and not keep:
            value = value.half()
        tensors[key] = value.contiguous()
    metadata = {"model_id": model_id, "config": json.dumps(asdict(model.config)), "step": str(step)}
    output = Path(output)
    tmp = output.with_suffix(".tmp")
    save_file(tensors, str(tmp), metadata=metadata)
    tmp.chmod(0o644)
    tmp.replace(output)
    return output

"""Training checkpoint -> shipped .safetensors weights (the codec with its entropy-coding tables).

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

from gancodec.errors import ModelError
from gancodec.models.intra import IntraCodec, IntraConfig, scale_table

_KEEP_FP32 = ("entropy_bottleneck", "gaussian_conditional", "g_a.1", "g_a.3", "g_s.1", "g_s.3", "log_")


def export_weights(
    checkpoint: str | Path, output: str | Path, model_id: str | None = None, use_ema: bool = True
) -> Path:
    """Training checkpoint (codec or enhancer) -> shippable weights: the moving average of the
    weights where the run kept one (`ema_decay`) and `use_ema`, else the last step's."""
    try:
        state = torch.load(checkpoint, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 -- torch.load on arbitrary bytes raises almost anything
        raise ModelError(f"not a training checkpoint ({checkpoint}): {str(exc).splitlines()[0]}") from None
    if not isinstance(state, dict) or "model" not in state or "step" not in state:
        raise ModelError(f"not a training checkpoint ({checkpoint}): no model state in it")
    if use_ema and state.get("ema") is not None:
        state = {**state, "model": state["ema"], "exported": "ema"}
    if state.get("kind", "intra") in ("enhance", "enhance-gan"):
        return save_enhancer(state, output, model_id or "gc-enhance-s")
    model_id = model_id or "gc-intra-hp"
    model = IntraCodec(IntraConfig(**state.get("model_config", {})))
    model.load_state_dict(state["model"])
    return save_weights(model, output, model_id, step=state.get("step", 0))


def save_enhancer(state: dict, output: str | Path, model_id: str) -> Path:
    """Fidelity run: the network. GAN run: its fidelity anchor plus the tuned network under
    `realism.` (the pair that `--realism` interpolates)."""
    from gancodec.enhance.net import EnhanceConfig, EnhanceNet

    net = EnhanceNet(EnhanceConfig(**state.get("model_config", {})))
    net.load_state_dict(state["model"])
    tuned = {k: v.clone().contiguous() for k, v in net.state_dict().items()}
    anchor = state.get("extra", {}).get("anchor")
    if anchor is None:
        tensors, stages = tuned, "fidelity"
    else:
        net.load_state_dict(anchor)  # checks that the anchor fits the same architecture
        tensors = {k: v.contiguous() for k, v in anchor.items()}
        tensors.update({f"realism.{k}": v for k, v in tuned.items()})
        stages = "fidelity,realism"
    metadata = {"model_id": model_id, "config": json.dumps(asdict(net.config)), "step": str(state["step"]),
                "stages": stages, "weights": state.get("exported", "last step")}  # fmt: skip
    return _write(tensors, metadata, Path(output))


def _write(tensors: dict, metadata: dict, output: Path) -> Path:
    tmp = output.with_suffix(".tmp")
    save_file(tensors, str(tmp), metadata=metadata)
    tmp.chmod(0o644)
    tmp.replace(output)
    return output


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
    return _write(tensors, metadata, Path(output))

"""The channel-wise context model (IntraConfig.context_slices): exact, and a strict extension."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from conftest import write_clip

from gancodec.api import decode_file, encode_file
from gancodec.io import VideoReader
from gancodec.metrics import frame_psnr
from gancodec.models.intra import IntraCodec, IntraConfig
from gancodec.models.registry import MODELS, load_state_dict_file, register_model, weights_path
from gancodec.train.export import save_weights


def context_model(seed: int = 0, slices: int = 4) -> IntraCodec:
    """A tiny random model whose context networks really correct the hyperprior."""
    torch.manual_seed(seed)
    model = IntraCodec(IntraConfig(16, 16, 8, context_slices=slices))
    for net in model.context:
        torch.nn.init.normal_(net[-1].weight, std=0.05)
        torch.nn.init.normal_(net[-1].bias, std=0.5)
    return model


def test_slices_must_divide_the_latent_channels():
    with pytest.raises(ValueError, match="multiple of context_slices"):
        IntraConfig(16, 16, 8, context_slices=3)


def test_untrained_context_codes_exactly_like_the_hyperprior():
    """Grown from hyperprior-only weights, the context model starts where they are: same bytes."""
    state, metadata = load_state_dict_file(weights_path("gc-intra-hp"))
    state = {k: v for k, v in state.items() if not k.startswith("context.")}  # the hyperprior part
    config = {**json.loads(metadata["config"]), "context_slices": 0}
    plain = IntraCodec(IntraConfig(**config))
    plain.load_state_dict(state)
    grown = IntraCodec(IntraConfig(**{**config, "context_slices": 4}))
    missing = grown.load_state_dict(state, strict=False).missing_keys
    assert missing and all(key.startswith("context.") for key in missing)
    plain.prepare_inference()
    grown.prepare_inference()
    x = torch.rand(1, 6, 32, 64, generator=torch.Generator().manual_seed(0)) * 0.5 + 0.25
    for quality in (1.0, 8.0):
        strings, z_shape = plain.compress(x, quality)
        assert grown.compress(x, quality) == (strings, z_shape)
        assert torch.equal(
            grown.decompress(strings, z_shape, quality), plain.decompress(strings, z_shape, quality)
        )


def test_exact_context_matches_the_float_path():
    model = context_model()
    model.prepare_inference()
    z_hat = torch.round(torch.randn(1, 8, 2, 3) * 3)
    y = torch.randn(1, 16, 8, 12) * 4
    base = model._exact_base_params(z_hat, y.shape[-2:])
    decoded, exact_scales, exact_means = [], [], []
    for k, (b, y_k) in enumerate(zip(base, y.chunk(4, 1))):
        scales, means = model._exact_slice_params(k, b, decoded)
        decoded.append(torch.round(y_k.double() - means) + means)
        exact_scales.append(scales)
        exact_means.append(means)
    with torch.no_grad():
        s, m = model.h_s(z_hat).chunk(2, 1)
        _, scales, means = model.quantize_with_context(y, s, m)
    assert (torch.cat(exact_scales, 1) - scales).abs().max() < 0.05
    assert (torch.cat(exact_means, 1) - means).abs().max() < 0.05
    assert (
        torch.cat(exact_means, 1) - torch.cat([base_m for _, base_m in base], 1)
    ).abs().max() > 0.1  # it corrects


def test_context_streams_decode_exactly_at_any_thread_count(tmp_path):
    weights = save_weights(context_model(), tmp_path / "cc.safetensors", "gc-test-context")
    clip = write_clip(tmp_path / "c.mkv", 80, 48, 2)
    old = torch.get_num_threads()
    try:
        register_model("gc-test-context", weights)
        summary = encode_file(
            clip, tmp_path / "c.gcv", quality=5, model_id="gc-test-context", measure_psnr=True
        )
        for threads in (1, 2):
            decode_file(tmp_path / "c.gcv", tmp_path / f"t{threads}.yuv", threads=threads)
        assert (tmp_path / "t1.yuv").read_bytes() == (tmp_path / "t2.yuv").read_bytes()
        decode_file(tmp_path / "c.gcv", tmp_path / "rec.mkv")
        with VideoReader(clip) as a, VideoReader(tmp_path / "rec.mkv") as b:
            rec_psnr = np.mean([frame_psnr(f, g).y for f, g in zip(a.frames(), b.frames())])
        assert summary.psnr_y == pytest.approx(rec_psnr, abs=1e-9)  # encoder and decoder agree
    finally:
        torch.set_num_threads(old)
        MODELS.pop("gc-test-context", None)


def test_context_model_trains_and_exports(tmp_path):
    from test_train import TINY_INTRA, write_config

    from gancodec.train.export import export_weights
    from gancodec.train.loop import run_training

    clip = write_clip(tmp_path / "t.mkv", 64, 64, 3)
    cfg = write_config(
        tmp_path / "cc.toml", name="cc", data=[str(clip)], crop=64, batch=2, steps=2, log_every=1,
        warmup_steps=1, model={**TINY_INTRA, "context_slices": 2},
    )  # fmt: skip
    ckpt = run_training(cfg, None, "cpu", str(tmp_path / "runs"))
    state = torch.load(ckpt, weights_only=True)["model"]
    assert state["context.0.4.weight"].abs().sum() > 0  # the zero-initialised layer has learned
    _, metadata = load_state_dict_file(export_weights(ckpt, tmp_path / "cc.safetensors"))
    assert json.loads(metadata["config"])["context_slices"] == 2


def test_table_indexes_equal_compressai_build_indexes():
    """The binary-search index lookup picks the same entropy table as CompressAI's loop, ties and
    out-of-range scales included (a different table would decode garbage)."""
    model = context_model()
    model.update(force=True)
    table = model.gaussian_conditional.scale_table
    scales = torch.cat([
        table, table.nextafter(torch.zeros_like(table)), table.nextafter(torch.full_like(table, 1e9)),
        torch.tensor([0.0, -1.0, 1e-12, 1e6]), torch.rand(5000) * 80.0, torch.rand(5000) * 0.3,
    ]).reshape(1, 1, 1, -1)  # fmt: skip
    expected = model.gaussian_conditional.build_indexes(scales)
    assert torch.equal(model._table_indexes(scales), expected)
    assert torch.equal(model._table_indexes(scales.double()), expected)

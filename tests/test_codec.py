"""Encode/decode through the library API with the shipped weights."""

from __future__ import annotations

import hashlib

import av
import numpy as np
import pytest
import torch
from conftest import write_clip

from gancodec.api import decode_file, encode_file
from gancodec.io import VideoReader
from gancodec.metrics import frame_psnr
from gancodec.models.registry import load_model
from gancodec.models.yuv import YuvFrame, pack, unpack


def read_frames(path, **kw) -> list[YuvFrame]:
    with VideoReader(path, **kw) as r:
        return list(r.frames())


def test_round_trip_shape_count_and_quality(clip, encoded, tmp_path):
    out = tmp_path / "rec.mkv"
    summary = decode_file(encoded, out)
    src, rec = read_frames(clip), read_frames(out)
    assert summary.frames == len(src) == len(rec) == 4
    assert rec[0].y.shape == src[0].y.shape and rec[0].u.shape == src[0].u.shape
    psnr_y = np.mean([frame_psnr(a, b).y for a, b in zip(src, rec)])
    assert psnr_y > 24.0, psnr_y


def test_file_size_grows_with_quality(clip, tmp_path):
    sizes = [encode_file(clip, tmp_path / f"q{q}.gcv", quality=q).bytes for q in (1.0, 4.5, 8.0)]
    assert sizes[0] < sizes[1] < sizes[2], sizes


def test_fractional_quality_lies_between_neighbours(clip, tmp_path):
    sizes = [encode_file(clip, tmp_path / f"q{q}.gcv", quality=q).bytes for q in (3.0, 3.5, 4.0)]
    assert sizes[0] <= sizes[1] <= sizes[2], sizes


@pytest.mark.parametrize("quality", [5, 3.14159])
def test_encoder_and_decoder_agree(clip, tmp_path, quality):
    """--psnr measures the decoder's own reconstruction inside the encoder: it must match the file.
    A quality finer than the stream records (1/1000) is coded as recorded, I- and P-frames alike."""
    summary = encode_file(clip, tmp_path / "a.gcv", quality=quality, measure_psnr=True)
    decode_file(tmp_path / "a.gcv", tmp_path / "a.mkv", postfilter="off")  # the reconstruction itself
    rec_psnr = np.mean(
        [frame_psnr(a, b).y for a, b in zip(read_frames(clip), read_frames(tmp_path / "a.mkv"))]
    )
    assert summary.psnr_y == pytest.approx(rec_psnr, abs=1e-9)


def _digest(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_decoding_is_identical_across_thread_counts(encoded, tmp_path):
    old = torch.get_num_threads()
    try:
        decode_file(encoded, tmp_path / "t1.yuv", threads=1)
        decode_file(encoded, tmp_path / "t2.yuv", threads=2)
        decode_file(encoded, tmp_path / "t2b.yuv", threads=2)
    finally:
        torch.set_num_threads(old)
    assert _digest(tmp_path / "t1.yuv") == _digest(tmp_path / "t2.yuv") == _digest(tmp_path / "t2b.yuv")


def test_encoding_is_deterministic(clip, encoded, tmp_path):
    again = tmp_path / "again.gcv"
    encode_file(clip, again, quality=6)
    assert _digest(again) == _digest(encoded)


@pytest.mark.parametrize("size", [(17, 9), (2, 2), (130, 66)])
def test_odd_and_tiny_frame_sizes(tmp_path, size):
    src = write_clip(tmp_path / "odd.mkv", width=size[0], height=size[1], count=2, codec="ffv1")
    encode_file(src, tmp_path / "odd.gcv", quality=8)
    decode_file(tmp_path / "odd.gcv", tmp_path / "odd.yuv")
    a, b = read_frames(src), read_frames(tmp_path / "odd.yuv", size=size)
    assert len(b) == 2 and b[0].y.shape == (size[1], size[0]) and b[0].u.shape == a[0].u.shape


def test_pack_unpack_is_lossless():
    rng = np.random.default_rng(1)
    frame = YuvFrame(
        rng.integers(0, 256, (9, 17), dtype=np.uint8),
        rng.integers(0, 256, (5, 9), dtype=np.uint8),
        rng.integers(0, 256, (5, 9), dtype=np.uint8),
    )
    back = unpack(pack(frame, 64), 17, 9)
    for p, q in zip(frame, back):
        np.testing.assert_array_equal(p, q)


def test_audio_is_kept(clip_with_audio, tmp_path):
    encode_file(clip_with_audio, tmp_path / "a.gcv", quality=2)
    decode_file(tmp_path / "a.gcv", tmp_path / "a.mp4")
    with av.open(str(clip_with_audio)) as src, av.open(str(tmp_path / "a.mp4")) as out:
        assert len(out.streams.audio) == 1
        n_src = sum(1 for p in src.demux(src.streams.audio[0]) if p.size)
        n_out = sum(1 for p in out.demux(out.streams.audio[0]) if p.size)
        assert n_out == n_src > 0


def test_exact_hyper_synthesis_matches_float_network():
    model, _ = load_model()
    z = torch.randn(1, model.config.hyper_channels, 3, 4) * 3
    exact = model._exact_h_s(torch.round(z))
    with torch.no_grad():
        ref = model.h_s(torch.round(z)).double()
    assert (exact - ref).abs().max() < 0.05


def test_very_wide_frame(tmp_path):
    src = write_clip(tmp_path / "wide.mkv", width=1030, height=18, count=1)
    encode_file(src, tmp_path / "wide.gcv", quality=3)
    decode_file(tmp_path / "wide.gcv", tmp_path / "wide.yuv")
    assert (tmp_path / "wide.yuv").stat().st_size == 1030 * 18 + 2 * 515 * 9


def test_slow_preset_lowers_the_rd_loss_and_decodes_with_the_same_decoder(clip, tmp_path):
    """The latent search lowers the loss it optimizes; the encoder then keeps, of its result and g_a's
    guess, whichever costs less in real bytes and real decoded pixels; its stream decodes exactly."""
    from gancodec.models.refine import refine_latents, search_objective

    model, _ = load_model("gc-intra-hp", "cpu")
    x = pack(read_frames(clip)[0], model.config.stride)
    q = torch.tensor([3.0])
    with torch.no_grad():
        y_g = model.g_a(x - 0.5) * model.gain(q)
        z = model.h_a(y_g)
        z_hat = model.entropy_bottleneck.decompress(model.entropy_bottleneck.compress(z), z.shape[-2:])
    refined = refine_latents(model, x, y_g, z_hat, 3.0, steps=20)
    objective = search_objective(model, x, z_hat, 3.0)
    with torch.no_grad():
        assert objective(refined).item() < objective(y_g).item()

    def coded_cost(search_steps: int) -> float:
        strings, _ = model.compress(x, 3.0, search_steps)
        return model._coded_rd_cost(x, strings[1], z_hat, q, None)

    amortized = coded_cost(0)
    candidates = {amortized, model._coded_rd_cost(x, model._compress_y(refined, z_hat), z_hat, q, None)}
    assert coded_cost(20) == min(candidates)  # the real choice, never worse than g_a's guess

    summary = encode_file(clip, tmp_path / "s.gcv", quality=3, preset="slow", measure_psnr=True)
    decode_file(tmp_path / "s.gcv", tmp_path / "s.mkv", postfilter="off")
    rec_psnr = np.mean(
        [frame_psnr(a, b).y for a, b in zip(read_frames(clip), read_frames(tmp_path / "s.mkv"))]
    )
    assert summary.psnr_y == pytest.approx(rec_psnr, abs=1e-9)


def test_unknown_preset_is_a_usage_error(clip, tmp_path):
    from gancodec.errors import UsageError

    with pytest.raises(UsageError, match="--preset"):
        encode_file(clip, tmp_path / "p.gcv", preset="placebo")
    assert not (tmp_path / "p.gcv").exists()


def test_streams_of_an_earlier_weights_release_still_decode(clip, tmp_path):
    """A weights update must not orphan old files: earlier releases stay decodable by their hash."""
    from gancodec.errors import ModelError
    from gancodec.models.intra import IntraCodec, IntraConfig
    from gancodec.models.registry import MODELS, register_model
    from gancodec.train.export import save_weights

    files = []
    for seed in (1, 2):
        torch.manual_seed(seed)
        files.append(save_weights(IntraCodec(IntraConfig(16, 16, 8)), tmp_path / f"r{seed}.safetensors", "t"))
    old, new = files
    try:
        register_model("gc-test-releases", old)
        encode_file(clip, tmp_path / "old.gcv", quality=4, model_id="gc-test-releases")
        decode_file(tmp_path / "old.gcv", tmp_path / "before.yuv")

        register_model("gc-test-releases", new, earlier=(old,))  # a new release keeps the old file
        decode_file(tmp_path / "old.gcv", tmp_path / "after.yuv")
        assert (tmp_path / "after.yuv").read_bytes() == (tmp_path / "before.yuv").read_bytes()

        register_model("gc-test-releases", new)  # the old file dropped: a clear refusal
        with pytest.raises(ModelError, match="other weights"):
            decode_file(tmp_path / "old.gcv", tmp_path / "refused.yuv")
        assert not (tmp_path / "refused.yuv").exists()
    finally:
        MODELS.pop("gc-test-releases", None)

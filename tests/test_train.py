"""`gancodec train` on tiny data: every task runs, checkpoints, resumes and exports usable weights."""

from __future__ import annotations

import pytest
import torch
from conftest import write_clip

from gancodec.enhance.weights import load_enhancer
from gancodec.errors import UsageError
from gancodec.layers.discriminator import MultiScaleDiscriminator
from gancodec.train.adversarial import d_loss, feature_matching_loss, g_adversarial_loss
from gancodec.train.export import export_weights
from gancodec.train.loop import run_training

TINY_INTRA = {"channels": 16, "latent_channels": 16, "hyper_channels": 16}
TINY_ENHANCE = {"channels": 8, "blocks": 1, "window": 3}


def write_config(path, **fields) -> str:
    def value(v):
        if isinstance(v, dict):
            return "{" + ", ".join(f"{k} = {value(x)}" for k, x in v.items()) + "}"
        if isinstance(v, bool):
            return str(v).lower()
        if isinstance(v, str):
            return f'"{v}"'
        if isinstance(v, list):
            return "[" + ", ".join(value(x) for x in v) + "]"
        return repr(v)

    path.write_text("".join(f"{k} = {value(v)}\n" for k, v in fields.items()))
    return str(path)


@pytest.fixture(scope="module")
def train_clip(tmp_path_factory):
    return write_clip(tmp_path_factory.mktemp("data") / "clip.mkv", 64, 64, 6)


def steps_logged(run_dir) -> list[int]:
    lines = (run_dir / "train.log").read_text().splitlines()
    return [int(line.split()[3]) for line in lines if line.split()[2:3] == ["step"]]


def test_intra_training_checkpoints_resumes_and_exports(train_clip, tmp_path):
    cfg = write_config(
        tmp_path / "intra.toml", name="t", data=[str(train_clip)], crop=64, batch=2, steps=2, log_every=1,
        warmup_steps=1, model=TINY_INTRA,
    )  # fmt: skip
    ckpt = run_training(cfg, None, "cpu", str(tmp_path / "runs"))
    assert torch.load(ckpt, weights_only=True)["step"] == 2
    cfg = write_config(
        tmp_path / "intra.toml", name="t", data=[str(train_clip)], crop=64, batch=2, steps=4, log_every=1,
        warmup_steps=1, model=TINY_INTRA,
    )  # fmt: skip
    run_training(cfg, None, "cpu", str(tmp_path / "runs"))  # resumes from runs/t/last.ckpt
    assert steps_logged(tmp_path / "runs" / "t") == [1, 2, 3, 4]
    weights = export_weights(ckpt, tmp_path / "intra.safetensors")
    from gancodec.models.registry import load_state_dict_file

    state, metadata = load_state_dict_file(weights)
    assert metadata["step"] == "4" and "gaussian_conditional._cdf_length" in state


def test_lr_decay_after_minutes_drops_the_rate_tenfold(train_clip, tmp_path):
    """A run bounded by time (a lent GPU's minutes) decays by the clock, not at a fixed step."""
    fields = dict(  # noqa: C408
        name="t", data=[str(train_clip)], crop=64, batch=2, steps=2, log_every=1, lr=1e-2, warmup_steps=1,
        model=TINY_INTRA,
    )
    run_training(write_config(tmp_path / "a.toml", **fields), None, "cpu", str(tmp_path / "a"))
    run_training(
        write_config(tmp_path / "b.toml", **fields, lr_decay_after_minutes=1e-9), None, "cpu", str(tmp_path / "b")
    )

    def rates(run_dir):
        lines = (run_dir / "t" / "train.log").read_text().splitlines()
        return [float(line.split(" lr ")[1].split()[0]) for line in lines if line.split()[2:3] == ["step"]]

    assert rates(tmp_path / "a") == [1e-2, 1e-2]
    assert rates(tmp_path / "b")[-1] == 1e-3  # decayed once the clock passed the mark (a step or two in)
    assert "lr drops 10x from step" in (tmp_path / "b" / "t" / "train.log").read_text()


def fidelity_weights(train_clip, tmp_path):
    cfg = write_config(
        tmp_path / "enh.toml", name="fid", kind="enhance", data=[str(train_clip)], crop=32, batch=2, steps=2,
        log_every=1, lr=1e-2, warmup_steps=1, model=TINY_ENHANCE,
        task={"codecs": ["x264"], "crf_min": 40, "crf_max": 45, "conditions_per_clip": 1, "frames_per_clip": 6},
    )  # fmt: skip
    ckpt = run_training(cfg, None, "cpu", str(tmp_path / "runs"))
    return export_weights(ckpt, tmp_path / "fid.safetensors")


def test_exported_pairs_train_the_enhancer_without_pyav(train_clip, tmp_path):
    """export-pairs writes decoded windows beside their originals; training reads them even where
    PyAV cannot be imported (the GPU machine)."""
    import subprocess
    import sys

    import numpy as np
    from click.testing import CliRunner

    from gancodec.cli import main

    cfg = write_config(
        tmp_path / "enh.toml", name="pairs", kind="enhance", data=[str(train_clip)], crop=32, batch=2, steps=2,
        log_every=1, warmup_steps=1, model=TINY_ENHANCE,
        task={"codecs": ["x264"], "crf_min": 40, "crf_max": 45, "conditions_per_clip": 2, "frames_per_clip": 6},
    )  # fmt: skip
    args = ["export-pairs", cfg, "-o", str(tmp_path / "pairs"), "--windows", "3", "--size", "48"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    with np.load(tmp_path / "pairs" / "clip.npz") as a:
        assert a["dec_y"].shape == (6, 3, 48, 48) and a["dec_u"].shape == (6, 3, 24, 24)
        assert a["org_y"].shape == (6, 48, 48) and a["org_v"].shape == (6, 24, 24)
        assert (a["dec_y"][:, 1] != a["org_y"]).any()  # really compressed at CRF >= 40
    gpu_cfg = write_config(
        tmp_path / "gpu.toml", name="gpu", kind="enhance", data=[str(tmp_path / "pairs" / "*.npz")], crop=32,
        batch=2, steps=2, log_every=1, warmup_steps=1, model=TINY_ENHANCE,
    )  # fmt: skip
    script = (
        "import sys; sys.modules['av'] = None\n"  # any import of PyAV now fails
        "from gancodec.train.loop import run_training\n"
        f"run_training({gpu_cfg!r}, None, 'cpu', {str(tmp_path / 'runs')!r})\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], check=False, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-2000:]
    log = (tmp_path / "runs" / "gpu" / "train.log").read_text()
    assert "data: 6 exported windows from 1 files" in log and steps_logged(tmp_path / "runs" / "gpu") == [1, 2]


def test_gan_stage_resumes_and_exports_a_realism_pair(train_clip, tmp_path):
    fid = fidelity_weights(train_clip, tmp_path)
    fields = dict(  # noqa: C408 - keyword form reads like the TOML it becomes
        name="gan", kind="enhance-gan", data=[str(train_clip)], crop=64, batch=2, log_every=1, lr=1e-2,
        warmup_steps=1, init_weights=str(fid), model=TINY_ENHANCE,
        task={"codecs": ["x264"], "crf_min": 40, "crf_max": 45, "conditions_per_clip": 1, "frames_per_clip": 6},
        gan={"disc_channels": 8, "adversarial_weight": 0.1},
    )  # fmt: skip
    ckpt = run_training(
        write_config(tmp_path / "gan.toml", steps=2, **fields), None, "cpu", str(tmp_path / "runs")
    )
    first = torch.load(ckpt, weights_only=True)
    assert set(first["extra"]) == {"gan", "anchor"}
    run_training(write_config(tmp_path / "gan.toml", steps=3, **fields), None, "cpu", str(tmp_path / "runs"))
    state = torch.load(ckpt, weights_only=True)
    assert state["step"] == 3
    disc_before, disc_after = first["extra"]["gan"]["disc"], state["extra"]["gan"]["disc"]
    assert any(not torch.equal(disc_before[k], disc_after[k]) for k in disc_before)  # D kept training
    for k, v in state["extra"]["anchor"].items():  # the anchor never moves
        assert torch.equal(v, first["extra"]["anchor"][k])

    pair = export_weights(ckpt, tmp_path / "pair.safetensors")
    fid_net, _ = load_enhancer("cpu", str(fid), 0.0)
    at0, _ = load_enhancer("cpu", str(pair), 0.0)
    at1, _ = load_enhancer("cpu", str(pair), 1.0)
    half, _ = load_enhancer("cpu", str(pair), 0.5)
    for name, p0 in at0.state_dict().items():
        assert torch.equal(p0, fid_net.state_dict()[name])  # realism 0 is exactly the fidelity network
        assert torch.equal(at1.state_dict()[name], state["model"][name])  # 1 is the GAN-tuned one
        assert torch.allclose(half.state_dict()[name], (p0 + at1.state_dict()[name]) / 2, atol=1e-6)
    assert any(not torch.equal(p, at1.state_dict()[n]) for n, p in at0.state_dict().items())
    with pytest.raises(UsageError, match="GAN-stage"):
        load_enhancer("cpu", str(fid), 0.5)
    with pytest.raises(UsageError, match="between 0 and 1"):
        load_enhancer("cpu", str(pair), 1.5)


def test_gan_stage_refuses_to_start_without_fidelity_weights(train_clip, tmp_path):
    cfg = write_config(
        tmp_path / "gan.toml", name="g", kind="enhance-gan", data=[str(train_clip)], crop=32, batch=2, steps=1,
        model=TINY_ENHANCE, task={"codecs": ["x264"], "conditions_per_clip": 1, "frames_per_clip": 6},
    )  # fmt: skip
    with pytest.raises(ValueError, match="fidelity weights"):
        run_training(cfg, None, "cpu", str(tmp_path / "runs"))


def test_discriminator_scales_and_condition():
    disc = MultiScaleDiscriminator(image_channels=6, condition_channels=6, channels=8, scales=3)
    image, cond = torch.rand(2, 6, 128, 96), torch.rand(2, 6, 128, 96)
    outputs = disc(image, cond)
    assert [tuple(logits.shape) for _, logits in outputs] == [(2, 1, 15, 11), (2, 1, 7, 5), (2, 1, 3, 2)]
    assert all(len(features) == 4 for features, _ in outputs)
    with pytest.raises(ValueError, match="conditional"):
        disc(image)


def test_adversarial_losses():
    confident = [([torch.ones(1, 2, 2)], torch.full((1, 1, 2, 2), 2.0))]
    fooled = [([torch.zeros(1, 2, 2)], torch.full((1, 1, 2, 2), -2.0))]
    assert d_loss(confident, fooled).item() == 0.0  # hinge: both margins satisfied
    assert d_loss(fooled, confident).item() == pytest.approx(6.0)  # 3 + 3
    assert g_adversarial_loss(fooled).item() == pytest.approx(2.0)
    assert d_loss(confident, fooled, "bce").item() == pytest.approx(
        2 * torch.nn.functional.softplus(torch.tensor(-2.0)).item()
    )
    assert feature_matching_loss(confident, fooled).item() == pytest.approx(1.0)
    fake_features = torch.zeros(1, 2, 2, requires_grad=True)
    real_features = torch.ones(1, 2, 2, requires_grad=True)
    feature_matching_loss([([real_features], None)], [([fake_features], None)]).backward()
    assert real_features.grad is None and fake_features.grad is not None  # only the fake side learns


def test_exported_frames_load_like_the_video(train_clip, tmp_path):
    """export-frames (for machines without PyAV) keeps every kept frame bit-exact."""
    from click.testing import CliRunner

    from gancodec.cli import main
    from gancodec.train.data import load_sources

    cfg = write_config(tmp_path / "c.toml", name="x", data=[str(train_clip)])
    result = CliRunner().invoke(main, ["export-frames", cfg, "-o", str(tmp_path / "npz"), "--every", "2"])
    assert result.exit_code == 0, result.output
    (video,) = load_sources([str(train_clip)], 32)
    (arrays,) = load_sources([str(tmp_path / "npz" / "*.npz")], 32)
    assert len(arrays.frames) == 3 and len(video.frames) == 6
    for kept, original in zip(arrays.frames, video.frames[::2], strict=True):
        assert all((a == b).all() for a, b in zip(kept, original, strict=True))
    # 6 frames of 64x64 hold 0.0246 luma megapixels: a 0.01 cap keeps every 3rd (frames 0 and 3)
    args = ["export-frames", cfg, "-o", str(tmp_path / "thin"), "--every", "1", "--max-mpixels", "0.01"]
    assert CliRunner().invoke(main, args).exit_code == 0
    (thinned,) = load_sources([str(tmp_path / "thin" / "*.npz")], 32)
    assert [f.y.tobytes() for f in thinned.frames] == [f.y.tobytes() for f in video.frames[::3]]


def test_exported_pairs_give_residuals_of_consecutive_frames(train_clip, tmp_path):
    """export-frames --pairs keeps (t, t+1) pairs, and residual crops only predict a pair's second
    frame from its first (never across the gap between two pairs)."""
    from click.testing import CliRunner

    from gancodec.cli import main
    from gancodec.train.data import ResidualSampler, load_sources

    cfg = write_config(tmp_path / "c.toml", name="x", data=[str(train_clip)])
    args = ["export-frames", cfg, "-o", str(tmp_path / "pairs"), "--every", "2", "--pairs"]
    assert CliRunner().invoke(main, args).exit_code == 0
    (video,) = load_sources([str(train_clip)], 32)
    (paired,) = load_sources([str(tmp_path / "pairs" / "*.npz")], 32)
    assert paired.pairs and not video.pairs
    assert [f.y.tobytes() for f in paired.frames] == [video.frames[i].y.tobytes() for i in (0, 1, 4, 5)]
    sampler = ResidualSampler([paired, video], 32, seed=3)
    assert {sampler.frame_index(paired) for _ in range(50)} == {1, 3}  # 1 follows 0, 3 follows 2
    assert {sampler.frame_index(video) for _ in range(100)} == {1, 2, 3, 4, 5}
    y, uv = sampler.crop_for(10.0)
    assert y.shape == (1, 32, 32) and uv.shape == (2, 16, 16)
    # thinning by megapixels keeps whole pairs: 4 frames of 64x64 over a 0.01 cap keeps the first pair
    args = ["export-frames", cfg, "-o", str(tmp_path / "thin"), "--every", "2", "--pairs", "--max-mpixels", "0.01"]
    assert CliRunner().invoke(main, args).exit_code == 0
    (thinned,) = load_sources([str(tmp_path / "thin" / "*.npz")], 32)
    assert [f.y.tobytes() for f in thinned.frames] == [video.frames[i].y.tobytes() for i in (0, 1)]
    with pytest.raises(ValueError, match="residual pool"):
        ResidualSampler([paired], 32, pool_size=0)


def test_config_errors_are_one_line(tmp_path):
    from click.testing import CliRunner

    from gancodec.cli import main

    bad = tmp_path / "bad.toml"
    bad.write_text('name = "x"\nlearning_rate = 1\n')
    result = CliRunner().invoke(main, ["train", str(bad), "--runs-dir", str(tmp_path)])
    assert result.exit_code == 2 and "unknown setting(s) learning_rate" in result.stderr, result.stderr
    bad.write_text("name = \n")
    result = CliRunner().invoke(main, ["train", str(bad), "--runs-dir", str(tmp_path)])
    assert result.exit_code == 2 and "not valid TOML" in result.stderr, result.stderr


def test_export_weights_cli_refuses_junk_and_existing_output(tmp_path):
    from click.testing import CliRunner

    from gancodec.cli import main

    junk = tmp_path / "junk.ckpt"
    junk.write_bytes(b"not a checkpoint" * 10)
    result = CliRunner().invoke(main, ["export-weights", str(junk), "-o", str(tmp_path / "w.safetensors")])
    assert result.exit_code == 3 and "not a training checkpoint" in result.output
    assert not (tmp_path / "w.safetensors").exists()
    (tmp_path / "w.safetensors").write_bytes(b"keep")
    result = CliRunner().invoke(main, ["export-weights", str(junk), "-o", str(tmp_path / "w.safetensors")])
    assert result.exit_code == 4 and (tmp_path / "w.safetensors").read_bytes() == b"keep"


def test_panned_clip_moves_a_still_with_aligned_chroma():
    import numpy as np

    from gancodec.models.yuv import YuvFrame
    from gancodec.train.enhance_task import panned_clip

    rng = np.random.default_rng(0)
    y = rng.integers(0, 256, (200, 240), dtype=np.uint8)
    still = YuvFrame(y, y[::2, ::2].copy(), (255 - y[::2, ::2]).copy())  # chroma = subsampled luma
    clip = panned_clip(still, 12, np.random.default_rng(3))
    assert len(clip) == 12 and all(f.y.shape == clip[0].y.shape for f in clip)
    assert clip[0].y.shape[0] < 200 and not np.array_equal(clip[0].y, clip[-1].y)  # it moves
    for frame in clip:  # every frame is a crop of the still at an even offset, chroma with it
        assert np.array_equal(frame.u, frame.y[::2, ::2]) and np.array_equal(frame.v, 255 - frame.y[::2, ::2])
    assert panned_clip(YuvFrame(y[:100, :100], y[:50, :50], y[:50, :50]), 5, rng)[0].y.shape == (100, 100)


def test_balanced_weight_matches_gradient_norms():
    from gancodec.train.adversarial import balanced_weight

    torch.manual_seed(0)
    layer = torch.nn.Linear(4, 3)
    x = torch.randn(8, 4)
    out = layer(x)
    reference = 1000 * (out**2).mean()  # a large-gradient fidelity term
    term = out.mean()
    w = balanced_weight(reference, term, layer.weight, ratio=0.25)
    (g_ref,) = torch.autograd.grad(reference, layer.weight, retain_graph=True)
    (g_term,) = torch.autograd.grad(w * term, layer.weight)
    assert torch.isclose(g_term.norm(), 0.25 * g_ref.norm(), rtol=1e-4)
    assert not w.requires_grad


def test_gan_stage_with_balance_logs_its_scale(train_clip, tmp_path):
    fid = fidelity_weights(train_clip, tmp_path)
    config = write_config(
        tmp_path / "gan.toml", name="gb", kind="enhance-gan", data=[str(train_clip)], crop=64, batch=2,
        steps=2, log_every=1, init_weights=str(fid), model=TINY_ENHANCE,
        task={"codecs": ["x264"], "crf_min": 40, "crf_max": 45, "conditions_per_clip": 1, "frames_per_clip": 6},
        gan={"disc_channels": 8, "balance": 0.5},
    )  # fmt: skip
    run_training(config, None, "cpu", str(tmp_path / "runs"))
    log = (tmp_path / "runs" / "gb" / "train.log").read_text()
    scales = [float(line.split("gan_scale ")[1].split()[0]) for line in log.splitlines() if "gan_scale" in line]
    assert len(scales) == 2 and all(s > 0 for s in scales)


def test_residual_gain_makes_the_discriminator_judge_the_added_detail():
    from gancodec.train.adversarial import AdversarialStage, GanConfig

    torch.manual_seed(0)
    stage = AdversarialStage(GanConfig(disc_channels=8, residual_gain=10.0), 6, 6, "cpu")
    stage.disc.eval()  # spectral norm runs a power iteration on every training-mode call
    cond = torch.rand(1, 6, 32, 32)
    shifted = torch.rand(1, 6, 32, 32)
    detail = 0.01 * torch.randn(1, 6, 32, 32)
    with torch.no_grad():
        a = stage._judge(cond + detail, cond)
        b = stage._judge(shifted + detail, shifted)  # same detail on another input
        direct = stage.disc(0.5 + 10.0 * detail, cond)
    torch.testing.assert_close(a[0][1], direct[0][1])  # it sees 0.5 + gain * (image - condition)
    assert not torch.allclose(a[0][1], b[0][1])  # ... and still the condition itself
    with pytest.raises(ValueError, match="shaped like the image"):
        stage._judge(cond, None)


def test_intra_training_with_residuals_and_high_quality_emphasis(train_clip, tmp_path):
    cfg = write_config(
        tmp_path / "p.toml", name="p", data=[str(train_clip)], crop=64, batch=2, steps=2, log_every=1,
        warmup_steps=1, model=TINY_INTRA, task={"residual_fraction": 0.5, "quality_power": 0.6},
    )  # fmt: skip
    ckpt = run_training(cfg, None, "cpu", str(tmp_path / "runs"))
    assert torch.load(ckpt, weights_only=True)["step"] == 2


def test_residual_crops_are_what_a_p_frame_codes(train_clip):
    import numpy as np

    from gancodec.models import motion
    from gancodec.models.yuv import YuvFrame, add_residual, pack
    from gancodec.train.data import ResidualSampler, load_sources

    sources = load_sources([str(train_clip)], 64)
    sampler = ResidualSampler(sources, 64, pool_size=2, fresh_fraction=0.0)
    y, uv = sampler.crop_for(10.0)
    assert y.shape == (1, 64, 64) and uv.shape == (2, 32, 32)
    # the synthetic clip moves smoothly: the residual is small next to the picture's own contrast
    assert float((y - 0.5).abs().mean()) < 0.5 * float(pack(sources[0].frames[1], 2).std())
    # adding the crop back onto its prediction gives the frame again (the codec's decode rule), with
    # the prediction the encoder makes: the closer of half-pel bilinear and quarter-pel sharp
    import torch.nn.functional as F

    from gancodec.models.inter import motion_bit_cost

    src = sources[0]
    for quality in (2.0, 6.0):
        cost = motion_bit_cost(quality)
        sampler.rng = np.random.default_rng(7)
        state = sampler.rng.bit_generator.state
        y, uv = sampler.crop_for(cost)
        sampler.rng.bit_generator.state = state
        s = sampler.sources[sampler.rng.integers(len(sampler.sources))]
        t = 1 + sampler.rng.integers(len(s.frames) - 1)
        cur, ref = s.frames[t], s.frames[t - 1]
        both = (motion.HALF_BILINEAR, motion.QUARTER_SHARP)  # as a format 3.0 encoder chooses
        prediction = YuvFrame(*motion.best_prediction(cur, ref, cost, both)[2])
        x = torch.cat([F.pixel_unshuffle(y[None], 2), uv[None]], 1)
        assert all(np.array_equal(a, b) for a, b in zip(add_residual(prediction, x), cur))
        assert src is s
    for _ in range(5):  # the pool fills, then serves
        sampler.draw(10.0)
    assert len(sampler.pool) == 2


def test_lr_warms_up_again_after_a_resume():
    from gancodec.train.loop import TrainConfig, lr_at

    cfg = TrainConfig(lr=1e-4, warmup_steps=100)
    assert lr_at(cfg, 0) == pytest.approx(1e-6) and lr_at(cfg, 500) == pytest.approx(1e-4)
    assert lr_at(cfg, 5000, resumed_at=5000) == pytest.approx(1e-6)
    assert lr_at(cfg, 5049, resumed_at=5000) == pytest.approx(5e-5)
    assert lr_at(cfg, 5200, resumed_at=5000) == pytest.approx(1e-4)


def test_batches_cut_from_exported_windows_equal_the_per_sample_path(tmp_path):
    """Exported windows (of any sizes) are cut into batches in a few numpy ops (the GPU path); the
    batches are exactly those that cropping sample by sample gives for the same random draws."""
    from pathlib import Path

    import numpy as np
    import torch

    from gancodec.train.loop import load_config, make_trainer

    rng = np.random.default_rng(5)
    for name, count, size in (("a", 3, 40), ("b", 2, 24)):
        np.savez(
            tmp_path / f"{name}.npz",
            dec_y=rng.integers(0, 256, (count, 3, size, size), dtype=np.uint8),
            dec_u=rng.integers(0, 256, (count, 3, size // 2, size // 2), dtype=np.uint8),
            dec_v=rng.integers(0, 256, (count, 3, size // 2, size // 2), dtype=np.uint8),
            org_y=rng.integers(0, 256, (count, size, size), dtype=np.uint8),
            org_u=rng.integers(0, 256, (count, size // 2, size // 2), dtype=np.uint8),
            org_v=rng.integers(0, 256, (count, size // 2, size // 2), dtype=np.uint8),
        )
    cfg = load_config(write_config(
        tmp_path / "w.toml", name="w", kind="enhance", data=[str(tmp_path / "*.npz")], crop=16, batch=12,
        model=TINY_ENHANCE,
    ))  # fmt: skip
    trainer = make_trainer(cfg, Path(tmp_path), torch.device("cpu"), lambda _: None)
    trainer.prepare_data()
    assert trainer.windows is not None and len(trainer.pairs) == 5
    trainer.rng = np.random.default_rng(1)
    window, target = trainer.batch()
    assert window.shape == (12, 3, 6, 8, 8) and target.shape == (12, 6, 8, 8)
    trainer.rng, trainer.windows = np.random.default_rng(1), None
    window_ref, target_ref = trainer.batch()
    assert torch.equal(window, window_ref) and torch.equal(target, target_ref)
    trainer.rng = np.random.default_rng(2)
    assert not torch.equal(trainer.batch()[0], window)  # the draws do move


def test_intra_training_grows_narrower_weights_it_starts_from(train_clip, tmp_path):
    narrow = {**TINY_INTRA, "context_slices": 2}
    cfg = write_config(
        tmp_path / "narrow.toml", name="narrow", data=[str(train_clip)], crop=64, batch=2, steps=1,
        warmup_steps=1, model=narrow,
    )  # fmt: skip
    weights = export_weights(run_training(cfg, None, "cpu", str(tmp_path / "runs")), tmp_path / "n.safetensors")
    wide = {**narrow, "latent_channels": 24, "context_slices": 3, "hyper_synthesis_channels": 16}
    cfg = write_config(
        tmp_path / "wide.toml", name="wide", data=[str(train_clip)], crop=64, batch=2, steps=1,
        warmup_steps=1, model=wide, init_weights=str(weights),
    )  # fmt: skip
    ckpt = run_training(cfg, None, "cpu", str(tmp_path / "runs"))
    log = (tmp_path / "runs" / "wide" / "train.log").read_text()
    assert "grown from 16 to 24 latent channels" in log
    state = torch.load(ckpt, weights_only=True)["model"]
    assert state["g_a.4.weight"].shape[0] == 24 and len({k.split(".")[1] for k in state if k.startswith("context.")}) == 2


def test_stills_get_their_own_pan_length_and_condition_count(train_clip, tmp_path):
    """A still becomes a pan of still_frames frames with still_conditions conditions, while a video
    clip keeps frames_per_clip and conditions_per_clip; 0 leaves stills like clips."""
    import numpy as np
    from PIL import Image

    from gancodec.train.enhance_task import DEFAULT_TASK, compressed_clips
    from gancodec.train.loop import TrainConfig

    rgb = np.random.default_rng(0).integers(0, 256, (160, 192, 3), dtype=np.uint8)
    Image.fromarray(rgb).save(tmp_path / "still.png")
    data = [str(train_clip), str(tmp_path / "*.png")]
    task = {**DEFAULT_TASK, "codecs": ["x264"], "conditions_per_clip": 2, "frames_per_clip": 6,
            "still_frames": 4, "still_conditions": 1}  # fmt: skip
    cfg = TrainConfig(name="stills", data=data, crop=32, task=task)
    lengths = sorted((path.endswith(".png"), len(original)) for path, *_, original, _, _ in
                     compressed_clips(cfg, task, np.random.default_rng(0)))  # fmt: skip
    assert lengths == [(False, 6), (False, 6), (True, 4)]
    as_clips = {**task, "still_frames": 0, "still_conditions": 0}
    lengths = sorted((path.endswith(".png"), len(original)) for path, *_, original, _, _ in
                     compressed_clips(cfg, as_clips, np.random.default_rng(0)))  # fmt: skip
    assert lengths == [(False, 6), (False, 6), (True, 6), (True, 6)]


def test_rescaled_frames_average_areas():
    """Scale augmentation halves a frame by averaging 2x2 areas, keeping 4:2:0 plane sizes."""
    import numpy as np

    from gancodec.models.yuv import YuvFrame
    from gancodec.train.enhance_task import rescaled

    y = np.arange(64, dtype=np.uint8).reshape(8, 8) * 3
    frame = YuvFrame(y, np.full((4, 4), 100, np.uint8), np.arange(16, dtype=np.uint8).reshape(4, 4))
    half = rescaled(frame, 0.5)
    assert half.y.shape == (4, 4) and half.u.shape == (2, 2) and half.v.shape == (2, 2)
    expected = y.reshape(4, 2, 4, 2).astype(float).mean((1, 3))
    assert np.abs(half.y.astype(float) - expected).max() <= 0.5
    assert (half.u == 100).all() and half.v[0, 0] == round((0 + 1 + 4 + 5) / 4)
    assert rescaled(frame, 1.0) is frame


def test_transposed_samples_keep_window_and_target_aligned(tmp_path):
    """With task transpose, crops come in all 8 orientations -- the decoded window and the target alike."""
    import numpy as np

    from gancodec.models.yuv import YuvFrame, unpack
    from gancodec.train.enhance_task import EnhanceTrainer
    from gancodec.train.loop import load_config

    cfg = load_config(write_config(
        tmp_path / "t.toml", name="t", kind="enhance", data=[], crop=16, batch=2, model=TINY_ENHANCE,
        task={"transpose": True},
    ))  # fmt: skip
    trainer = EnhanceTrainer(cfg, tmp_path, torch.device("cpu"))
    rng = np.random.default_rng(1)
    frames = [YuvFrame(*(rng.integers(0, 256, s, dtype=np.uint8) for s in ((16, 16), (8, 8), (8, 8))))]
    trainer.pairs = [(frames, frames, [0], [float("nan")])]  # decoded = original: the window's middle is the target
    y = frames[0].y
    orientations = [np.rot90(y, k) for k in range(4)] + [np.rot90(y.T, k) for k in range(4)]
    seen = set()
    for _ in range(80):
        window, target, _ = trainer._sample()
        assert torch.equal(window[1], target)
        luma = unpack(target[None], 16, 16).y
        seen |= {i for i, o in enumerate(orientations) if np.array_equal(luma, o)}
    assert seen == set(range(8))


def test_every_committed_config_builds_its_trainer(tmp_path):
    """The recipes in train/configs stay runnable: each parses, names a known task and model, and an
    enhancer config asks only for data settings the task knows (a typo would silently do nothing)."""
    from pathlib import Path

    import gancodec.train
    from gancodec.train.enhance_task import DEFAULT_TASK
    from gancodec.train.loop import load_config, make_trainer

    configs = sorted((Path(gancodec.train.__file__).parent / "configs").glob("*.toml"))
    assert len(configs) > 10
    for path in configs:
        cfg = load_config(path)
        trainer = make_trainer(cfg, tmp_path, torch.device("cpu"), log=lambda *_: None)
        assert sum(p.numel() for p in trainer.model.parameters()) > 0, path.name
        if cfg.kind.startswith("enhance"):
            assert set(cfg.task) <= set(DEFAULT_TASK), (path.name, set(cfg.task) - set(DEFAULT_TASK))


def test_segments_are_consecutive_frames_from_a_random_start():
    import numpy as np

    from gancodec.train.enhance_task import segment

    frames = list(range(20))
    assert segment(frames, 6, None) == list(range(6))
    assert segment(frames[:4], 6, np.random.default_rng(0)) == frames[:4]  # shorter than a segment: all of it
    rng = np.random.default_rng(0)
    starts = set()
    for _ in range(100):
        part = segment(frames, 6, rng)
        assert part == list(range(part[0], part[0] + 6))
        starts.add(part[0])
    assert starts == set(range(15))


@pytest.mark.parametrize("kind", ["enhance", "enhance-gan"])
def test_redraw_compresses_the_clips_again_after_the_set_minutes(kind, train_clip, tmp_path, monkeypatch):
    """With task redraw_minutes, once that much time has passed a step is followed by a new draw of
    conditions (logged), and not before -- in the GAN stage too."""
    from gancodec.train import enhance_task
    from gancodec.train.loop import load_config, make_trainer

    cfg = load_config(write_config(
        tmp_path / "r.toml", name="r", kind=kind, data=[str(train_clip)], crop=32, batch=2,
        model=TINY_ENHANCE, task={"codecs": ["x264"], "conditions_per_clip": 1, "frames_per_clip": 4,
                                  "random_segment": True, "redraw_minutes": 5.0},
    ))  # fmt: skip
    lines = []
    trainer = make_trainer(cfg, tmp_path, torch.device("cpu"), log=lines.append)
    now = [1000.0]
    monkeypatch.setattr(enhance_task.time, "monotonic", lambda: now[0])
    trainer.prepare_data()
    first = trainer.pairs
    assert len(first) == 1 and len(first[0][0]) == 4
    now[0] += 4 * 60
    trainer.after_step()
    assert trainer.pairs is first
    now[0] += 2 * 60
    trainer.after_step()
    assert trainer.pairs is not first and len(trainer.pairs) == 1
    assert sum(line.startswith("data:") for line in lines) == 2


def test_own_codec_pairs_are_what_the_decoder_reconstructs(train_clip, tmp_path):
    """Codec "gancodec" in an enhancer config: the clip (cut to clip_size) coded by our own codec at a
    quality in range, with an intra period from `gops`; the decoded frames are the decoder's own."""
    import numpy as np

    from gancodec.api import decode_file, encode_file
    from gancodec.io import VideoReader
    from gancodec.train.enhance_task import DEFAULT_TASK, compressed_clips, own_codec_roundtrip
    from gancodec.train.loop import TrainConfig

    task = {**DEFAULT_TASK, "codecs": ["gancodec"], "quality_min": 2.0, "quality_max": 3.0, "gops": [1, 2],
            "clip_size": 48, "conditions_per_clip": 3, "frames_per_clip": 6}  # fmt: skip
    cfg = TrainConfig(name="own", data=[str(train_clip), str(tmp_path / "*.npz")], crop=32, task=task)
    np.savez(tmp_path / "old.npz", x=np.zeros(1))  # exported windows are not sources
    clips = list(compressed_clips(cfg, task, np.random.default_rng(0)))
    assert len(clips) == 3
    for _path, codec, quality, original, decoded, qualities in clips:
        assert codec == "gancodec" and 2.0 <= quality <= 3.0
        assert original[0].y.shape == decoded[0].y.shape == (48, 48) and len(decoded) == len(qualities) == 6
    encode_file(train_clip, tmp_path / "c.gcv", quality=2.5, gop=2)
    decode_file(tmp_path / "c.gcv", tmp_path / "c.yuv", postfilter="off")
    with VideoReader(train_clip) as a, VideoReader(tmp_path / "c.yuv", size=(64, 64), fps=30) as b:
        source, expected = list(a.frames()), list(b.frames())
    for got, want in zip(own_codec_roundtrip(source, 2.5, 2)[0], expected):
        assert np.array_equal(got.y, want.y) and np.array_equal(got.u, want.u)


def test_exported_windows_of_downscaled_clips_go_to_files_of_their_size(train_clip, tmp_path):
    import numpy as np

    from gancodec.train.enhance_task import export_pairs
    from gancodec.train.loop import TrainConfig

    task = {"codecs": ["x264"], "crf_min": 30, "crf_max": 31, "conditions_per_clip": 4, "frames_per_clip": 6,
            "rescale": [1.0, 0.5]}  # fmt: skip
    cfg = TrainConfig(name="mixed", data=[str(train_clip)], crop=32, task=task)
    written = sorted(export_pairs(cfg, tmp_path, windows=2, size=48, seed=3))
    assert [p.rsplit("/", 1)[-1] for p in written] == ["clip-32.npz", "clip.npz"]  # seed 3 draws both scales
    sizes = {}
    for path in written:
        with np.load(path) as a:
            sizes[path.rsplit("/", 1)[-1]] = a["dec_y"].shape[-1]
            assert a["dec_y"].shape[0] == a["org_y"].shape[0] and a["dec_y"].shape[0] % 2 == 0
    assert sizes == {"clip-32.npz": 32, "clip.npz": 48}


def test_quality_planes_grow_a_blind_network_without_changing_it_and_train(train_clip, tmp_path):
    """A blind restoration network grown to take quality planes computes what it did; a run with
    quality_input trains on own-codec windows (their qualities exported) and refuses unknown ones."""
    import numpy as np
    from click.testing import CliRunner

    from gancodec.cli import main
    from gancodec.enhance.net import EnhanceConfig, EnhanceNet, with_quality_input
    from gancodec.train.enhance_task import with_quality_planes

    blind = EnhanceNet(EnhanceConfig(**TINY_ENHANCE))
    torch.nn.init.normal_(blind.tail.weight, std=0.1)  # not the identity, so the check means something
    grown = EnhanceNet(EnhanceConfig(**TINY_ENHANCE, quality_input=True))
    grown.load_state_dict(with_quality_input(blind.state_dict(), 3))
    window = torch.rand(2, 3, 6, 16, 16)
    with torch.no_grad():
        expected = blind(window)
        for q in (1.0, 8.0):
            torch.testing.assert_close(grown(with_quality_planes(window, torch.full((2, 3), q))), expected)

    task = {"codecs": ["gancodec"], "quality_min": 2.0, "quality_max": 6.0, "gops": [2], "conditions_per_clip": 1,
            "frames_per_clip": 6}  # fmt: skip
    cfg = write_config(
        tmp_path / "pf.toml", name="pf", kind="enhance", data=[str(train_clip)], crop=32, batch=2, steps=2,
        log_every=1, warmup_steps=1, model={**TINY_ENHANCE, "quality_input": True}, task=task,
    )  # fmt: skip
    result = CliRunner().invoke(main, ["export-pairs", cfg, "-o", str(tmp_path / "pairs"), "--windows", "2", "--size", "48"])
    assert result.exit_code == 0, result.output
    with np.load(tmp_path / "pairs" / "clip.npz") as a:
        qualities = a["dec_q"]
    assert qualities.shape == (2, 3) and ((qualities >= 2.0) & (qualities <= 8.0)).all()  # I-frames boosted
    train_cfg = write_config(
        tmp_path / "pft.toml", name="pft", kind="enhance", data=[str(tmp_path / "pairs" / "*.npz")], crop=32,
        batch=2, steps=2, log_every=1, warmup_steps=1, model={**TINY_ENHANCE, "quality_input": True},
    )  # fmt: skip
    run_training(train_cfg, None, "cpu", str(tmp_path / "runs"))
    assert steps_logged(tmp_path / "runs" / "pft") == [1, 2]
    x264_cfg = write_config(
        tmp_path / "bad.toml", name="bad", kind="enhance", data=[str(train_clip)], crop=32, batch=2, steps=1,
        model={**TINY_ENHANCE, "quality_input": True},
        task={"codecs": ["x264"], "crf_min": 30, "crf_max": 31, "conditions_per_clip": 1, "frames_per_clip": 6},
    )  # fmt: skip
    with pytest.raises(ValueError, match="frames of known quality"):
        run_training(x264_cfg, None, "cpu", str(tmp_path / "runs"))


def test_bf16_precision_runs_the_forward_pass_under_autocast(train_clip, tmp_path, monkeypatch):
    """precision = "bf16" trains with the network's convolutions in bfloat16 and the loss in float32."""
    from gancodec.enhance.net import EnhanceNet

    seen = []
    original = EnhanceNet.forward

    def recording_forward(self, window):
        out = original(self, window)
        seen.append((torch.is_autocast_enabled("cpu"), out.dtype))
        return out

    monkeypatch.setattr(EnhanceNet, "forward", recording_forward)
    cfg = write_config(
        tmp_path / "bf.toml", name="bf", kind="enhance", data=[str(train_clip)], crop=32, batch=2, steps=2,
        log_every=1, warmup_steps=1, model=TINY_ENHANCE, precision="bf16",
        task={"codecs": ["x264"], "crf_min": 40, "crf_max": 45, "conditions_per_clip": 1, "frames_per_clip": 6},
    )  # fmt: skip
    run_training(cfg, None, "cpu", str(tmp_path / "runs"))
    assert seen and all(enabled for enabled, _ in seen)
    assert all(dtype == torch.float32 for _, dtype in seen)  # the frame + residual add stays float32
    assert steps_logged(tmp_path / "runs" / "bf") == [1, 2]
    bad = write_config(tmp_path / "bad.toml", name="x", precision="fp16")
    with pytest.raises(UsageError, match="precision must be fp32 or bf16"):
        run_training(bad, None, "cpu", str(tmp_path / "runs"))


def test_ema_weights_are_kept_resumed_and_exported(train_clip, tmp_path):
    """ema_decay keeps a moving average of the weights beside them; export ships the average unless
    told --no-ema; a resume carries the average on rather than restarting it."""
    from safetensors.torch import load_file

    fields = dict(  # noqa: C408 - keyword form reads like the TOML it becomes
        name="ema", kind="enhance", data=[str(train_clip)], crop=32, batch=2, log_every=1, lr=1e-2,
        warmup_steps=1, model=TINY_ENHANCE, ema_decay=0.5,
        task={"codecs": ["x264"], "crf_min": 40, "crf_max": 45, "conditions_per_clip": 1, "frames_per_clip": 6},
    )  # fmt: skip
    ckpt = run_training(write_config(tmp_path / "e.toml", steps=3, **fields), None, "cpu", str(tmp_path / "r"))
    first = torch.load(ckpt, weights_only=True)
    assert not torch.equal(first["ema"]["tail.weight"], first["model"]["tail.weight"])
    run_training(write_config(tmp_path / "e.toml", steps=4, **fields), None, "cpu", str(tmp_path / "r"))
    state = torch.load(ckpt, weights_only=True)
    expected = first["ema"]["tail.weight"].lerp(state["model"]["tail.weight"], 0.5)  # one more step of 0.5
    assert torch.allclose(state["ema"]["tail.weight"], expected, atol=1e-7)
    averaged = load_file(export_weights(ckpt, tmp_path / "avg.safetensors"))
    last = load_file(export_weights(ckpt, tmp_path / "last.safetensors", use_ema=False))
    assert torch.equal(averaged["tail.weight"], state["ema"]["tail.weight"])
    assert torch.equal(last["tail.weight"], state["model"]["tail.weight"])
    with pytest.raises(UsageError, match="ema_decay must be in"):
        run_training(write_config(tmp_path / "bad.toml", name="x", ema_decay=1.0), None, "cpu", str(tmp_path / "r"))


def test_a_trained_enhancer_grows_deeper_without_changing_its_output(train_clip, tmp_path):
    """init_weights from a shallower network: the new body blocks start as the identity (the grown
    network computes what the trained one did) and then train (their last convs leave zero)."""
    from safetensors.torch import save_file

    from gancodec.enhance.net import EnhanceConfig, EnhanceNet, with_more_blocks

    shallow = EnhanceNet(EnhanceConfig(**TINY_ENHANCE))
    torch.nn.init.normal_(shallow.tail.weight, std=0.1)  # not the identity, so the check means something
    deep_config = {**TINY_ENHANCE, "blocks": TINY_ENHANCE.get("blocks", 6) + 2}
    deep = EnhanceNet(EnhanceConfig(**deep_config))
    deep.load_state_dict(with_more_blocks(shallow.state_dict(), deep.state_dict()))
    window = torch.rand(2, 3, 6, 16, 16)
    with torch.no_grad():
        torch.testing.assert_close(deep(window), shallow(window))
    with pytest.raises(ValueError, match="only the body"):
        wider = EnhanceNet(EnhanceConfig(**{**TINY_ENHANCE, "coarse_factor": 2}))
        with_more_blocks(shallow.state_dict(), wider.state_dict())

    weights = tmp_path / "shallow.safetensors"
    save_file({k: v.contiguous() for k, v in shallow.state_dict().items()}, str(weights))
    cfg = write_config(
        tmp_path / "deep.toml", name="deep", kind="enhance", data=[str(train_clip)], crop=32, batch=2, steps=2,
        log_every=1, warmup_steps=1, lr=1e-3, model=deep_config, init_weights=str(weights),
        task={"codecs": ["x264"], "conditions_per_clip": 1, "frames_per_clip": 6},
    )  # fmt: skip
    run_training(cfg, None, "cpu", str(tmp_path / "runs"))
    log = (tmp_path / "runs" / "deep" / "train.log").read_text()
    assert "the body deepened" in log
    ckpt = torch.load(tmp_path / "runs" / "deep" / "last.ckpt", weights_only=False)
    model = next(v for k, v in ckpt.items() if isinstance(v, dict) and any(".body.2." in key for key in v))
    new_last = f"body.{deep_config['blocks'] - 1}.body.2.weight"
    assert model[new_last].abs().sum() > 0  # the new block trained

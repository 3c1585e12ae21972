"""The enhancer's streaming/tiling contract and the `bench --enhance` benchmark (no trained weights needed)."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch
from click.testing import CliRunner
from conftest import write_clip

from gancodec.bench.enhance import run_enhance_bench
from gancodec.bench.enhance_results import SHOWN_METRICS, Condition, EnhanceReport, EnhanceResult
from gancodec.cli import main
from gancodec.enhance.infer import FrozenEnhancer, enhance_frames
from gancodec.enhance.net import EnhanceConfig, EnhanceNet
from gancodec.errors import OutputExistsError
from gancodec.metrics import PSNR_CAP, temporal_psnr_y
from gancodec.models.yuv import YuvFrame, chroma_size


def random_frames(width: int, height: int, count: int, seed: int = 0, low: int = 0, high: int = 256) -> list:
    rng = np.random.default_rng(seed)
    cw, ch = chroma_size(width, height)
    return [
        YuvFrame(
            *(
                rng.integers(low, high, shape, dtype=np.uint8)
                for shape in ((height, width), (ch, cw), (ch, cw))
            )
        )
        for _ in range(count)
    ]


FLAT = EnhanceConfig()
UNET = EnhanceConfig(channels=8, blocks=1, scales=3)
COARSE = EnhanceConfig(channels=8, blocks=1, coarse_factor=4, coarse_channels=8, coarse_blocks=1)


def perturbed_net(seed: int = 0, config: EnhanceConfig = FLAT) -> EnhanceNet:
    """An EnhanceNet that is not the identity (the tail is zero-initialized)."""
    torch.manual_seed(seed)
    net = EnhanceNet(config).eval()
    with torch.no_grad():
        net.tail.weight.normal_(0.0, 0.02)
        if net.coarse is not None:  # its output conv is zero-initialized too
            net.coarse[4].weight.normal_(0.0, 0.02)
    return net


def same(a: YuvFrame, b: YuvFrame) -> bool:
    return all(np.array_equal(x, y) for x, y in zip(a, b))


@pytest.fixture(scope="module", params=[FLAT, UNET, COARSE], ids=["flat", "unet", "coarse"])
def net(request) -> EnhanceNet:
    return perturbed_net(config=request.param)


@pytest.mark.parametrize("count", [1, 2, 5])
@pytest.mark.parametrize(("width", "height"), [(33, 17), (48, 32)])
def test_enhance_frames_streams_one_frame_per_input(net, count, width, height):
    frames = random_frames(width, height, count, seed=count)
    pulled = []

    def source():
        for i, frame in enumerate(frames):
            pulled.append(i)
            yield frame

    out_iter = enhance_frames(net, source())
    first = next(out_iter)
    assert len(pulled) <= min(count, net.config.window // 2 + 1)  # streams: no read-ahead beyond the window
    out = [first, *out_iter]
    assert len(out) == count
    for a, b in zip(frames, out):
        assert [p.shape for p in a] == [p.shape for p in b] and all(p.dtype == np.uint8 for p in b)


def test_tiled_equals_untiled_exactly(net):
    frames = random_frames(150, 90, 3, seed=7)
    whole = list(enhance_frames(net, frames))
    tiled = list(enhance_frames(net, frames, tile=32))
    assert not all(same(a, b) for a, b in zip(frames, whole))  # the net really changes the frames
    assert len(tiled) == len(whole) == 3
    for a, b in zip(whole, tiled):
        for plane_a, plane_b in zip(a, b):
            np.testing.assert_array_equal(plane_a, plane_b)


@pytest.mark.parametrize("config", [FLAT, UNET, COARSE], ids=["flat", "unet", "coarse"])
def test_receptive_radius_bounds_what_an_output_pixel_sees(config):
    net = perturbed_net(config=config)
    for module in net.modules():  # every layer non-trivial, so any path that exists shows
        if isinstance(module, torch.nn.Conv2d):
            torch.nn.init.normal_(module.weight, 0.0, 0.2)
    r, s = config.receptive_radius, config.stride
    size = -(-(2 * r + 4 * s) // s) * s  # room for the whole field, on the coarsest grid
    window = torch.rand(1, config.window, 6, size, size)
    changed = window.clone()
    changed[..., size // 2, size // 2] += 1.0
    with torch.no_grad():
        moved = (net(changed) - net(window)).abs().amax(dim=(0, 1)) > 0
    rows, cols = torch.nonzero(moved, as_tuple=True)
    assert moved[size // 2, size // 2]
    assert (rows - size // 2).abs().max() <= r and (cols - size // 2).abs().max() <= r


def test_shipped_v1_layout_still_loads():
    """The U-Net generalization keeps the flat network's parameter names (released weights)."""
    assert sorted(EnhanceNet(EnhanceConfig()).state_dict()) == sorted(
        ["head.0.weight", "head.0.bias", "tail.weight", "tail.bias"]
        + [f"body.{i}.body.{j}.{p}" for i in range(6) for j in (0, 2) for p in ("weight", "bias")]
    )


def test_a_grown_coarse_branch_starts_as_the_network_it_grew_from():
    trained = perturbed_net(config=EnhanceConfig(channels=8, blocks=1))
    grown = EnhanceNet(EnhanceConfig(channels=8, blocks=1, coarse_factor=4)).eval()
    missing = grown.load_state_dict(trained.state_dict(), strict=False).missing_keys
    assert missing and all(key.startswith("coarse.") for key in missing)
    window = torch.rand(1, 3, 6, 16, 24)
    with torch.no_grad():
        assert torch.equal(grown(window), trained(window))


@pytest.mark.parametrize("config", [FLAT, UNET, COARSE], ids=["flat", "unet", "coarse"])
def test_frozen_network_computes_what_the_network_does(config):
    """The CPU inference graph (TorchScript, oneDNN; the coarse one with its identity 1x1 conv)."""
    net = perturbed_net(config=config)
    for module in net.modules():
        if isinstance(module, torch.nn.Conv2d):
            torch.nn.init.normal_(module.weight, 0.0, 0.1)
    frozen_net = FrozenEnhancer(net)
    window = torch.rand(1, config.window, 6, 32, 48)
    with torch.no_grad():
        expected = net(window)
        torch.testing.assert_close(frozen_net(window), expected, rtol=0, atol=1e-5)
    assert frozen_net._forward is not net  # really frozen, not the eager fallback


def test_coarse_factor_must_be_a_power_of_two():
    with pytest.raises(ValueError, match="power of 2"):
        EnhanceConfig(coarse_factor=6)


def test_untrained_net_is_the_identity():
    frames = random_frames(34, 18, 4, seed=3)
    out = list(enhance_frames(EnhanceNet(EnhanceConfig()).eval(), frames))
    assert len(out) == len(frames)
    assert all(same(a, b) for a, b in zip(frames, out))  # in order, unchanged


def offset(frames: list[YuvFrame], deltas: list[int]) -> list[YuvFrame]:
    return [YuvFrame((f.y.astype(np.int16) + d).astype(np.uint8), f.u, f.v) for f, d in zip(frames, deltas)]


def test_temporal_psnr_caps_identical_and_penalizes_flicker():
    frames = random_frames(32, 24, 6, seed=5, low=20, high=230)  # no clipping at +/-3
    assert temporal_psnr_y(frames, frames) == [PSNR_CAP] * 5
    constant = temporal_psnr_y(frames, offset(frames, [3] * 6))
    flicker = temporal_psnr_y(frames, offset(frames, [3, -3] * 3))
    assert constant == [PSNR_CAP] * 5  # a constant error adds no flicker
    assert flicker == pytest.approx([10 * math.log10(255**2 / 36)] * 5)  # diffs off by 6 everywhere
    assert temporal_psnr_y(frames[:1], frames[:1]) == []


def fake_result(seq: str, dec: float, enh: float, codec: str = "x265", crf: float = 37) -> EnhanceResult:
    return EnhanceResult(seq, codec, crf, 10, 64, 64, 1000, 1.0, {"psnr-y": dec}, {"psnr-y": enh})


@pytest.mark.parametrize(
    ("pairs", "met"),
    [([(30, 30.8), (32, 32.6)], True), ([(30, 32.0), (32, 31.9)], False), ([(30, 30.5), (32, 32.5)], False)],
)
def test_bar_needs_the_mean_gain_and_no_sequence_worse(pairs, met):
    report = EnhanceReport("", {}, {}, {}, {}, [Condition("x265", 37)])
    report.results = [fake_result(f"s{i}", d, e) for i, (d, e) in enumerate(pairs)]
    report.results.append(fake_result("other", 30, 20, "x264"))  # another condition does not count
    assert report.bar().met is met
    assert ("Met:" if met else "Not met:") in report.bar().text()


def test_enhance_bench_end_to_end(tmp_path, net):
    clip = write_clip(tmp_path / "clip.mkv", 64, 64, 4)
    out = tmp_path / "report"
    logs: list[str] = []
    report = run_enhance_bench([clip], out, conditions=[("x264", 37)], frames=4, net=net, log=logs.append)
    data = json.loads((out / "enhance.json").read_text())
    for key in (
        "command",
        "machine",
        "versions",
        "enhancer",
        "settings",
        "videos",
        "bar",
        "conditions",
        "results",
    ):
        assert key in data, key
    assert data["enhancer"]["sha256"] is None and data["bar"]["met"] is None  # x265 CRF 37 not run
    (result,) = data["results"]
    assert (result["codec"], result["crf"], result["frames"]) == ("x264", 37, 4)
    assert result["bpp"] > 0 and result["enhance_fps"] > 0
    for part in ("decoded", "enhanced", "delta"):
        assert set(SHOWN_METRICS) <= set(result[part]), part
    assert 0 < result["decoded"]["psnr-y"] < PSNR_CAP and result["delta"]["psnr-y"] != 0
    assert result["delta"]["psnr-y"] == pytest.approx(
        result["enhanced"]["psnr-y"] - result["decoded"]["psnr-y"]
    )
    assert (
        len(result["per_frame"]["psnr-y"]["enhanced"]) == 4
        and len(result["per_frame"]["tpsnr-y"]["decoded"]) == 3
    )
    assert data["conditions"][0]["average"]["delta"]["psnr-y"] == pytest.approx(result["delta"]["psnr-y"])
    md = (out / "enhance.md").read_text()
    assert "### x264 CRF 37" in md and "**average**" in md and "Not evaluated" in md and "ΔtPSNR-Y" in md
    assert (out / "crop-clip.png").is_file() and "crop-clip.png" in md
    assert not logs and not report.errors
    with pytest.raises(OutputExistsError, match="use -y"):
        run_enhance_bench([clip], out, conditions=[("x264", 37)], frames=4, net=net)


@pytest.mark.parametrize(
    ("flags", "code", "text"),
    [(["--enhance"], 3, "ships no enhancer weights"), (["--enhance", "--codecs", "x264"], 2, "--codecs does not"),
     (["--tile", "32"], 2, "--tile applies only"), (["--enhance", "--crf", "vp9=30"], 2, "unknown codec 'vp9'"),
     (["--realism", "0.5"], 2, "--realism applies only"),
     (["--enhance", "--weights", "nope.safetensors"], 3, "check --weights")],
)  # fmt: skip
def test_bench_enhance_cli_errors_are_one_line(tmp_path, monkeypatch, flags, code, text):
    from gancodec.enhance import weights

    monkeypatch.setattr(weights, "enhancer_path", lambda: tmp_path / "missing.safetensors")
    weights.load_enhancer.cache_clear()
    clip = write_clip(tmp_path / "clip.mkv", 32, 32, 2)
    result = CliRunner().invoke(main, ["bench", str(clip), "-o", str(tmp_path / "r"), "-q", *flags])
    assert result.exit_code == code, result.output
    lines = [ln for ln in result.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("gancodec: error:") and text in lines[0], result.stderr

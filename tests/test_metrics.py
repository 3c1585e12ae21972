"""Metrics against closed-form values and against the reference libraries called directly."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from click.testing import CliRunner
from conftest import write_clip

from gancodec.cli import main
from gancodec.errors import InputError
from gancodec.metrics import (
    PSNR_CAP,
    compare_videos,
    frame_metrics,
    ms_ssim_y,
    summarize,
    yuv_to_rgb,
)
from gancodec.models.yuv import YuvFrame


def random_frame(width: int, height: int, seed: int = 0, low: int = 0, high: int = 256) -> YuvFrame:
    rng = np.random.default_rng(seed)
    cw, ch = (width + 1) // 2, (height + 1) // 2
    return YuvFrame(
        rng.integers(low, high, (height, width), dtype=np.uint8),
        rng.integers(low, high, (ch, cw), dtype=np.uint8),
        rng.integers(low, high, (ch, cw), dtype=np.uint8),
    )


def smooth_frame(width: int, height: int) -> YuvFrame:
    """Natural-ish content (SSIM of random noise is degenerate)."""
    yy, xx = np.mgrid[0:height, 0:width]
    y = 128 + 60 * np.sin(xx / 7.0) * np.cos(yy / 11.0)
    cw, ch = (width + 1) // 2, (height + 1) // 2
    cy, cx = np.mgrid[0:ch, 0:cw]
    u = 128 + 30 * np.sin(cx / 5.0)
    v = 128 + 30 * np.cos(cy / 6.0)
    return YuvFrame(*(np.clip(p, 0, 255).astype(np.uint8) for p in (y, u, v)))


def perturb(frame: YuvFrame, d: int) -> YuvFrame:
    """Adds exactly +d or -d (checkerboard) to every sample: MSE is exactly d^2 in every plane."""

    def plane(p: np.ndarray) -> np.ndarray:
        sign = np.where((np.indices(p.shape).sum(axis=0) % 2) == 0, 1, -1)
        return (p.astype(np.int16) + sign * d).astype(np.uint8)

    return YuvFrame(*(plane(p) for p in frame))


def blur(frame: YuvFrame) -> YuvFrame:
    y = frame.y.astype(np.float32)
    y = (y + np.roll(y, 1, 0) + np.roll(y, 1, 1) + np.roll(y, -1, 0)) / 4
    return YuvFrame(np.rint(y).astype(np.uint8), frame.u, frame.v)


def test_identical_frames_are_capped_not_infinite():
    f = random_frame(48, 32)
    m = frame_metrics(f, f)
    for value in (m.psnr_y, m.psnr_u, m.psnr_v, m.psnr_yuv, m.psnr_rgb):
        assert value == PSNR_CAP and math.isfinite(value)
    assert m.ssim == pytest.approx(1.0)
    assert m.ms_ssim is None  # 32 px short side: too small for MS-SSIM


@pytest.mark.parametrize("d", [1, 3, 10])
def test_known_noise_gives_closed_form_psnr(d):
    ref = random_frame(64, 48, seed=d, low=20, high=230)  # no clipping when adding +-d
    m = frame_metrics(ref, perturb(ref, d))
    expected = 10 * math.log10(255**2 / d**2)
    assert m.psnr_y == pytest.approx(expected, abs=1e-9)
    assert m.psnr_u == pytest.approx(expected, abs=1e-9)
    assert m.psnr_v == pytest.approx(expected, abs=1e-9)
    assert m.psnr_yuv == pytest.approx(expected, abs=1e-9)


def test_psnr_yuv_weights_planes_6_1_1():
    ref = random_frame(64, 48, low=20, high=230)
    dist = YuvFrame(perturb(ref, 2).y, perturb(ref, 8).u, ref.v)
    m = frame_metrics(ref, dist)
    assert m.psnr_yuv == pytest.approx((6 * m.psnr_y + m.psnr_u + PSNR_CAP) / 8)


def test_ssim_equals_scikit_image():
    from skimage.metrics import structural_similarity

    ref = smooth_frame(96, 80)
    dist = blur(ref)
    expected = structural_similarity(
        ref.y, dist.y, gaussian_weights=True, sigma=1.5, use_sample_covariance=False, data_range=255
    )
    m = frame_metrics(ref, dist)
    assert 0.5 < m.ssim < 0.999
    assert m.ssim == pytest.approx(expected, abs=1e-12)


def test_ms_ssim_equals_pytorch_msssim_above_160px():
    import torch
    from pytorch_msssim import ms_ssim

    ref = smooth_frame(200, 176)
    dist = blur(perturb(ref, 2))
    expected = float(
        ms_ssim(
            torch.from_numpy(ref.y).float()[None, None],
            torch.from_numpy(dist.y).float()[None, None],
            data_range=255,
        )
    )
    m = frame_metrics(ref, dist)
    assert m.ms_ssim is not None and 0.5 < m.ms_ssim < 0.9999
    assert m.ms_ssim == pytest.approx(expected, abs=1e-6)


def test_ms_ssim_is_none_at_160px_short_side():
    f = smooth_frame(320, 160)
    assert ms_ssim_y(f.y, f.y) is None


# 100 % colour bars in 8-bit BT.601 limited range (Rec. ITU-R BT.601 / SMPTE EG 1): (Y, Cb, Cr) -> RGB
COLOUR_BARS = {
    (235, 128, 128): (255, 255, 255), (16, 128, 128): (0, 0, 0), (81, 90, 240): (255, 0, 0),
    (145, 54, 34): (0, 255, 0), (41, 240, 110): (0, 0, 255), (210, 16, 146): (255, 255, 0),
    (170, 166, 16): (0, 255, 255), (106, 202, 222): (255, 0, 255),
}  # fmt: skip


def test_rgb_conversion_is_bt601_limited_range():
    # one 2x2 block per colour, so each chroma sample covers exactly its own block
    ycc = np.array(list(COLOUR_BARS), dtype=np.uint8)
    f = YuvFrame(ycc[:, 0].repeat(2)[None].repeat(2, 0), ycc[None, :, 1], ycc[None, :, 2])
    rgb = yuv_to_rgb(f)
    expected = np.array(list(COLOUR_BARS.values())).repeat(2, axis=0)
    assert rgb.shape == (2, 16, 3)
    assert np.abs(rgb[0].astype(int) - expected).max() <= 2  # the table's YCbCr values are rounded


def test_size_mismatch_is_an_input_error():
    with pytest.raises(InputError, match="frame sizes differ: 64x48 vs 48x48"):
        frame_metrics(random_frame(64, 48), random_frame(48, 48))


def test_summarize_ignores_undefined_values():
    s = summarize([1.0, None, 3.0, 2.0, float("nan")])
    assert s == {"mean": 2.0, "median": 2.0, "stdev": pytest.approx(math.sqrt(2 / 3)), "min": 1.0, "max": 3.0}
    assert summarize([None]) is None


def test_compare_videos_streams_and_checks_counts(tmp_path):
    a = write_clip(tmp_path / "a.mkv", count=4)
    b = write_clip(tmp_path / "b.mkv", count=3)
    small = write_clip(tmp_path / "small.mkv", width=32, height=32, count=4)
    same = compare_videos(a, a)
    assert same.frames == 4 and len(same.per_frame["psnr-y"]) == 4
    assert same.global_["psnr-y"]["min"] == PSNR_CAP
    with pytest.raises(InputError, match="frame counts differ"):
        compare_videos(a, b)
    assert compare_videos(a, b, frames=3).frames == 3
    with pytest.raises(InputError, match="frame sizes differ"):
        compare_videos(a, small)


def test_metrics_cli_json_and_table(tmp_path, clip):
    result = CliRunner().invoke(main, ["metrics", str(clip), str(clip), "--json", "-q", "--frames", "2"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert len(data["per_frame"]) == 2 and data["global"]["psnr-yuv"]["mean"] == PSNR_CAP
    assert data["global"]["ms-ssim"] is None
    table = CliRunner().invoke(main, ["metrics", str(clip), str(clip), "-q"])
    assert table.exit_code == 0 and "psnr-y" in table.stdout and "mean" in table.stdout


def test_metrics_cli_mismatch_is_one_line_error(tmp_path, clip):
    other = write_clip(tmp_path / "other.mkv", width=32, height=32)
    result = CliRunner().invoke(main, ["metrics", str(clip), str(other)])
    assert result.exit_code == 1
    lines = [ln for ln in result.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("gancodec: error: frame sizes differ"), result.stderr


def test_streaming_vmaf_equals_whole_video_vmaf():
    """Chunked VMAF (bounded memory) gives every frame the score of a whole-video computation."""
    import torch
    from vmaf_torch import VMAF

    from gancodec.vmaf import CHUNK, StreamingVmaf

    rng = np.random.default_rng(0)
    count = 2 * CHUNK + 5
    base = rng.integers(0, 255, (48, 64)).astype(np.uint8)
    ref = np.stack([np.roll(base, i, axis=1) for i in range(count)])
    dist = np.clip(ref.astype(int) + rng.integers(-20, 20, ref.shape), 0, 255).astype(np.uint8)
    stream = StreamingVmaf()
    for r, d in zip(ref, dist):
        stream.push(r, d)
    got = stream.finish()
    as_tensor = lambda a: torch.tensor(a, dtype=torch.float32)[:, None]
    full = VMAF(temporal_pooling=False, enable_motion=True, clip_score=True)(as_tensor(ref), as_tensor(dist))
    assert got == pytest.approx(full.flatten().tolist(), abs=1e-9)
    assert 0 <= min(got) and max(got) <= 100

"""--bitrate: one-pass rate control over the per-frame quality (gancodec/ratecontrol.py)."""

from __future__ import annotations

import numpy as np
import pytest
from click.testing import CliRunner
from conftest import write_clip

from gancodec.api import decode_file, encode_file
from gancodec.bitstream import FRAME_P, FRAME_PQ, FRAME_TYPES, GcvReader
from gancodec.cli import main
from gancodec.errors import UsageError
from gancodec.io import VideoReader
from gancodec.metrics import frame_psnr
from gancodec.models.inter import DEFAULT_P_OFFSETS
from gancodec.ratecontrol import RateController, parse_bitrate


@pytest.fixture(scope="module")
def long_clip(tmp_path_factory):
    return write_clip(tmp_path_factory.mktemp("rc") / "long.mkv", width=96, height=64, count=24)


def frame_qualities(path, *types) -> list[float]:
    with open(path, "rb") as f:
        reader = GcvReader(f)
        return [r.quality for r in reader.records() if r.type in (types or FRAME_TYPES)]


def test_bitrate_is_met_and_the_decoder_agrees(long_clip, tmp_path):
    """A target taken from a fixed-quality encode is met within 15 %, twice the target gives a
    larger file, and the encoder's reconstruction is what the decoder shows (qualities vary)."""
    fixed = encode_file(long_clip, tmp_path / "q3.gcv", quality=3.0, gop=8)
    for factor in (1.0, 2.0):
        target = fixed.kbps * 1000 * factor
        out = tmp_path / f"rc{factor}.gcv"
        summary = encode_file(long_clip, out, bitrate=target, gop=8, measure_psnr=True)
        assert summary.kbps * 1000 == pytest.approx(target, rel=0.15), (summary.kbps, target / 1000)
        qualities = frame_qualities(out)  # P-frames at the plan's quality + their offset, I-frames 1.5 higher
        p_qualities = frame_qualities(out, FRAME_P, FRAME_PQ)
        low = max(1.0, summary.qualities[0] + min(DEFAULT_P_OFFSETS))
        high = min(8.0, summary.qualities[1] + max(DEFAULT_P_OFFSETS))
        assert len(qualities) == 24 and low <= min(p_qualities) <= max(p_qualities) <= high
        decode_file(out, tmp_path / f"rc{factor}.mkv", postfilter="off")
        with VideoReader(long_clip) as a, VideoReader(tmp_path / f"rc{factor}.mkv") as b:
            psnr = np.mean([frame_psnr(x, y).y for x, y in zip(a.frames(), b.frames())])
        assert summary.psnr_y == pytest.approx(psnr, abs=1e-9)
    assert (tmp_path / "rc2.0.gcv").stat().st_size > 1.5 * (tmp_path / "rc1.0.gcv").stat().st_size


def test_quality_steps_are_bounded_and_clamped():
    """A starved target drives the quality to 1 and no lower, in steps of at most MAX_STEP."""
    rate = RateController(1_000, fps=30, gop=4, pixels=352 * 288)
    last = None
    for index in range(12):
        q = rate.quality(index)
        assert 1.0 <= q <= 8.0
        if last is not None:
            assert abs(q - last) <= 0.25 + 1e-9
        rate.coded(index, "I" if index % 4 == 0 else "P", q, 20_000)
        last = q
    assert last == 1.0


@pytest.mark.parametrize("text, value", [("500k", 5e5), ("1.5M", 1.5e6), ("800000", 8e5), (" 64K ", 64e3)])
def test_bitrate_parsing(text, value):
    assert parse_bitrate(text) == value


@pytest.mark.parametrize("text", ["", "abc", "0", "-5k", "5x", "1.5.2M"])
def test_bad_bitrates_are_usage_errors(text):
    with pytest.raises(UsageError, match="--bitrate"):
        parse_bitrate(text)


@pytest.mark.parametrize(
    "args, text",
    [(["--bitrate", "500k", "--quality", "4"], "not both"), (["--bitrate", "fast"], "--bitrate")],
)
def test_bitrate_cli_errors_are_one_line(clip, tmp_path, args, text):
    out = tmp_path / "x.gcv"
    result = CliRunner().invoke(main, ["encode", str(clip), "-o", str(out), *args])
    assert result.exit_code != 0 and not out.exists()
    lines = [ln for ln in result.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("gancodec: error:") and text in lines[0], result.stderr


def test_bitrate_cli_summary_and_info_show_the_qualities(long_clip, tmp_path):
    out = str(tmp_path / "x.gcv")
    result = CliRunner().invoke(main, ["encode", str(long_clip), "-o", out, "--bitrate", "40k", "--gop", "8"])
    assert result.exit_code == 0, result.output
    assert "target 40.0 kbit/s" in result.stderr
    info = CliRunner().invoke(main, ["info", out])
    assert info.exit_code == 0 and "per frame (average bitrate 40000 bit/s; I-frames +1.5, at most 8; P-frames -0.5,0,-0.5,+0.5 cyclically)" in info.output
    assert "  frame  type   bytes  quality" in info.output


def test_a_short_video_of_known_length_meets_the_target(long_clip, tmp_path):
    """Near the end of a video of known length the plan shrinks to the frames left, so even a few
    frames (whose planning horizon would otherwise be a whole second) meet the target."""
    fixed = encode_file(long_clip, tmp_path / "q.gcv", quality=4.0, frames=4)
    summary = encode_file(long_clip, tmp_path / "r.gcv", bitrate=fixed.kbps * 1000, frames=4)
    assert summary.kbps == pytest.approx(fixed.kbps, rel=0.15), (summary.kbps, fixed.kbps)


def test_the_plan_prices_the_p_frame_offsets():
    """P-frames coded below the planned quality on average cost less, so the plan's quality is
    higher; a pattern of zeros, or all intra, changes nothing."""
    plain = RateController(500_000, fps=30, gop=8, pixels=352 * 288)
    offset = RateController(500_000, fps=30, gop=8, pixels=352 * 288, p_offsets=(-1.0, -0.5, -1.0, 0.5))
    assert offset.quality(0) > plain.quality(0)
    zeros = RateController(500_000, fps=30, gop=8, pixels=352 * 288, p_offsets=(0.0,))
    assert zeros.quality(0) == plain.quality(0)
    intra = RateController(500_000, fps=30, gop=1, pixels=352 * 288, p_offsets=(-1.0,))
    assert intra.quality(0) == RateController(500_000, fps=30, gop=1, pixels=352 * 288).quality(0)


def test_the_plan_prices_boosted_i_frames():
    """I-frames coded intra_boost higher cost more, so the plan's quality for the rest is lower;
    all intra, nothing is boosted."""
    plain = RateController(500_000, fps=30, gop=8, pixels=352 * 288)
    boosted = RateController(500_000, fps=30, gop=8, pixels=352 * 288, intra_boost=1.5)
    assert boosted.quality(0) < plain.quality(0)
    intra_plain = RateController(500_000, fps=30, gop=1, pixels=352 * 288)
    intra_boosted = RateController(500_000, fps=30, gop=1, pixels=352 * 288, intra_boost=1.5)
    assert intra_boosted.quality(0) == intra_plain.quality(0)

"""Benchmark: BD maths, the low-delay GOP structure of the baselines, and a tiny end-to-end sweep."""

from __future__ import annotations

import csv
import json
import shutil

import pytest
from click.testing import CliRunner
from conftest import write_clip

from gancodec.bench import bd, run_bench
from gancodec.bench.baselines import decoded_pict_types, encode_frames, low_delay_options
from gancodec.cli import main
from gancodec.errors import UsageError
from gancodec.io import VideoReader

RATES = [100.0, 180.0, 330.0, 600.0, 1100.0]
PSNR = [30.0, 32.6, 35.1, 37.4, 39.5]


def test_bd_rate_of_rates_times_0_9_is_minus_10_percent():
    result = bd.bd_rate(RATES, PSNR, [r * 0.9 for r in RATES], PSNR)
    assert result.value == pytest.approx(-10.0, abs=0.01)
    assert result.note == ""


def test_bd_psnr_of_a_curve_shifted_up_by_half_a_db():
    assert bd.bd_quality(RATES, PSNR, RATES, [p + 0.5 for p in PSNR]).value == pytest.approx(0.5, abs=1e-9)


def test_bd_handles_curves_that_do_not_overlap():
    result = bd.bd_rate(RATES, PSNR, RATES, [p - 20 for p in PSNR])
    assert result.value is None and "do not overlap" in result.note
    assert bd.bd_rate(RATES[:1], PSNR[:1], RATES, PSNR).value is None


def test_bd_drops_non_monotonic_points_and_says_so():
    noisy = [*PSNR[:3], PSNR[2] - 0.1, PSNR[4]]
    result = bd.bd_rate(RATES, PSNR, RATES, noisy)
    assert result.value is not None and "1 non-monotonic" in result.note


def test_bd_average_skips_missing_sequences():
    avg = bd.average([bd.BdValue(-10.0), bd.BdValue(None, "x"), bd.BdValue(-20.0)])
    assert avg.value == pytest.approx(-15.0) and "2 of 3" in avg.note


def test_low_delay_options_are_exact():
    assert low_delay_options("x264", 27, 32) == {
        "preset": "medium", "crf": "27", "bf": "0", "g": "32", "keyint_min": "32", "sc_threshold": "0"
    }  # fmt: skip
    assert low_delay_options("x265", 22, 16)["x265-params"] == (
        "bframes=0:keyint=16:min-keyint=16:scenecut=0:log-level=error"
    )
    svt = low_delay_options("svtav1", 40, 32)
    assert svt["preset"] == "8" and svt["g"] == "32" and svt["svtav1-params"] == "pred-struct=1:scd=0"
    with pytest.raises(UsageError):
        low_delay_options("x264", 27, 0)


@pytest.fixture(scope="module")
def ffv1_frames(tmp_path_factory):
    """8 frames decoded from an FFV1 (intra-only) file: the source that triggers the pict_type pitfall."""
    path = write_clip(tmp_path_factory.mktemp("gop") / "eight.mkv", count=8)
    with VideoReader(path) as reader:
        return list(reader.frames()), reader.fps


@pytest.mark.parametrize(("gop", "expected"), [(32, "IPPPPPPP"), (-1, "IPPPPPPP"), (4, "IPPPIPPP")])
def test_x264_low_delay_gop_from_ffv1_source(ffv1_frames, gop, expected):
    frames, fps = ffv1_frames
    stream = encode_frames("x264", frames, 64, 64, fps, crf=30, gop=gop)
    assert "".join(t[0] for t in decoded_pict_types(stream)) == expected
    assert stream.keyframe_count == expected.count("I")
    assert stream.bytes == sum(len(p) for p in stream.packets) > 0


@pytest.fixture(scope="module")
def bench_dir(tmp_path_factory, clip):
    out = tmp_path_factory.mktemp("bench") / "report"
    missing = out.parent / "missing.mkv"
    logs: list[str] = []
    report = run_bench(
        [clip, missing], out, codecs="gancodec,x264", frames=3, qualities="2,7",
        points={"x264": [24, 40]}, log=logs.append,
    )  # fmt: skip
    return out, report, logs


def test_bench_end_to_end_outputs(bench_dir):
    out = bench_dir[0]
    data = json.loads((out / "results.json").read_text())
    assert [c["name"] for c in data["codecs"]] == ["gancodec", "x264"]
    for entry in data["codecs"]:
        results = entry["results"]
        for key in (
            "bpp",
            "bitrate",
            "psnr-y",
            "psnr-yuv",
            "psnr-rgb",
            "ssim",
            "ms-ssim",
            "encoding_fps",
            "decoding_fps",
        ):
            assert len(results[key]) == 2, key
        assert all(b > 0 for b in results["bpp"]) and all(0 < p <= 100 for p in results["psnr-y"])
        assert results["bpp"] == sorted(
            results["bpp"], reverse=entry["codec"] == "x264"
        )  # rate follows the point
        assert results["ms-ssim"] == [None, None]  # 64x64: too small for MS-SSIM
    assert set(data["sequences"]) == {"clip"}
    assert "psnr-y" in data["bd"]["metrics"]
    rows = list(csv.DictReader((out / "results.csv").open()))
    assert len(rows) == 4 and {r["codec"] for r in rows} == {"gancodec", "x264"}
    assert all(int(r["frames"]) == 3 for r in rows)
    assert {r["keyframes"] for r in rows if r["codec"] == "x264"} == {"1"}
    md = (out / "report.md").read_text()
    assert "BD-rate" in md and "gancodec" in md and "cpu" in md.lower() and "encode fps" in md
    assert list(out.glob("*.png"))
    json.loads((out / "compressai" / "x264.json").read_text())["results"]["psnr-y"]


def test_bench_skips_an_unreadable_video_and_continues(bench_dir):
    _, report, logs = bench_dir
    assert len(report.videos) == 1 and len(report.results) == 4
    assert len(report.errors) == 1 and "missing.mkv" in report.errors[0]
    assert logs and logs[0].startswith("gancodec: error: no such file")


def test_bench_cli_rerun_uses_cache_and_refuses_overwrite(bench_dir, clip, tmp_path):
    out = bench_dir[0]
    copy = tmp_path / "report"
    shutil.copytree(out, copy)
    args = ["bench", str(clip), "-o", str(copy), "--codecs", "gancodec,x264", "--frames", "3",
            "--qualities", "2,7", "--crf", "x264=24,40", "-q"]  # fmt: skip
    refused = CliRunner().invoke(main, args)
    assert refused.exit_code == 4 and "use -y" in refused.stderr
    rerun = CliRunner().invoke(main, [*args, "-y", "--json"])
    assert rerun.exit_code == 0, rerun.output
    assert json.loads(rerun.stdout)["codecs"][1]["name"] == "x264"
    rows = list(csv.DictReader((copy / "results.csv").open()))
    assert len(rows) == 4 and all(r["cached"] == "True" for r in rows)


@pytest.mark.parametrize(
    ("flags", "text"),
    [(["--codecs", "x264,vp9"], "unknown codec 'vp9'"), (["--anchor", "h266"], "unknown anchor"),
     (["--frames", "0"], "--frames must be at least 1"), (["--crf", "x264"], "--crf expects")],
)  # fmt: skip
def test_bench_cli_bad_flags_are_one_line_usage_errors(clip, tmp_path, flags, text):
    result = CliRunner().invoke(main, ["bench", str(clip), "-o", str(tmp_path / "r"), *flags])
    assert result.exit_code == 2, result.output
    lines = [ln for ln in result.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("gancodec: error:") and text in lines[0], result.stderr


def test_learned_presets_are_separate_codecs_with_their_own_cache_keys():
    from gancodec.bench.codecs import LEARNED_PRESETS, resolve_codecs
    from gancodec.bench.runner import BenchConfig, codec_options

    fast, slow = resolve_codecs("gancodec,gancodec-slow")
    config = BenchConfig(videos=[], output_dir="x", codecs=["gancodec", "gancodec-slow"])
    fast_key, slow_key = codec_options(fast, 4.0, config), codec_options(slow, 4.0, config)
    assert (fast_key["preset"], slow_key["preset"]) == ("fast", "slow") and fast_key != slow_key
    assert set(LEARNED_PRESETS.values()) == {"fast", "slow"} and fast.label != slow.label


def test_gancodec_raw_is_decoded_without_the_restoration_stage(monkeypatch):
    from gancodec.bench import learned
    from gancodec.bench.codecs import resolve_codecs
    from gancodec.bench.runner import BenchConfig, codec_options
    from gancodec.enhance import weights

    monkeypatch.setattr(weights, "postfilter_path", weights.enhancer_path)  # a stage in the package's place
    learned.fingerprint.cache_clear()
    try:
        on, raw = resolve_codecs("gancodec,gancodec-raw")
        config = BenchConfig(videos=[], output_dir="x", codecs=["gancodec", "gancodec-raw"])
        on_key, raw_key = codec_options(on, 4.0, config), codec_options(raw, 4.0, config)
        assert raw_key["postfilter_sha256"] == "off" and on_key["postfilter_sha256"] != "off"
        assert on_key["postfilter_sha256"].startswith(weights.file_sha256(weights.enhancer_path()).hex())
    finally:
        learned.fingerprint.cache_clear()


def test_cached_gancodec_points_go_stale_when_the_codec_source_changes(tmp_path, monkeypatch):
    import gancodec
    from gancodec.bench import learned

    (tmp_path / "models").mkdir()
    (tmp_path / "bench").mkdir()
    (tmp_path / "__init__.py").write_text("")
    (tmp_path / "models" / "motion.py").write_text("TAPS = (1, 2)\n")
    (tmp_path / "bench" / "report.py").write_text("TITLE = 'a'\n")
    monkeypatch.setattr(gancodec, "__file__", str(tmp_path / "__init__.py"))

    def digest() -> str:
        learned.codec_source_digest.cache_clear()
        return learned.codec_source_digest()

    first = digest()
    (tmp_path / "bench" / "report.py").write_text("TITLE = 'b'\n")  # the benchmark's own code: same codec
    assert digest() == first
    (tmp_path / "models" / "motion.py").write_text("TAPS = (1, 3)\n")  # the codec changed
    assert digest() != first
    learned.codec_source_digest.cache_clear()

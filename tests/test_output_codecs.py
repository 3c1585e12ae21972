"""--codec/--crf: the encoder of decode's and enhance's video output."""

from __future__ import annotations

import av
import pytest
from click.testing import CliRunner

from gancodec.api import decode_file
from gancodec.cli import main
from gancodec.io.video import output_codec
from tests.test_enhance_cli import weights  # noqa: F401  (fixture)


def _video_stream(path) -> tuple[str, str, int]:
    with av.open(str(path)) as c:
        ctx = c.streams.video[0].codec_context
        return ctx.name, ctx.codec_tag, sum(1 for _ in c.decode(video=0))


@pytest.mark.parametrize(
    "suffix, codec, crf, decoder",
    [(".mp4", "x265", 30, "hevc"), (".mkv", "svtav1", 40, "libdav1d"), (".mkv", "x264", 30, "h264")],
)
def test_decode_writes_the_chosen_codec(encoded, tmp_path, suffix, codec, crf, decoder):
    out = tmp_path / f"out{suffix}"
    summary = decode_file(encoded, out, codec=codec, crf=crf)
    name, tag, frames = _video_stream(out)
    assert (name, frames) == (decoder, summary.frames)
    if codec == "x265" and suffix == ".mp4":
        assert tag == "hvc1"


def test_crf_changes_the_output_size(encoded, tmp_path):
    decode_file(encoded, tmp_path / "hi.mp4", crf=10)
    decode_file(encoded, tmp_path / "lo.mp4", crf=45)
    assert (tmp_path / "lo.mp4").stat().st_size < (tmp_path / "hi.mp4").stat().st_size


def test_enhance_writes_the_chosen_codec(clip, weights, tmp_path):  # noqa: F811
    out = tmp_path / "e.mp4"
    result = CliRunner().invoke(
        main, ["enhance", str(clip), "-o", str(out), "--codec", "x265", "--weights", str(weights), "-q"]
    )
    assert result.exit_code == 0, result.output
    assert _video_stream(out)[0] == "hevc"


def test_defaults_follow_the_container():
    assert output_codec("mp4") == output_codec("mp4", "x264", 16)
    assert output_codec("mkv").name == "ffv1" and output_codec("mkv").crf is None
    assert output_codec("y4m").name is None


@pytest.mark.parametrize(
    "args, text",
    [
        (["-o", "o.mp4", "--codec", "ffv1"], "cannot go in .mp4"),
        (["-o", "o.mkv", "--crf", "20"], "does not apply to ffv1"),
        (["-o", "o.y4m", "--codec", "x264"], "do not apply to .y4m"),
        (["-o", "o.mp4", "--crf", "52"], "must be in 0..51"),
        (["-o", "o.mkv", "--codec", "svtav1", "--crf", "0"], "must be in 1..63"),
    ],
)
def test_bad_codec_choices_are_one_line_errors(encoded, tmp_path, monkeypatch, args, text):
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(main, ["decode", str(encoded), *args])
    assert result.exit_code == 2
    assert text in result.output and len(result.output.strip().splitlines()) == 1
    assert list(tmp_path.iterdir()) == []


def test_odd_frame_size_to_x264_is_a_one_line_error(tmp_path, monkeypatch):
    """x264/x265 cannot code 4:2:0 at an odd size; the user gets what to do instead, and no output."""
    from tests.test_inputs import write_pix_fmt

    monkeypatch.chdir(tmp_path)
    src = write_pix_fmt(tmp_path / "odd.mkv", "yuv420p", size=(33, 17))
    assert CliRunner().invoke(main, ["encode", str(src), "-o", "odd.gcv", "-q", "--quality", "2"]).exit_code == 0
    for args in (["-o", "o.mp4"], ["-o", "o.mkv", "--codec", "x265"]):
        result = CliRunner().invoke(main, ["decode", "odd.gcv", *args])
        assert result.exit_code == 2, result.output
        assert "cannot code an odd frame size (33x17)" in result.output
        assert len(result.output.strip().splitlines()) == 1
        assert sorted(p.name for p in tmp_path.iterdir()) == ["odd.gcv", "odd.mkv"]
    assert CliRunner().invoke(main, ["decode", "odd.gcv", "-o", "o.mkv", "-q"]).exit_code == 0

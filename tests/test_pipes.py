"""Standard input and output ("-"), as in ffmpeg and x264: the same bytes as through files."""

from __future__ import annotations

import subprocess
import sys

import pytest
from click.testing import CliRunner
from conftest import write_clip

from gancodec.cli import main


def run(*args, stdin: bytes | None = None):
    return CliRunner().invoke(main, [str(a) for a in args], input=stdin)


def one_error(result, code: int, text: str) -> None:
    assert result.exit_code == code, (result.exit_code, result.output)
    lines = [ln for ln in result.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("gancodec: error:") and text in lines[0], result.stderr


def test_decode_to_stdout_gives_the_file_decode_bytes(encoded, tmp_path):
    for fmt in ("y4m", "yuv"):
        to_file = run("decode", encoded, "-o", tmp_path / f"f.{fmt}", "-q")
        assert to_file.exit_code == 0, to_file.output
        piped = run("decode", encoded, "-o", "-", "--format", fmt, "-q")
        assert piped.exit_code == 0, piped.stderr
        assert piped.stdout_bytes == (tmp_path / f"f.{fmt}").read_bytes()
    assert run("decode", encoded, "-o", "-", "-q").stdout_bytes.startswith(b"YUV4MPEG2 W64 H64 F30:1")  # y4m by default


def test_encode_from_stdin_and_to_stdout_match_files(clip, tmp_path):
    y4m = tmp_path / "in.y4m"
    assert run("decode", run_encode_file(clip, tmp_path / "a.gcv"), "-o", y4m, "-q").exit_code == 0
    from_file = run_encode_file(y4m, tmp_path / "b.gcv").read_bytes()
    to_stdout = run("encode", y4m, "-o", "-", "-q", "--quality", "3")
    assert to_stdout.exit_code == 0 and to_stdout.stdout_bytes == from_file
    from_stdin = run("encode", "-", "-o", tmp_path / "c.gcv", "-q", "--quality", "3", stdin=y4m.read_bytes())
    assert from_stdin.exit_code == 0, from_stdin.stderr
    # the same frames coded the same way; only the header's source name differs ("stdin")
    decoded = [run("decode", p, "-o", "-", "-q").stdout_bytes for p in (tmp_path / "b.gcv", tmp_path / "c.gcv")]
    assert decoded[0] == decoded[1] and len(decoded[0]) > 4 * 64 * 64


def run_encode_file(src, out):
    result = run("encode", src, "-o", out, "-q", "--quality", "3")
    assert result.exit_code == 0, result.output
    return out


def test_raw_yuv_from_stdin_needs_and_uses_size(encoded, tmp_path):
    raw = run("decode", encoded, "-o", "-", "--format", "yuv", "-q").stdout_bytes
    out = tmp_path / "raw.gcv"
    result = run("encode", "-", "--size", "64x64", "--fps", "30", "-o", out, "-q", stdin=raw)
    assert result.exit_code == 0, result.stderr
    info = run("info", "-", "--json", stdin=out.read_bytes())
    assert info.exit_code == 0 and '"frame_count": 4' in info.stdout


def test_stdin_audio_is_not_kept_and_says_so(clip_with_audio, tmp_path):
    result = run("encode", "-", "-o", tmp_path / "a.gcv", stdin=clip_with_audio.read_bytes())
    assert result.exit_code == 0, result.stderr
    assert "gancodec: note: the audio of standard input is not kept" in result.stderr


@pytest.mark.parametrize(
    "args, code, text",
    [
        (["decode", "ENC", "-o", "-", "--format", "mp4"], 2, "cannot write mp4 to standard output"),
        (["decode", "ENC", "-o", "-", "--json"], 2, "--json and -o - both write standard output"),
        (["encode", "-"], 2, "reading standard input (-) needs -o OUTPUT"),
        (["decode", "-"], 2, "reading standard input (-) needs -o OUTPUT"),
    ],
)
def test_stdio_misuse_is_one_line(encoded, args, code, text):
    one_error(run(*[encoded if a == "ENC" else a for a in args], stdin=b""), code, text)


def test_junk_on_stdin_is_one_line(tmp_path):
    one_error(run("encode", "-", "-o", tmp_path / "x.gcv", stdin=b"not a video" * 100), 1, "(stdin)")
    one_error(run("decode", "-", "-o", tmp_path / "x.y4m", stdin=b"not a gcv" * 100), 3, "not a .gcv file")
    assert list(tmp_path.iterdir()) == []


def test_real_pipe_and_a_reader_that_stops_early(tmp_path):
    """Through an OS pipe: encode | decode works; a reader that closes the pipe early (like `head`)
    ends the writer with one line and exit code 1, not a traceback."""
    clip = write_clip(tmp_path / "c.mkv", 160, 128, 12)
    gancodec = [sys.executable, "-m", "gancodec"]
    enc = subprocess.Popen([*gancodec, "encode", str(clip), "-o", "-", "-q"], stdout=subprocess.PIPE)
    dec = subprocess.run(
        [*gancodec, "decode", "-", "-o", "-", "-q"], stdin=enc.stdout, capture_output=True, check=False
    )
    enc.stdout.close()
    assert enc.wait(timeout=120) == 0 and dec.returncode == 0, dec.stderr
    assert dec.stdout.startswith(b"YUV4MPEG2 W160 H128") and dec.stdout.count(b"FRAME") == 12
    (tmp_path / "c.gcv").write_bytes(subprocess.run(
        [*gancodec, "encode", str(clip), "-o", "-", "-q"], capture_output=True, check=True).stdout)  # fmt: skip
    proc = subprocess.Popen(
        [*gancodec, "decode", str(tmp_path / "c.gcv"), "-o", "-", "-q"], stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )  # fmt: skip
    assert proc.stdout.read(100).startswith(b"YUV4MPEG2")
    proc.stdout.close()  # 12 frames of 30 KB do not fit in a pipe's buffer: the decoder meets the closed end
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=120) == 1
    assert err.strip() == "gancodec: error: standard output closed by the reading program"

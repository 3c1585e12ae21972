"""The command line: outputs, summaries and every bad-input path (one line, exit code, no file)."""

from __future__ import annotations

import json
import struct
import zlib

import pytest
from click.testing import CliRunner

from gancodec import __version__
from gancodec.bitstream import FORMAT_MAJOR
from gancodec.cli import main

FIXED = struct.calcsize(
    "<HIIBBIIIIH"
)  # fixed-size fields at the start of the header body (docs/bitstream.md)


def run(*args):
    result = CliRunner().invoke(main, [str(a) for a in args])
    return result


def assert_one_line_error(result, code, text):
    assert result.exit_code == code, (result.exit_code, result.output)
    lines = [ln for ln in result.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("gancodec: error:"), result.stderr
    assert text in lines[0], lines[0]
    assert "Traceback" not in result.output


def test_version():
    result = run("--version")
    assert result.exit_code == 0 and "gancodec" in result.output


def test_encode_default_output_and_json_summary(clip, tmp_path):
    src = tmp_path / "in.mkv"
    src.write_bytes(clip.read_bytes())
    result = run("encode", src, "-q", "--json", "--quality", "2.5")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    out = tmp_path / "in.gcv"
    assert out.exists() and summary["bytes"] == out.stat().st_size
    assert summary["frames"] == 4 and summary["bpp"] == pytest.approx(out.stat().st_size * 8 / (4 * 64 * 64))


def test_info_json(encoded):
    result = run("info", encoded, "--json")
    assert result.exit_code == 0, result.output
    info = json.loads(result.stdout)
    assert info["width"] == 64 and info["frame_count"] == 4 and len(info["frames"]) == 4
    assert info["model_id"] == "gc-intra-hp" and info["quality"] == 6


def test_decode_writes_mp4(encoded, tmp_path):
    out = tmp_path / "out.mp4"
    result = run("decode", encoded, "-o", out, "-q")
    assert result.exit_code == 0, result.output
    assert out.stat().st_size > 0


def test_existing_output_is_not_overwritten_without_y(encoded, tmp_path):
    out = tmp_path / "exists.mkv"
    out.write_bytes(b"keep me")
    assert_one_line_error(run("decode", encoded, "-o", out), 4, "-y")
    assert out.read_bytes() == b"keep me"
    assert run("decode", encoded, "-o", out, "-y", "-q").exit_code == 0
    assert out.read_bytes() != b"keep me"


def test_output_equal_to_input_is_refused(encoded):
    assert_one_line_error(run("decode", encoded, "-o", encoded.with_suffix(".gcv"), "-y"), 2, "")


def _write(path, data: bytes):
    path.write_bytes(data)
    return path


def _no_leftovers(folder, keep):
    return sorted(p.name for p in folder.iterdir() if p.name not in keep) == []


@pytest.mark.parametrize(
    "make, code, text",
    [
        (lambda d: d / "missing.mp4", 1, "no such file"),
        (lambda d: _write(d / "text.mp4", b"hello, not a video"), 1, "not a readable video"),
        (lambda d: d, 1, "directory"),
    ],
)
def test_encode_bad_input(tmp_path, make, code, text):
    src = make(tmp_path)
    before = {p.name for p in tmp_path.iterdir()}
    assert_one_line_error(run("encode", src, "-o", tmp_path / "o.gcv"), code, text)
    assert _no_leftovers(tmp_path, before)


def test_encode_audio_only_file(tmp_path):
    import av
    import numpy as np

    path = tmp_path / "audio.m4a"
    with av.open(str(path), "w", format="mp4") as out:
        s = out.add_stream("aac", rate=48000)
        frame = av.AudioFrame.from_ndarray(np.zeros((1, 1024), np.float32), format="fltp", layout="mono")
        frame.sample_rate = 48000
        out.mux(s.encode(frame))
        out.mux(s.encode(None))
    assert_one_line_error(run("encode", path, "-o", tmp_path / "o.gcv"), 1, "no video stream")


@pytest.mark.parametrize(
    "flags, text",
    [(["--quality", "9"], "--quality"), (["--quality", "0.5"], "--quality"), (["--frames", "0"], "--frames"),
     (["--threads", "0"], "--threads"), (["--device", "tpu"], "--device")],
)  # fmt: skip
def test_invalid_flags(clip, tmp_path, flags, text):
    assert_one_line_error(run("encode", clip, "-o", tmp_path / "o.gcv", *flags), 2, text)
    assert not (tmp_path / "o.gcv").exists()


def test_unknown_output_suffix(encoded, tmp_path):
    assert_one_line_error(run("decode", encoded, "-o", tmp_path / "o.avi"), 2, "output format")


def _decode_bad(tmp_path, data: bytes, code: int, text: str):
    bad = tmp_path / "bad.gcv"
    bad.write_bytes(data)
    out = tmp_path / "o.mkv"
    assert_one_line_error(run("decode", bad, "-o", out), code, text)
    assert _no_leftovers(tmp_path, {"bad.gcv"})
    assert_one_line_error(run("info", bad), code, text)


def test_decode_truncated(encoded, tmp_path):
    data = encoded.read_bytes()
    _decode_bad(tmp_path, data[: len(data) // 2], 3, "truncated")


def test_decode_corrupt_payload(encoded, tmp_path):
    data = bytearray(encoded.read_bytes())
    data[len(data) // 2] ^= 0x40
    _decode_bad(tmp_path, bytes(data), 3, "")


def test_decode_wrong_magic(tmp_path):
    _decode_bad(tmp_path, b"\x00\x00\x00\x18ftypisom" + b"\x00" * 100, 3, "magic")


def test_decode_newer_version(encoded, tmp_path):
    data = bytearray(encoded.read_bytes())
    data[4] = FORMAT_MAJOR + 1  # a major version this gancodec does not know
    _decode_bad(tmp_path, bytes(data), 3, "version")


def _patch_header(data: bytes, edit) -> bytes:
    (header_len,) = struct.unpack("<I", data[6:10])
    head, body = data[:10], bytearray(data[10 : 10 + header_len - 4])
    edit(body)
    return head + bytes(body) + struct.pack("<I", zlib.crc32(head + bytes(body))) + data[10 + header_len :]


def test_decode_weights_hash_mismatch(encoded, tmp_path):
    data = encoded.read_bytes()
    model_len = data[10 + FIXED]  # the model id length byte follows the fixed fields of the body

    def flip_hash(body):
        body[FIXED + 1 + model_len] ^= 0xFF

    bad = tmp_path / "bad.gcv"
    bad.write_bytes(_patch_header(data, flip_hash))
    result = run("decode", bad, "-o", tmp_path / "o.mkv")
    assert_one_line_error(result, 3, "other weights")
    assert f"decode it with gancodec {__version__}" in result.stderr  # names the release that made it
    assert not (tmp_path / "o.mkv").exists()


def test_decode_unknown_model(encoded, tmp_path):
    data = encoded.read_bytes()

    def rename(body):
        body[FIXED + 1 : FIXED + 4] = b"zzz"

    bad = tmp_path / "bad.gcv"
    bad.write_bytes(_patch_header(data, rename))
    assert_one_line_error(run("decode", bad, "-o", tmp_path / "o.mkv"), 3, "unknown model")


def test_decode_missing_file(tmp_path):
    assert_one_line_error(run("decode", tmp_path / "nope.gcv"), 1, "no such file")


def test_zero_frame_video(tmp_path):
    src = _write(tmp_path / "zero.y4m", b"YUV4MPEG2 W64 H64 F30:1 Ip A1:1 C420jpeg\n")
    assert_one_line_error(run("encode", src, "-o", tmp_path / "o.gcv"), 1, "no frames")
    assert _no_leftovers(tmp_path, {"zero.y4m"})


def test_raw_yuv_needs_size(tmp_path):
    src = _write(tmp_path / "raw.yuv", bytes(64 * 64 * 3 // 2))
    assert_one_line_error(run("encode", src, "-o", tmp_path / "o.gcv"), 2, "--size")
    assert run("encode", src, "-o", tmp_path / "o.gcv", "--size", "64x64", "-q").exit_code == 0


def _damage_frame(data: bytes, number: int) -> bytes:
    """Flips a payload byte inside frame `number` (records are found by their sync word)."""
    import io

    from gancodec.bitstream import GcvReader

    offsets = [r.offset for r in GcvReader(io.BytesIO(data)).frames()]
    out = bytearray(data)
    out[offsets[number] + 14] ^= 0x55
    return bytes(out)


def test_damaged_frame_stops_decoding_and_names_it(encoded, tmp_path):
    bad = _write(tmp_path / "bad.gcv", _damage_frame(encoded.read_bytes(), 2))
    assert_one_line_error(run("decode", bad, "-o", tmp_path / "o.yuv"), 3, "frame 2")
    assert not (tmp_path / "o.yuv").exists()


def test_conceal_repeats_last_good_frame(encoded_intra, tmp_path):
    encoded = encoded_intra  # all intra: the frame after the damaged one decodes exactly
    bad = _write(tmp_path / "bad.gcv", _damage_frame(encoded.read_bytes(), 2))
    result = run("decode", bad, "-o", tmp_path / "c.yuv", "--conceal", "--json", "--postfilter", "off")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["concealed"] == [2] and summary["frames"] == 4
    frame_bytes = 64 * 64 * 3 // 2
    data = (tmp_path / "c.yuv").read_bytes()
    assert len(data) == 4 * frame_bytes
    assert data[2 * frame_bytes : 3 * frame_bytes] == data[frame_bytes : 2 * frame_bytes]
    assert run("decode", encoded, "-o", tmp_path / "ok.yuv", "--conceal", "-q", "--postfilter", "off").exit_code == 0
    assert (tmp_path / "ok.yuv").read_bytes()[3 * frame_bytes :] == data[3 * frame_bytes :]


def test_conceal_in_p_frames_recovers_at_the_next_i_frame(clip, tmp_path):
    gcv = tmp_path / "gop2.gcv"
    assert run("encode", clip, "-o", gcv, "--gop", "2", "--no-scenecut", "-q").exit_code == 0  # I P I P
    bad = _write(tmp_path / "bad.gcv", _damage_frame(gcv.read_bytes(), 1))
    result = run("decode", bad, "-o", tmp_path / "c.yuv", "--conceal", "--json", "--postfilter", "off")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["concealed"] == [1]
    assert run("decode", gcv, "-o", tmp_path / "ok.yuv", "-q", "--postfilter", "off").exit_code == 0
    frame_bytes = 64 * 64 * 3 // 2
    data, ok = (tmp_path / "c.yuv").read_bytes(), (tmp_path / "ok.yuv").read_bytes()
    assert data[frame_bytes : 2 * frame_bytes] == ok[:frame_bytes]  # frame 0 stands in for frame 1
    assert data[2 * frame_bytes :] == ok[2 * frame_bytes :]  # I-frame 2 and its P-frame are exact again


def test_conceal_truncated_tail(encoded, tmp_path):
    data = encoded.read_bytes()
    bad = _write(tmp_path / "cut.gcv", data[: len(data) * 2 // 3])
    result = run("decode", bad, "-o", tmp_path / "c.yuv", "--conceal", "--json", "--postfilter", "off")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["frames"] == 4 and summary["concealed"] and summary["concealed"][-1] == 3


def test_full_disk_is_a_clear_error(encoded, tmp_path):
    import subprocess

    mnt = tmp_path / "full"
    mnt.mkdir()
    if subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=16k", "tmpfs", str(mnt)], capture_output=True, check=False
    ).returncode:
        pytest.skip("cannot mount a small tmpfs here (needs root)")
    try:
        assert_one_line_error(run("decode", encoded, "-o", mnt / "o.y4m"), 1, "disk full")
        assert list(mnt.iterdir()) == []
    finally:
        subprocess.run(["umount", str(mnt)], check=False)


def test_hostile_frame_size_is_refused_before_allocation(encoded, tmp_path, monkeypatch):
    """16384x16384 passes the container's limits but would need tens of GiB to decode."""
    monkeypatch.setattr("gancodec.api.available_memory", lambda: 16 * 2**30)

    def huge(body):
        struct.pack_into("<II", body, 2, 16384, 16384)

    bad = _write(tmp_path / "huge.gcv", _patch_header(encoded.read_bytes(), huge))
    assert_one_line_error(run("decode", bad, "-o", tmp_path / "o.yuv"), 1, "GiB")
    assert not (tmp_path / "o.yuv").exists()


@pytest.mark.parametrize("sig, code", [("SIGTERM", 143), ("SIGINT", 130)])
def test_signal_swallowed_by_native_code_still_exits_as_interrupted(monkeypatch, capsys, sig, code):
    """safetensors once caught the handler's exception mid-load and raised a TypeError instead (CI,
    session 18): the run must still end as terminated/interrupted, not as unusable weights."""
    import os
    import signal
    import time

    from gancodec import cli

    monkeypatch.setattr(cli, "_stopped_by", None)
    saved = {s: signal.getsignal(s) for s in (signal.SIGTERM, signal.SIGINT)}
    signal.signal(signal.SIGINT, signal.default_int_handler)

    @cli.handle_errors
    def load_weights(verbose: bool = False) -> None:
        try:
            os.kill(os.getpid(), getattr(signal, sig))
            time.sleep(5)  # the handler runs at once; this bounds the wait if it never does
        except BaseException as exc:  # what the native loader did
            raise TypeError("could not determine the shape of object type 'UntypedStorage'") from exc

    try:
        with pytest.raises(SystemExit) as stop:
            load_weights()
    finally:
        for s, handler in saved.items():
            signal.signal(s, handler)
    assert stop.value.code == code
    assert "shape" not in capsys.readouterr().err


@pytest.mark.parametrize("sig, code, word", [("SIGTERM", 143, "terminated"), ("SIGINT", 130, "interrupted")])
def test_signal_exits_cleanly_and_leaves_no_partial_output(tmp_path, sig, code, word):
    """An interrupted encode exits 130/143 with one line and removes its temporary file."""
    import signal
    import subprocess
    import sys
    import time

    from conftest import SAMPLE

    out = tmp_path / "big.gcv"
    # A job started in the background by a non-interactive shell inherits SIGINT ignored (and then
    # Python installs no KeyboardInterrupt handler). An ignored signal stays ignored across exec, a
    # handled one is reset to the default: so handle it here while the encoder starts, as a terminal
    # would leave it, and the test does not depend on how the test run itself was launched.
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        proc = subprocess.Popen(
            [sys.executable, "-m", "gancodec", "encode", str(SAMPLE), "-o", str(out), "-q", "--psnr"],
            stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
    finally:
        signal.signal(signal.SIGINT, previous)
    deadline = time.monotonic() + 120
    while not any(p.name.endswith(".part.gcv") for p in tmp_path.iterdir()):
        assert proc.poll() is None and time.monotonic() < deadline, "encoder never started writing"
        time.sleep(0.05)
    proc.send_signal(getattr(signal, sig))
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == code, err
    assert err.strip() == f"gancodec: error: {word}"
    assert list(tmp_path.iterdir()) == [] and not out.exists()

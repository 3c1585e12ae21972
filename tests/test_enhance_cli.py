"""`gancodec enhance` as a user runs it: streaming output, frame rate, audio, errors."""

from __future__ import annotations

import av
import numpy as np
import pytest
import torch

from gancodec.api import enhance_file
from gancodec.enhance.net import EnhanceConfig, EnhanceNet
from gancodec.io import VideoReader
from gancodec.train.export import save_enhancer


@pytest.fixture(scope="module")
def weights(tmp_path_factory):
    torch.manual_seed(0)
    net = EnhanceNet(EnhanceConfig(channels=8, blocks=1))
    torch.nn.init.normal_(net.tail.weight, std=0.01)  # not the identity
    path = tmp_path_factory.mktemp("w") / "enh.safetensors"
    save_enhancer(
        {"model": net.state_dict(), "model_config": {"channels": 8, "blocks": 1}, "step": 0}, path, "t"
    )
    return path


def test_enhance_keeps_frames_rate_and_audio(clip_with_audio, weights, tmp_path):
    out = tmp_path / "e.mp4"
    summary = enhance_file(clip_with_audio, out, weights=weights)
    with VideoReader(clip_with_audio) as src, VideoReader(out) as dst:
        assert summary.frames == len(list(src.frames())) == len(list(dst.frames())) == 6
        assert dst.fps == src.fps and dst.has_audio


def test_enhance_changes_pixels_and_tiles_match(clip, weights, tmp_path):
    enhance_file(clip, tmp_path / "a.yuv", weights=weights)
    enhance_file(clip, tmp_path / "b.yuv", weights=weights, tile=32)
    assert (tmp_path / "a.yuv").read_bytes() == (tmp_path / "b.yuv").read_bytes()
    with VideoReader(clip) as src:
        original = b"".join(p.tobytes() for f in src.frames() for p in f)
    assert (tmp_path / "a.yuv").read_bytes() != original


def test_enhance_refuses_existing_output(clip, weights, tmp_path):
    from gancodec.errors import OutputExistsError

    (tmp_path / "x.mkv").write_bytes(b"keep")
    with pytest.raises(OutputExistsError):
        enhance_file(clip, tmp_path / "x.mkv", weights=weights)
    assert (tmp_path / "x.mkv").read_bytes() == b"keep"


def test_enhance_mp4_is_playable(clip, weights, tmp_path):
    enhance_file(clip, tmp_path / "p.mp4", weights=weights)
    with av.open(str(tmp_path / "p.mp4")) as c:
        assert c.streams.video[0].codec_context.name == "h264"
        assert sum(1 for _ in c.decode(video=0)) == 4


@pytest.mark.parametrize(
    "extra, code, text",
    [
        (["--realism", "0.5"], 2, "--realism needs GAN-stage"),
        (["--realism", "-1"], 2, "between 0 and 1"),
        (["--weights", "missing.safetensors"], 3, "check --weights"),
        (["--frames", "0"], 2, "--frames must be at least 1"),
        (["--tile", "8"], 2, "--tile must be at least 16"),
    ],
)
def test_enhance_weight_and_realism_errors_are_one_line(clip, weights, tmp_path, extra, code, text):
    from click.testing import CliRunner

    from gancodec.cli import main

    if "--weights" not in extra:
        extra = [*extra, "--weights", str(weights)]
    out = tmp_path / "o.mkv"
    result = CliRunner().invoke(main, ["enhance", str(clip), "-o", str(out), "-q", *extra])
    lines = [ln for ln in result.stderr.splitlines() if ln.strip()]
    assert result.exit_code == code and len(lines) == 1 and text in lines[0], result.stderr
    assert not out.exists()


def test_enhance_with_non_weights_file_is_a_clear_error(clip, tmp_path):
    from gancodec.errors import ModelError

    junk = tmp_path / "junk.safetensors"
    junk.write_bytes(b"not weights at all")
    with pytest.raises(ModelError, match="not usable enhancer weights"):
        enhance_file(clip, tmp_path / "o.mkv", weights=junk)


def _vfr_clip(path, pts_ms):
    """An FFV1 clip with irregular timestamps (ms) that do not start at 0."""
    from fractions import Fraction

    import numpy as np

    rng = np.random.default_rng(0)
    with av.open(str(path), "w") as c:
        s = c.add_stream("ffv1", rate=30)
        s.width = s.height = 64
        s.pix_fmt = "yuv420p"
        s.codec_context.time_base = Fraction(1, 1000)
        for p in pts_ms:
            rgb = rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)
            f = av.VideoFrame.from_ndarray(rgb, format="rgb24").reformat(format="yuv420p")
            f.pts, f.time_base = p, Fraction(1, 1000)
            c.mux(s.encode(f))
        c.mux(s.encode(None))
    return path


@pytest.mark.parametrize("suffix", [".mkv", ".mp4"])
def test_enhance_keeps_variable_timestamps(weights, tmp_path, suffix):
    pts_ms = [500, 533, 600, 700, 733, 900]
    clip = _vfr_clip(tmp_path / "vfr.mkv", pts_ms)
    out = tmp_path / f"e{suffix}"
    enhance_file(clip, out, weights=weights)
    with av.open(str(out)) as c:
        times = [round(float(f.time) * 1000) for f in c.decode(video=0)]
    assert times == pts_ms


def test_shipped_weights_load_and_restore(clip, tmp_path):
    """The package carries trained enhancer weights: `enhance` works without --weights."""
    from gancodec.enhance.weights import enhancer_path

    assert enhancer_path().is_file()
    out = tmp_path / "shipped.yuv"
    summary = enhance_file(clip, out)
    with VideoReader(clip) as src:
        original = b"".join(p.tobytes() for f in src.frames() for p in f)
    assert summary.frames == 4 and out.stat().st_size == len(original)
    assert out.read_bytes() != original  # a trained network, not the identity


def test_enhance_notes_a_10bit_input(weights, tmp_path):
    from tests.test_inputs import write_pix_fmt

    src = write_pix_fmt(tmp_path / "p10.mkv", "yuv420p10le")
    summary = enhance_file(src, tmp_path / "e.mkv", weights=weights)
    assert any("yuv420p10le" in note and "8-bit" in note for note in summary.notes)


def _clip_with_pcm_audio(path):
    """FFV1 video with stereo PCM audio: Matroska holds it, mp4 refuses it (at its header)."""
    with av.open(str(path), "w") as out:
        video = out.add_stream("ffv1", rate=25)
        video.width, video.height, video.pix_fmt = 32, 32, "yuv420p"
        audio = out.add_stream("pcm_s16le", rate=48000, layout="stereo")
        for i in range(3):
            frame = av.VideoFrame.from_ndarray(np.full((32, 32, 3), 40 * i, np.uint8), format="rgb24")
            frame.pts = i
            out.mux(video.encode(frame))
        samples = av.AudioFrame.from_ndarray(np.zeros((1, 2 * 5760), np.int16), format="s16", layout="stereo")
        samples.sample_rate, samples.pts = 48000, 0
        out.mux(audio.encode(samples))
        out.mux(audio.encode(None))
        out.mux(video.encode(None))
    return path


def test_audio_an_mp4_cannot_hold_is_dropped_with_a_note(weights, tmp_path):
    src = _clip_with_pcm_audio(tmp_path / "pcm.mkv")
    summary = enhance_file(src, tmp_path / "e.mp4", weights=weights)
    assert summary.frames == 3
    assert any("pcm_s16le" in note and "write .mkv" in note for note in summary.notes)
    with av.open(str(tmp_path / "e.mp4")) as c:
        assert not c.streams.audio and sum(1 for _ in c.decode(video=0)) == 3
    kept = enhance_file(src, tmp_path / "e.mkv", weights=weights)
    assert not kept.notes
    with av.open(str(tmp_path / "e.mkv")) as c:
        assert c.streams.audio[0].codec_context.name == "pcm_s16le"

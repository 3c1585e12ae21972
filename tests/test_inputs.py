"""Input edge cases: pixel formats, bit depths, alpha, grayscale, variable frame rate."""

from __future__ import annotations

from fractions import Fraction

import av
import numpy as np
import pytest
from conftest import synthetic_frames

from gancodec.api import decode_file, encode_file
from gancodec.io import VideoReader


def write_pix_fmt(path, pix_fmt: str, count: int = 2, size=(48, 32)):
    with av.open(str(path), "w") as out:
        stream = out.add_stream("ffv1", rate=25)
        stream.width, stream.height, stream.pix_fmt = size[0], size[1], pix_fmt
        for i, rgb in enumerate(synthetic_frames(size[0], size[1], count)):
            frame = av.VideoFrame.from_ndarray(rgb, format="rgb24").reformat(format=pix_fmt)
            frame.pts = i
            out.mux(stream.encode(frame))
        out.mux(stream.encode(None))
    return path


@pytest.mark.parametrize("pix_fmt", ["yuv420p10le", "yuv444p", "gray", "yuva420p", "bgr0"])
def test_any_pixel_format_is_coded_as_8bit_420(tmp_path, pix_fmt):
    src = write_pix_fmt(tmp_path / f"{pix_fmt}.mkv", pix_fmt)
    with VideoReader(src) as reader:
        first = next(reader.frames())
    assert first.y.dtype == np.uint8 and first.y.shape == (32, 48) and first.u.shape == (16, 24)
    encode_file(src, tmp_path / "o.gcv", quality=5)
    summary = decode_file(tmp_path / "o.gcv", tmp_path / "o.y4m")
    assert summary.frames == 2


def test_variable_frame_rate_input_keeps_every_frame(tmp_path):
    path = tmp_path / "vfr.mkv"
    with av.open(str(path), "w") as out:
        stream = out.add_stream("ffv1", rate=30)
        stream.width, stream.height, stream.pix_fmt = 32, 32, "yuv420p"
        stream.time_base = Fraction(1, 1000)
        for pts, rgb in zip([0, 33, 100, 110, 300], synthetic_frames(32, 32, 5)):
            frame = av.VideoFrame.from_ndarray(rgb, format="rgb24")
            frame.pts, frame.time_base = pts, Fraction(1, 1000)
            out.mux(stream.encode(frame))
        out.mux(stream.encode(None))
    summary = encode_file(path, tmp_path / "vfr.gcv", quality=3)
    assert summary.frames == 5 and summary.fps > 0


@pytest.mark.parametrize("pix_fmt, noted", [("yuv420p10le", True), ("yuv444p", True), ("yuv420p", False)])
def test_a_converted_pixel_format_is_noted(tmp_path, pix_fmt, noted):
    """10-bit or 4:4:4 input comes out as 8-bit 4:2:0: the summary says so rather than silently."""
    src = write_pix_fmt(tmp_path / f"{pix_fmt}.mkv", pix_fmt)
    summary = encode_file(src, tmp_path / "o.gcv", quality=2)
    notes = [n for n in summary.notes if "converted to 8-bit YUV 4:2:0" in n]
    assert len(notes) == int(noted)
    if noted:
        assert pix_fmt in notes[0]


def test_a_gcv_given_as_a_video_says_to_decode_it(encoded, tmp_path):
    from gancodec.errors import InputError

    with pytest.raises(InputError, match="is a gancodec stream, not a video: use 'gancodec decode'"):
        encode_file(encoded, tmp_path / "again.gcv", quality=2)
    assert not (tmp_path / "again.gcv").exists()


def test_ffmpeg_logging_stays_off_so_its_threads_never_wait_for_the_gil():
    """A Python log callback (any av.logging level) is called from FFmpeg's frame threads and takes the
    GIL there; a decoder closed by the main thread (holding the GIL) while one of its threads logs
    deadlocks the process. gancodec leaves PyAV's no-op C callback in place."""
    import av

    import gancodec.io.video  # noqa: F401  (sets the level at import)

    assert av.logging.get_level() is None

"""Shared fixtures: tiny synthetic clips written with PyAV (no files from ../shared needed)."""

from __future__ import annotations

import warnings
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

warnings.filterwarnings("ignore", category=FutureWarning)

REPO = Path(__file__).resolve().parents[1]
SAMPLE = REPO / "samples" / "foreman_352x288_20f.mkv"


def synthetic_frames(width: int, height: int, count: int, seed: int = 0) -> list[np.ndarray]:
    """Smooth gradients, a moving square and mild noise: content a codec can compress."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:height, 0:width]
    frames = []
    for i in range(count):
        r = 128 + 80 * np.sin(xx / 9.0 + i * 0.3)
        g = 128 + 80 * np.cos(yy / 7.0 - i * 0.2)
        b = 100 + 0.5 * (xx + yy)
        rgb = np.stack([r, g, b], -1)
        x0 = (5 + 3 * i) % max(1, width - 12)
        rgb[height // 4 : height // 4 + 12, x0 : x0 + 12] = (230, 40, 40)
        rgb += rng.normal(0, 3, rgb.shape)
        frames.append(np.clip(rgb, 0, 255).astype(np.uint8))
    return frames


def write_clip(path: Path, width=64, height=64, count=4, fps=30, audio=False, codec="ffv1") -> Path:
    with av.open(str(path), "w") as out:
        stream = out.add_stream(codec, rate=fps)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        a_stream = None
        if audio:
            a_stream = out.add_stream("aac", rate=48000)
            a_stream.layout = "mono"
        for i, rgb in enumerate(synthetic_frames(width, height, count)):
            frame = av.VideoFrame.from_ndarray(rgb, format="rgb24")
            frame.pts = i
            out.mux(stream.encode(frame))
        out.mux(stream.encode(None))
        if a_stream is not None:
            samples_per_frame = 1024
            total = int(48000 * count / fps) + 2048
            t = np.arange(total) / 48000.0
            wave = (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
            for k in range(0, total - samples_per_frame, samples_per_frame):
                af = av.AudioFrame.from_ndarray(
                    wave[None, k : k + samples_per_frame], format="fltp", layout="mono"
                )
                af.sample_rate = 48000
                af.pts = k
                af.time_base = Fraction(1, 48000)
                out.mux(a_stream.encode(af))
            out.mux(a_stream.encode(None))
    return path


@pytest.fixture(scope="session")
def clip(tmp_path_factory) -> Path:
    return write_clip(tmp_path_factory.mktemp("clips") / "clip.mkv")


@pytest.fixture(scope="session")
def clip_with_audio(tmp_path_factory) -> Path:
    return write_clip(tmp_path_factory.mktemp("clips") / "clip_audio.mkv", audio=True, count=6)


@pytest.fixture(scope="session")
def encoded(clip, tmp_path_factory) -> Path:
    from gancodec.api import encode_file

    out = tmp_path_factory.mktemp("gcv") / "clip.gcv"
    encode_file(clip, out, quality=6)
    return out


@pytest.fixture(scope="session")
def encoded_intra(clip, tmp_path_factory) -> Path:
    from gancodec.api import encode_file

    out = tmp_path_factory.mktemp("gcv") / "clip_intra.gcv"
    encode_file(clip, out, quality=6, gop=1)
    return out

"""ffmpeg codecs (x264, x265, SVT-AV1) through PyAV codec contexts, configured for low delay.

Why codec contexts and not a container: the bitrate must be the exact coded bytes. Encoder packets
from a standalone context carry their parameter sets in-band (Annex B / OBUs), so the sum of
`packet.size` is what a raw bitstream muxer (h264, hevc, obu) would write, with no container bytes,
and the same packets can be fed straight to a decoder.

Low-delay settings (no B-frames, fixed GOP, no scene-cut I-frames):
    x264    bf=0, g=N, keyint_min=N, sc_threshold=0
    x265    x265-params=bframes=0:keyint=N:min-keyint=N:scenecut=0:log-level=error
    SVT-AV1 preset 8, g=N, svtav1-params=pred-struct=1:scd=0
GOP -1 means one I-frame only (a keyint larger than any benchmark clip).

Pitfall handled here: frames decoded from an intra-only source (FFV1) carry pict_type I, and
x264/x265 obey it and code every frame as an I-frame. Frames are therefore always rebuilt fresh
(`av.VideoFrame(...)`, pict_type NONE) from the YuvFrame planes.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from fractions import Fraction

import av
from av.video.frame import PictureType

from gancodec.errors import GancodecError, UsageError
from gancodec.io.video import frame_to_yuv, restore_normal_scheduling, yuv_to_av_frame
from gancodec.models.yuv import YuvFrame

ONE_KEYFRAME_GOP = 1_000_000  # "GOP -1": longer than any clip, so only the first frame is an I-frame
SVTAV1_PRESET = 8


@dataclass(frozen=True)
class FfmpegCodec:
    name: str
    encoder: str
    decoder: str


FFMPEG_CODECS = {
    "x264": FfmpegCodec("x264", "libx264", "h264"),
    "x265": FfmpegCodec("x265", "libx265", "hevc"),
    "svtav1": FfmpegCodec("svtav1", "libsvtav1", "libdav1d"),
}


def low_delay_options(name: str, crf: float, gop: int, preset: str = "medium") -> dict[str, str]:
    """The exact encoder options for one rate point (also written into reports and the cache key)."""
    if gop == 0 or gop < -1:
        raise UsageError(f"--gop must be a positive number of frames or -1 for one I-frame (got {gop})")
    n = str(ONE_KEYFRAME_GOP if gop == -1 else gop)
    crf_text = f"{crf:g}"
    if name == "x264":
        return {"preset": preset, "crf": crf_text, "bf": "0", "g": n, "keyint_min": n, "sc_threshold": "0"}
    if name == "x265":
        params = f"bframes=0:keyint={n}:min-keyint={n}:scenecut=0:log-level=error"
        return {"preset": preset, "crf": crf_text, "x265-params": params}
    if name == "svtav1":
        return {"preset": str(SVTAV1_PRESET), "crf": crf_text, "g": n, "svtav1-params": "pred-struct=1:scd=0"}
    raise UsageError(f"unknown ffmpeg codec '{name}' (choose from: {', '.join(FFMPEG_CODECS)})")


@dataclass
class EncodedStream:
    """An encoded clip held in memory (a few hundred kB for a benchmark clip) plus encoder timing."""

    codec: str
    width: int
    height: int
    packets: list[bytes] = field(default_factory=list)
    keyframes: list[bool] = field(default_factory=list)
    frames_in: int = 0
    encode_seconds: float = 0.0  # time inside the encoder only (source decoding excluded)

    @property
    def bytes(self) -> int:
        return sum(len(p) for p in self.packets)

    @property
    def keyframe_count(self) -> int:
        return sum(self.keyframes)


def encode_frames(
    name: str,
    frames: Iterable[YuvFrame],
    width: int,
    height: int,
    fps: Fraction,
    crf: float,
    gop: int,
    preset: str = "medium",
) -> EncodedStream:
    """Encodes YuvFrames with one ffmpeg codec at one CRF; flushes so no tail frame is lost."""
    codec = FFMPEG_CODECS[name]
    options = low_delay_options(name, crf, gop, preset)
    os.environ.setdefault("SVT_LOG", "1")  # else SVT-AV1 prints a banner per encoder (read at encoder start)
    try:
        ctx = av.CodecContext.create(codec.encoder, "w")
        ctx.width, ctx.height, ctx.pix_fmt = width, height, "yuv420p"
        fps = Fraction(fps).limit_denominator(1001 * 1000)
        ctx.time_base = 1 / fps
        ctx.framerate = fps
        ctx.options = options
        stream = EncodedStream(name, width, height)

        def take(packets) -> None:
            for packet in packets:
                stream.packets.append(bytes(packet))
                stream.keyframes.append(bool(packet.is_keyframe))

        for i, frame in enumerate(frames):
            av_frame = yuv_to_av_frame(frame, i)
            start = time.perf_counter()
            packets = ctx.encode(av_frame)
            stream.encode_seconds += time.perf_counter() - start
            take(packets)
            stream.frames_in += 1
        start = time.perf_counter()
        packets = ctx.encode(None)  # flush: else the encoder's look-ahead frames are lost
        stream.encode_seconds += time.perf_counter() - start
        take(packets)
    except (av.error.FFmpegError, ValueError) as exc:
        raise GancodecError(f"{codec.encoder} failed at crf {crf:g}: {exc}") from None
    finally:
        restore_normal_scheduling()
    return stream


@dataclass
class Timer:
    seconds: float = 0.0


def decode_stream(stream: EncodedStream, timer: Timer | None = None) -> Iterator[YuvFrame]:
    """Decodes an EncodedStream back to YuvFrames; `timer` accumulates the time spent decoding."""
    timer = timer or Timer()
    codec = FFMPEG_CODECS[stream.codec]
    try:
        ctx = av.CodecContext.create(codec.decoder, "r")
        for data in [*stream.packets, None]:
            start = time.perf_counter()
            decoded = ctx.decode(av.Packet(data) if data is not None else None)
            frames = [frame_to_yuv(f) for f in decoded]
            timer.seconds += time.perf_counter() - start
            yield from frames
    except av.error.FFmpegError as exc:
        raise GancodecError(f"{codec.decoder} could not decode the {codec.encoder} stream: {exc}") from None


def decoded_pict_types(stream: EncodedStream) -> list[str]:
    """'I'/'P'/'B' per decoded frame: lets tests check the GOP structure the encoder really used."""
    ctx = av.CodecContext.create(FFMPEG_CODECS[stream.codec].decoder, "r")
    types = []
    for data in [*stream.packets, None]:
        for frame in ctx.decode(av.Packet(data) if data is not None else None):
            types.append(PictureType(int(frame.pict_type)).name)  # an int in some PyAV versions
    return types


def encoder_versions() -> dict[str, str]:
    """PyAV and FFmpeg versions, for reports (encoder behaviour changes between releases)."""
    versions = {"pyav": av.__version__, "ffmpeg": str(getattr(av, "ffmpeg_version_info", "?"))}
    libavcodec = getattr(av, "library_versions", {}).get("libavcodec")
    if libavcodec:
        versions["libavcodec"] = ".".join(str(x) for x in libavcodec)
    return versions

"""All video I/O, through PyAV (the only module that touches its API).

Reading: anything PyAV/FFmpeg decodes, any pixel format, converted to 8-bit YUV 4:2:0, streamed
frame by frame. Raw .yuv needs `size` and `fps`. Writing: chosen from the output suffix or an
explicit format -- .mp4 (x264 by default; x265 or SVT-AV1 on request), .mkv (FFV1, lossless, by
default; or x264/x265/SVT-AV1), .y4m, .yuv (raw I420). The audio stream of a source file is remuxed
(not re-encoded) when the output container can hold it.
"-" reads standard input (any streamable container: y4m, mkv, nut, ...; raw I420 when `size` is
given) or writes standard output (y4m, raw yuv or mkv: formats that need no seeking back).
"""

from __future__ import annotations

import contextlib
import io
import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from gancodec.errors import InputError, UsageError
from gancodec.fileio import is_stdio
from gancodec.models.yuv import YuvFrame, chroma_size

OUTPUT_FORMATS = {".mp4": "mp4", ".mkv": "mkv", ".y4m": "y4m", ".yuv": "yuv"}
PIPE_FORMATS = ("y4m", "yuv", "mkv")  # what can be written to standard output (mp4 seeks back)
# Output encoders: name -> (FFmpeg encoder, default CRF, highest CRF); None: lossless, no CRF.
OUTPUT_CODECS = {
    "x264": ("libx264", 16, 51),
    "x265": ("libx265", 18, 51),
    "svtav1": ("libsvtav1", 24, 63),
    "ffv1": ("ffv1", None, None),
}
CONTAINER_CODECS = {"mp4": ("x264", "x265", "svtav1"), "mkv": ("ffv1", "x264", "x265", "svtav1")}
SVTAV1_OUTPUT_PRESET = 8
EVEN_SIZE_CODECS = ("x264", "x265")  # their 4:2:0 needs even sizes; SVT-AV1 and FFV1 take any
TICKS_PER_FRAME = 1000  # output time base, when source timestamps are kept: 1/(fps * this)
MAX_DIMENSION = 16384

# FFmpeg's log stays off (PyAV's default, a no-op C callback). A Python-level callback takes the GIL
# from FFmpeg's own threads: a frame-decoding thread that logs while the main thread, holding the GIL,
# closes its decoder and waits for that thread deadlocks the process (seen at exit). Errors still reach
# us as exceptions; what FFmpeg would print is not one-line anyway.
av.logging.set_level(None)


def frame_to_yuv(frame: av.VideoFrame) -> YuvFrame:
    if frame.format.name != "yuv420p":
        frame = frame.reformat(format="yuv420p")
    planes = []
    for plane in frame.planes:
        buf = np.frombuffer(plane, dtype=np.uint8).reshape(-1, plane.line_size)
        planes.append(buf[: plane.height, : plane.width].copy())
    return YuvFrame(*planes)


def yuv_to_av_frame(frame: YuvFrame, pts: int) -> av.VideoFrame:
    """A fresh yuv420p VideoFrame (pict_type NONE, so an encoder picks frame types itself)."""
    out = av.VideoFrame(frame.width, frame.height, "yuv420p")
    for plane, data in zip(out.planes, frame):
        buf = np.frombuffer(plane, dtype=np.uint8).reshape(-1, plane.line_size)
        buf[: data.shape[0], : data.shape[1]] = data
    out.pts = pts
    return out


# Pixel formats whose frames reach the model unchanged (the same 8-bit 4:2:0 samples).
LOSSLESS_INPUT_FORMATS = frozenset({"yuv420p", "yuvj420p", "nv12", "nv21"})


class VideoReader:
    """Streams a video as YuvFrames. Use as a context manager."""

    def __init__(self, path: str | os.PathLike, size: tuple[int, int] | None = None, fps=None):
        self.path = Path(path)
        self._stdin = is_stdio(path)
        self.name = "stdin" if self._stdin else str(self.path)  # for messages
        self._container = None
        if self._stdin:  # raw I420 when its size is given, else whatever FFmpeg finds in the stream
            self._raw = size is not None
            if self._raw:
                self._open_raw(size, fps)
            else:
                self._open_av()
            return
        if not self.path.exists():
            raise InputError(f"no such file ({self.name})")
        if self.path.is_dir():
            raise InputError(f"is a directory, not a video ({self.name})")
        if not os.access(self.path, os.R_OK):
            raise InputError(f"cannot read file: permission denied ({self.name})")
        self._raw = self.path.suffix.lower() == ".yuv"
        if self._raw:
            self._open_raw(size, fps)
        else:
            self._open_av()

    def _open_raw(self, size, fps) -> None:
        if size is None:
            raise UsageError(f"raw .yuv input needs --size WxH ({self.name})")
        self.width, self.height = size
        self.fps = Fraction(fps or 25).limit_denominator(1001 * 1000)
        cw, ch = chroma_size(self.width, self.height)
        self._frame_bytes = self.width * self.height + 2 * cw * ch
        self.frame_count = 0 if self._stdin else self.path.stat().st_size // self._frame_bytes
        self.has_audio = False
        self.time_base = None
        self.pixel_format = "yuv420p"

    def _open_av(self) -> None:
        try:
            self._container = av.open(sys.stdin.buffer if self._stdin else str(self.path))
        except (av.error.FFmpegError, UnicodeDecodeError, ValueError) as exc:
            if not self._stdin and _is_gcv(self.path):
                raise InputError(f"is a gancodec stream, not a video: use 'gancodec decode' ({self.name})") from None
            raise InputError(f"not a readable video: {_reason(exc)} ({self.name})") from None
        if not self._container.streams.video:
            self._container.close()
            raise InputError(f"file has no video stream ({self.name})")
        stream = self._container.streams.video[0]
        stream.thread_type = "AUTO"
        self._stream = stream
        self.width, self.height = stream.codec_context.width, stream.codec_context.height
        if not (0 < self.width <= MAX_DIMENSION and 0 < self.height <= MAX_DIMENSION):
            self._container.close()
            raise InputError(f"unsupported frame size {self.width}x{self.height} ({self.name})")
        rate = stream.average_rate or stream.guessed_rate or Fraction(25)
        self.fps = Fraction(rate)
        self.frame_count = stream.frames or self._estimate_frames(stream)  # 0 = unknown
        self.has_audio = bool(self._container.streams.audio)
        self.time_base = stream.time_base  # of the timestamps timed_frames() yields
        self.pixel_format = stream.codec_context.pix_fmt or "yuv420p"  # None before a decoder has seen a frame

    @property
    def conversion_note(self) -> str | None:
        """What the conversion to 8-bit YUV 4:2:0 changes, for a user who gave another pixel format
        (10-bit, 4:4:4, RGB, ...): the output is yuv420p and should not silently look like the input's."""
        if self.pixel_format in LOSSLESS_INPUT_FORMATS:
            return None
        return f"the input is {self.pixel_format}; it was converted to 8-bit YUV 4:2:0 (yuv420p), what gancodec works in"

    def _estimate_frames(self, stream) -> int:
        """Duration x frame rate, for progress/ETA when the container has no frame count."""
        if stream.duration is not None and stream.time_base:
            seconds = float(stream.duration * stream.time_base)
        elif self._container.duration:
            seconds = self._container.duration / av.time_base
        else:
            return 0
        return max(0, round(seconds * float(self.fps)))

    def frames(self, limit: int | None = None) -> Iterator[YuvFrame]:
        for frame, _ in self.timed_frames(limit):
            yield frame

    def timed_frames(self, limit: int | None = None) -> Iterator[tuple[YuvFrame, int | None]]:
        """(frame, presentation timestamp in units of `self.time_base`, or None when unknown)."""
        source = ((f, None) for f in self._raw_frames()) if self._raw else self._av_frames()
        for count, item in enumerate(source):
            if limit is not None and count >= limit:
                return
            yield item

    def _raw_frames(self) -> Iterator[YuvFrame]:
        cw, ch = chroma_size(self.width, self.height)
        with contextlib.nullcontext(sys.stdin.buffer) if self._stdin else open(self.path, "rb") as f:
            while len(buf := _read_full(f, self._frame_bytes)) == self._frame_bytes:
                data = np.frombuffer(buf, dtype=np.uint8)
                y_end = self.width * self.height
                y = data[:y_end].reshape(self.height, self.width)
                u = data[y_end : y_end + cw * ch].reshape(ch, cw)
                v = data[y_end + cw * ch :].reshape(ch, cw)
                yield YuvFrame(y, u, v)

    def _av_frames(self) -> Iterator[tuple[YuvFrame, int | None]]:
        try:
            for frame in self._container.decode(self._stream):
                pts = frame.pts
                if (frame.width, frame.height) != (self.width, self.height):
                    frame = frame.reformat(width=self.width, height=self.height)
                yield frame_to_yuv(frame), pts
        except av.error.FFmpegError as exc:
            raise InputError(f"cannot decode video: {_reason(exc)} ({self.name})") from None

    def close(self) -> None:
        if self._container is not None:
            self._container.close()

    def __enter__(self) -> VideoReader:  # noqa: PYI034 - Python 3.10 has no typing.Self
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class _StdoutWriter:
    """Standard output as a raw writer's file: close() flushes it but leaves it open."""

    def write(self, data: bytes) -> None:
        sys.stdout.buffer.write(data)

    def close(self) -> None:
        sys.stdout.buffer.flush()


def _is_gcv(path: Path) -> bool:
    from gancodec.bitstream import MAGIC

    with contextlib.suppress(OSError), open(path, "rb") as f:
        return f.read(len(MAGIC)) == MAGIC
    return False


def _read_full(f, n: int) -> bytes:
    """n bytes, or fewer only at the end of the file (a pipe may deliver a frame in pieces)."""
    parts, got = [], 0
    while got < n and (part := f.read(n - got)):
        parts.append(part)
        got += len(part)
    return b"".join(parts)


def _reason(exc: Exception) -> str:
    text = getattr(exc, "strerror", None) or str(exc)
    return text.split(":")[0].strip() if ":" in text and len(text) > 80 else text.strip()


def output_format(path: str | os.PathLike, explicit: str | None = None) -> str:
    if is_stdio(path):  # standard output: y4m unless told, and never a format that seeks back
        fmt = explicit or "y4m"
        if fmt not in PIPE_FORMATS:
            raise UsageError(f"cannot write {fmt} to standard output (it seeks back); use --format y4m, yuv or mkv")
        return fmt
    if explicit:
        if explicit not in OUTPUT_FORMATS.values():
            raise UsageError(f"unknown output format '{explicit}' (use mp4, mkv, y4m or yuv)")
        return explicit
    suffix = Path(path).suffix.lower()
    if suffix not in OUTPUT_FORMATS:
        raise UsageError(
            f"cannot tell the output format from '{suffix or path}' (use .mp4, .mkv, .y4m, .yuv or --format)"
        )
    return OUTPUT_FORMATS[suffix]


@dataclass(frozen=True)
class OutputCodec:
    """The encoder of a video output: name (a key of OUTPUT_CODECS; None for raw y4m/yuv) and CRF."""

    name: str | None
    crf: int | None = None

    def encoder_options(self) -> dict[str, str]:
        if self.name == "x264":
            return {"crf": str(self.crf), "preset": "medium"}
        if self.name == "x265":
            return {"crf": str(self.crf), "preset": "medium", "x265-params": "log-level=error"}
        if self.name == "svtav1":
            return {"crf": str(self.crf), "preset": str(SVTAV1_OUTPUT_PRESET)}
        return {}


def output_codec(fmt: str, codec: str | None = None, crf: int | None = None) -> OutputCodec:
    """Checks a --codec/--crf choice against the output format; fills in the defaults."""
    allowed = CONTAINER_CODECS.get(fmt, ())
    if not allowed:
        if codec is not None or crf is not None:
            raise UsageError(f"--codec/--crf do not apply to .{fmt} output (raw, uncompressed video)")
        return OutputCodec(None)
    codec = (codec or allowed[0]).lower()
    if codec not in OUTPUT_CODECS:
        raise UsageError(f"unknown output codec '{codec}' (choose from: {', '.join(OUTPUT_CODECS)})")
    if codec not in allowed:
        raise UsageError(f"--codec {codec} cannot go in .{fmt} (use {', '.join(allowed)}, or .mkv output)")
    _, default_crf, max_crf = OUTPUT_CODECS[codec]
    if max_crf is None:
        if crf is not None:
            raise UsageError(f"--crf does not apply to {codec} (lossless)")
        return OutputCodec(codec)
    crf = default_crf if crf is None else crf
    low = 1 if codec == "svtav1" else 0
    if not low <= crf <= max_crf:
        raise UsageError(f"--crf for {codec} must be in {low}..{max_crf} (got {crf})")
    return OutputCodec(codec, crf)


def restore_normal_scheduling() -> None:
    """Undoes SVT-AV1's real-time scheduling of the calling process.

    Run as root, SVT-AV1 switches the threads that create its encoder to SCHED_FIFO priority 99
    (seen here); every thread started afterwards (torch's workers) inherits it and starves the rest
    of the machine, including any other process, and skews every timing taken after it.
    """
    if not hasattr(os, "sched_setscheduler"):
        return
    try:
        tids = [int(t) for t in os.listdir("/proc/self/task")]
    except OSError:
        tids = [0]
    for tid in tids:
        try:
            if os.sched_getscheduler(tid) != os.SCHED_OTHER:
                os.sched_setscheduler(tid, os.SCHED_OTHER, os.sched_param(0))
        except OSError:
            pass  # the thread ended meanwhile, or no permission: nothing to undo


class VideoWriter:
    """Writes YuvFrames to mp4, mkv, y4m or raw yuv with the encoder `codec`. Optionally remuxes audio.

    `path` is written as given: atomic replacement is the caller's job (see gancodec.fileio); "-"
    writes standard output (y4m, yuv or mkv).
    `codec` defaults to output_codec(fmt): x264 CRF 16 for mp4, FFV1 for mkv. With `time_base`
    (mp4/mkv only), write() takes the source's timestamps in that unit, so start offsets and
    variable frame rates survive; without it, frames are 1/fps apart from 0.
    """

    def __init__(
        self,
        path: str | os.PathLike,
        width: int,
        height: int,
        fps: Fraction,
        fmt: str,
        audio_source: str | os.PathLike | bytes | None = None,
        codec: OutputCodec | None = None,
        time_base: Fraction | None = None,
    ):
        self.fmt = fmt
        self.width, self.height = width, height
        self.codec = codec or output_codec(fmt)
        if self.codec.name in EVEN_SIZE_CODECS and (width % 2 or height % 2):
            raise UsageError(
                f"{self.codec.name} cannot code an odd frame size ({width}x{height}) in 4:2:0; "
                "write .mkv (FFV1, lossless) or use --codec svtav1"
            )
        self._raw_file = None
        self._container = None
        self._audio: _AudioRemux | None = None
        stdout = is_stdio(path)
        if fmt == "yuv":
            self._raw_file = _StdoutWriter() if stdout else open(path, "wb")  # noqa: SIM115 - closed in close()
            return
        container_format = {"mp4": "mp4", "mkv": "matroska", "y4m": "yuv4mpegpipe"}[fmt]
        self._container = av.open(sys.stdout.buffer if stdout else str(path), mode="w", format=container_format)
        encoder = OUTPUT_CODECS[self.codec.name][0] if self.codec.name else "rawvideo"
        if self.codec.name == "svtav1":
            os.environ.setdefault("SVT_LOG", "1")  # else SVT-AV1 prints its banner on stderr
        self._stream = self._container.add_stream(encoder, rate=fps)
        self._stream.width, self._stream.height = width, height
        self._stream.pix_fmt = "yuv420p"
        self._stream.options = self.codec.encoder_options()
        if self.codec.name == "x265" and fmt == "mp4":
            self._stream.codec_tag = "hvc1"  # the tag Apple players need to play HEVC in mp4
        self._pts = 0
        self._frames = 0
        self._source_time_base = None
        if time_base and fmt in ("mp4", "mkv"):
            # Ticks of 1/1000 frame: the frame grid is exact and other times are kept to 33 us at 30 fps.
            self._fps = Fraction(fps).limit_denominator(1001)  # keeps the tick inside int32
            self._tick = 1 / (self._fps * TICKS_PER_FRAME)
            self._source_time_base = Fraction(time_base)
            self._stream.codec_context.time_base = self._tick
            self._pts = None
        if audio_source is not None and fmt in ("mp4", "mkv"):
            self._audio = _AudioRemux(audio_source, self._container)

    @property
    def audio_note(self) -> str | None:
        """For the user, when the source's audio could not go into this output."""
        if self._audio is None or self._audio.dropped is None:
            return None
        return f"the audio ({self._audio.dropped}) cannot go in .{self.fmt} as it is, so it was not kept; write .mkv to keep it"

    def write(self, frame: YuvFrame, pts: int | None = None) -> None:
        """Appends a frame; `pts` (in the writer's time_base) is used only when one was given."""
        if self._raw_file is not None:
            for plane in frame:
                self._raw_file.write(np.ascontiguousarray(plane).tobytes())
            return
        av_frame = yuv_to_av_frame(frame, self._next_pts(pts))
        if self._source_time_base is not None:
            av_frame.time_base = self._tick
        self._container.mux(self._stream.encode(av_frame))
        self._frames += 1
        if self._frames == 1 and self.codec.name == "svtav1":
            restore_normal_scheduling()  # the encoder opens on the first frame

    def _next_pts(self, pts: int | None) -> int:
        if self._source_time_base is None:
            self._pts += 1
            return self._pts - 1
        if pts is None:
            ticks = None
        else:
            # A time within a source tick (or 1 ms) of the frame grid is a constant-rate frame whose
            # time was rounded (Matroska keeps milliseconds): put it back on the grid, so 30 fps
            # stays exactly 30 fps. Anything else (variable frame rate) is kept as it is.
            seconds = pts * self._source_time_base
            frame = round(seconds * self._fps)
            tolerance = max(self._source_time_base, Fraction(1, 1000))
            on_grid = abs(seconds - frame / self._fps) <= tolerance
            ticks = frame * TICKS_PER_FRAME if on_grid else round(seconds / self._tick)
        if ticks is None or (self._pts is not None and ticks <= self._pts):
            # unknown, or not increasing (a broken source): one frame after the last
            ticks = 0 if self._pts is None else self._pts + TICKS_PER_FRAME
        self._pts = ticks
        return ticks

    def close(self) -> None:
        if self._raw_file is not None:
            self._raw_file.close()
            return
        if self._container is None:
            return
        self._container.mux(self._stream.encode(None))  # flush: else the tail frames are lost
        if self._audio is not None:
            self._audio.copy_all()
        self._container.close()
        self._container = None

    def abort(self) -> None:
        """Close without flushing (the partial file is the caller's to delete)."""
        if self._raw_file is not None:
            self._raw_file.close()
        if self._container is not None:
            try:
                self._container.close()
            except av.error.FFmpegError:
                pass
            self._container = None


def extract_audio(path: str | os.PathLike) -> bytes | None:
    """The first audio stream of `path`, remuxed (not re-encoded) into a Matroska blob, or None."""
    with av.open(str(path)) as source:
        if not source.streams.audio:
            return None
        in_stream = source.streams.audio[0]
        buf = io.BytesIO()
        with av.open(buf, mode="w", format="matroska") as blob:
            try:
                out_stream = blob.add_stream_from_template(in_stream)
            except (ValueError, av.error.FFmpegError):
                return None
            for packet in source.demux(in_stream):
                if packet.dts is None:
                    continue
                packet.stream = out_stream
                blob.mux(packet)
        return buf.getvalue()


def _open_audio_source(source: str | os.PathLike | bytes) -> av.container.InputContainer:
    return av.open(io.BytesIO(source) if isinstance(source, bytes) else str(source))


def _muxer_takes(source: str | os.PathLike | bytes, container_format: str) -> bool:
    """Whether `container_format` holds the first audio stream of `source` as it is. Tried by muxing
    its first packet into an empty in-memory file, because only writing the header tells (mp4 takes
    PCM only with a known channel layout, for one) and a failed header would lose the whole output."""
    with _open_audio_source(source) as src:
        stream = src.streams.audio[0]
        probe = av.open(io.BytesIO(), mode="w", format=container_format)
        try:
            out_stream = probe.add_stream_from_template(stream)
            for packet in src.demux(stream):
                if packet.dts is not None:
                    packet.stream = out_stream
                    probe.mux(packet)
                    break
            probe.close()
            return True
        except (ValueError, av.error.FFmpegError):
            with contextlib.suppress(ValueError, av.error.FFmpegError):
                probe.close()
            return False


class _AudioRemux:
    """Copies the first audio stream of a source (a path or a Matroska blob) into an output container,
    or, where the container cannot hold it as it is, drops it and says why (`dropped`)."""

    def __init__(self, source: str | os.PathLike | bytes, output: av.container.OutputContainer):
        self._input = _open_audio_source(source)
        self._in_stream = self._input.streams.audio[0] if self._input.streams.audio else None
        self._out_stream = None
        self.dropped: str | None = None  # the audio codec's name when it could not be kept
        if self._in_stream is not None:
            if _muxer_takes(source, output.format.name):
                self._out_stream = output.add_stream_from_template(self._in_stream)
            else:
                self.dropped = self._in_stream.codec_context.name
        self._output = output

    def copy_all(self) -> None:
        if self._out_stream is not None:
            for packet in self._input.demux(self._in_stream):
                if packet.dts is None:  # empty flush packet
                    continue
                packet.stream = self._out_stream
                self._output.mux(packet)
        self._input.close()

"""The pipeline as library calls: encode_file / decode_file. The CLI is a thin wrapper over these.

    encode:  VideoReader -> YuvFrame -> VideoCoder.encode (I: IntraCodec; P: motion + residual)
             -> Record -> GcvWriter
    decode:  GcvReader -> Record -> VideoCoder.decode -> YuvFrame -> [restoration stage] -> VideoWriter

The restoration stage (gc-postfilter-s, enhance/) runs on the decoded frames outside the prediction
loop: the references, and so the stream, are the same with it or without it.

Frames are streamed one at a time: memory does not grow with the length of the video.
"""

from __future__ import annotations

import os
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch

from gancodec import __version__
from gancodec.bitstream import (
    FRAME_I,
    FRAME_P,
    FRAME_PQ,
    INDEX_ENTRY_BYTES,
    RECORD_AUDIO,
    GcvReader,
    GcvWriter,
    Record,
    StreamHeader,
    recorded_quality,
)
from gancodec.errors import BitstreamError, GancodecError, InputError, UsageError
from gancodec.fileio import atomic_output, check_output, is_stdio, open_gcv, video_output
from gancodec.io import VideoReader, VideoWriter, output_format
from gancodec.io.video import extract_audio, output_codec
from gancodec.metrics import frame_psnr
from gancodec.models.inter import (
    DEFAULT_INTRA_BOOST,
    DEFAULT_P_OFFSETS,
    FRAME_TYPE_I,
    FRAME_TYPE_P,
    FRAME_TYPE_PQ,
    CodedFrame,
    VideoCoder,
)
from gancodec.models.intra import QUALITY_MAX, QUALITY_MIN, IntraCodec
from gancodec.models.refine import DEFAULT_PRESET, PRESET_STEPS
from gancodec.models.registry import DEFAULT_MODEL, check_stream_model, load_model, resolve_device
from gancodec.models.yuv import YuvFrame
from gancodec.ratecontrol import RateController

if TYPE_CHECKING:
    from gancodec.enhance.infer import WindowedRestorer

Progress = Callable[[int, int | None], None]  # (frames done, total or None)
DEFAULT_GOP = 32
POSTFILTER_ON, POSTFILTER_OFF = "on", "off"
POSTFILTER_UNTILED_PIXELS = 1920 * 1088  # larger frames are restored in tiles (bounded memory)
POSTFILTER_TILE = 1024
MAX_GOP = 100_000
_RECORD_TYPES = {FRAME_TYPE_I: FRAME_I, FRAME_TYPE_P: FRAME_P, FRAME_TYPE_PQ: FRAME_PQ}
_FRAME_KINDS = {record: kind for kind, record in _RECORD_TYPES.items()}


@dataclass
class CodingSummary:
    """What one encode or decode did. bitrate/bpp come from the real file size."""

    input: str
    output: str
    frames: int
    width: int
    height: int
    fps: float
    bytes: int
    seconds: float
    psnr_y: float | None = None
    psnr_yuv: float | None = None
    concealed: list[int] = field(default_factory=list)
    qualities: tuple[float, float] | None = None  # (lowest, highest) planned quality under --bitrate (before I/P offsets)
    postfilter: str | None = None  # decode: the restoration stage that ran ("id sha256[:16] realism R")
    restored_psnr_y: float | None = None  # encode --psnr: of what decode shows, after its restoration stage
    notes: list[str] = field(default_factory=list)  # for the user, e.g. what could not be kept

    @property
    def kbps(self) -> float:
        duration = self.frames / self.fps if self.fps else 0
        return self.bytes * 8 / duration / 1000 if duration else 0.0

    @property
    def bpp(self) -> float:
        pixels = self.frames * self.width * self.height
        return self.bytes * 8 / pixels if pixels else 0.0

    @property
    def coding_fps(self) -> float:
        return self.frames / self.seconds if self.seconds else 0.0

    def to_dict(self) -> dict:
        out = asdict(self)
        out.update(kbps=self.kbps, bpp=self.bpp, coding_fps=self.coding_fps)
        return out


def set_threads(threads: int | None) -> None:
    if threads is not None:
        if threads < 1:
            raise UsageError("--threads must be at least 1")
        torch.set_num_threads(threads)


BYTES_PER_PIXEL = 200  # peak working memory of the transforms per padded luma pixel (measured: ~170 at 1080p)


def available_memory() -> int | None:
    """Bytes of memory available now (Linux MemAvailable), or None when unknown."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def pad_multiple_for(header: StreamHeader, model: IntraCodec) -> int:
    """What the stream's frames were padded to: format 1.x padded to the hyper-latent stride (64),
    2.x to the latent stride (16), which spends no bits on up to 48 rows and columns of padding."""
    return model.config.stride if header.version[0] == 1 else model.config.latent_stride


def ensure_memory_for(width: int, height: int, stride: int) -> None:
    """Refuses a frame size whose coding would exhaust memory -- before anything is allocated."""
    padded = (-(-width // stride) * stride) * (-(-height // stride) * stride)
    needed, available = padded * BYTES_PER_PIXEL, available_memory()
    if available is not None and needed > 0.8 * available:
        raise GancodecError(
            f"a {width}x{height} frame needs about {needed / 2**30:.1f} GiB to code, "
            f"more than the {available / 2**30:.1f} GiB available"
        )


def _stream_bits(record_bytes: int) -> int:
    """What a frame record of `record_bytes` adds to a .gcv: itself and its entry in the index."""
    return 8 * (record_bytes + INDEX_ENTRY_BYTES)


MAX_P_OFFSETS = 32  # the longest pattern (an intra period's worth at the default --gop)


def check_p_offsets(p_offsets: tuple[float, ...]) -> None:
    span = QUALITY_MAX - QUALITY_MIN
    if not 1 <= len(p_offsets) <= MAX_P_OFFSETS or not all(-span <= o <= span for o in p_offsets):
        raise UsageError(f"--p-offsets must be 1 to {MAX_P_OFFSETS} numbers between -{span:g} and {span:g} "
                         f"(got {format_offsets(p_offsets) or 'none'})")  # fmt: skip


def format_offsets(p_offsets: tuple[float, ...]) -> str:
    """(-1, -0.5, 1) -> '-1,-0.5,+1' (the stream metadata's and the CLI's form)."""
    return ",".join(f"{o:+g}" if o else "0" for o in p_offsets)


def default_output(input_path: str | os.PathLike, suffix: str) -> Path:
    if is_stdio(input_path):
        raise UsageError("reading standard input (-) needs -o OUTPUT (- for standard output)")
    p = Path(input_path)
    return p.with_name(p.stem + suffix)


STDIN_AUDIO_NOTE = "the audio of standard input is not kept (it cannot be read twice); give a file to keep it"


def encode_file(
    input_path: str | os.PathLike,
    output_path: str | os.PathLike | None = None,
    quality: float = 4.0,
    frames: int | None = None,
    overwrite: bool = False,
    size: tuple[int, int] | None = None,
    fps: float | None = None,
    measure_psnr: bool = False,
    threads: int | None = None,
    progress: Progress | None = None,
    model_id: str = DEFAULT_MODEL,
    device: str = "cpu",
    preset: str = DEFAULT_PRESET,
    gop: int = DEFAULT_GOP,
    scene_cuts: bool = True,
    bitrate: float | None = None,
    intra_boost: float = DEFAULT_INTRA_BOOST,
    p_offsets: tuple[float, ...] = DEFAULT_P_OFFSETS,
) -> CodingSummary:
    """Encodes a video into a .gcv file.

    `bitrate` (bit/s): instead of one `quality` for every frame, each frame's quality is chosen to
    meet that average video bitrate (ratecontrol.py; the records carry the qualities).
    `gop`: intra period -- every gop-th frame is an I-frame, the others P-frames predicted from the
    previous decoded frame (1 = all intra).
    `scene_cuts`: a frame is also coded as an I-frame when that is smaller than its P-frame (a scene
    cut), and the intra period restarts there (models/inter.py).
    `preset`: "fast" (one pass of the analysis transform) or "slow" (each frame's latents are
    refined by a short rate-distortion search, models/refine.py); the decoder is the same.
    `intra_boost`: quality added to the I-frames that P-frames predict from (gop > 1; x264's
    --ipratio does the same); 0 codes every frame at one quality.
    `p_offsets`: quality added to the P-frames by their place after the I-frame, cyclically (HM's
    low-delay QP offsets do the same); () or (0,) codes every P-frame at one quality.
    """
    quality, p_offsets = _check_encode_options(quality, preset, bitrate, frames, gop, intra_boost, p_offsets)
    set_threads(threads)
    output_path = Path(output_path) if output_path else default_output(input_path, ".gcv")
    check_output(output_path, overwrite, inputs=(input_path,))
    model, weights_sha = load_model(model_id, resolve_device(device))
    start = time.perf_counter()
    with VideoReader(input_path, size=size, fps=fps) as reader, atomic_output(output_path) as tmp:
        ensure_memory_for(reader.width, reader.height, model.config.stride)
        total = (
            min(frames, reader.frame_count)
            if frames and reader.frame_count
            else frames or reader.frame_count or None
        )
        metadata = _encode_metadata(input_path, preset, gop, intra_boost, p_offsets)
        rate = None
        if bitrate is not None:
            rate = RateController(
                bitrate, float(reader.fps), gop, reader.width * reader.height, total, intra_boost, p_offsets
            )
            quality = rate.quality(0)  # the header's: the first frame's
            metadata["rate_control"] = f"average bitrate {bitrate:.0f} bit/s"
        header = StreamHeader(
            width=reader.width, height=reader.height, fps=reader.fps, model_id=model_id,
            weights_sha256=weights_sha, quality=quality, gop=gop, metadata=metadata,
        )  # fmt: skip

        def new_coder() -> VideoCoder:
            return VideoCoder(
                model, reader.width, reader.height, gop, PRESET_STEPS[preset], scene_cuts, intra_boost, p_offsets
            )

        with open(tmp, "wb") as f:
            writer = GcvWriter(f, header)
            audio = extract_audio(input_path) if reader.has_audio and not is_stdio(input_path) else None
            if audio:
                writer.write_record(Record(RECORD_AUDIO, 0, quality, [audio]))
            if rate:
                rate.overhead(8 * f.tell())
            frames_in = reader.frames(limit=frames)
            restorer = _psnr_restorer(model_id, device, reader.width, reader.height) if measure_psnr else None
            count, used, psnrs, restored = _code_frames(
                frames_in, writer, new_coder, quality, rate, measure_psnr, progress, total, restorer
            )  # fmt: skip
            if count == 0:
                raise InputError(f"video has no frames ({input_path})")
            writer.close()
        nbytes = tmp.stat().st_size
    summary = CodingSummary(
        str(input_path), str(output_path), count, header.width, header.height, float(header.fps),
        nbytes, time.perf_counter() - start,
    )  # fmt: skip
    if reader.conversion_note:
        summary.notes.append(reader.conversion_note)
    if reader.has_audio and is_stdio(input_path):
        summary.notes.append(STDIN_AUDIO_NOTE)
    if used:
        summary.qualities = (min(used), max(used))
    if psnrs:
        summary.psnr_y = sum(p.y for p in psnrs) / len(psnrs)
        summary.psnr_yuv = sum(p.yuv for p in psnrs) / len(psnrs)
    if restored:
        summary.restored_psnr_y = sum(p.y for p in restored) / len(restored)
    return summary


def _check_encode_options(
    quality: float, preset: str, bitrate: float | None, frames: int | None, gop: int, intra_boost: float,
    p_offsets: tuple[float, ...],
) -> tuple[float, tuple[float, ...]]:
    """Refuses invalid encoder options (UsageError); returns the quality as the stream records it
    and the P-frame offsets, () when they are all zero."""  # fmt: skip
    if preset not in PRESET_STEPS:
        raise UsageError(f"unknown --preset '{preset}' (choose from: {', '.join(PRESET_STEPS)})")
    if not QUALITY_MIN <= quality <= QUALITY_MAX:
        raise UsageError(f"--quality must be between {QUALITY_MIN:g} and {QUALITY_MAX:g} (got {quality:g})")
    if bitrate is not None and not bitrate > 0:
        raise UsageError(f"--bitrate must be positive (got {bitrate:g})")
    if frames is not None and frames < 1:
        raise UsageError("--frames must be at least 1")
    if not 1 <= gop <= MAX_GOP:
        raise UsageError(f"--gop must be between 1 and {MAX_GOP} (got {gop})")
    if not 0 <= intra_boost <= QUALITY_MAX - QUALITY_MIN:
        raise UsageError(f"--intra-boost must be between 0 and {QUALITY_MAX - QUALITY_MIN:g} (got {intra_boost:g})")
    check_p_offsets(p_offsets)
    return recorded_quality(quality), tuple(p_offsets) if any(p_offsets) else ()


def _encode_metadata(
    input_path: str | os.PathLike, preset: str, gop: int, intra_boost: float, p_offsets: tuple[float, ...]
) -> dict[str, str]:
    """The stream header's free-form metadata: who encoded it, how, from what."""
    metadata = {"encoder": f"gancodec {__version__}", "preset": preset, "source": "stdin" if is_stdio(input_path) else Path(input_path).name}
    if gop > 1:
        metadata["intra_boost"] = f"{intra_boost:g}"
        if p_offsets:
            metadata["p_offsets"] = format_offsets(p_offsets)
    return metadata


def _code_frames(
    frames: Iterator[YuvFrame],
    writer: GcvWriter,
    new_coder: Callable[[], VideoCoder],
    quality: float,
    rate: RateController | None,
    measure_psnr: bool,
    progress: Progress | None,
    total: int | None,
    restorer: WindowedRestorer | None = None,
) -> tuple[int, list[float], list, list]:
    """Codes the frames into records of `writer`, at `quality` or as `rate` plans.

    Returns (frames coded, the planned qualities under rate control, per-frame PSNRs if measured,
    and with `restorer` (the decoder's restoration stage) the PSNRs of what decode shows).
    Under rate control the first frame is coded once more as a probe of what this video's
    I-frames cost, with a coder that is then thrown away.
    """
    coder = new_coder()
    used: list[float] = []
    psnrs, restored = [], []
    sources: deque[YuvFrame] = deque()  # frames whose restored picture is not out yet
    count = 0
    for count, frame in enumerate(frames, start=1):
        q = rate.quality(count - 1) if rate else quality
        if rate and count == 1:
            probe = coder.encode(frame, 0, q)
            rate.calibrate("I", probe.quality, _stream_bits(Record(FRAME_I, 0, probe.quality, probe.streams).size))
            coder = new_coder()
            q = rate.quality(0)
        coded = coder.encode(frame, count - 1, q, reconstruct=measure_psnr)
        size = writer.write_record(Record(_RECORD_TYPES[coded.kind], count - 1, coded.quality, coded.streams))
        if rate:
            rate.coded(count - 1, "I" if coded.kind == FRAME_TYPE_I else "P", coded.quality, _stream_bits(size))
            used.append(q)  # the plan's; an I-frame's own is intra_boost higher
        if measure_psnr:
            psnrs.append(frame_psnr(frame, coder.reference))
        if restorer:
            sources.append(frame)
            shown = restorer.push(coder.reference, coded.quality)
            restored += [frame_psnr(sources.popleft(), picture) for picture in shown]
        if progress:
            progress(count, total)
    if restorer:
        restored += [frame_psnr(sources.popleft(), shown) for shown in restorer.flush()]
    return count, used, psnrs, restored


def _postfilter_tile(width: int, height: int) -> int | None:
    return POSTFILTER_TILE if width * height > POSTFILTER_UNTILED_PIXELS else None


def _psnr_restorer(model_id: str, device: str, width: int, height: int) -> WindowedRestorer | None:
    """The decoder's default restoration stage for encode --psnr, or None where decode runs none."""
    from gancodec.enhance.infer import WindowedRestorer

    net, _ = _restoration_stage(POSTFILTER_ON, 0.0, model_id, resolve_device(device))
    if net is None:
        return None
    return WindowedRestorer(net, _postfilter_tile(width, height), resolve_device(device))


def decode_file(
    input_path: str | os.PathLike,
    output_path: str | os.PathLike | None = None,
    overwrite: bool = False,
    fmt: str | None = None,
    threads: int | None = None,
    progress: Progress | None = None,
    device: str = "cpu",
    conceal: bool = False,
    codec: str | None = None,
    crf: int | None = None,
    postfilter: str = POSTFILTER_ON,
    realism: float = 0.0,
) -> CodingSummary:
    """Decodes a .gcv file into a video file (format from the suffix or `fmt`).

    Without `conceal`, the first damaged frame stops decoding with an error naming it. With it,
    a damaged or missing frame is replaced by the last good one (grey before the first) and its
    number is listed in the summary's `concealed`. `codec`/`crf` choose the output encoder (see
    gancodec.io.video.output_codec).
    `postfilter`: the restoration stage run on the reconstructed frames (outside the prediction
    loop, so the stream decodes the same either way): "on" (the shipped gc-postfilter-s), "off" (the
    reconstruction itself, what the encoder's --psnr measures) or a weights file. `realism` (0..1)
    goes from its most faithful picture (0) to its most detailed one (1, the GAN stage).
    """
    set_threads(threads)
    output_path = Path(output_path) if output_path else default_output(input_path, ".decoded.mp4")
    container = output_format(output_path, fmt)
    out_codec = output_codec(container, codec, crf)
    check_output(output_path, overwrite, inputs=(input_path,))
    _check_realism(postfilter, realism)
    start = time.perf_counter()
    with open_gcv(input_path) as f:
        reader = GcvReader(f)
        header = reader.header
        encoder = header.metadata.get("encoder") if isinstance(header.metadata, dict) else None
        model = check_stream_model(header.model_id, header.weights_sha256, resolve_device(device), encoder)
        ensure_memory_for(header.width, header.height, model.config.stride)
        restoration, restoration_label = _restoration_stage(postfilter, realism, header.model_id, resolve_device(device))
        coder = VideoCoder(
            model, header.width, header.height, max(1, header.gop), pad_multiple=pad_multiple_for(header, model),
            sharp_motion=header.version[0] >= 3,  # "Pq" frames exist since format 3.0
        )
        count = 0
        concealed: list[int] = []
        stream_bytes = reader.size
        with video_output(output_path) as tmp:
            audio = _audio_or_none(reader) if conceal else reader.audio()
            writer = VideoWriter(
                tmp, header.width, header.height, header.fps, container, audio_source=audio, codec=out_codec
            )
            try:
                decoded = (
                    _concealing(reader, coder, concealed)
                    if conceal
                    else ((_decode_record(coder, r), r.quality) for r in reader.frames())
                )
                frames = (frame for frame, _ in decoded)
                if restoration is not None:
                    from gancodec.enhance.infer import WindowedRestorer

                    tile = _postfilter_tile(header.width, header.height)
                    frames = _restored(WindowedRestorer(restoration, tile, resolve_device(device)), decoded)
                for count, frame in enumerate(frames, start=1):
                    writer.write(frame)
                    if progress:
                        progress(count, header.frame_count)
                if count == 0:
                    raise BitstreamError(f"stream holds no frames ({input_path})")
                writer.close()
            except BaseException:
                writer.abort()
                raise
    return CodingSummary(
        str(input_path), str(output_path), count, header.width, header.height, float(header.fps),
        stream_bytes, time.perf_counter() - start, concealed=concealed, postfilter=restoration_label,
        notes=[writer.audio_note] if writer.audio_note else [],
    )  # fmt: skip


def _check_realism(postfilter: str, realism: float) -> None:
    if not 0.0 <= realism <= 1.0:
        raise UsageError(f"--realism must be between 0 and 1 (got {realism:g})")
    if postfilter == POSTFILTER_OFF and realism:
        raise UsageError("--realism needs the restoration stage (not --postfilter off)")


def _restoration_stage(postfilter: str, realism: float, model_id: str, device: str):
    """(network, "id sha realism") for decode_file's `postfilter` and `realism` (checked by
    _check_realism), or (None, None).

    The shipped stage ("on") learned the artefacts of the shipped codec model, so it restores the
    streams of that model id (every weights version of it) and leaves others (e.g. test models) as
    reconstructed; weights given by path restore any stream."""
    from gancodec.enhance.weights import POSTFILTER_ID, load_enhancer, postfilter_path

    if postfilter == POSTFILTER_OFF:
        return None, None
    shipped = postfilter == POSTFILTER_ON
    if shipped and (model_id != DEFAULT_MODEL or not postfilter_path().is_file()):
        if realism:
            raise UsageError(f"--realism: this gancodec ({__version__}) has no restoration stage for {model_id} streams")
        return None, None
    path = postfilter_path() if shipped else Path(postfilter)
    net, sha = load_enhancer(device, str(path), float(realism), option="--postfilter")
    name = POSTFILTER_ID if shipped else path.name
    return net, f"{name} {sha.hex()[:16]} realism {realism:g}"


def _audio_or_none(reader: GcvReader) -> bytes | None:
    try:
        return reader.audio()
    except BitstreamError:
        return None


def _restored(restorer: WindowedRestorer, decoded: Iterator[tuple[YuvFrame, float]]) -> Iterator[YuvFrame]:
    """The restoration stage over (frame, its coding quality) pairs, in order."""
    for frame, quality in decoded:
        yield from restorer.push(frame, quality)
    yield from restorer.flush()


def _concealing(
    reader: GcvReader, coder: VideoCoder, concealed: list[int]
) -> Iterator[tuple[YuvFrame, float]]:
    """(decoded frame, its quality) in order; a damaged frame repeats the last good one (grey at the
    start, with the stream's quality), and the P-frames after it are predicted from that stand-in."""
    header = reader.header
    cw, ch = (header.width + 1) // 2, (header.height + 1) // 2
    last = YuvFrame(
        np.full((header.height, header.width), 128, np.uint8), np.full((ch, cw), 128, np.uint8),
        np.full((ch, cw), 128, np.uint8),
    )  # fmt: skip
    quality = min(max(header.quality, QUALITY_MIN), QUALITY_MAX)
    for number, record in reader.frames_resilient():
        try:
            if record is None:
                raise BitstreamError("damaged")
            last, quality = _decode_record(coder, record), record.quality
        except BitstreamError:
            concealed.append(number)
            coder.conceal(last)
        yield last, quality


def _decode_record(coder: VideoCoder, record: Record) -> YuvFrame:
    kind = _FRAME_KINDS.get(record.type)
    if kind is None:
        raise BitstreamError(f"unsupported frame type in frame {record.frame_number}")
    if not QUALITY_MIN <= record.quality <= QUALITY_MAX:
        raise BitstreamError(f"invalid quality {record.quality:g} in frame {record.frame_number}")
    try:
        return coder.decode(CodedFrame(kind, record.streams), record.quality)
    except (ValueError, RuntimeError) as exc:
        raise BitstreamError(f"cannot decode frame {record.frame_number}: {exc}") from None


def enhance_file(
    input_path: str | os.PathLike,
    output_path: str | os.PathLike | None = None,
    tile: int | None = None,
    overwrite: bool = False,
    fmt: str | None = None,
    frames: int | None = None,
    size: tuple[int, int] | None = None,
    fps: float | None = None,
    threads: int | None = None,
    progress: Progress | None = None,
    device: str = "cpu",
    weights: str | os.PathLike | None = None,
    realism: float = 0.0,
    codec: str | None = None,
    crf: int | None = None,
) -> CodingSummary:
    """Restores a video damaged by a conventional codec; keeps frame rate and the audio stream.

    `realism` (0..1) blends the fidelity network with the GAN-tuned one (see enhance/weights.py).

    Streams with a window of 3 frames (memory does not grow with length); `tile` (luma pixels)
    bounds the memory per frame for large sizes. `.mkv` output is FFV1 (lossless) for evaluation;
    `codec`/`crf` choose another output encoder (see gancodec.io.video.output_codec).
    """
    from gancodec.enhance.infer import enhance_frames
    from gancodec.enhance.weights import load_enhancer

    set_threads(threads)
    if tile is not None and tile < 16:
        raise UsageError("--tile must be at least 16 pixels")
    if frames is not None and frames < 1:
        raise UsageError("--frames must be at least 1")
    output_path = Path(output_path) if output_path else default_output(input_path, ".enhanced.mp4")
    container = output_format(output_path, fmt)
    out_codec = output_codec(container, codec, crf)
    check_output(output_path, overwrite, inputs=(input_path,))
    device = resolve_device(device)
    net, _ = load_enhancer(device, str(weights) if weights else None, float(realism))
    start = time.perf_counter()
    count = 0
    with VideoReader(input_path, size=size, fps=fps) as reader, video_output(output_path) as tmp:
        total = (
            min(frames, reader.frame_count) if frames and reader.frame_count else frames or reader.frame_count
        )
        audio = input_path if reader.has_audio and not is_stdio(input_path) else None
        writer = VideoWriter(
            tmp, reader.width, reader.height, reader.fps, container, audio_source=audio, codec=out_codec,
            time_base=reader.time_base,
        )  # fmt: skip
        timestamps: deque[int | None] = deque()  # of frames read but not yet written

        def source() -> Iterator[YuvFrame]:
            for frame, pts in reader.timed_frames(limit=frames):
                timestamps.append(pts)
                yield frame

        try:
            for count, frame in enumerate(enhance_frames(net, source(), tile, device), 1):
                writer.write(frame, timestamps.popleft())
                if progress:
                    progress(count, total or None)
            if count == 0:
                raise InputError(f"video has no frames ({input_path})")
            writer.close()
        except BaseException:
            writer.abort()
            raise
        width, height, rate = reader.width, reader.height, float(reader.fps)
        notes = [note for note in (reader.conversion_note, writer.audio_note) if note]
        if reader.has_audio and is_stdio(input_path):
            notes.append(STDIN_AUDIO_NOTE)
    nbytes = 0 if is_stdio(output_path) else Path(output_path).stat().st_size
    return CodingSummary(
        str(input_path), str(output_path), count, width, height, rate, nbytes, time.perf_counter() - start,
        notes=notes,
    )  # fmt: skip

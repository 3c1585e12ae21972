"""gancodec itself as a benchmark codec, through the public API (encode_file / decode_file).

Going through the files (not the model directly) measures what users get: the bitrate is the .gcv
file size, container header and frame index included. gancodec codes with the bench's --gop like
the ffmpeg codecs (I-frames every GOP frames, P-frames between; -1 = one I-frame).
The model is loaded (and warmed up, untimed) only when a gancodec point is not in the cache.
"""

from __future__ import annotations

import hashlib
import tempfile
from functools import lru_cache
from pathlib import Path

from gancodec.bench.codecs import CODECS, LEARNED_POSTFILTER, LEARNED_PRESETS
from gancodec.bench.results import PointResult, VideoInfo
from gancodec.metrics import compare_frames


@lru_cache(maxsize=4)
def fingerprint(postfilter: str = "on") -> dict[str, str]:
    """What makes a cached gancodec result stale: the package version, the weights' hashes (the
    codec's, and the restoration stage's where the decode runs it) and the codec's own source (a
    working tree changes the encoder long before the version moves)."""
    from gancodec import __version__
    from gancodec.enhance.weights import postfilter_path
    from gancodec.models.registry import DEFAULT_MODEL, file_sha256, weights_path

    restoration = "off"
    if postfilter == "on" and postfilter_path().is_file():
        restoration = file_sha256(postfilter_path()).hex()
    return {
        "gancodec": __version__,
        "model": DEFAULT_MODEL,
        "weights_sha256": file_sha256(weights_path(DEFAULT_MODEL)).hex(),
        "postfilter_sha256": restoration,
        "code_sha256": codec_source_digest(),
    }


@lru_cache(maxsize=1)
def codec_source_digest() -> str:
    """SHA-256 (16 hex digits) of the package's Python sources outside bench/ and train/: everything
    an encode or a decode runs."""
    import gancodec

    root = Path(gancodec.__file__).parent
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*.py")):
        relative = path.relative_to(root)
        if relative.parts[0] not in ("bench", "train"):
            digest.update(relative.as_posix().encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:16]


_warmed: set[tuple] = set()


def _warm_up(video: VideoInfo, scratch: Path, threads: int | None, device: str) -> None:
    """One untimed 1-frame encode + decode per device and frame size: the first call pays one-time
    costs (weights loading, allocator growth, kernel selection) that would skew the first point's fps."""
    from gancodec.api import decode_file, encode_file

    key = (device, video.width, video.height)
    if key in _warmed:
        return
    encode_file(video.path, scratch, quality=4.0, frames=1, overwrite=True, threads=threads, device=device)
    decode_file(scratch, scratch.with_suffix(".yuv"), overwrite=True, threads=threads, device=device)
    _warmed.add(key)


def learned_gop(bench_gop: int) -> int:
    """The bench's --gop as gancodec's intra period (-1, one I-frame, is the longest period)."""
    from gancodec.api import MAX_GOP

    return MAX_GOP if bench_gop == -1 else bench_gop


def run_point(
    video: VideoInfo,
    quality: float,
    threads: int | None = None,
    device: str = "cpu",
    name: str = "gancodec",
    gop: int = 1,
) -> PointResult:
    """Encodes `video.frames` frames at `quality` with the preset of codec `name` ("gancodec",
    "gancodec-slow", "gancodec-raw"), decodes them (with or without the restoration stage) and
    measures them against the source."""
    from gancodec.api import decode_file, encode_file
    from gancodec.io import VideoReader

    spec = CODECS[name]
    with tempfile.TemporaryDirectory(prefix="gancodec-bench-") as tmp:
        gcv = Path(tmp) / "stream.gcv"
        _warm_up(video, gcv, threads, device)
        rec = Path(tmp) / "rec.yuv"  # raw I420: exact, no re-encode, cheap to read back
        enc = encode_file(
            video.path,
            gcv,
            quality=quality,
            preset=LEARNED_PRESETS[name],
            frames=video.frames,
            gop=learned_gop(gop),
            overwrite=True,
            threads=threads,
            device=device,
        )
        dec = decode_file(
            gcv, rec, overwrite=True, threads=threads, device=device, postfilter=LEARNED_POSTFILTER[name]
        )  # fmt: skip
        with (
            VideoReader(video.path) as ref,
            VideoReader(rec, size=(video.width, video.height), fps=float(video.fps)) as dist,
        ):
            metrics = compare_frames(
                ref.frames(limit=video.frames), dist.frames(), video.path, "decoded .gcv"
            )
    return PointResult(
        sequence=video.name, video=video.path, codec=spec.name, label=spec.label, param=spec.param,
        point=quality, frames=enc.frames, width=video.width, height=video.height, fps=float(video.fps),
        bytes=enc.bytes, encode_seconds=enc.seconds, decode_seconds=dec.seconds,
        options={"quality": f"{quality:g}", "gop": str(learned_gop(gop)), "device": device,
                 **fingerprint(LEARNED_POSTFILTER[name])},
        keyframes=-(-enc.frames // learned_gop(gop)),
        metrics={m: metrics.mean(m) for m in metrics.per_frame}, summary=metrics.global_,
        per_frame=metrics.per_frame,
    )  # fmt: skip

"""The rate-distortion sweep: videos x codecs x rate points, cached, then reported.

    probe videos -> for each (video, codec, point): cache hit? else encode -> decode -> metrics
                 -> cache JSON -> BenchReport -> report.write_reports (JSON, CSV, Markdown, PNG)

Every encode is cached as one JSON in REPORT_DIR/cache, keyed by the video (path, mtime, size), the
codec, its exact options, the frame count and the tool versions, so a re-run only does what changed
(a new clip, a new point, new gancodec weights). Inputs are streamed frame by frame; an unreadable
video is reported on stderr and skipped, the rest still run.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from gancodec.bench.codecs import (
    CODECS,
    DEFAULT_CODECS,
    LEARNED_POSTFILTER,
    LEARNED_PRESETS,
    CodecSpec,
    parse_points,
    resolve_codecs,
)  # fmt: skip
from gancodec.bench.results import PointResult, VideoInfo
from gancodec.errors import GancodecError, InputError, OutputExistsError, UsageError
from gancodec.metrics import compare_frames

CACHE_VERSION = 2  # bump when metrics or the measurement procedure change
Progress = Callable[[int, int, str], None]  # (jobs done, jobs total, what runs now)
Log = Callable[[str], None]


@dataclass
class BenchConfig:
    videos: list[str]
    output_dir: str = "bench-report"
    codecs: list[str] = field(default_factory=lambda: list(DEFAULT_CODECS))
    frames: int = 30
    gop: int = 32
    preset: str = "medium"
    anchor: str = "x264"
    points: dict[str, tuple[float, ...]] = field(default_factory=dict)  # codec -> points (else defaults)
    use_cache: bool = True
    overwrite: bool = False
    threads: int | None = None
    device: str = "cpu"  # gancodec only

    def points_for(self, spec: CodecSpec) -> tuple[float, ...]:
        return tuple(self.points.get(spec.name) or spec.default_points)


@dataclass
class BenchReport:
    config: BenchConfig
    command: str
    machine: dict
    versions: dict
    videos: list[VideoInfo]
    results: list[PointResult]
    errors: list[str]
    seconds: float = 0.0
    written: list[Path] = field(default_factory=list)


def _stderr(message: str) -> None:
    from tqdm import tqdm

    tqdm.write(message, file=sys.stderr)  # keeps a running progress bar intact


def machine_info() -> dict:
    info = {
        "platform": platform.platform(), "processor": platform.processor() or platform.machine(),
        "cpu_count": os.cpu_count(), "python": platform.python_version(),
    }  # fmt: skip
    if hasattr(os, "getloadavg"):
        info["load_average_1min"] = round(os.getloadavg()[0], 2)  # other jobs skew the speed numbers
    return info


def probe_video(path: str, frames: int, name: str) -> VideoInfo:
    """Opens and decodes the first `frames` frames once: catches unreadable files before the sweep."""
    from gancodec.io import VideoReader

    p = Path(path)
    with VideoReader(p) as reader:
        count = sum(1 for _ in reader.frames(limit=frames))
        if count == 0:
            raise InputError(f"video has no frames ({path})")
        stat = p.stat()
        return VideoInfo(
            str(p.resolve()),
            name,
            reader.width,
            reader.height,
            reader.fps,
            count,
            stat.st_mtime_ns,
            stat.st_size,
        )


def _unique_names(paths: Sequence[str]) -> list[str]:
    names, seen = [], {}
    for path in paths:
        stem = Path(path).stem
        seen[stem] = seen.get(stem, 0) + 1
        names.append(stem if seen[stem] == 1 else f"{stem}-{seen[stem]}")
    return names


def codec_options(spec: CodecSpec, point: float, config: BenchConfig) -> dict[str, str]:
    """The exact settings of one encode: what the cache key and the reports record."""
    if spec.name in LEARNED_PRESETS:
        from gancodec.bench.learned import fingerprint, learned_gop

        preset = LEARNED_PRESETS[spec.name]
        return {
            "quality": f"{point:g}", "preset": preset, "gop": str(learned_gop(config.gop)), "device": config.device,
            **fingerprint(LEARNED_POSTFILTER[spec.name]),
        }  # fmt: skip
    from gancodec.bench.baselines import encoder_versions, low_delay_options

    return {**low_delay_options(spec.name, point, config.gop, config.preset), **encoder_versions()}


def cache_file(cache_dir: Path, video: VideoInfo, spec: CodecSpec, point: float, key: dict) -> Path:
    digest = hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:16]
    return cache_dir / f"{video.name}.{spec.name}.{spec.param}{point:g}.{digest}.json"


def cache_key(video: VideoInfo, spec: CodecSpec, options: dict[str, str]) -> dict:
    return {
        "cache_version": CACHE_VERSION, "video": video.path, "mtime_ns": video.mtime_ns,
        "size_bytes": video.size_bytes, "codec": spec.name, "options": options, "frames": video.frames,
    }  # fmt: skip


def load_cached(path: Path, key: dict) -> PointResult | None:
    try:
        data = json.loads(path.read_text())
        if data.get("key") != key:
            return None
        result = PointResult.from_dict(data["result"])
    except (OSError, ValueError, TypeError, KeyError):
        return None  # missing or damaged: just measure again
    result.cached = True
    return result


def save_cached(path: Path, key: dict, result: PointResult) -> None:
    tmp = path.with_name(path.name + ".part")
    tmp.write_text(json.dumps({"key": key, "result": result.to_dict()}, indent=1))
    os.replace(tmp, path)


def run_ffmpeg_point(video: VideoInfo, spec: CodecSpec, crf: float, config: BenchConfig) -> PointResult:
    """Encodes with an ffmpeg codec, decodes the packets back and measures against the source."""
    from gancodec.bench.baselines import Timer, decode_stream, encode_frames, low_delay_options
    from gancodec.io import VideoReader

    with VideoReader(video.path) as reader:
        stream = encode_frames(
            spec.name, reader.frames(limit=video.frames), video.width, video.height, video.fps,
            crf, config.gop, config.preset,
        )  # fmt: skip
    timer = Timer()
    with VideoReader(video.path) as reader:
        metrics = compare_frames(
            reader.frames(limit=video.frames),
            decode_stream(stream, timer),
            video.path,
            f"decoded {spec.name}",
        )
    return PointResult(
        sequence=video.name, video=video.path, codec=spec.name, label=spec.label, param=spec.param, point=crf,
        frames=stream.frames_in, width=video.width, height=video.height, fps=float(video.fps),
        bytes=stream.bytes, encode_seconds=stream.encode_seconds, decode_seconds=timer.seconds,
        options=low_delay_options(spec.name, crf, config.gop, config.preset),
        keyframes=stream.keyframe_count, metrics={m: metrics.mean(m) for m in metrics.per_frame},
        summary=metrics.global_, per_frame=metrics.per_frame,
    )  # fmt: skip


def run_point(video: VideoInfo, spec: CodecSpec, point: float, config: BenchConfig) -> PointResult:
    if spec.name in LEARNED_PRESETS:
        from gancodec.bench.learned import run_point as run_gancodec_point

        return run_gancodec_point(video, point, config.threads, config.device, spec.name, config.gop)
    return run_ffmpeg_point(video, spec, point, config)


def check_config(config: BenchConfig) -> list[CodecSpec]:
    if not config.videos:
        raise UsageError("no input videos")
    if config.frames < 1:
        raise UsageError(f"--frames must be at least 1 (got {config.frames})")
    if config.gop == 0 or config.gop < -1:
        raise UsageError(
            f"--gop must be a positive number of frames or -1 for one I-frame (got {config.gop})"
        )
    specs = resolve_codecs(config.codecs)
    if config.anchor.lower() not in CODECS:
        raise UsageError(f"unknown anchor codec '{config.anchor}' (choose from: {', '.join(CODECS)})")
    for name, points in config.points.items():
        resolve_codecs([name])
        parse_points(points, f"points for {name}")
    return specs


def run_sweep(config: BenchConfig, progress: Progress | None = None, log: Log = _stderr) -> BenchReport:
    """Measures every (video, codec, point); does not write the reports (see run_bench)."""
    start = time.perf_counter()
    specs = check_config(config)
    out = Path(config.output_dir)
    cache_dir = out / "cache"
    cache_dir.mkdir(parents=True, exist_ok=True)
    videos, errors = [], []
    for path, name in zip(config.videos, _unique_names(config.videos)):
        try:
            videos.append(probe_video(path, config.frames, name))
        except GancodecError as exc:
            errors.append(str(exc))
            log(f"gancodec: error: {exc} — skipped")
    if not videos:
        raise InputError(f"none of the {len(config.videos)} input video(s) could be read (see above)")
    jobs = [(v, s, p) for v in videos for s in specs for p in config.points_for(s)]
    results: list[PointResult] = []
    for done, (video, spec, point) in enumerate(jobs):
        if progress:
            progress(done, len(jobs), f"{video.name} {spec.name} {spec.param}={point:g}")
        try:
            options = codec_options(spec, point, config)
            key = cache_key(video, spec, options)
            path = cache_file(cache_dir, video, spec, point, key)
            result = load_cached(path, key) if config.use_cache else None
            if result is None:
                result = run_point(video, spec, point, config)
                save_cached(path, key, result)
            results.append(result)
        except GancodecError as exc:
            errors.append(f"{video.name} {spec.name} {spec.param}={point:g}: {exc}")
            log(f"gancodec: error: {exc} ({video.name}, {spec.name} {spec.param}={point:g}) — skipped")
    if progress:
        progress(len(jobs), len(jobs), "done")
    return BenchReport(
        config=config, command="", machine=machine_info(), versions=_versions(), videos=videos,
        results=results, errors=errors, seconds=time.perf_counter() - start,
    )  # fmt: skip


def _versions() -> dict:
    from gancodec import __version__
    from gancodec.bench.baselines import encoder_versions

    return {"gancodec": __version__, **encoder_versions()}


def run_bench(
    videos: Sequence[str | os.PathLike],
    output_dir: str | os.PathLike = "bench-report",
    codecs: str | Sequence[str] = DEFAULT_CODECS,
    frames: int = 30,
    gop: int = 32,
    preset: str = "medium",
    anchor: str = "x264",
    qualities: str | Sequence[float] | None = None,
    points: dict[str, str | Sequence[float]] | None = None,
    overwrite: bool = False,
    use_cache: bool = True,
    threads: int | None = None,
    device: str = "cpu",
    progress: Progress | None = None,
    log: Log = _stderr,
    command: str | None = None,
) -> BenchReport:
    """Runs the whole benchmark and writes results.json, results.csv, report.md and PNG plots.

    `qualities` are gancodec's points; `points` overrides any codec's points ({"x264": [22, 32]}).
    Existing report files are refused unless `overwrite`; cached encodes are reused either way.
    """
    from gancodec.bench.report import REPORT_FILES, write_reports

    names = [s.name for s in resolve_codecs(codecs if isinstance(codecs, str) else list(codecs))]
    all_points = {k.lower(): parse_points(v, f"--crf {k}") for k, v in (points or {}).items()}
    if qualities is not None:
        for name in LEARNED_PRESETS:
            all_points[name] = parse_points(qualities, "--qualities")
    config = BenchConfig(
        videos=[str(v) for v in videos], output_dir=str(output_dir), codecs=names, frames=frames, gop=gop,
        preset=preset, anchor=anchor.lower(), points=all_points, use_cache=use_cache, overwrite=overwrite,
        threads=threads, device=device,
    )  # fmt: skip
    check_config(config)
    out = Path(output_dir)
    if out.exists() and not out.is_dir():
        raise UsageError(f"report folder is a file ({out})")
    existing = [out / f for f in REPORT_FILES if (out / f).exists()] if out.is_dir() else []
    if existing and not overwrite:
        raise OutputExistsError(
            f"report exists ({existing[0]}) — use -y to overwrite (cached encodes are reused)"
        )
    report = run_sweep(config, progress, log)
    report.command = command or f"gancodec.bench.run_bench({config.videos!r}, output_dir={str(output_dir)!r})"
    report.written = write_reports(report, out)
    return report

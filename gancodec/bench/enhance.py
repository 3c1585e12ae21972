"""The enhancement benchmark: does the restoration net improve what x264/x265 decode, and at what cost?

    read the first N frames of each video (held in memory: benchmark clips are short)
    -> for each condition (codec, CRF): encode (low delay) -> decode -> enhance_frames (timed)
       -> metrics of the decoded and of the enhanced frames against the originals, and their deltas
    -> EnhanceReport -> enhance_report.write_enhance_reports (enhance.json, enhance.md, crop PNG)

The bar the enhancer has to clear (issue "gancodec bench --enhance"): ΔPSNR-Y ≥ +0.6 dB averaged over
the sequences at x265 CRF 37, and no sequence worse (ΔPSNR-Y < 0). Deltas are enhanced − decoded.
Besides the per-frame metrics, temporal PSNR-Y (metrics.temporal_psnr_y) catches flicker that a
frame-by-frame restoration can add while still raising PSNR.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict
from fractions import Fraction
from pathlib import Path

from gancodec.bench.enhance_results import (
    BAR_CONDITION,
    CONDITIONS,
    REPORT_FILES,
    Clip,
    Condition,
    CropSource,
    EnhanceReport,
    EnhanceResult,
    mean_of,
)
from gancodec.bench.runner import Log, Progress, _stderr, _unique_names, _versions, machine_info
from gancodec.errors import GancodecError, InputError, OutputExistsError, UsageError
from gancodec.metrics import METRICS, compare_frames, temporal_psnr_y
from gancodec.models.yuv import YuvFrame


def check_settings(
    conditions: Iterable[tuple[str, float]], frames: int, gop: int, tile: int | None, preset: str
) -> list[Condition]:
    """Usage errors before any work (and before the weights are loaded)."""
    from gancodec.bench.baselines import FFMPEG_CODECS, low_delay_options

    if frames < 1:
        raise UsageError(f"--frames must be at least 1 (got {frames})")
    if tile is not None and tile < 1:
        raise UsageError(f"--tile must be a positive number of pixels (got {tile})")
    out = []
    for codec, crf in conditions:
        if codec.lower() not in FFMPEG_CODECS:
            raise UsageError(
                f"unknown codec '{codec}' for --enhance (choose from: {', '.join(FFMPEG_CODECS)})"
            )
        low_delay_options(codec.lower(), float(crf), gop, preset)  # raises on a bad --gop
        out.append(Condition(codec.lower(), float(crf)))
    if not out:
        raise UsageError("no conditions to measure")
    return out


def read_clip(path: str, limit: int, name: str) -> Clip:
    from gancodec.io import VideoReader

    with VideoReader(path) as reader:
        frames = list(reader.frames(limit=limit))
        if not frames:
            raise InputError(f"video has no frames ({path})")
        return Clip(
            name, str(Path(path).resolve()), reader.width, reader.height, Fraction(reader.fps), frames
        )


def quality(ref: list[YuvFrame], dist: list[YuvFrame], name: str) -> tuple[dict, dict[str, list]]:
    """(means of every metric plus tPSNR-Y, per-frame PSNR-Y and per-pair tPSNR-Y) of dist vs ref."""
    measured = compare_frames(ref, dist, "original", name)
    tpsnr = temporal_psnr_y(ref, dist)
    means = {m: measured.mean(m) for m in METRICS} | {"tpsnr-y": mean_of(tpsnr)}
    return means, {"psnr-y": measured.per_frame["psnr-y"], "tpsnr-y": tpsnr}


def timed_enhance(net, frames: list[YuvFrame], tile: int | None, device: str) -> tuple[list[YuvFrame], float]:
    from gancodec.enhance.infer import enhance_frames

    start = time.perf_counter()
    out = list(enhance_frames(net, frames, tile=tile, device=device))
    seconds = time.perf_counter() - start
    if len(out) != len(frames):
        raise GancodecError(f"the enhancer returned {len(out)} frames for {len(frames)}")
    return out, seconds


def measure(clip: Clip, condition: Condition, net, settings: dict) -> tuple[EnhanceResult, CropSource]:
    """Encode -> decode -> enhance -> metrics of one clip under one condition."""
    from gancodec.bench.baselines import decode_stream, encode_frames

    stream = encode_frames(
        condition.codec, clip.frames, clip.width, clip.height, clip.fps, condition.crf,
        settings["gop"], settings["preset"],
    )  # fmt: skip
    decoded = list(decode_stream(stream))
    if len(decoded) != len(clip.frames):
        raise GancodecError(f"{condition.label} decoded {len(decoded)} of {len(clip.frames)} frames")
    enhanced, seconds = timed_enhance(net, decoded, settings["tile"], settings["device"])
    dec_means, dec_frames = quality(clip.frames, decoded, f"decoded {condition.label}")
    enh_means, enh_frames = quality(clip.frames, enhanced, f"enhanced {condition.label}")
    result = EnhanceResult(
        sequence=clip.name, codec=condition.codec, crf=condition.crf, frames=len(clip.frames),
        width=clip.width, height=clip.height, bytes=stream.bytes, enhance_seconds=seconds,
        decoded=dec_means, enhanced=enh_means,
        per_frame={k: {"decoded": dec_frames[k], "enhanced": enh_frames[k]} for k in dec_frames},
    )  # fmt: skip
    mid = len(clip.frames) // 2
    return result, CropSource(clip.name, condition, mid, clip.frames[mid], decoded[mid], enhanced[mid])


def _enhancer(net, device: str, weights=None, realism: float = 0.0) -> tuple[object, dict]:
    """The network on `device` in eval mode, and what the report says about it."""
    if net is None:
        from gancodec.enhance.weights import ENHANCER_ID, load_enhancer

        net, sha = load_enhancer(device, str(weights) if weights else None, float(realism))
        source = str(weights) if weights else "shipped weights"
        info = {"id": ENHANCER_ID, "sha256": sha.hex(), "source": source, "realism": realism}
    else:
        info = {"id": type(net).__name__, "sha256": None, "source": "network passed in, no weights file"}
    info["config"] = asdict(net.config)
    return net.to(device).eval(), info


def _check_output(out: Path, overwrite: bool) -> None:
    if out.exists() and not out.is_dir():
        raise UsageError(f"report folder is a file ({out})")
    existing = [out / f for f in REPORT_FILES if (out / f).exists()]
    if existing and not overwrite:
        raise OutputExistsError(f"report exists ({existing[0]}) — use -y to overwrite")


def _measure_clip(report: EnhanceReport, clip: Clip, net, log: Log, tick: Callable[[int, str], None]) -> None:
    """Every condition on one clip; a failing condition is logged and skipped, the others still run."""
    crop_condition = BAR_CONDITION if BAR_CONDITION in report.conditions else report.conditions[0]
    report.videos.append(clip.info())
    s = report.settings
    timed_enhance(net, clip.frames[:1], s["tile"], s["device"])  # untimed warm-up: first-call costs skew fps
    for c, condition in enumerate(report.conditions):
        tick(c, f"{clip.name} {condition.label}")
        try:
            result, crop = measure(clip, condition, net, s)
        except GancodecError as exc:
            report.errors.append(f"{clip.name} {condition.label}: {exc}")
            log(f"gancodec: error: {exc} ({clip.name}, {condition.label}) — skipped")
            continue
        report.results.append(result)
        if condition == crop_condition:
            report.crops.append(crop)


def run_enhance_bench(
    videos: Sequence[str | os.PathLike],
    output_dir: str | os.PathLike,
    conditions: Iterable[tuple[str, float]] = CONDITIONS,
    frames: int = 30,
    gop: int = 32,
    tile: int | None = None,
    net=None,
    device: str = "cpu",
    progress: Progress | None = None,
    log: Log = _stderr,
    preset: str = "medium",
    threads: int | None = None,
    overwrite: bool = False,
    command: str | None = None,
    weights: str | os.PathLike | None = None,
    realism: float = 0.0,
) -> EnhanceReport:
    """Measures the enhancer on every (video, condition) and writes enhance.json, enhance.md, a crop PNG.

    `net`: an EnhanceNet to measure instead of the shipped weights (loaded with load_enhancer, which
    raises ModelError when they are missing). It is moved to `device` and put in eval mode.
    `weights`/`realism`: a weights file instead of the shipped one, and the realism to run it at.
    """
    from gancodec.bench.enhance_report import write_enhance_reports
    from gancodec.models.registry import resolve_device

    start = time.perf_counter()
    conds = check_settings(conditions, frames, gop, tile, preset)
    if not videos:
        raise UsageError("no input videos")
    out = Path(output_dir)
    _check_output(out, overwrite)
    device = resolve_device(device)
    if threads:
        import torch

        torch.set_num_threads(threads)
    net, enhancer = _enhancer(net, device, weights, realism)
    settings = {"frames": frames, "gop": gop, "preset": preset, "tile": tile, "device": device, "threads": threads}  # fmt: skip
    report = EnhanceReport(
        command=command or f"gancodec.bench.enhance.run_enhance_bench({[str(v) for v in videos]!r}, {str(out)!r})",
        machine={}, versions=_versions(), enhancer=enhancer, settings=settings, conditions=conds,
    )  # fmt: skip
    paths = [str(v) for v in videos]
    total = len(paths) * len(conds)
    for v, (path, name) in enumerate(zip(paths, _unique_names(paths))):
        try:
            clip = read_clip(path, frames, name)
        except GancodecError as exc:
            report.errors.append(str(exc))
            log(f"gancodec: error: {exc} — skipped")
            continue

        def tick(c: int, label: str, v: int = v) -> None:
            if progress:
                progress(v * len(conds) + c, total, label)

        _measure_clip(report, clip, net, log, tick)
        del clip  # done with this clip: free its frames before reading the next one
    if progress:
        progress(total, total, "done")
    if not report.videos:
        raise InputError(f"none of the {len(videos)} input video(s) could be read (see above)")
    report.machine = machine_info()  # at the end: the load average covers the run
    report.seconds = time.perf_counter() - start
    report.written = write_enhance_reports(report, out)
    return report

"""Writes an EnhanceReport: enhance.json (every number), enhance.md (tables, the bar) and a crop PNG.

The crop shows one representative sequence (the median ΔPSNR-Y at x265 CRF 37, or at the first
condition when that one was not run): original | decoded | enhanced, the same window of the middle
frame, placed where the codec's luma error is largest (where restoration has something to do),
upscaled 2× with nearest neighbour so single pixels stay visible.
"""

from __future__ import annotations

import json
import os
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from gancodec.bench.enhance_results import CropSource, EnhanceReport, average
from gancodec.bench.report import _fmt, _table, _write_text, preamble
from gancodec.metrics import MS_SSIM_MIN_SIDE, PSNR_CAP, frame_psnr, yuv_to_rgb

CROP_SIZE = 96  # luma pixels per side (smaller frames: the whole frame)
CROP_SCALE = 2
GAP = 4  # white pixels between panels (after scaling)
LABEL_HEIGHT = 14


def notes(report: EnhanceReport) -> list[str]:
    s = report.settings
    gop = "one I-frame" if s["gop"] == -1 else f"GOP {s['gop']}"
    tile = f"tiles of {s['tile']} px (stitched result equals an untiled run)" if s["tile"] else "whole frames"
    return [
        (
            f"Low-delay encodes (no B-frames, {gop}, no scene-cut), x264/x265 preset {s['preset']}; the enhancer "
            f"sees only the decoded frames, {tile}, on {s['device']}."
        ),
        (
            "Δ = enhanced − decoded, both measured against the original frames; averages are means of "
            "per-sequence values; bpp from the coded bytes (sum of packet sizes, no container)."
        ),
        (
            f"PSNR capped at {PSNR_CAP:g} dB, mean of per-frame values. SSIM/MS-SSIM on Y (MS-SSIM n/a when the "
            f"short side is ≤ {MS_SSIM_MIN_SIDE} px); VMAF v0.6.1 via vmaf-torch, n/a when it is not installed."
        ),
        (
            "Temporal PSNR-Y (tPSNR-Y): per pair of consecutive frames, the PSNR between the output's and the "
            "original's frame differences (frame t − frame t−1), mean over pairs; lower = more flicker. "
            "ΔtPSNR-Y < 0 means the enhancer added temporal instability. n/a for one-frame clips."
        ),
        (
            "Enhancer fps: frames / seconds inside enhance_frames (decoded frames already in memory, one "
            "untimed warm-up per sequence). Shared machines vary up to 2× between runs."
        ),
    ]


def enhance_json(report: EnhanceReport) -> dict:
    return {
        "generated": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "command": report.command,
        "machine": report.machine,
        "versions": report.versions,
        "enhancer": report.enhancer,
        "settings": {**report.settings, "conditions": [c._asdict() for c in report.conditions]},
        "videos": report.videos,
        "notes": notes(report),
        "bar": report.bar().to_dict(),
        "conditions": [
            {**c._asdict(), "label": c.label, "average": average(report.for_condition(c))}
            for c in report.conditions
        ],
        "results": [r.to_dict() for r in report.results],
        "seconds": report.seconds,
        "errors": report.errors,
    }


def _delta(value: float | None, spec: str) -> str:
    return "n/a" if value is None else format(value, "+" + spec)


def _row(name: str, decoded: dict, enhanced: dict, delta: dict, bpp, fps) -> list[str]:
    psnr = f"{_fmt(decoded['psnr-y'])} → {_fmt(enhanced['psnr-y'])} ({_delta(delta['psnr-y'], '.2f')})"
    return [
        name, _fmt(bpp, ".4f"), psnr, _delta(delta["ssim"], ".4f"), _delta(delta["ms-ssim"], ".4f"),
        _delta(delta["vmaf"], ".2f"), _delta(delta["tpsnr-y"], ".2f"), _fmt(fps, ".3g"),
    ]  # fmt: skip


def condition_table(report: EnhanceReport, condition) -> list[str]:
    results = report.for_condition(condition)
    if not results:
        return ["", f"### {condition.label}", "", "No sequence measured (see Errors)."]
    header = ["sequence", "bpp", "PSNR-Y decoded → enhanced (Δ)", "ΔSSIM", "ΔMS-SSIM", "ΔVMAF",
              "ΔtPSNR-Y", "enhancer fps"]  # fmt: skip
    rows = [_row(r.sequence, r.decoded, r.enhanced, r.delta, r.bpp, r.enhance_fps) for r in results]
    avg = average(results)
    rows.append(
        _row("**average**", avg["decoded"], avg["enhanced"], avg["delta"], avg["bpp"], avg["enhance_fps"])
    )
    return ["", f"### {condition.label}", "", *_table(header, rows)]


def _header(report: EnhanceReport) -> list[str]:
    e, s = report.enhancer, report.settings
    config = ", ".join(f"{k} {v}" for k, v in e["config"].items())
    sequences = ", ".join(
        f"{v['name']} ({v['width']}x{v['height']}, {v['frames']} frames)" for v in report.videos
    )
    return [
        *preamble("# gancodec enhancement benchmark", report),
        (
            f"- enhancer: {e['id']} ({e['source']}), sha256 {e['sha256'] or 'n/a'}, {config}, "
            f"realism {e.get('realism', 0.0):g}"
        ),
        (
            f"- conditions: {', '.join(c.label for c in report.conditions)}; up to {s['frames']} frames, "
            f"GOP {s['gop']}, preset {s['preset']}, tile {s['tile'] or 'none'}, device {s['device']}"
        ),
        f"- sequences: {sequences}",
    ]


def enhance_md(report: EnhanceReport, crop: tuple[Path, str] | None) -> str:
    lines = _header(report)
    lines += ["", "## Bar", "", f"**{report.bar().text()}**"]
    lines += ["", "## Results per condition (Δ = enhanced − decoded)"]
    for condition in report.conditions:
        lines += condition_table(report, condition)
    if crop:
        lines += ["", "## Crop", "", crop[1], "", f"![{crop[0].stem}]({crop[0].name})"]
    lines += ["", "## Notes", "", *(f"- {n}" for n in notes(report))]
    if report.errors:
        lines += ["", "## Errors (skipped)", "", *(f"- {e}" for e in report.errors)]
    return "\n".join(lines) + "\n"


def representative(report: EnhanceReport) -> CropSource | None:
    """The crop of the sequence with the median ΔPSNR-Y (lower middle for an even count)."""
    if not report.crops:
        return None
    delta = {
        r.sequence: r.delta.get("psnr-y") or 0.0 for r in report.for_condition(report.crops[0].condition)
    }
    ranked = sorted(report.crops, key=lambda c: delta.get(c.sequence, 0.0))
    return ranked[(len(ranked) - 1) // 2]


def worst_window(ref: np.ndarray, dist: np.ndarray, size: int) -> tuple[int, int]:
    """(top, left) of the size x size window with the largest squared error (integral image, vectorized)."""
    err = (ref.astype(np.float64) - dist.astype(np.float64)) ** 2
    integral = np.pad(err.cumsum(0).cumsum(1), ((1, 0), (1, 0)))
    sums = (
        integral[size:, size:] - integral[:-size, size:] - integral[size:, :-size] + integral[:-size, :-size]
    )
    top, left = np.unravel_index(int(np.argmax(sums)), sums.shape)
    return int(top) & ~1, int(left) & ~1  # even: the window starts on a chroma sample


def side_by_side(panels: list[np.ndarray], labels: list[str]):
    """RGB panels (h, w, 3) -> one PIL image: nearest-neighbour upscaled, white gaps, a label above each."""
    from PIL import Image, ImageDraw

    scaled = [p.repeat(CROP_SCALE, 0).repeat(CROP_SCALE, 1) for p in panels]
    h, w = scaled[0].shape[:2]
    canvas = np.full((LABEL_HEIGHT + h, len(scaled) * w + GAP * (len(scaled) - 1), 3), 255, np.uint8)
    for i, panel in enumerate(scaled):
        canvas[LABEL_HEIGHT:, i * (w + GAP) : i * (w + GAP) + w] = panel
    image = Image.fromarray(canvas)
    draw = ImageDraw.Draw(image)
    for i, label in enumerate(labels):
        draw.text((i * (w + GAP) + 2, 1), label, fill=(0, 0, 0))
    return image


def write_crop(report: EnhanceReport, out: Path) -> tuple[Path, str] | None:
    """crop-<seq>.png for the representative sequence; returns (path, caption) or None (nothing measured)."""
    src = representative(report)
    if src is None:
        return None
    size = min(CROP_SIZE, src.original.width, src.original.height)
    top, left = worst_window(src.original.y, src.decoded.y, size)
    window = (slice(top, top + size), slice(left, left + size))
    panels = [yuv_to_rgb(f)[window] for f in (src.original, src.decoded, src.enhanced)]
    dec, enh = frame_psnr(src.original, src.decoded).y, frame_psnr(src.original, src.enhanced).y
    labels = ["original", f"decoded {dec:.2f} dB", f"enhanced {enh:.2f} dB"]
    path = out / f"crop-{src.sequence}.png"
    tmp = path.with_name(f".{path.name}.part")
    side_by_side(panels, labels).save(tmp, format="PNG")
    os.replace(tmp, path)
    caption = (
        f"{src.sequence}, frame {src.index}, {src.condition.label}: original | decoded | enhanced, "
        f"{size}x{size} crop at x={left}, y={top} (largest decoded luma error), RGB (BT.601), "
        f"{CROP_SCALE}× nearest neighbour. Frame PSNR-Y decoded {dec:.2f} dB, enhanced {enh:.2f} dB."
    )
    return path, caption


def write_enhance_reports(report: EnhanceReport, out: Path) -> list[Path]:
    """Writes enhance.json, enhance.md and the crop PNG into `out` (created if needed)."""
    out.mkdir(parents=True, exist_ok=True)
    crop = write_crop(report, out)
    written = [
        _write_text(out / "enhance.json", json.dumps(enhance_json(report), indent=2)),
        _write_text(out / "enhance.md", enhance_md(report, crop)),
    ]
    return written + ([crop[0]] if crop else [])

"""From per-point results to curves: per-sequence curves, sequence-averaged curves, BD tables.

Averaged curves follow CompressAI: for each rate point (same CRF / quality), every quantity is the
mean over the sequences that have that point. MS-SSIM is undefined on small frames (short side
<= 160 px), so it is averaged over the sequences that have it, and the bpp of those same sequences is
kept beside it as "ms-ssim-bpp" -- pairing it with the all-sequence bpp would shift the curve.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from gancodec.bench import bd
from gancodec.bench.codecs import CODECS
from gancodec.bench.results import PointResult
from gancodec.metrics import METRICS

BD_METRICS = ("psnr-y", "psnr-yuv", "ms-ssim")
RESULT_KEYS = ("bpp", "bitrate", *METRICS, "encoding_fps", "decoding_fps")


def _mean(values: Iterable[float | None]) -> float | None:
    defined = [v for v in values if v is not None]
    return float(np.mean(defined)) if defined else None


def by_codec_and_sequence(results: list[PointResult]) -> dict[str, dict[str, list[PointResult]]]:
    """codec -> sequence -> results in rate-point order (codecs and sequences in first-seen order)."""
    out: dict[str, dict[str, list[PointResult]]] = {}
    for r in results:
        out.setdefault(r.codec, {}).setdefault(r.sequence, []).append(r)
    return out


def curve(points: list[PointResult]) -> dict[str, list]:
    """CompressAI `results` dict for one sequence and codec (lists in rate-point order)."""
    out: dict[str, list] = {"bpp": [p.bpp for p in points], "bitrate": [p.bitrate_kbps for p in points]}
    for m in METRICS:
        out[m] = [p.metrics.get(m) for p in points]
    out["encoding_fps"] = [p.encoding_fps for p in points]
    out["decoding_fps"] = [p.decoding_fps for p in points]
    if points:
        out[points[0].param] = [p.point for p in points]
    return out


def average_curve(per_sequence: dict[str, list[PointResult]]) -> dict[str, list]:
    """Mean over sequences, point by point (a point is matched by its CRF / quality value)."""
    order: list[float] = []
    for points in per_sequence.values():
        order += [p.point for p in points if p.point not in order]
    out: dict[str, list] = {k: [] for k in RESULT_KEYS}
    out["ms-ssim-bpp"], out["sequences"] = [], []
    param = next(iter(per_sequence.values()))[0].param
    out[param] = order
    for value in order:
        pts = [p for points in per_sequence.values() for p in points if p.point == value]
        row = curve(pts)
        for k in RESULT_KEYS:
            out[k].append(_mean(row[k]))
        with_ms = [p for p in pts if p.metrics.get("ms-ssim") is not None]
        out["ms-ssim-bpp"].append(_mean(p.bpp for p in with_ms))
        out["sequences"].append(len(pts))
    return out


def describe(codec: str, per_sequence: dict[str, list[PointResult]], frames: int, gop: int) -> str:
    spec = CODECS[codec]
    gop_text = "one I-frame" if gop == -1 else ("all intra" if gop == 1 else f"GOP {gop}")
    return (
        f"{spec.description}. {gop_text}, up to {frames} frames per sequence, averaged over "
        f"{len(per_sequence)} sequence(s) per rate point. bitrate in kbit/s; bpp from the coded bytes."
    )


@dataclass
class BdEntry:
    rate: bd.BdValue  # BD-rate, %
    quality: bd.BdValue  # BD-PSNR (dB) or BD-MS-SSIM


def bd_tables(results: list[PointResult], anchor: str) -> dict[str, dict[str, dict[str, BdEntry]]]:
    """metric -> test codec -> sequence (and "average") -> BdEntry, against `anchor`, rate = bpp."""
    grouped = by_codec_and_sequence(results)
    if anchor not in grouped:
        return {}
    tables: dict[str, dict[str, dict[str, BdEntry]]] = {}
    sequences = list(grouped[anchor])
    for metric in BD_METRICS:
        tables[metric] = {}
        for codec, per_seq in grouped.items():
            if codec == anchor:
                continue
            row: dict[str, BdEntry] = {}
            for seq in sequences:
                a, t = grouped[anchor][seq], per_seq.get(seq, [])
                args = ([p.bpp for p in a], [p.metrics.get(metric) for p in a])
                args += ([p.bpp for p in t], [p.metrics.get(metric) for p in t])
                if metric == "ms-ssim" and all(p.metrics.get(metric) is None for p in a):
                    missing = bd.BdValue(None, "MS-SSIM undefined (short side <= 160 px)")
                    row[seq] = BdEntry(missing, missing)
                    continue
                row[seq] = BdEntry(bd.bd_rate(*args), bd.bd_quality(*args))
            row["average"] = BdEntry(
                bd.average([e.rate for e in row.values()]), bd.average([e.quality for e in row.values()])
            )
            tables[metric][codec] = row
    return tables


def speeds(results: list[PointResult]) -> dict[str, dict[str, tuple[float | None, float | None]]]:
    """codec -> sequence (and "average") -> (mean encoding fps, mean decoding fps) over rate points."""
    out: dict[str, dict[str, tuple[float | None, float | None]]] = {}
    for codec, per_seq in by_codec_and_sequence(results).items():
        row = {
            seq: (_mean(p.encoding_fps for p in pts), _mean(p.decoding_fps for p in pts))
            for seq, pts in per_seq.items()
        }
        row["average"] = (_mean(v[0] for v in row.values()), _mean(v[1] for v in row.values()))
        out[codec] = row
    return out

"""Writes a BenchReport: results.json, results.csv, report.md, PNG plots and CompressAI JSONs.

- results.json: settings, machine, and per codec a CompressAI-shaped `{"name", "description",
  "results": {"bpp": [...], "psnr-y": [...], ...}}` averaged over sequences (`codecs`), the same per
  sequence (`sequences`), BD tables and errors.
- compressai/<codec>.json: exactly CompressAI's shape, one file per codec, so its plotting tool
  (`python -m compressai.utils.plot`) and published curves can be laid beside ours.
- results.csv: tidy, one row per sequence x codec x rate point.
- report.md: what a reader needs to trust the numbers: command, machine, settings, BD tables, speeds.
"""

from __future__ import annotations

import csv
import io
import json
import os
from datetime import datetime, timezone
from pathlib import Path

from gancodec.bench import summary
from gancodec.bench.codecs import CODECS
from gancodec.bench.plots import METRIC_LABELS, rd_plot
from gancodec.metrics import MS_SSIM_MIN_SIDE, PSNR_CAP

REPORT_FILES = ("results.json", "results.csv", "report.md")
PLOT_METRICS = ("psnr-y", "psnr-yuv", "ms-ssim", "vmaf")
TABLE_METRICS = ("psnr-y", "psnr-yuv", "psnr-rgb", "ssim", "ms-ssim", "vmaf")


def _write_text(path: Path, text: str) -> Path:
    tmp = path.with_name(f".{path.name}.part")
    tmp.write_text(text)
    os.replace(tmp, path)
    return path


def _label(codec: str) -> str:
    return CODECS[codec].label


def notes(report) -> list[str]:
    c = report.config
    gop = "one I-frame" if c.gop == -1 else f"GOP {c.gop}"
    out = [
        (
            f"Every codec codes low delay with {gop}: gancodec I- and P-frames (block motion + the learned "
            "residual), the ffmpeg codecs without B-frames and without scene-cut detection."
        ),
        (
            "bpp and bitrate come from the coded bytes: the sum of packet sizes for ffmpeg codecs "
            "(no container), the .gcv file size for gancodec (its header and frame index included)."
        ),
        (
            f"PSNR is capped at {PSNR_CAP:g} dB; a sequence's value is the mean of per-frame values. "
            "PSNR-YUV = (6·Y + U + V) / 8 of per-plane PSNRs. PSNR-RGB: BT.601 limited-range matrix "
            "(numpy), chroma upsampled by replication, 8-bit rounding."
        ),
        (
            "SSIM-Y: scikit-image, Gaussian window σ=1.5, population covariance, data_range 255. "
            "MS-SSIM-Y: pytorch-msssim, data_range 255; undefined (n/a) when the short side is "
            f"≤ {MS_SSIM_MIN_SIDE} px. VMAF: vmaf_v0.6.1 via vmaf-torch (no libvmaf needed), clipped to "
            "[0, 100], n/a when vmaf-torch is not installed."
        ),
        (
            "BD-rate / BD-PSNR: `bjontegaard` package, PCHIP, rate = bpp; negative BD-rate = fewer bits "
            "than the anchor. Averages are means of per-sequence values. (!) marks a value with a caveat "
            "listed below its table."
        ),
        (
            "Speeds: ffmpeg encode fps counts time inside the encoder only; gancodec encode fps is "
            "encode_file's own timing (source reading and entropy coding included, model loading excluded); "
            "decode fps likewise. Timings on shared machines vary up to 2× between runs; compare ratios "
            "within one run."
        ),
    ]
    if any(r.cached for r in report.results):
        out.append(
            "Some points were reused from REPORT_DIR/cache; their speeds come from the run that made them."
        )
    return out


def _bd_json(report) -> dict:
    def entry(e: summary.BdEntry) -> dict:
        return {
            "bd_rate": e.rate.value,
            "bd_rate_note": e.rate.note,
            "bd_quality": e.quality.value,
            "bd_quality_note": e.quality.note,
        }

    tables = summary.bd_tables(report.results, report.config.anchor)
    return {
        metric: {codec: {seq: entry(e) for seq, e in row.items()} for codec, row in table.items()}
        for metric, table in tables.items()
    }


def results_json(report) -> dict:
    c = report.config
    grouped = summary.by_codec_and_sequence(report.results)
    codecs = [
        {
            "name": _label(codec),
            "codec": codec,
            "description": summary.describe(codec, per_seq, c.frames, c.gop),
            "results": summary.average_curve(per_seq),
        }
        for codec, per_seq in grouped.items()
    ]
    sequences: dict[str, list] = {}
    for codec, per_seq in grouped.items():
        for seq, points in per_seq.items():
            sequences.setdefault(seq, []).append(
                {
                    "name": _label(codec),
                    "codec": codec,
                    "description": CODECS[codec].description,
                    "options": points[0].options,
                    "results": summary.curve(points),
                }
            )
    videos = [
        {
            "name": v.name,
            "path": v.path,
            "width": v.width,
            "height": v.height,
            "fps": float(v.fps),
            "frames": v.frames,
        }
        for v in report.videos
    ]
    settings = {
        "frames": c.frames,
        "gop": c.gop,
        "preset": c.preset,
        "anchor": c.anchor,
        "codecs": c.codecs,
        "points": {s: list(c.points_for(CODECS[s])) for s in c.codecs},
    }
    return {
        "generated": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "command": report.command,
        "machine": report.machine,
        "versions": report.versions,
        "settings": settings,
        "videos": videos,
        "notes": notes(report),
        "codecs": codecs,
        "sequences": sequences,
        "bd": {"anchor": c.anchor, "method": "pchip", "rate": "bpp", "metrics": _bd_json(report)},
        "errors": report.errors,
    }


def results_csv(report) -> str:
    rows = [r.row() for r in report.results]
    buf = io.StringIO()
    if rows:
        writer = csv.DictWriter(buf, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    return buf.getvalue()


def _fmt(value: float | None, spec: str = ".2f") -> str:
    return "n/a" if value is None else format(value, spec)


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    return lines + ["| " + " | ".join(row) + " |" for row in rows]


def _bd_section(report, tables: dict, kind: str) -> list[str]:
    c = report.config
    lines: list[str] = []
    for metric in summary.BD_METRICS:
        table = tables.get(metric, {})
        if not table:
            continue
        unit = {"rate": " %"}.get(kind, " dB" if metric.startswith("psnr") else "")
        name = "BD-rate" if kind == "rate" else ("BD-PSNR" if metric.startswith("psnr") else "BD-MS-SSIM")
        lines += ["", f"### {name} on {METRIC_LABELS[metric]} vs {_label(c.anchor)}", ""]
        codecs = list(table)
        seqs = list(next(iter(table.values())))
        rows, footnotes = [], []
        for seq in seqs:
            row = [f"**{seq}**" if seq == "average" else seq]
            for codec in codecs:
                value = getattr(table[codec][seq], kind)
                row.append(value.format(4 if metric == "ms-ssim" and kind != "rate" else 2, unit))
                if value.note:
                    footnotes.append(f"- {seq}, {_label(codec)}: {value.note}")
            rows.append(row)
        lines += _table(["sequence", *(_label(k) for k in codecs)], rows)
        if footnotes:
            lines += ["", *footnotes]
    return lines


def _header(report) -> list[str]:
    c = report.config
    points = "; ".join(
        f"{_label(s)} {CODECS[s].param} " + ",".join(f"{p:g}" for p in c.points_for(CODECS[s]))
        for s in c.codecs
    )
    sequences = ", ".join(f"{v.name} ({v.width}x{v.height}, {v.frames} frames)" for v in report.videos)
    return [
        *preamble("# gancodec rate–distortion benchmark", report),
        (
            f"- frames per sequence: up to {c.frames}; GOP {c.gop}; x264/x265 preset {c.preset}; "
            f"SVT-AV1 preset 8; anchor {_label(c.anchor)}"
        ),
        f"- sequences: {sequences}",
        f"- rate points: {points}",
        "",
        "## Notes",
        "",
        *(f"- {n}" for n in notes(report)),
    ]


def _average_rows(report) -> list[list[str]]:
    rows = []
    for codec, per_seq in summary.by_codec_and_sequence(report.results).items():
        avg = summary.average_curve(per_seq)
        param = CODECS[codec].param
        for i, point in enumerate(avg[param]):
            metrics = [_fmt(avg[k][i], ".4f" if "ssim" in k else ".2f") for k in TABLE_METRICS]
            rows.append([_label(codec), f"{param} {point:g}", _fmt(avg["bpp"][i], ".4f"),
                         _fmt(avg["bitrate"][i], ".1f"), *metrics])  # fmt: skip
    return rows


def preamble(title: str, report) -> list[str]:
    """Title, time, command line, machine and versions: the head of every benchmark report."""
    m = report.machine
    return [
        title,
        "",
        f"Generated {datetime.now(timezone.utc).isoformat(timespec='seconds')} in {report.seconds:.0f} s.",
        "",
        "```",
        report.command,
        "```",
        "",
        (
            f"- machine: {m.get('platform')}, {m.get('processor')}, {m.get('cpu_count')} CPUs, "
            f"load average {m.get('load_average_1min', 'n/a')} at the end, Python {m.get('python')}"
        ),
        "- versions: " + ", ".join(f"{k} {v}" for k, v in report.versions.items()),
    ]


def report_md(report, plots: list[Path]) -> str:
    c = report.config
    lines = _header(report)
    tables = summary.bd_tables(report.results, c.anchor)
    lines += ["", f"## BD-rate vs {_label(c.anchor)} (negative = fewer bits at equal quality)"]
    if tables:
        lines += _bd_section(report, tables, "rate")
        lines += ["", f"## BD-quality vs {_label(c.anchor)} (positive = better quality at equal rate)"]
        lines += _bd_section(report, tables, "quality")
    else:
        lines += ["", f"Not computed: the anchor {c.anchor} has no results."]
    lines += ["", "## Average rate–distortion points (mean over sequences)", ""]
    header = ["codec", "point", "bpp", "kbit/s", "PSNR-Y", "PSNR-YUV", "PSNR-RGB", "SSIM", "MS-SSIM", "VMAF"]
    lines += _table(header, _average_rows(report))
    lines += ["", "## Speed (frames per second, mean over rate points)", ""]
    speed_rows = [
        [_label(codec), seq, _fmt(enc, ".1f"), _fmt(dec, ".1f")]
        for codec, row in summary.speeds(report.results).items()
        for seq, (enc, dec) in row.items()
    ]
    lines += _table(["codec", "sequence", "encode fps", "decode fps"], speed_rows)
    if plots:
        lines += ["", "## Plots", ""] + [f"![{p.stem}]({p.name})" for p in plots]
    if report.errors:
        lines += ["", "## Errors (skipped)", "", *(f"- {e}" for e in report.errors)]
    return "\n".join(lines) + "\n"


def write_plots(report, out: Path) -> list[Path]:
    grouped = summary.by_codec_and_sequence(report.results)
    c = report.config
    gop = "one I-frame" if c.gop == -1 else f"GOP {c.gop}"
    subtitle = f"{len(report.videos)} sequence(s), up to {c.frames} frames, {gop}"
    written = []
    averaged = {codec: summary.average_curve(per_seq) for codec, per_seq in grouped.items()}
    for metric in PLOT_METRICS:
        bpp_key = "ms-ssim-bpp" if metric == "ms-ssim" else "bpp"
        curves = {_label(k): (avg[bpp_key], avg[metric]) for k, avg in averaged.items()}
        title = f"{METRIC_LABELS[metric]} vs bpp, mean over sequences"
        if (p := rd_plot(curves, metric, title, out / f"rd-{metric}.png", subtitle)) is not None:
            written.append(p)
    for video in report.videos:
        curves = {}
        for codec, per_seq in grouped.items():
            pts = per_seq.get(video.name, [])
            curves[_label(codec)] = ([p.bpp for p in pts], [p.metrics.get("psnr-y") for p in pts])
        title = f"{video.name} ({video.width}x{video.height}, {video.frames} frames): PSNR-Y vs bpp"
        if (p := rd_plot(curves, "psnr-y", title, out / f"rd-psnr-y-{video.name}.png", subtitle)) is not None:
            written.append(p)
    return written


def write_compressai(report, out: Path) -> list[Path]:
    folder = out / "compressai"
    folder.mkdir(exist_ok=True)
    written = []
    for entry in results_json(report)["codecs"]:
        data = {k: entry[k] for k in ("name", "description", "results")}
        written.append(_write_text(folder / f"{entry['codec']}.json", json.dumps(data, indent=2)))
    return written


def write_reports(report, out: Path) -> list[Path]:
    """Writes every report file into `out` (created if needed); returns the paths written."""
    out.mkdir(parents=True, exist_ok=True)
    plots = write_plots(report, out)
    written = [
        _write_text(out / "results.json", json.dumps(results_json(report), indent=2)),
        _write_text(out / "results.csv", results_csv(report)),
        _write_text(out / "report.md", report_md(report, plots)),
    ]
    return written + write_compressai(report, out) + plots

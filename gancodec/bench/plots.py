"""Rate-distortion plots (PNG). Uses matplotlib's object API with the Agg canvas, so importing
this never switches the caller's pyplot backend and works without a display."""

from __future__ import annotations

from pathlib import Path

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

METRIC_LABELS = {
    "psnr-y": "PSNR-Y (dB)",
    "psnr-yuv": "PSNR-YUV 6:1:1 (dB)",
    "psnr-rgb": "PSNR-RGB (dB)",
    "ssim": "SSIM-Y",
    "ms-ssim": "MS-SSIM-Y",
    "vmaf": "VMAF (v0.6.1)",
}
MARKERS = "osD^v<>ph*"


def rd_plot(
    curves: dict[str, tuple[list[float], list[float | None]]],
    metric: str,
    title: str,
    path: Path,
    subtitle: str = "",
) -> Path | None:
    """One line per codec (points sorted by bpp); codecs without a defined value are left out.

    Returns the written path, or None when no codec has any point (nothing worth a picture)."""
    fig = Figure(figsize=(7.0, 5.0), dpi=110)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    drawn = 0
    for i, (label, (bpp, values)) in enumerate(curves.items()):
        pts = sorted((b, v) for b, v in zip(bpp, values) if b is not None and v is not None)
        if not pts:
            continue
        ax.plot([p[0] for p in pts], [p[1] for p in pts], marker=MARKERS[i % len(MARKERS)], label=label)
        drawn += 1
    if not drawn:
        return None
    ax.set_xlabel("bits per pixel (bpp)")
    ax.set_ylabel(METRIC_LABELS.get(metric, metric))
    ax.set_title(title + (f"\n{subtitle}" if subtitle else ""), fontsize=11)
    ax.grid(True, alpha=0.3)
    ax.legend(loc="best")
    fig.tight_layout()
    fig.savefig(path)
    return path

"""`gancodec info`: describe a .gcv file from its container alone (no torch, no decoding)."""

from __future__ import annotations

import os

from gancodec.bitstream import RECORD_NAMES, GcvReader
from gancodec.fileio import open_gcv


def describe(path: str | os.PathLike) -> dict:
    with open_gcv(path) as f:
        reader = GcvReader(f)
        h = reader.header
        frames = [
            {"frame": r.frame_number, "type": RECORD_NAMES.get(r.type, str(r.type)), "bytes": r.payload_bytes,
             "offset": r.offset, "quality": r.quality}
            for r in reader.frames()
        ]  # fmt: skip
        size = reader.size
    fps = float(h.fps)
    duration = len(frames) / fps
    return {
        "file": str(path),
        "format_version": f"{h.version[0]}.{h.version[1]}",
        "width": h.width,
        "height": h.height,
        "pix_fmt": "yuv420p",
        "fps": f"{h.fps.numerator}/{h.fps.denominator}",
        "frame_count": h.frame_count,
        "gop": h.gop,
        "quality": h.quality,
        "model_id": h.model_id,
        "weights_sha256": h.weights_sha256.hex(),
        "entropy_coder": h.coder_id,
        "metadata": h.metadata,
        "file_bytes": size,
        "duration_s": duration,
        "kbps": size * 8 / duration / 1000 if duration else 0.0,
        "bpp": size * 8 / (len(frames) * h.width * h.height) if frames else 0.0,
        "frames": frames,
    }


def format_description(d: dict) -> str:
    lines = [
        f"{d['file']}: gancodec stream, format {d['format_version']}",
        (
            f"  video     {d['width']}x{d['height']} {d['pix_fmt']} @ {d['fps']} fps, {d['frame_count']} frames"
            f" ({d['duration_s']:.2f} s), gop {d['gop']}"
        ),
        f"  model     {d['model_id']} (weights sha256 {d['weights_sha256'][:16]}…), coder {d['entropy_coder']}",
        _quality_line(d),
        f"  size      {d['file_bytes']} bytes, {d['kbps']:.1f} kbit/s, {d['bpp']:.4f} bpp",
    ]
    qualities = {fr["quality"] for fr in d["frames"]}
    if len(qualities) > 1:  # rate control or boosted I-frames: each frame's own
        lines.append("  frame  type   bytes  quality")
        lines += [f"  {fr['frame']:5d}  {fr['type']:>4}  {fr['bytes']:6d}  {fr['quality']:7g}" for fr in d["frames"]]
    else:
        lines.append("  frame  type   bytes")
        lines += [f"  {fr['frame']:5d}  {fr['type']:>4}  {fr['bytes']:6d}" for fr in d["frames"]]
    return "\n".join(lines)


def _quality_line(d: dict) -> str:
    """The header's quality, or the range of per-frame ones under rate control; plus the I-frames'
    boost and the P-frames' offsets (models/inter.py) where the stream has them."""
    rate_control = d["metadata"].get("rate_control")
    boost = d["metadata"].get("intra_boost")
    offsets = d["metadata"].get("p_offsets")
    notes = [f"I-frames +{boost}, at most 8"] if boost and float(boost) > 0 else []
    if offsets:
        notes.append(f"P-frames {offsets} cyclically")
    if rate_control and d["frames"]:
        qualities = [fr["quality"] for fr in d["frames"]]
        return f"  quality   {min(qualities):g}..{max(qualities):g} per frame ({'; '.join([rate_control, *notes])})"
    return f"  quality   {d['quality']:g}" + (f" ({'; '.join(notes)})" if notes else "")

"""Do "Pq" P-frames (quarter-pel vectors, HEVC's sharp filters; format 3.0) pay, chosen per frame by
the closer prediction, against half-pel bilinear P-frames only (format 2.0's)?

Codes each clip at GOP 32 with VideoCoder directly (default --intra-boost and --p-offsets), at
qualities 2 / 4 / 6 / 8, with and without sharp_motion; prints bpp / PSNR-Y per point, how many
P-frames came out "Pq", and the BD-rate on PSNR-Y of the choice against half-pel only. Payload
bytes only (no container), so both runs count the same. A probe, not a full benchmark.

    .venv/bin/python benchmarks/p_interpolation_probe.py --frames 12 \\
        ../shared/data/eval/*.mkv ../shared/data/train/{foreman_352x288_30,bikes_640x272_25,akiyo_352x288_30}.mkv
"""

from __future__ import annotations

import argparse
import warnings

import numpy as np
import torch

QUALITIES = (2.0, 4.0, 6.0, 8.0)


def rd_points(model, frames, width: int, height: int, sharp: bool) -> tuple[list[tuple[float, float]], int, int]:
    """((bpp, mean PSNR-Y) per quality, P-frames coded "Pq", P-frames in all)."""
    from gancodec.metrics import frame_psnr
    from gancodec.models.inter import (
        DEFAULT_INTRA_BOOST,
        DEFAULT_P_OFFSETS,
        FRAME_TYPE_I,
        FRAME_TYPE_PQ,
        VideoCoder,
    )

    points, sharp_frames, p_frames = [], 0, 0
    for quality in QUALITIES:
        coder = VideoCoder(
            model, width, height, gop=32, intra_boost=DEFAULT_INTRA_BOOST, p_offsets=DEFAULT_P_OFFSETS,
            sharp_motion=sharp,
        )  # fmt: skip
        bits, psnrs = 0, []
        for index, frame in enumerate(frames):
            coded = coder.encode(frame, index, quality)
            bits += 8 * sum(len(s) for s in coded.streams)
            psnrs.append(frame_psnr(frame, coder.reference).y)
            p_frames += coded.kind != FRAME_TYPE_I
            sharp_frames += coded.kind == FRAME_TYPE_PQ
        points.append((bits / (len(frames) * width * height), float(np.mean(psnrs))))
    return points, sharp_frames, p_frames


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("clips", nargs="+")
    parser.add_argument("--frames", type=int, default=12)
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    torch.set_num_threads(1)

    from gancodec.bench.bd import bd_rate
    from gancodec.io import VideoReader
    from gancodec.models.registry import DEFAULT_MODEL, load_model

    model = load_model(DEFAULT_MODEL, "cpu")[0]
    for path in args.clips:
        with VideoReader(path) as reader:
            frames, width, height = list(reader.frames(limit=args.frames)), reader.width, reader.height
        half, _, _ = rd_points(model, frames, width, height, sharp=False)
        both, sharp_frames, p_frames = rd_points(model, frames, width, height, sharp=True)
        bd = bd_rate(*zip(*half), *zip(*both))
        fmt = lambda pts: " ".join(f"{bpp:.4f}/{psnr:.2f}" for bpp, psnr in pts)
        result = f"{bd.value:+.2f} %" if bd.value is not None else f"n/a ({bd.note})"
        print(f"{path.split('/')[-1]}: half-pel only {fmt(half)} | with Pq {fmt(both)} "
              f"({sharp_frames}/{p_frames} P-frames Pq) | BD-rate {result}", flush=True)  # fmt: skip


if __name__ == "__main__":
    main()

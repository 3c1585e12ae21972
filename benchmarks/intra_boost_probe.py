"""How much does boosting the I-frames' quality help P-frame video? (models/inter.py, --intra-boost)

Codes the eval clips at GOP 32 with VideoCoder directly, once per boost, at four qualities, and prints
bpp / PSNR-Y per point and the BD-rate on PSNR-Y of each boost against the first one given. A probe,
not a full benchmark: sintel is cut to its first 10 frames to keep it to minutes on 2 cores.

    .venv/bin/python benchmarks/intra_boost_probe.py --boosts 0,1,1.5,2
"""

from __future__ import annotations

import argparse
import warnings

import numpy as np
import torch

CLIPS = {
    "cars": ("../shared/data/eval/cars_320x240_30.mkv", 30),
    "walk": ("../shared/data/eval/walk_176x144_30.mkv", 30),
    "sintel": ("../shared/data/eval/sintel-raftdemo_1024x436_24.mkv", 10),
}
QUALITIES = (1.5, 3.0, 4.5, 6.0)


def rd_points(
    model, frames, width: int, height: int, boost: float, p_offsets: tuple[float, ...] = ()
) -> list[tuple[float, float]]:
    """(bpp, mean PSNR-Y) at each of QUALITIES, GOP 32, I-frames `boost` higher, P-frames `p_offsets`."""
    from gancodec.metrics import frame_psnr
    from gancodec.models.inter import VideoCoder

    points = []
    for quality in QUALITIES:
        coder = VideoCoder(model, width, height, gop=32, intra_boost=boost, p_offsets=p_offsets)
        bits, psnrs = 0, []
        for index, frame in enumerate(frames):
            coded = coder.encode(frame, index, quality)
            bits += 8 * sum(len(s) for s in coded.streams)
            psnrs.append(frame_psnr(frame, coder.reference).y)
        points.append((bits / (len(frames) * width * height), float(np.mean(psnrs))))
    return points


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--boosts", default="0,1.5", help="comma-separated; the first is the anchor")
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    torch.set_num_threads(1)

    from gancodec.bench.bd import bd_rate
    from gancodec.io import VideoReader
    from gancodec.models.registry import DEFAULT_MODEL, load_model

    model = load_model(DEFAULT_MODEL, "cpu")[0]
    boosts = [float(b) for b in args.boosts.split(",")]
    for clip, (path, count) in CLIPS.items():
        with VideoReader(path) as reader:
            frames, width, height = list(reader.frames(limit=count)), reader.width, reader.height
        curves = {b: rd_points(model, frames, width, height, b) for b in boosts}
        for b, pts in curves.items():
            line = " ".join(f"{bpp:.4f}/{psnr:.2f}" for bpp, psnr in pts)
            if b != boosts[0]:
                anchor = curves[boosts[0]]
                bd = bd_rate(*zip(*anchor), *zip(*pts))
                line += f"  BD-rate {bd.value:+.2f} %" if bd.value is not None else f"  BD-rate n/a ({bd.note})"
            print(f"{clip} boost {b:g}: {line}", flush=True)


if __name__ == "__main__":
    main()

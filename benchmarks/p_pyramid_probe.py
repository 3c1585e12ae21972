"""Do P-frames gain from a quality pattern, like HM's low-delay configuration (every 4th P-frame coded
better, as the others predict from it), over one quality for all of them?

Codes the eval clips at GOP 32 with VideoCoder directly (I-frames boosted by the default
--intra-boost), once per pattern, at four qualities; pattern "a,b,c,d" is VideoCoder's p_offsets: a
is added to the 1st P-frame after an I-frame, b to the 2nd, ... cyclically (kept within [1, 8]).
Prints bpp / PSNR-Y per point and the BD-rate on PSNR-Y of each pattern against the first. A probe, not a full benchmark:
sintel is cut to its first 10 frames.

    PYTHONPATH=benchmarks .venv/bin/python benchmarks/p_pyramid_probe.py --patterns "0;0,0,0,0.75;-0.5,0,-0.5,0.5"
"""

from __future__ import annotations

import argparse
import warnings

import torch
from intra_boost_probe import CLIPS, rd_points


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patterns", default="0;0,0,0,0.75", help="';'-separated; the first is the anchor")
    parser.add_argument("--video", action="append", default=[],
                        help="PATH:FRAMES to code instead of the eval clips (repeatable)")  # fmt: skip
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    torch.set_num_threads(1)

    from gancodec.bench.bd import bd_rate
    from gancodec.io import VideoReader
    from gancodec.models.inter import DEFAULT_INTRA_BOOST
    from gancodec.models.registry import DEFAULT_MODEL, load_model

    model = load_model(DEFAULT_MODEL, "cpu")[0]
    patterns = [[float(v) for v in p.split(",")] for p in args.patterns.split(";")]
    clips = dict(CLIPS)
    if args.video:
        clips = {v.rsplit(":", 1)[0].split("/")[-1]: (v.rsplit(":", 1)[0], int(v.rsplit(":", 1)[1])) for v in args.video}
    for clip, (path, count) in clips.items():
        with VideoReader(path) as reader:
            frames, width, height = list(reader.frames(limit=count)), reader.width, reader.height
        curves = [rd_points(model, frames, width, height, DEFAULT_INTRA_BOOST, tuple(p)) for p in patterns]
        for pattern, pts in zip(patterns, curves):
            line = " ".join(f"{bpp:.4f}/{psnr:.2f}" for bpp, psnr in pts)
            if pts is not curves[0]:
                bd = bd_rate(*zip(*curves[0]), *zip(*pts))
                line += f"  BD-rate {bd.value:+.2f} %" if bd.value is not None else f"  BD-rate n/a ({bd.note})"
            print(f"{clip} pattern {','.join(f'{v:g}' for v in pattern)}: {line}", flush=True)


if __name__ == "__main__":
    main()

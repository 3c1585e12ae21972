"""Where the intra codec's quality is lost: the transforms or the quantization?

For each quality, PSNR-Y of three reconstructions of the same frames:
  unquantized  g_s(g_a(x))                 -- the autoencoder's ceiling, no rate limit at all
  rounded      g_s(round(g_a(x)))          -- plus plain rounding (no means: a close lower bound)
  coded        the real encode/decode path  -- what a .gcv gives (bits too)
If "coded" sits near "unquantized" at high quality, more bits cannot help: the transforms must
learn more detail (training, capacity), which is what flattens the high end of the RD curve.

    .venv/bin/python benchmarks/intra_ceiling.py ../shared/data/eval/*.mkv -o benchmarks/results/intra/ceiling.json
"""

from __future__ import annotations

import argparse
import json
import warnings
from pathlib import Path

import torch


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("videos", nargs="+", type=Path)
    parser.add_argument("--frames", type=int, default=3, help="first N frames of each video")
    parser.add_argument("--qualities", default="1,4,8")
    parser.add_argument("-o", "--output", type=Path, default=None)
    args = parser.parse_args()
    warnings.filterwarnings("ignore")

    from gancodec.io import VideoReader
    from gancodec.metrics import frame_psnr
    from gancodec.models.registry import DEFAULT_MODEL, load_model
    from gancodec.models.yuv import pack, unpack

    model = load_model(DEFAULT_MODEL, "cpu")[0]
    multiple = model.config.latent_stride  # frames are padded to a multiple of it (format 2.x)
    report = {"model": DEFAULT_MODEL, "frames_per_video": args.frames, "videos": {}}
    for path in args.videos:
        with VideoReader(path) as reader:
            frames = list(reader.frames(limit=args.frames))
        rows = {}
        for q in (float(v) for v in args.qualities.split(",")):
            quality = torch.tensor([q])
            sums = {"unquantized": 0.0, "rounded": 0.0, "coded": 0.0, "bpp": 0.0}
            for frame in frames:
                x = pack(frame, multiple)
                with torch.no_grad():
                    y = model.g_a(x - 0.5) * model.gain(quality)
                    for name, latent in (("unquantized", y), ("rounded", torch.round(y))):
                        x_hat = model.g_s(latent * model.inv_gain(quality)) + 0.5
                        sums[name] += frame_psnr(frame, unpack(x_hat, frame.width, frame.height)).y
                    streams, z_shape = model.compress(x, q)
                    y_shape = (x.shape[-2] // 8, x.shape[-1] // 8)
                    decoded = unpack(model.decompress(streams, z_shape, q, y_shape), frame.width, frame.height)
                sums["coded"] += frame_psnr(frame, decoded).y
                sums["bpp"] += 8 * sum(len(s) for s in streams) / (frame.width * frame.height)
            rows[f"{q:g}"] = {k: round(v / len(frames), 3) for k, v in sums.items()}
            print(path.stem, f"q{q:g}", rows[f"{q:g}"], flush=True)
        report["videos"][path.stem] = rows
    if args.output:
        args.output.write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()

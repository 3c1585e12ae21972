"""Each gancodec rate point against the anchor codec at the same rate, per sequence.

BD-rate and BD-PSNR average over the overlapping range and hide where a codec wins or loses; this
prints, for every gancodec point of a `gancodec bench` report, the anchor's PSNR-Y at that bpp
(interpolated linearly in log-rate between the anchor's two neighbouring points; points outside the
anchor's range are skipped) and the difference -- the per-point numbers quoted in the README.

    .venv/bin/python benchmarks/points_vs_anchor.py benchmarks/results/intra/results.json [--anchor x264]
"""

from __future__ import annotations

import argparse
import itertools
import json
import math


def anchor_psnr_at(bpp: float, rates: list[float], psnrs: list[float]) -> float | None:
    points = sorted(zip(rates, psnrs))
    for (r0, p0), (r1, p1) in itertools.pairwise(points):
        if r0 <= bpp <= r1:
            t = (math.log(bpp) - math.log(r0)) / (math.log(r1) - math.log(r0))
            return p0 + t * (p1 - p0)
    return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("report", help="results.json of gancodec bench")
    parser.add_argument("--anchor", default="x264")
    parser.add_argument("--codec", default="gancodec")
    parser.add_argument("--metric", default="psnr-y")
    args = parser.parse_args()
    with open(args.report) as f:
        report = json.load(f)
    for sequence, entries in report["sequences"].items():
        by_name = {e["name"]: e for e in entries}
        ours, anchor = by_name[args.codec]["results"], by_name[args.anchor]["results"]
        cells = []
        for bpp, psnr in zip(ours["bpp"], ours[args.metric]):
            reference = anchor_psnr_at(bpp, anchor["bpp"], anchor[args.metric])
            if reference is not None:
                cells.append(f"{psnr - reference:+.2f} dB @{bpp:.3f}")
        print(f"{sequence}: " + ", ".join(cells))


if __name__ == "__main__":
    main()

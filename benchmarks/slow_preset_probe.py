"""Quick probe of `--preset slow` against the default `fast`: the first frames of each eval clip at a
few qualities, bits and PSNR-Y of both (a full benchmark is benchmarks/run_intra_slow_bench.sh).

    .venv/bin/python benchmarks/slow_preset_probe.py [--frames 2] [--qualities 2,5,7,8]
"""

from __future__ import annotations

import argparse
import glob
import tempfile
import warnings
from pathlib import Path

from gancodec.api import encode_file


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=2)
    parser.add_argument("--qualities", default="2,5,7,8")
    parser.add_argument("clips", nargs="*", default=sorted(glob.glob("../shared/data/eval/*.mkv")))
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    with tempfile.TemporaryDirectory() as tmp:
        for clip in args.clips:
            for q in (float(v) for v in args.qualities.split(",")):
                fast, slow = (
                    encode_file(clip, Path(tmp) / f"{p}.gcv", quality=q, frames=args.frames, overwrite=True,
                                measure_psnr=True, preset=p)
                    for p in ("fast", "slow")
                )  # fmt: skip
                print(
                    f"{Path(clip).stem} q {q:g}: fast {fast.bpp:.4f} bpp {fast.psnr_y:.2f} dB | slow {slow.bpp:.4f} "
                    f"bpp {slow.psnr_y:.2f} dB | bits {100 * (slow.bpp / fast.bpp - 1):+.1f} % "
                    f"PSNR-Y {slow.psnr_y - fast.psnr_y:+.2f} dB",
                    flush=True,
                )


if __name__ == "__main__":
    main()

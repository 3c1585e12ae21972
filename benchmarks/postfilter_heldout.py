"""The restoration stage's gain on held-out own-codec windows, by coding quality.

The windows are an `export-pairs` pool that no run trained on, e.g.

    gancodec export-pairs gancodec/train/configs/postfilter.toml -o runs/postfilter-pairs-val-s20 \
        --windows 2 --size 256 --seed 20
    python benchmarks/postfilter_heldout.py runs/postfilter-pairs-val-s20 W1.safetensors [W2 ...]

For each weights file: mean PSNR-Y gain of the fidelity network's restored middle frame over the decoded one,
per quality bucket. The pool comes from the training sources, so it measures new codings of known content,
not new content (see benchmarks/results/experiments/README.md, session 21).
"""

from __future__ import annotations

import glob
import os
import sys

import numpy as np
import torch

from gancodec.enhance.net import EnhanceNet
from gancodec.enhance.weights import load_enhancer
from gancodec.models.yuv import pack_planes, unpack
from gancodec.train.enhance_task import QUALITY_KEY, _load_window_arrays, with_quality_planes

EDGES = (1.0, 3.0, 5.0, 6.5, 8.01)
MULTIPLE = 32  # luma; the coarse branch needs whole 8x8 cells of the packed planes


def load_windows(folder: str) -> list[dict[str, np.ndarray]]:
    """Every window of the pool, cropped to a multiple of MULTIPLE luma pixels."""
    windows = []
    for path in sorted(glob.glob(os.path.join(folder, "*.npz"))):
        arrays = _load_window_arrays(path)
        for row in range(len(arrays["org_y"])):
            window = {k: v[row] for k, v in arrays.items()}
            h, w = (n // MULTIPLE * MULTIPLE for n in window["org_y"].shape[-2:])
            for key in window:
                if key != QUALITY_KEY:
                    div = 1 if key.endswith("y") else 2
                    window[key] = window[key][..., : h // div, : w // div]
            windows.append(window)
    return windows


def psnr(reference: np.ndarray, test: np.ndarray) -> float:
    mse = np.mean((reference.astype(np.float64) - test) ** 2)
    return float(10 * np.log10(255.0**2 / max(mse, 1e-10)))


def restored_luma(net: EnhanceNet, window: dict[str, np.ndarray]) -> np.ndarray:
    y = torch.from_numpy(window["dec_y"]).float()[:, None] / 255
    uv = torch.stack([torch.from_numpy(window["dec_u"]), torch.from_numpy(window["dec_v"])], 1).float() / 255
    x = with_quality_planes(pack_planes(y, uv)[None], torch.from_numpy(window[QUALITY_KEY]).float()[None])
    height, width = window["org_y"].shape
    return unpack(net(x), width, height).y


def gains_by_quality(weights: str, windows: list[dict[str, np.ndarray]]) -> list[list[float]]:
    net, _ = load_enhancer(path=weights)  # the fidelity network, its shape from the file's metadata
    buckets: list[list[float]] = [[] for _ in EDGES[:-1]]
    with torch.no_grad():
        for window in windows:
            gain = psnr(window["org_y"], restored_luma(net, window)) - psnr(
                window["org_y"], window["dec_y"][1]
            )
            bucket = int(np.searchsorted(EDGES, float(window[QUALITY_KEY][1]), side="right")) - 1
            buckets[bucket].append(gain)
    return buckets


def main() -> None:
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "2")))
    windows = load_windows(sys.argv[1])
    for weights in sys.argv[2:]:
        buckets = gains_by_quality(weights, windows)
        cells = [
            f"q {EDGES[i]:g}-{min(EDGES[i + 1], 8):g}: {np.mean(b):+.3f} (n={len(b)})"
            for i, b in enumerate(buckets)
        ]
        print(
            os.path.basename(weights),
            " ".join(cells),
            f"all: {np.mean(np.concatenate(buckets)):+.3f}",
            flush=True,
        )


if __name__ == "__main__":
    main()

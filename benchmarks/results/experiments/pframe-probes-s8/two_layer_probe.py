"""Probe: code a frame as base I (q_b) + residual layer (x - x_hat, same network, q_r) vs single I.
Training clips only. Prints bpp / PSNR-Y."""
import sys, numpy as np, torch
from gancodec.io import VideoReader
from gancodec.models.registry import load_model
from gancodec.models.yuv import pack, pack_residual, add_residual, unpack
from gancodec.metrics import frame_psnr
torch.set_num_threads(1)
model, _ = load_model("gc-intra-hp", "cpu")
clips = ["foreman_352x288_30", "bikes_640x272_25", "vimeo90k-00002-0003_448x256_30", "akiyo_352x288_30"]
S = model.config.stride
def code(x, q, w, h):
    strings, _ = model.compress(x, q, 0, (w, h))
    zs = (-(-h // S), -(-w // S))
    return 8 * sum(len(s) for s in strings), model.decompress(strings, zs, q)
for name in clips:
    f = next(iter(VideoReader(f"../shared/data/train/{name}.mkv").frames(limit=1)))
    w, h = f.width, f.height; n = w * h
    for q in (6.0, 7.0, 8.0):
        b, y = code(pack(f, S), q, w, h); r = unpack(y, w, h)
        print(f"{name[:10]} single q{q}: {b/n:.4f} bpp {frame_psnr(f, r).y:.2f}", flush=True)
    for qb in (5.0, 6.0):
        b0, y0 = code(pack(f, S), qb, w, h); base = unpack(y0, w, h)
        for qr in (3.0, 5.0, 7.0):
            b1, y1 = code(pack_residual(f, base, S), qr, w, h)
            r = add_residual(base, y1)
            print(f"{name[:10]} base q{qb} + res q{qr}: {(b0+b1)/n:.4f} bpp {frame_psnr(f, r).y:.2f}", flush=True)

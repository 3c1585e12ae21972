"""Quick controlled comparison: flat vs U-Net on the same data, same steps."""
import sys, time, glob
import numpy as np, torch
from gancodec.bench.baselines import decode_stream, encode_frames
from gancodec.io import VideoReader
from gancodec.enhance.net import EnhanceConfig, EnhanceNet
from gancodec.models.yuv import pack_planes, yuv_distortion
from gancodec.train.enhance_task import _planes
torch.set_num_threads(2)
rng = np.random.default_rng(0)
pairs = []
for i, path in enumerate(sorted(glob.glob("../shared/data/train/*.mkv"))[:12]):
    with VideoReader(path) as r:
        orig = list(r.frames(limit=20)); fps = r.fps
    h, w = orig[0].y.shape
    if min(h, w) < 128: continue
    codec = ["x264", "x265"][i % 2]
    pairs.append((orig, list(decode_stream(encode_frames(codec, orig, w, h, fps, 30 + (i * 3) % 12, gop=32)))))
print("pairs", len(pairs), flush=True)
def batch(n, s=128):
    ws, ts = [], []
    for _ in range(n):
        o, d = pairs[rng.integers(len(pairs))]
        t = int(rng.integers(1, len(o) - 1)); h, w = o[0].y.shape
        top, left = 2 * rng.integers((h - s) // 2 + 1), 2 * rng.integers((w - s) // 2 + 1)
        cr = lambda f: pack_planes(*(x[None] for x in _planes(f, top, left, s)))[0]
        ws.append(torch.stack([cr(d[t + k]) for k in (-1, 0, 1)])); ts.append(cr(o[t]))
    return torch.stack(ws), torch.stack(ts)
fixed = [batch(8) for _ in range(6)]
def evaluate(net):
    with torch.no_grad():
        g = [ (10*torch.log10(yuv_distortion(t, w[:,1])) - 10*torch.log10(yuv_distortion(t, net(w)))).mean() for w, t in fixed]
    return float(torch.stack(g).mean())
runs = {"unet_lr5e-4": (EnhanceConfig(channels=24, blocks=4, scales=3), 5e-4), "flat_lr5e-4": (EnhanceConfig(channels=32, blocks=6), 5e-4)}
old = {"flat24b4": (EnhanceConfig(channels=24, blocks=4), 3e-4), "unet": (EnhanceConfig(channels=24, blocks=4, scales=3), 3e-4),
        "unet_lr1e-4": (EnhanceConfig(channels=24, blocks=4, scales=3), 1e-4), "unet2": (EnhanceConfig(channels=24, blocks=2, scales=2), 3e-4)}
steps = int(sys.argv[1])
for name, (cfg, lr) in runs.items():
    torch.manual_seed(0); net = EnhanceNet(cfg); opt = torch.optim.Adam(net.parameters(), lr=lr)
    t0 = time.time()
    for step in range(steps):
        for g in opt.param_groups: g["lr"] = lr * min(1, (step + 1) / 50)
        w, t = batch(8)
        loss = 10 * torch.log10(yuv_distortion(t, net(w)).clamp_min(1e-10)).mean()
        opt.zero_grad(); loss.backward(); torch.nn.utils.clip_grad_norm_(net.parameters(), 1.0); opt.step()
        if (step + 1) % (steps // 3) == 0: print(name, step + 1, "held-out gain %.3f" % evaluate(net), "%.0fs" % (time.time() - t0), flush=True)

"""Does the U-Net learn on data with Kodak pans, with and without a floor on the per-crop MSE?"""
import sys, time, glob
import numpy as np, torch
from gancodec.bench.baselines import decode_stream, encode_frames
from gancodec.io import VideoReader
from gancodec.enhance.net import EnhanceConfig, EnhanceNet
from gancodec.models.yuv import pack_planes, yuv_distortion
from gancodec.train.enhance_task import _planes, panned_clip
torch.set_num_threads(2)
rng = np.random.default_rng(0)
pairs = []
srcs = sorted(glob.glob("../shared/data/train/*.mkv"))[:8] + sorted(glob.glob("../shared/data/kodak/*.png"))[:8]
for i, path in enumerate(srcs):
    with VideoReader(path) as r:
        orig = list(r.frames(limit=16)); fps = r.fps
    if len(orig) == 1: orig = panned_clip(orig[0], 16, rng)
    h, w = orig[0].y.shape
    if min(h, w) < 128: continue
    codec = ["x264", "x265"][i % 2]; crf = int(rng.integers(22, 46))
    pairs.append((orig, list(decode_stream(encode_frames(codec, orig, w, h, fps, crf, gop=32)))))
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
fixed = [batch(16) for _ in range(4)]
before = torch.cat([yuv_distortion(t, w[:, 1]) for w, t in fixed])
print("crop PSNR percentiles 5/25/50/75/95:", np.percentile((-10 * torch.log10(before)).numpy(), [5, 25, 50, 75, 95]).round(1))
def evaluate(net):
    with torch.no_grad():
        g = [(10*torch.log10(yuv_distortion(t, w[:,1])) - 10*torch.log10(yuv_distortion(t, net(w)))).mean() for w, t in fixed]
    return float(torch.stack(g).mean())
steps = int(sys.argv[1])
for name, cfg, eps in [("unet", EnhanceConfig(channels=24, blocks=4, scales=3), 0.0), ("unet_eps", EnhanceConfig(channels=24, blocks=4, scales=3), 1e-5), ("flat", EnhanceConfig(), 0.0)]:
    torch.manual_seed(0); net = EnhanceNet(cfg); lr = 3e-4; opt = torch.optim.Adam(net.parameters(), lr=lr)
    t0 = time.time()
    for step in range(steps):
        for g in opt.param_groups: g["lr"] = lr * min(1, (step + 1) / 50)
        w, t = batch(16)
        loss = 10 * torch.log10(yuv_distortion(t, net(w)) + eps).mean()
        opt.zero_grad(); loss.backward(); gn = torch.nn.utils.clip_grad_norm_(net.parameters(), 1.0); opt.step()
        if (step + 1) % (steps // 3) == 0: print(name, step + 1, "gain %.3f" % evaluate(net), "gradnorm %.2f" % gn, "%.0fs" % (time.time() - t0), flush=True)

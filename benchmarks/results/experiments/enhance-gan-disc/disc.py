"""Can the discriminator tell originals from decoded frames within 150 steps? (SN on/off, input gain)"""
import glob, time
import numpy as np, torch
from gancodec.bench.baselines import decode_stream, encode_frames
from gancodec.io import VideoReader
from gancodec.layers.discriminator import MultiScaleDiscriminator
from gancodec.train.adversarial import d_loss
from gancodec.models.yuv import pack_planes
from gancodec.train.enhance_task import _planes
import torch.nn.utils.parametrize as P
torch.set_num_threads(1)
rng = np.random.default_rng(0); pairs = []
for i, path in enumerate(sorted(glob.glob("../shared/data/train/*.mkv"))[:6]):
    with VideoReader(path) as r: orig = list(r.frames(limit=8)); fps = r.fps
    h, w = orig[0].y.shape
    pairs.append((orig, list(decode_stream(encode_frames("x265", orig, w, h, fps, int(rng.integers(22, 46)), gop=32)))))
def batch(n=16, s=128):
    a, b = [], []
    for _ in range(n):
        o, d = pairs[rng.integers(len(pairs))]; t = int(rng.integers(len(o))); h, w = o[0].y.shape
        top, left = 2 * rng.integers((h - s) // 2 + 1), 2 * rng.integers((w - s) // 2 + 1)
        cr = lambda f: pack_planes(*(x[None] for x in _planes(f, top, left, s)))[0]
        a.append(cr(o[t])); b.append(cr(d[t]))
    return torch.stack(a), torch.stack(b)
for name in ["resid10", "resid10_nosn"]:
    torch.manual_seed(0)
    D = MultiScaleDiscriminator(6, 6, 32, 2)
    if name.endswith("nosn"):
        for m in D.modules():
            if isinstance(m, torch.nn.Conv2d) and P.is_parametrized(m): P.remove_parametrizations(m, "weight")
    opt = torch.optim.Adam(D.parameters(), lr=1e-4, betas=(0.5, 0.999)); t0 = time.time()
    for step in range(150):
        real, fake = batch()
        g = 10.0
        loss = d_loss(D(0.5 + g * (real - fake), fake), D(0.5 + g * (fake - fake) + 0 * real, fake))
        opt.zero_grad(); loss.backward(); opt.step()
        if (step + 1) % 50 == 0: print(name, step + 1, "d_loss %.3f" % loss.item(), "%.0fs" % (time.time() - t0), flush=True)

"""P-frame tuning on TRAINING clips: real streams via VideoCoder; bpp / PSNR-Y per clip and quality.
env: MCS (motion cost scale), QOFF (P quality offset)."""
import os, sys, time
import numpy as np, torch
from gancodec.io import VideoReader
from gancodec.models.registry import load_model
from gancodec.models import inter
if os.environ.get("SIXTAP"): sys.path.insert(0, "runs/pframe"); import sixtap  # noqa
from gancodec.metrics import frame_psnr
torch.set_num_threads(2)
inter.MOTION_COST_SCALE = float(os.environ.get("MCS", inter.MOTION_COST_SCALE))
qoff = float(os.environ.get("QOFF", 0))
qpat = [float(v) for v in os.environ.get("QPAT", "0").split(",")]
if os.environ.get("WEIGHTS"):
    from gancodec.models.registry import register_model
    register_model("gc-intra-probe", os.environ["WEIGHTS"], "probe")
    model, _ = load_model("gc-intra-probe", "cpu")
else:
    model, _ = load_model("gc-intra-hp", "cpu")
gop_env = int(os.environ.get("GOP", 0))
clips = os.environ.get("CLIPS", "foreman_352x288_30,bikes_640x272_25,ciscovt2people_320x192_12,vimeo90k-00002-0003_448x256_30").split(",")
n = int(sys.argv[1]); qs = [float(q) for q in sys.argv[2].split(",")]
tot = {}
for name in clips:
    frames = list(VideoReader(f"../shared/data/train/{name}.mkv").frames(limit=n))
    w, h = frames[0].width, frames[0].height
    for q in qs:
        coder = inter.VideoCoder(model, w, h, gop=gop_env or len(frames))
        t = time.time(); bits = mvb = 0; ps = []
        for i, f in enumerate(frames):
            qq = q if i == 0 else min(8, max(1, q + qoff + qpat[i % len(qpat)]))
            c = coder.encode(f, i, qq, reconstruct=True)
            bits += 8 * sum(len(s) for s in c.streams); ps.append(frame_psnr(f, coder.reference).y)
            mvb += 8 * len(c.streams[0]) if c.kind == "P" else 0
        k = len(frames); bpp = bits / (w * h * k)
        tot.setdefault(q, []).append((bpp, np.mean(ps)))
        print(f"{name[:12]} q{q}: mv {mvb/(w*h*k):.4f} {bpp:.4f} bpp {np.mean(ps):.2f} dB ({(time.time()-t)/k:.2f} s/f)", flush=True)
for q, v in tot.items():
    print(f"MEAN q{q}: {np.mean([a for a, _ in v]):.4f} bpp {np.mean([b for _, b in v]):.2f} dB  (log-bpp {np.mean([np.log(a) for a, _ in v]):.4f})")

#!/usr/bin/env bash
# Prepares, on the CPU machine, what a lent GPU machine needs to train one model (runbook:
# docs/gpu-training.md); only one fits in the 64 MiB that travel:
#
#   bash scripts/gpu_prepare.sh intra [START_CHECKPOINT]  # frames as .npz + the start checkpoint
#       (default start: the newest of runs/intra-gpu/intra-gpu-slim.ckpt and runs/intra-{cc,p,hq,top}/last.ckpt;
#       the wide model, configs/intra-gpu-wide.toml, starts from its CPU run only when that is named:
#       `gpu_prepare.sh intra runs/intra-wide/last.ckpt`)
#   bash scripts/gpu_prepare.sh enhance                   # compressed/original windows as .npz + the
#       shipped enhancer as the start (configs/enhance-gpu.toml)
#
# Everything lands in .gpu/ and .whl/ (git-ignored); the call then carries [".gpu", ".whl"].
set -euo pipefail
cd "$(dirname "$0")/.."
MODEL=${1:?"usage: gpu_prepare.sh intra|enhance [START_CHECKPOINT]"}
START=${2:-}
fetch_wheels() {
  if ! ls .whl/compressai-*.whl > /dev/null 2>&1; then
    mkdir -p .whl
    P=""; for n in 17 27 28 31 34 35; do P="$P --platform manylinux_2_${n}_x86_64"; done
    python3 -m pip download --isolated --no-deps --only-binary=:all: --python-version 3.12 \
      --implementation cp $P -d .whl compressai==1.2.8 pytorch-msssim
  fi
}
if [ "$MODEL" = enhance ]; then
  rm -rf .gpu && mkdir -p .gpu
  # 47 sources x 3 conditions x WINDOWS windows of SIZE x SIZE (3 decoded frames + the original
  # middle one); the default 4 x 160 (564 windows, ~33 MB) fits beside the 29.5 MB tree of 0.9.0 (64 MiB travel)
  .venv/bin/gancodec export-pairs gancodec/train/configs/enhance.toml -o .gpu/pairs \
    --windows "${WINDOWS:-4}" --size "${SIZE:-160}"
  cp gancodec/weights/gc-enhance-s.safetensors .gpu/init.safetensors  # enhance-gpu.toml's init_weights
  fetch_wheels
  du -sh .gpu .whl
  exit 0
fi
[ "$MODEL" = intra ] || { echo "gpu_prepare.sh: unknown model '$MODEL' (intra or enhance)" >&2; exit 2; }
if [ -z "$START" ]; then  # the newest of the GPU run's last return and the CPU runs' checkpoints
  START=$(ls -t runs/intra-gpu/intra-gpu-slim.ckpt runs/intra-cc/last.ckpt runs/intra-p/last.ckpt \
    runs/intra-hq/last.ckpt runs/intra-top/last.ckpt 2>/dev/null | head -n 1 || true)
fi
rm -rf .gpu && mkdir -p .gpu .whl
# of the first 60 frames, pairs t, t+1 for every 6th t (--pairs: 20 frames a clip, the consecutive ones
# that P-frame residuals need, configs/intra-gpu-hqp.toml); the two 720p clips thinned to 4 frames each (--max-mpixels 4):
# 23 MB, so that the tree (29.5 MB since 0.9.0) + frames + start (10.2 MB) + wheels stay under the
# 64 MiB that travel (63.1 MB; with --max-mpixels 7, as until 0.8.0, it came to 67.6 MB: too much)
.venv/bin/gancodec export-frames gancodec/train/configs/intra-cc.toml -o .gpu/data --every 3 --max-mpixels 4 --pairs
if [ -n "$START" ]; then
  # the model only, its large tensors in fp16: the context model is 18.5 MB in fp32, over what travels well
  .venv/bin/python - "$START" .gpu/start.ckpt <<'PY'
import sys, torch
state = torch.load(sys.argv[1], map_location="cpu", weights_only=True)
slim = {k: state[k] for k in ("step", "kind", "model", "model_config")}
slim["model"] = {k: v.half() if v.is_floating_point() and v.numel() > 4096 else v for k, v in slim["model"].items()}
torch.save(slim, sys.argv[2])
print(f"start: {sys.argv[1]} at step {slim['step']}")
PY
else
  cp gancodec/weights/gc-intra-hp.safetensors .gpu/init.safetensors  # intra-gpu.toml's init_weights
fi
fetch_wheels
du -sh .gpu .whl

#!/usr/bin/env bash
# One call of GPU training on the device machine (runbook: docs/gpu-training.md).
#
#   bash scripts/gpu_train.sh CONFIG start MINUTES   # install, start training in the background
#                                                    # (from .gpu/start.ckpt when it travelled)
#   bash scripts/gpu_train.sh CONFIG wait MINUTES    # later calls: let it run on
#
# Training runs in its own process session (setsid), so it outlives the call while the machine is
# held; each call waits up to MINUTES, then copies the log, the exported weights and a slim (fp16 for large tensors)
# checkpoint (model only, < 16 MiB) into $OUT, which is what comes home.
set -uo pipefail
CONFIG=$1
MODE=$2
WAIT_MINUTES=${3:-9}
TOTAL_MINUTES=${TOTAL_MINUTES:-27}
RUNS=/tmp/gancodec-runs

if [ ! -d /tmp/site/compressai ]; then
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl || exit 1
fi
export PYTHONPATH=/tmp/site:$PWD PYTHONUNBUFFERED=1
NAME=$(python3 -c "import sys, tomllib; print(tomllib.load(open(sys.argv[1], 'rb'))['name'])" "$CONFIG")
nvidia-smi --query-gpu=name,memory.used,utilization.gpu --format=csv,noheader

if [ "$MODE" = start ]; then
  mkdir -p "$RUNS/$NAME"
  # continue the CPU run when its slimmed checkpoint travelled (else init_weights of the config)
  [ -f .gpu/start.ckpt ] && [ ! -f "$RUNS/$NAME/last.ckpt" ] && cp .gpu/start.ckpt "$RUNS/$NAME/last.ckpt"
  setsid nohup python3 -m gancodec train -v "$CONFIG" --device cuda --runs-dir "$RUNS" \
    --minutes "$TOTAL_MINUTES" > "$RUNS/stdout.log" 2>&1 < /dev/null &
fi

deadline=$((SECONDS + WAIT_MINUTES * 60))
while [ $SECONDS -lt $deadline ] && pgrep -f "gancodec train" > /dev/null; do sleep 15; done
tail -n 4 "$RUNS/stdout.log"

CKPT="$RUNS/$NAME/last.ckpt"
[ -f "$CKPT" ] || { echo "no checkpoint yet"; exit 1; }
cp "$RUNS/$NAME/train.log" "$OUT/train.log"
python3 -m gancodec export-weights "$CKPT" -o "$OUT/$NAME.safetensors"
python3 - "$CKPT" "$OUT/$NAME-slim.ckpt" <<'PY'
import sys, torch
state = torch.load(sys.argv[1], map_location="cpu", weights_only=True)
slim = {k: state[k] for k in ("step", "kind", "model", "model_config") if k in state}
# fp16 for the large tensors: the context model is 18.5 MB in fp32, over the 16 MiB a file may bring
slim["model"] = {k: v.half() if v.is_floating_point() and v.numel() > 4096 else v for k, v in slim["model"].items()}
torch.save(slim, sys.argv[2])
print("slim checkpoint at step", slim["step"])
PY

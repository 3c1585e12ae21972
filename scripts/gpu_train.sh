#!/usr/bin/env bash
# One call of GPU training on the device machine (runbook: docs/gpu-training.md).
#
#   bash scripts/gpu_train.sh CONFIG[,CONFIG...] start MINUTES  # install, start each training in the
#                                                               # background (from .gpu/start.ckpt when it travelled)
#   bash scripts/gpu_train.sh CONFIG[,CONFIG...] wait MINUTES   # later calls: let them run on
#
# Several configs train side by side on the one GPU (a small model leaves it mostly idle). Training
# runs in its own process session (setsid), so it outlives the call while the machine is held; each
# call waits up to MINUTES (or until every training has stopped), then copies into $OUT, per config
# NAME: the log, the exported weights NAME.safetensors and, with SLIM=1 (the default), a slim
# checkpoint (model only, large tensors in fp16, < 16 MiB). With SNAPSHOTS=N it also brings the
# weights of the last N checkpoints written during the call (NAME-s1.safetensors, ..., oldest
# first), so that a run that overfits can be cut earlier at home. What comes back is at most 8
# files and 64 MiB: size SNAPSHOTS and SLIM to fit.
set -uo pipefail
IFS=, read -r -a CONFIGS <<< "$1"
MODE=$2
WAIT_MINUTES=${3:-9}
TOTAL_MINUTES=${TOTAL_MINUTES:-27}
SNAPSHOTS=${SNAPSHOTS:-0}
SLIM=${SLIM:-1}
RUNS=${RUNS:-/tmp/gancodec-runs}
SITE=${SITE:-/tmp/site}    # where the carried wheels are installed
DEVICE=${DEVICE:-cuda}     # cpu: a dry run of this script on the CPU machine (with SITE prepared)

if [ ! -e "$SITE/.installed" ]; then
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target "$SITE" .whl/*.whl \
    && touch "$SITE/.installed" || exit 1
fi
export PYTHONPATH=$SITE:$PWD PYTHONUNBUFFERED=1
gpu_state() { nvidia-smi --query-gpu=name,memory.used,utilization.gpu --format=csv,noheader 2> /dev/null || true; }
gpu_state
name_of() { python3 -c "import sys, tomllib; print(tomllib.load(open(sys.argv[1], 'rb'))['name'])" "$1"; }
NAMES=()
for config in "${CONFIGS[@]}"; do NAMES+=("$(name_of "$config")"); done

if [ "$MODE" = start ]; then
  for i in "${!CONFIGS[@]}"; do
    name=${NAMES[$i]}
    mkdir -p "$RUNS/$name"
    # continue the CPU run when its slimmed checkpoint travelled (else init_weights of the config)
    [ -f .gpu/start.ckpt ] && [ ! -f "$RUNS/$name/last.ckpt" ] && cp .gpu/start.ckpt "$RUNS/$name/last.ckpt"
    setsid nohup python3 -m gancodec train -v "${CONFIGS[$i]}" --device "$DEVICE" --runs-dir "$RUNS" \
      --minutes "$TOTAL_MINUTES" > "$RUNS/$name.stdout" 2>&1 < /dev/null &
  done
fi

# Snapshots: a copy of each run's last.ckpt whenever the training rewrites it.
declare -A seen taken
for name in "${NAMES[@]}"; do
  seen[$name]=$(stat -c %Y "$RUNS/$name/last.ckpt" 2>/dev/null || true)  # a start checkpoint is no snapshot
  taken[$name]=0
done
deadline=$((SECONDS + WAIT_MINUTES * 60))
while [ $SECONDS -lt $deadline ] && pgrep -f "gancodec train" > /dev/null; do
  sleep 10
  for name in "${NAMES[@]}"; do
    stamp=$(stat -c %Y "$RUNS/$name/last.ckpt" 2>/dev/null || true)
    if [ "$SNAPSHOTS" -gt 0 ] && [ -n "$stamp" ] && [ "$stamp" != "${seen[$name]}" ]; then
      seen[$name]=$stamp; taken[$name]=$((taken[$name] + 1))
      cp "$RUNS/$name/last.ckpt" "$RUNS/$name/snap-${taken[$name]}.ckpt"
    fi
  done
done
gpu_state

status=0
for name in "${NAMES[@]}"; do
  echo "== $name"; tail -n 4 "$RUNS/$name.stdout"
  CKPT="$RUNS/$name/last.ckpt"
  [ -f "$CKPT" ] || { echo "$name: no checkpoint yet"; status=1; continue; }
  cp "$RUNS/$name/train.log" "$OUT/$name.log"
  python3 -m gancodec export-weights "$CKPT" -o "$OUT/$name.safetensors"
  first=$((taken[$name] - SNAPSHOTS + 1)); [ $first -lt 1 ] && first=1
  for ((i = first; i <= taken[$name]; i++)); do  # the final checkpoint is NAME.safetensors itself
    cmp -s "$RUNS/$name/snap-$i.ckpt" "$CKPT" && continue
    python3 -m gancodec export-weights "$RUNS/$name/snap-$i.ckpt" -o "$OUT/$name-s$((i - first + 1)).safetensors"
  done
  [ "$SLIM" = 1 ] || continue
  python3 - "$CKPT" "$OUT/$name-slim.ckpt" <<'PY'
import sys, torch
state = torch.load(sys.argv[1], map_location="cpu", weights_only=True)
slim = {k: state[k] for k in ("step", "kind", "model", "model_config") if k in state}
# fp16 for the large tensors: the context model is 18.5 MB in fp32, over the 16 MiB a file may bring
slim["model"] = {k: v.half() if v.is_floating_point() and v.numel() > 4096 else v for k, v in slim["model"].items()}
torch.save(slim, sys.argv[2])
print("slim checkpoint at step", slim["step"])
PY
done
exit $status

#!/usr/bin/env bash
# All-intra rate-distortion comparison (issue #3): gancodec intra vs x264 with every frame an I-frame.
set -euo pipefail
cd "$(dirname "$0")/.."
GANCODEC=${GANCODEC:-.venv/bin/gancodec}
"$GANCODEC" bench ../shared/data/eval/*.mkv -o benchmarks/results/intra \
  --codecs gancodec,gancodec-raw,x264 --gop 1 --frames "${FRAMES:-30}" -y "$@"

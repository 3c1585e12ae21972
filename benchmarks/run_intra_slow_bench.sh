#!/usr/bin/env bash
# Encoder presets (issue #3): gancodec --preset fast vs --preset slow (latent search, same decoder)
# vs x264 all-intra. Fewer frames than run_intra_bench.sh: the slow preset codes ~1 CIF frame/s.
set -euo pipefail
cd "$(dirname "$0")/.."
GANCODEC=${GANCODEC:-.venv/bin/gancodec}
"$GANCODEC" bench ../shared/data/eval/*.mkv -o benchmarks/results/intra-slow \
  --codecs gancodec,gancodec-slow,x264 --gop 1 --frames "${FRAMES:-10}" -y "$@"

#!/usr/bin/env bash
# Enhancement benchmark (issue #6): eval clips compressed by x265 CRF 32/37/42 and x264 CRF 37,
# restored by `gancodec enhance`'s network; deltas vs the decoded clips, fps, temporal PSNR, crops.
set -euo pipefail
cd "$(dirname "$0")/.."
GANCODEC=${GANCODEC:-.venv/bin/gancodec}
# OUT: the results folder (the GAN end: OUT=benchmarks/results/enhance-realism1 ... --realism 1)
"$GANCODEC" bench ../shared/data/eval/*.mkv --enhance -o "${OUT:-benchmarks/results/enhance}" \
  --frames "${FRAMES:-30}" --gop 32 -y "$@"

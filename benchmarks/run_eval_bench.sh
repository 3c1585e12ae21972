#!/usr/bin/env bash
# The published rate-distortion benchmark: gancodec (I- and P-frames) vs x264 / x265 / SVT-AV1 (low delay, GOP 32)
# on the held-out eval clips, first 30 frames each. Writes benchmarks/results/ (report.md, results.json,
# results.csv, PNG plots, compressai/*.json); cached encodes in benchmarks/results/cache/ are reused, so a
# re-run after new gancodec weights only re-measures gancodec.
#
# Run from anywhere; the shared data is expected at ../shared/data relative to the repository root.
# Extra arguments are passed on, e.g.:  benchmarks/run_eval_bench.sh --codecs gancodec,x264 -q
set -euo pipefail
cd "$(dirname "$0")/.."
GANCODEC="${GANCODEC:-.venv/bin/gancodec}"
[ -x "$GANCODEC" ] || GANCODEC=gancodec
shopt -s nullglob
clips=(../shared/data/eval/*.mkv)
if [ ${#clips[@]} -eq 0 ]; then
    echo "run_eval_bench.sh: error: no clips in ../shared/data/eval — is the shared data mounted?" >&2
    exit 1
fi
# gancodec-raw: the same streams decoded without the restoration stage (decode --postfilter off), since 0.17.0
exec "$GANCODEC" bench "${clips[@]}" -o benchmarks/results --frames 30 --gop 32 -y \
    --codecs gancodec,gancodec-raw,x264,x265,svtav1 "$@"

#!/usr/bin/env bash
# Issue 11, no GPU: a built-in default (grey: PixelCNN 48×6, built-in #1; rgb: PixelCNN 64×6;
# softmax heads, GPU-trained on the first 42 photos) continued on one CPU core for MINUTES on
# photos/train (now 94 photos; its last 10 held out for validation, photos/valid untouched),
# 64×64 crops, a low cosine schedule and Polyak averaging. Resumable: run it again to continue.
# Usage: [PIXELRNN_BIN=a torch build] [OUT=runs/LAYOUT SEED=3 CROP=64 BATCH=16] \
#        scripts/runs/cpu-continue.sh grey|rgb MINUTES [CORE]
set -euo pipefail
cd "$(dirname "$0")/../.."
LAYOUT=${1:?grey or rgb}
MIN=${2:?minutes}
CORE=${3:-1}
case $LAYOUT in
  grey) NAME=grey-pcnn-48x6 START=grey.safetensors
        ARGS=(--grey --hidden 48 --lr 1.5e-4 --valid-size 128 --epoch-size 1024) ;;
  rgb)  NAME=rgb-pcnn-64x6 START=rgb.safetensors
        ARGS=(--hidden 64 --lr 1e-4 --valid-size 64 --epoch-size 256) ;;
  *) echo "layout must be grey or rgb, not $LAYOUT" >&2; exit 2 ;;
esac
OUT=${OUT:-runs/$LAYOUT}
mkdir -p "$OUT"
INIT=()
[ -e "$OUT/$NAME.safetensors.ckpt.json" ] || INIT=(--init "model/defaults/$START")
OMP_NUM_THREADS=1 taskset -c "$CORE" "${PIXELRNN_BIN:-target/release/pixelrnn}" train --device cpu --minutes "$MIN" --json \
  --data ../shared/data/photos/train --crop "${CROP:-64}" --batch "${BATCH:-16}" "${ARGS[@]}" \
  --arch pixel-cnn --head softmax --layers 6 --out-hidden 96 \
  --schedule cosine --lr-min 1e-5 --warmup 20 --ema 0.999 --seed "${SEED:-3}" --clip 1 --resume "${INIT[@]}" \
  --out "$OUT/$NAME.safetensors" >> "$OUT/$NAME.runs.jsonl"

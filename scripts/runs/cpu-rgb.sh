#!/usr/bin/env bash
# Issue 11, no GPU: the built-in RGB default (PixelCNN 64×6 softmax, GPU-trained on the first 42
# photos) continued on one CPU core for MINUTES on all of photos/train (now 94 photos), 64×64 crops,
# a low cosine schedule and Polyak averaging; validation on held-out crops of the last photos of
# photos/train (photos/valid is not touched). Resumable: run it again to continue (--resume).
# Usage: [PIXELRNN_BIN=a torch build] scripts/runs/cpu-rgb.sh MINUTES [CORE]
set -euo pipefail
cd "$(dirname "$0")/../.."
MIN=${1:?minutes}
CORE=${2:-1}
OUT=runs/rgb
mkdir -p $OUT
INIT=()
[ -e $OUT/rgb-pcnn-64x6.safetensors.ckpt.json ] || INIT=(--init model/defaults/rgb.safetensors)
OMP_NUM_THREADS=1 taskset -c "$CORE" "${PIXELRNN_BIN:-target/release/pixelrnn}" train --device cpu --minutes "$MIN" --json \
  --data ../shared/data/photos/train --crop 64 --batch 16 --valid-size 64 --epoch-size 256 \
  --arch pixel-cnn --head softmax --hidden 64 --layers 6 --out-hidden 96 \
  --lr 1e-4 --schedule cosine --lr-min 1e-5 --warmup 20 --ema 0.999 --seed 3 --clip 1 --resume "${INIT[@]}" \
  --out $OUT/rgb-pcnn-64x6.safetensors >> $OUT/rgb-pcnn-64x6.runs.jsonl

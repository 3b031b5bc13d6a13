#!/usr/bin/env bash
# Issue 11, no GPU: the built-in grey default (PixelCNN 48×6 softmax, GPU-trained on the first 42
# photos) continued on one CPU core for MINUTES on all of photos/train (now 94 photos), 64×64 crops,
# a low cosine schedule and Polyak averaging; validation on held-out crops of the last photos of
# photos/train (photos/valid is not touched). Resumable: run it again to continue (--resume).
# Usage: [PIXELRNN_BIN=a torch build] [OUT=runs/grey SEED=3 CROP=64 BATCH=16] scripts/runs/cpu-grey.sh MINUTES [CORE]
set -euo pipefail
cd "$(dirname "$0")/../.."
MIN=${1:?minutes}
CORE=${2:-1}
OUT=${OUT:-runs/grey}
mkdir -p $OUT
INIT=()
[ -e $OUT/grey-pcnn-48x6.safetensors.ckpt.json ] || INIT=(--init model/defaults/grey.safetensors)
OMP_NUM_THREADS=1 taskset -c "$CORE" "${PIXELRNN_BIN:-target/release/pixelrnn}" train --device cpu --minutes "$MIN" --json \
  --data ../shared/data/photos/train --grey --crop ${CROP:-64} --batch ${BATCH:-16} --valid-size 128 --epoch-size 1024 \
  --arch pixel-cnn --head softmax --hidden 48 --layers 6 --out-hidden 96 \
  --lr 1.5e-4 --schedule cosine --lr-min 1e-5 --warmup 20 --ema 0.999 --seed ${SEED:-3} --clip 1 --resume "${INIT[@]}" \
  --out $OUT/grey-pcnn-48x6.safetensors >> $OUT/grey-pcnn-48x6.runs.jsonl

#!/usr/bin/env bash
# Issue 11, no GPU this session: the logistic-mixture PixelCNN 32×4 of scripts/runs/cpu-heads.sh
# (round 1) continued on one core for MINUTES with 64×64 crops, a cosine schedule and Polyak
# averaging; validation on the held-out last photos of photos/train. Resumable: run it again to
# continue (--resume). Usage: scripts/runs/cpu-long.sh MINUTES [CORE]
set -euo pipefail
cd "$(dirname "$0")/../.."
MIN=${1:?minutes}
CORE=${2:-1}
OUT=runs/long
mkdir -p $OUT
INIT=()
[ -e $OUT/rgb-mix-pcnn-32x4.safetensors.ckpt.json ] || INIT=(--init runs/heads/pcnn-mixture.safetensors)
OMP_NUM_THREADS=1 taskset -c "$CORE" target/release/pixelrnn train --device cpu --minutes "$MIN" --json \
  --data ../shared/data/photos/train --crop 64 --batch 8 --valid-size 128 --epoch-size 2048 \
  --arch pixel-cnn --head logistic-mixture --components 10 --hidden 32 --layers 4 --out-hidden 64 \
  --lr 2e-3 --schedule cosine --lr-min 1e-4 --warmup 50 --ema 0.998 --seed 2 --resume "${INIT[@]}" \
  --out $OUT/rgb-mix-pcnn-32x4.safetensors >> $OUT/rgb-mix-pcnn-32x4.runs.jsonl

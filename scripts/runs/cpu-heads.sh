#!/usr/bin/env bash
# Issue 11: the two output heads (and the two PixelCNN kinds) at equal CPU time on small models.
# Two runs at a time, each pinned to one core with one libtorch thread, the same data (random 32×32
# crops of photos/train, validation on the held-out last photos of that folder: photos/valid is
# never touched), the same settings and minutes. Usage: scripts/runs/cpu-heads.sh [MINUTES] [ROUND]
set -euo pipefail
cd "$(dirname "$0")/../.."
MIN=${1:-10}
ROUND=${2:-1}
B=target/release/pixelrnn
OUT=runs/heads
mkdir -p $OUT
COMMON="train --device cpu --minutes $MIN --json --data ../shared/data/photos/train --crop 32 --batch 16
  --lr 3e-3 --valid-size 256 --epoch-size 2048 --hidden 32 --layers 4 --out-hidden 64 --seed 1"
run() { name=$1; core=$2; shift 2
  OMP_NUM_THREADS=1 taskset -c "$core" $B $COMMON "$@" --out $OUT/$name.safetensors > $OUT/$name.json 2> $OUT/$name.log & }
if [ "$ROUND" = 1 ]; then
  run pcnn-softmax 0 --arch pixel-cnn --head softmax
  run pcnn-mixture 1 --arch pixel-cnn --head logistic-mixture --components 10
else
  # Round 2 (beside scripts/runs/cpu-long.sh on the other core): the gated PixelCNN, mixture head.
  run gated-mixture 0 --arch gated-pixel-cnn --head logistic-mixture --components 10
fi
wait
for f in $OUT/*-*.json; do echo "$f: $(cat "$f")"; done

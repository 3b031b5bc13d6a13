#!/usr/bin/env bash
# Copy to gpu/ beside a stripped pixelrnn (--features torch), photos/{train,valid} and init/ (the
# two candidate weight files named below); run there. Third GPU session (issues 5 and 7): longer
# RGB/grey runs for the defaults, and the multi-scale PixelRNN against a single-scale model trained
# side by side with the same budget.
set -u
cd "$(dirname "$0")"
OUT=${OUT:-/tmp/gpu-out}
MIN=${MIN:-7.4}
R=$OUT/r
mkdir -p "$R"
export LD_LIBRARY_PATH="$(python3 -c 'import torch,os;print(os.path.dirname(torch.__file__))')/lib:${LD_LIBRARY_PATH:-}"
export OMP_NUM_THREADS=2
B=$PWD/pixelrnn
$B devices | tee "$R/devices.txt"
$B devices | grep -q '^cuda' || { echo "no CUDA"; exit 1; }
C="train --device cuda --minutes $MIN --json --data photos --crop 32 --valid-size 512 --epoch-size 32768 --lr-decay 0.97 --clip 0 --batch 64"
run() { name=$1; shift; $B $C "$@" --out $R/$name.safetensors > $R/$name.json 2> $R/$name.log & }
run rgb-pcnn-32x4-cont --hidden 32 --layers 4 --out-hidden 64 --lr 1.5e-3 --init init/rgb-pcnn-32x4-lr3e-3.safetensors
run rgb-pcnn-48x6 --hidden 48 --layers 6 --out-hidden 96 --lr 3e-3
run rgb-pcnn-64x6 --hidden 64 --layers 6 --out-hidden 96 --lr 3e-3
run rgb-ss-pcnn-32x4 --hidden 32 --layers 4 --out-hidden 64 --lr 3e-3
run rgb-ms2-pcnn-32x4 --hidden 32 --layers 4 --out-hidden 64 --lr 3e-3 --multiscale 2 --cond-features 16 --small-arch pixel-cnn
run grey-pcnn-48x6-cont --grey --hidden 48 --layers 6 --out-hidden 96 --lr 2e-3 --init init/grey-pcnn-48x6.safetensors
sleep 30; nvidia-smi --query-gpu=utilization.gpu,memory.used --format=csv > "$R/util.txt"
wait
for f in $R/*.log; do tr '\r' '\n' < "$f" | grep -v '^\s*$' | grep -v 'img/s' > "$f.clean"; mv "$f.clean" "$f"; done
tar -C "$OUT" -czf "$OUT/results3.tar.gz" r && rm -rf "$R"
ls -la "$OUT"

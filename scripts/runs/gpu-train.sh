#!/usr/bin/env bash
# Copy to gpu/ beside a stripped pixelrnn (--features torch), photos/{train,valid} and fmnist/ (IDX files); run there.
# One GPU session: scripts/gpu-check, then candidate default models trained concurrently.
set -u
cd "$(dirname "$0")"
OUT=${OUT:-/tmp/gpu-out}
MIN=${MIN:-6}
mkdir -p "$OUT/r"
export LD_LIBRARY_PATH="$(python3 -c 'import torch,os;print(os.path.dirname(torch.__file__))')/lib:${LD_LIBRARY_PATH:-}"
B=$PWD/pixelrnn
$B devices | tee "$OUT/r/devices.txt"
$B devices | grep -q '^cuda' || { echo "no CUDA"; exit 1; }
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader | tee -a "$OUT/r/devices.txt"
(cd .. && timeout 140 scripts/gpu-check gpu/pixelrnn gpu/fmnist "$OUT/r/gpucheck") 2>&1 | tee "$OUT/r/gpu-check.txt"
export OMP_NUM_THREADS=2
T="$B train --device cuda --minutes $MIN --lr 1e-3 --lr-decay 0.99 --clip 1.0 --json"
P="--data photos --crop 32 --valid-size 512"
$T $P --arch pixel-cnn --hidden 48 --layers 6 --out-hidden 96 --batch 64 --epoch-size 16384 --out $OUT/r/rgb-pcnn-48x6.safetensors > $OUT/r/rgb-pcnn-48x6.json 2> $OUT/r/rgb-pcnn-48x6.log &
$T $P --arch pixel-cnn --hidden 32 --layers 4 --out-hidden 64 --batch 64 --epoch-size 16384 --out $OUT/r/rgb-pcnn-32x4.safetensors > $OUT/r/rgb-pcnn-32x4.json 2> $OUT/r/rgb-pcnn-32x4.log &
$T $P --arch row-lstm --hidden 32 --layers 4 --out-hidden 64 --batch 64 --epoch-size 8192 --out $OUT/r/rgb-rowlstm-32x4.safetensors > $OUT/r/rgb-rowlstm-32x4.json 2> $OUT/r/rgb-rowlstm-32x4.log &
$T $P --arch diagonal-bilstm --hidden 32 --layers 4 --out-hidden 64 --batch 64 --epoch-size 8192 --out $OUT/r/rgb-diag-32x4.safetensors > $OUT/r/rgb-diag-32x4.json 2> $OUT/r/rgb-diag-32x4.log &
$T $P --grey --arch pixel-cnn --hidden 48 --layers 6 --out-hidden 96 --batch 64 --epoch-size 16384 --out $OUT/r/grey-pcnn-48x6.safetensors > $OUT/r/grey-pcnn-48x6.json 2> $OUT/r/grey-pcnn-48x6.log &
$T --data fmnist --valid-size 2000 --arch pixel-cnn --hidden 32 --layers 6 --out-hidden 64 --batch 64 --epoch-size 20000 --out $OUT/r/fmnist-pcnn-32x6.safetensors > $OUT/r/fmnist-pcnn-32x6.json 2> $OUT/r/fmnist-pcnn-32x6.log &
$T --data fmnist --valid-size 2000 --arch diagonal-bilstm --hidden 16 --layers 4 --out-hidden 32 --batch 64 --epoch-size 10000 --out $OUT/r/fmnist-diag-16x4.safetensors > $OUT/r/fmnist-diag-16x4.json 2> $OUT/r/fmnist-diag-16x4.log &
sleep 20; nvidia-smi --query-gpu=utilization.gpu,memory.used --format=csv > "$OUT/r/util.txt"
wait
rm -f $OUT/r/*.ckpt.safetensors
for f in $OUT/r/*.log; do tr '\r' '\n' < "$f" | grep -v '^\s*$' | grep -v 'img/s' > "$f.clean"; mv "$f.clean" "$f"; done
tar -C "$OUT" -czf "$OUT/results.tar.gz" r && rm -rf "$OUT/r"
ls -la "$OUT"

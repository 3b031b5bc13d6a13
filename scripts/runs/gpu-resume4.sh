#!/usr/bin/env bash
# Run in gpu/ after gpu-train3.sh, with its results (weights and .ckpt files) copied to gpu/resume/.
# Fourth GPU session: resume the six runs of run3.sh from their checkpoints for a few more minutes.
set -u
cd "$(dirname "$0")"
OUT=${OUT:-/tmp/gpu-out}
MIN=${MIN:-4.2}
R=resume
export LD_LIBRARY_PATH="$(python3 -c 'import torch,os;print(os.path.dirname(torch.__file__))')/lib:${LD_LIBRARY_PATH:-}"
export OMP_NUM_THREADS=2
B=$PWD/pixelrnn
C="train --device cuda --minutes $MIN --json --data photos --crop 32 --valid-size 512 --epoch-size 32768 --lr-decay 0.97 --clip 0 --batch 64 --resume"
run() { name=$1; shift; $B $C "$@" --out $R/$name.safetensors > $R/$name.2.json 2> /dev/null & }
run rgb-pcnn-32x4-cont --hidden 32 --layers 4 --out-hidden 64 --lr 1.5e-3
run rgb-pcnn-48x6 --hidden 48 --layers 6 --out-hidden 96 --lr 3e-3
run rgb-pcnn-64x6 --hidden 64 --layers 6 --out-hidden 96 --lr 3e-3
run rgb-ss-pcnn-32x4 --hidden 32 --layers 4 --out-hidden 64 --lr 3e-3
run rgb-ms2-pcnn-32x4 --hidden 32 --layers 4 --out-hidden 64 --lr 3e-3 --multiscale 2 --cond-features 16 --small-arch pixel-cnn
run grey-pcnn-48x6-cont --grey --hidden 48 --layers 6 --out-hidden 96 --lr 2e-3
wait
tar -C . -czf "$OUT/results4.tar.gz" resume
ls -la "$OUT"

#!/usr/bin/env bash
# CPU training of each architecture on Fashion-MNIST for a few minutes (issue 3 evidence).
set -u
mkdir -p "$(dirname "$0")/../../runs" && cd "$(dirname "$0")/../../runs"
for arch in pixel-cnn row-lstm diagonal-bilstm; do
  ../target/release/pixelrnn train --arch $arch --data ../../shared/data/fashion-mnist \
    --out fmnist-$arch.safetensors --minutes 4 --epoch-size 2048 --valid-size 500 \
    --hidden 16 --layers 4 --out-hidden 32 --batch 16 --lr 2e-3 --device cpu --json \
    > fmnist-$arch.json 2> fmnist-$arch.log
done
echo ALLDONE > fmnist.done

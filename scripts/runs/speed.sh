#!/usr/bin/env bash
# Quiet CPU training-speed measurement: 40 s per architecture, same sizes as fmnist-cpu.sh.
mkdir -p "$(dirname "$0")/../../runs" && cd "$(dirname "$0")/../../runs"
for arch in pixel-cnn row-lstm diagonal-bilstm; do
  ../target/release/pixelrnn train --arch $arch --data ../../shared/data/fashion-mnist --out /tmp/speed-$arch.safetensors \
    --minutes 0.67 --epoch-size 100000 --valid-size 100 --hidden 16 --layers 4 --out-hidden 32 --batch 16 --lr 2e-3 \
    --device cpu --json --log /tmp/speed-$arch.csv > speed-$arch.json 2>/dev/null
done
echo done > speed.done

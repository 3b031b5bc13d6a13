#!/usr/bin/env bash
# Issue 13's side-by-side timing: an older release (OLD, a pixelrnn binary built from an earlier
# commit, e.g. `git worktree add /tmp/base 0e46e08 && cd /tmp/base && cargo build --release`)
# against this build (NEW), on a 512x512 RGB image (IMG), both given the same model with --model,
# 2 threads, model coding; then this build without the adaptive coding.
set -euo pipefail
OLD=${OLD:-/tmp/base-target/release/pixelrnn}
NEW=${NEW:-$(cd "$(dirname "$0")/../.." && pwd)/target/release/pixelrnn}
M=${M:-$(cd "$(dirname "$0")/../.." && pwd)/model/defaults/rgb.safetensors}
IMG=${IMG:-/tmp/p512.png}
dir=$(mktemp -d)
t() { local s e; s=$(date +%s.%N); "$@"; e=$(date +%s.%N); echo "$e - $s" | bc; }
for who in new old new; do
  bin=$OLD; [ $who = new ] && bin=$NEW
  enc=$(t "$bin" compress -q -f --threads 2 --mode model --model "$M" "$IMG" -o "$dir/$who.prnn")
  dec=$(t "$bin" decompress -q -f --threads 2 --model "$M" "$dir/$who.prnn" -o "$dir/$who.png")
  echo "$who encode $enc s decode $dec s size $(stat -c %s "$dir/$who.prnn")"
done
cmp "$dir/old.png" "$dir/new.png" && echo "same pixels"
enc=$(t "$NEW" compress -q -f --threads 2 --mode model --no-adapt --model "$M" "$IMG" -o "$dir/na.prnn")
dec=$(t "$NEW" decompress -q -f --threads 2 --model "$M" "$dir/na.prnn" -o "$dir/na.png")
echo "new --no-adapt encode $enc s decode $dec s size $(stat -c %s "$dir/na.prnn")"

#!/usr/bin/env bash
# Format versions' adaptive coding side by side (default: 3 and 4, and no adaptive coding) on one
# image (default: /tmp/p512.png, a 512×512 crop of a validation photo), two threads, model
# coding, two rounds in one run: encode and decode seconds and file bytes. Make the default image with
# python3 -c "from PIL import Image; im = Image.open('../shared/data/photos/valid/Kleiber_by_Lukas_Baubkus.png');
#   w, h = im.size; im.crop(((w - 512) // 2, (h - 512) // 2, (w + 512) // 2, (h + 512) // 2)).save('/tmp/p512.png')"
# Usage: scripts/runs/speed-versions.sh [IMAGE [VERSION|none ...]], e.g. /tmp/p512.png 4 5 none
set -euo pipefail
cd "$(dirname "$0")/../.."
P=target/release/pixelrnn
IMG=${1:-/tmp/p512.png}
shift || true
versions=("$@")
[ ${#versions[@]} -gt 0 ] || versions=(3 4 none)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
t() { local s e; s=$(date +%s.%N); "$@"; e=$(date +%s.%N); echo "$e - $s" | bc; }
for round in 1 2; do
  for v in "${versions[@]}"; do
    if [ "$v" = none ]; then flags=(--no-adapt); else flags=(--format-version "$v"); fi
    enc=$(t $P compress "$IMG" -o "$tmp/a.prnn" -f -q --mode model --threads 2 "${flags[@]}")
    dec=$(t $P decompress "$tmp/a.prnn" -o "$tmp/a.png" -f -q --threads 2)
    echo "round $round, version $v: encode $enc s, decode $dec s, $(stat -c %s "$tmp/a.prnn") bytes"
  done
done

#!/usr/bin/env bash
# Compresses and decompresses every image of photos/valid with a given model, checks the pixels
# (pixel CRC-32 of a re-encode of the decoded PNG equals the original's), and prints JSON lines.
# Usage: scripts/runs/valid-roundtrip.sh MODEL.safetensors [BIN] [DIR] [THREADS]
set -euo pipefail
model=$1
bin=${2:-target/release/pixelrnn}
dir=${3:-../shared/data/photos/valid}
threads=${4:-2}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for f in "$dir"/*.png; do
  n=$(basename "$f" .png)
  c=$("$bin" compress -f -q --json --threads "$threads" --model "$model" "$f" -o "$tmp/$n.prnn")
  d=$("$bin" decompress -f -q --json --threads "$threads" --model "$model" "$tmp/$n.prnn" -o "$tmp/$n.png")
  "$bin" compress -f -q --json --threads "$threads" --model "$model" "$tmp/$n.png" -o "$tmp/$n.check.prnn" >/dev/null
  if cmp -s "$tmp/$n.prnn" "$tmp/$n.check.prnn"; then ok=true; else ok=false; fi
  python3 - "$n" "$ok" "$c" "$d" <<'PY'
import json, sys
n, ok, c, d = sys.argv[1], sys.argv[2] == "true", json.loads(sys.argv[3]), json.loads(sys.argv[4])
print(json.dumps({"image": n, "identical": ok, "width": c["width"], "height": c["height"],
  "bits_per_subpixel": c["bits_per_subpixel"], "model_bits_per_subpixel": c["model_bits_per_subpixel"],
  "encode_s": c["seconds"], "decode_s": d["seconds"]}))
PY
done

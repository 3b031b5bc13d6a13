#!/usr/bin/env bash
# Format version 6's context coding side by side with the classical coding and with `compress`'s
# automatic choice in versions 5 and 6 (which adds the context coding), on a screenshot and a
# photo crop, two threads, two rounds in one run: encode and decode seconds and file bytes.
# Usage: scripts/runs/speed-context.sh [IMAGE ...] (default: the aptitude screenshot of
# ../shared/data/varied and /tmp/p512.png, see speed-versions.sh)
set -euo pipefail
cd "$(dirname "$0")/../.."
P=target/release/pixelrnn
imgs=("$@")
[ ${#imgs[@]} -gt 0 ] || imgs=(../shared/data/varied/debian-handbook-aptitude.png /tmp/p512.png)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
t() { local s e; s=$(date +%s.%N); "$@"; e=$(date +%s.%N); echo "$e - $s" | bc; }
for round in 1 2; do
  for img in "${imgs[@]}"; do
    for how in "context 6" "classical 6" "auto 5" "auto 6"; do
      set -- $how
      enc=$(t $P compress "$img" -o "$tmp/a.prnn" -f -q --mode "$1" --format-version "$2" --threads 2)
      dec=$(t $P decompress "$tmp/a.prnn" -o "$tmp/a.png" -f -q --threads 2)
      mode=$($P info --json "$tmp/a.prnn" | sed 's/.*"mode":"\([a-z]*\)".*/\1/')
      echo "round $round, $(basename "$img"), --mode $1 --format-version $2 ($mode): encode $enc s, decode $dec s, $(stat -c %s "$tmp/a.prnn") bytes"
    done
  done
done

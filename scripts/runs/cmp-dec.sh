#!/bin/bash
# Decodes .prnn files with two pixelrnn binaries side by side (alternating, `--threads T`, default
# 2), timing each and checking that both decode to the same pixels (`cmp` of the PNGs written).
# Usage: OLD=path/to/old/pixelrnn NEW=target/release/pixelrnn scripts/runs/cmp-dec.sh FILE.prnn...
# Make the files with `pixelrnn compress`; build the old binary from a worktree (git worktree add
# /tmp/old REV; CARGO_TARGET_DIR=/tmp/old-target cargo build --release -p pixelrnn-cli).
# BUSY=1 runs a busy loop beside them throughout (a machine with other work: one core taken).
set -u
OLD=${OLD:-/tmp/old-target/release/pixelrnn}; NEW=${NEW:-target/release/pixelrnn}
T=${T:-2}; OUT=$(mktemp -d)
if [ "${BUSY:-0}" = 1 ]; then
  sh -c 'while :; do :; done' & busy=$!
  trap 'kill $busy' EXIT
fi
to=0; tn=0
for f in "$@"; do b=$(basename "$f" .prnn)
  s=$(date +%s.%N); "$OLD" decompress "$f" -o "$OUT/$b.old.png" -f -q --threads "$T"; e=$(date +%s.%N); o=$(echo "$e - $s" | bc)
  s=$(date +%s.%N); "$NEW" decompress "$f" -o "$OUT/$b.new.png" -f -q --threads "$T"; e=$(date +%s.%N); n=$(echo "$e - $s" | bc)
  same=$(cmp -s "$OUT/$b.old.png" "$OUT/$b.new.png" && echo same || echo DIFF)
  printf "%-36s old %7.2f s new %7.2f s  %5.2fx %s\n" "$b" "$o" "$n" "$(echo "$o / $n" | bc -l)" "$same"
  to=$(echo "$to + $o" | bc); tn=$(echo "$tn + $n" | bc)
done
printf "total old %.1f s new %.1f s  %.2fx\n" "$to" "$tn" "$(echo "$to / $tn" | bc -l)"
rm -rf "$OUT"

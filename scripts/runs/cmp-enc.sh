#!/bin/bash
# Encodes every image of ../shared/data/varied with two pixelrnn binaries side by side (auto mode,
# two threads), timing each and checking that the files are byte for byte the same.
# Usage: OLD=path/to/old/pixelrnn NEW=target/release/pixelrnn scripts/runs/cmp-enc.sh
# (build the old one from a worktree: git worktree add /tmp/old REV; CARGO_TARGET_DIR=/tmp/old-target
# cargo build --release -p pixelrnn-cli).
set -u
OLD=${OLD:-/tmp/old-target/release/pixelrnn}; NEW=${NEW:-target/release/pixelrnn}
DATA=${DATA:-../shared/data/varied}; OUT=$(mktemp -d)
to=0; tn=0
for f in "$DATA"/*.png; do b=$(basename "$f" .png)
  s=$(date +%s.%N); "$OLD" compress "$f" -o "$OUT/$b.old.prnn" -f -q --threads 2; e=$(date +%s.%N); o=$(echo "$e - $s" | bc)
  s=$(date +%s.%N); "$NEW" compress "$f" -o "$OUT/$b.new.prnn" -f -q --threads 2; e=$(date +%s.%N); n=$(echo "$e - $s" | bc)
  same=$(cmp -s "$OUT/$b.old.prnn" "$OUT/$b.new.prnn" && echo same || echo DIFF)
  printf "%-36s old %7.2f s new %7.2f s %s %s\n" "$b" "$o" "$n" "$same" "$(stat -c %s "$OUT/$b.new.prnn")"
  to=$(echo "$to + $o" | bc); tn=$(echo "$tn + $n" | bc)
done
echo "total old $to s new $tn s"
rm -rf "$OUT"

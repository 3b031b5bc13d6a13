#!/bin/bash
# Format versions 7 and 8 side by side with one pixelrnn binary: `compress` (auto, two threads)
# in each version, then `decompress` of both files on two threads and on one, alternating,
# checking that both decode to the same pixels. Prints, per image: bytes v7, bytes v8, then
# seconds for v7 and v8 on two threads and on one. How the "Lanes" table of docs/design.md was measured.
# Usage: [P=target/release/pixelrnn] scripts/runs/cmp-versions.sh IMAGE.png...
set -u
P=${P:-target/release/pixelrnn}; OUT=$(mktemp -d)
for f in "$@"; do b=$(basename "$f" .png)
  for v in 7 8; do "$P" compress "$f" --format-version $v -o "$OUT/$b.v$v.prnn" -f -q --threads 2; done
  line="$b $(stat -c %s "$OUT/$b.v7.prnn") $(stat -c %s "$OUT/$b.v8.prnn")"
  for t in 2 1; do for v in 7 8; do
    s=$(date +%s.%N); "$P" decompress "$OUT/$b.v$v.prnn" -o "$OUT/$b.v$v.png" -f -q --threads $t; e=$(date +%s.%N)
    line="$line v$v/T$t $(echo "$e - $s" | bc | cut -c1-5)"
  done; done
  cmp -s "$OUT/$b.v7.png" "$OUT/$b.v8.png" && line="$line same" || line="$line DIFF"
  echo "$line"
done
rm -rf "$OUT"

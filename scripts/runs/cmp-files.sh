#!/bin/bash
# Compresses images with two pixelrnn binaries side by side (auto mode, `--threads T`, default 2),
# then decodes both files, timing each step: the sizes, times and substream counts of the two
# encoders' files, and a check that both decode to the same pixels (`cmp` of the PNGs written).
# Usage: OLD=path/to/old/pixelrnn NEW=target/release/pixelrnn scripts/runs/cmp-files.sh IMAGE...
set -u
OLD=${OLD:-/tmp/old-target/release/pixelrnn}; NEW=${NEW:-target/release/pixelrnn}
T=${T:-2}; OUT=$(mktemp -d)
now() { date +%s.%N; }
subs() { "$1" info "$2" 2>&1 | awk '$1 == "substreams" { print $2 }'; }
declare -A tot=([so]=0 [sn]=0 [eo]=0 [en]=0 [do]=0 [dn]=0)
for f in "$@"; do b=$(basename "$f"); b=${b%.*}
  for v in old new; do bin=$OLD; [ $v = new ] && bin=$NEW
    s=$(now); "$bin" compress "$f" -o "$OUT/$b.$v.prnn" -f -q --threads "$T"; e=$(now)
    eval "enc_$v=$(echo "$e - $s" | bc)"
    s=$(now); "$bin" decompress "$OUT/$b.$v.prnn" -o "$OUT/$b.$v.png" -f -q --threads "$T"; e=$(now)
    eval "dec_$v=$(echo "$e - $s" | bc)"
    eval "size_$v=$(stat -c %s "$OUT/$b.$v.prnn")"
    eval "sub_$v=$(subs "$bin" "$OUT/$b.$v.prnn")"
  done
  same=$(cmp -s "$OUT/$b.old.png" "$OUT/$b.new.png" && echo same || echo DIFF)
  printf "%-30s size %9d -> %9d (%+6.2f %%)  enc %6.2f -> %6.2f s  dec %6.2f -> %6.2f s  [%s | %s] %s\n" \
    "$b" "$size_old" "$size_new" "$(echo "100 * ($size_new - $size_old) / $size_old" | bc -l)" \
    "$enc_old" "$enc_new" "$dec_old" "$dec_new" "$sub_old" "$sub_new" "$same"
  tot[so]=$((tot[so] + size_old)); tot[sn]=$((tot[sn] + size_new))
  tot[eo]=$(echo "${tot[eo]} + $enc_old" | bc); tot[en]=$(echo "${tot[en]} + $enc_new" | bc)
  tot[do]=$(echo "${tot[do]} + $dec_old" | bc); tot[dn]=$(echo "${tot[dn]} + $dec_new" | bc)
done
printf "total size %d -> %d (%+.2f %%)  encode %.1f -> %.1f s  decode %.1f -> %.1f s\n" \
  "${tot[so]}" "${tot[sn]}" "$(echo "100 * (${tot[sn]} - ${tot[so]}) / ${tot[so]}" | bc -l)" \
  "${tot[eo]}" "${tot[en]}" "${tot[do]}" "${tot[dn]}"
rm -rf "$OUT"

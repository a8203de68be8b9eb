#!/usr/bin/env bash
# Time the smoke study (tests/smoke/config.yaml, 2 cores) of two checkouts, alternately, from the same prepared
# data; print each run's wall time and sum its job times per rule (Snakemake's benchmark files).
#   bench/smoke_pair.sh OLD_CHECKOUT NEW_CHECKOUT PREPARED_DATA_DIR [ROUNDS]
# The workdirs are left in /tmp/smoke-pair-{old,new}-N for a byte-for-byte comparison of their results/.
set -euo pipefail
old=$1 new=$2 data=$3 rounds=${4:-2}
here=$(cd "$(dirname "$0")/.." && pwd)
export PATH="$here/.venv/bin:$PATH"
for n in $(seq "$rounds"); do
  for side in old new; do
    root=${!side} work=/tmp/smoke-pair-$side-$n
    rm -rf "$work"; mkdir -p "$work/results"; cp -r "$data" "$work/results/data"
    start=$(date +%s.%N)
    snakemake --snakefile "$root/Snakefile" --directory "$work" --cores 2 --configfile "$here/tests/smoke/config.yaml" \
      -q > "$work.log" 2>&1
    wall=$(echo "$(date +%s.%N) - $start" | bc)
    jobs=$(find "$work/benchmarks" -name '*.tsv' -exec sed -n 2p {} \; | awk '{s += $1} END {printf "%.1f", s}')
    echo "$side round $n ($(git -C "$root" rev-parse --short HEAD)): wall ${wall%??????} s, job time $jobs s"
  done
done

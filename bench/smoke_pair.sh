#!/usr/bin/env bash
# Time the smoke study (tests/smoke/config.yaml, 2 cores) of two checkouts, alternately, from the same prepared
# data: each run's wall time and the sum of its jobs' times (Snakemake's benchmark files). Then compare the two
# checkouts' round-1 results/: every file byte for byte, a .json after leaving out the fields that record a run's
# moment, the tables but runtime.* and flops.csv's job-time columns.
#   bench/smoke_pair.sh OLD_CHECKOUT NEW_CHECKOUT PREPARED_DATA_DIR [ROUNDS] | tee bench/NAME.log
# The workdirs stay in /tmp/smoke-pair-{old,new}-N.
set -euo pipefail
old=$1 new=$2 data=$3 rounds=${4:-2}
here=$(cd "$(dirname "$0")/.." && pwd)
export PATH="$here/.venv/bin:$PATH"
echo "$(date -u +%F) $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(nproc) cores"
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
python - /tmp/smoke-pair-old-1 /tmp/smoke-pair-new-1 <<'PY'
import csv, hashlib, json, sys
from pathlib import Path

MOMENT = {"started", "finished", "wall_seconds", "laplace_seconds", "command", "commit", "dirty"}
JOB_TIME = {"job_s", "gflops_per_job"}


def strip(x):
    if isinstance(x, dict):
        return {k: strip(v) for k, v in x.items() if k not in MOMENT}
    return [strip(v) for v in x] if isinstance(x, list) else x


def digest(root):
    out = {}
    for p in sorted(Path(root, "results").rglob("*")):
        if not p.is_file() or p.name.startswith("runtime") or p.name == "run.json":
            continue
        if p.name == "flops.csv":
            out[p.name] = [{k: v for k, v in r.items() if k not in JOB_TIME} for r in csv.DictReader(p.open())]
        elif p.suffix == ".json":
            out[str(p.relative_to(root))] = strip(json.loads(p.read_text()))
        else:
            out[str(p.relative_to(root))] = hashlib.sha256(p.read_bytes()).hexdigest()
    return out


a, b = (digest(r) for r in sys.argv[1:3])
differ = sorted(k for k in a.keys() | b.keys() if a.get(k) != b.get(k))
print(f"round 1: {len(a)} and {len(b)} files compared, {len(differ)} differ{': ' if differ else ''}{', '.join(differ)}")
PY

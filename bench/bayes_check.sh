#!/usr/bin/env bash
# A short real check of Bayesian distillation (issue 17) before it enters the workflow. After `make study`:
# the diagonal Laplace posteriors of a target's own teachers (seeds 0-4), then the four arms none / partial /
# full / init as one sweep on the first 1000 small-part rows (bike: all 300), and a Hinton sweep of the same
# size (lam 0 0.25 0.5 0.75) for the cost; prints per arm the test metric and log-likelihood, S against none,
# and each step's wall and CPU seconds (on stderr, before the summary). Writes under bench/work/bayes/<target>/.
#   bash bench/bayes_check.sh [target: mnist (default), fashion_mnist, bike] [epochs, default 20]
# RESULTS=<folder> reads the study's data and teachers from another results folder (default results).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
S=workflow/scripts
T=${1:-mnist}
EPOCHS=${2:-20}
W=bench/work/bayes/$T
R=${RESULTS:-results}
mkdir -p "$W"
timed() { local name=$1; shift; /usr/bin/time -f "$name: %e s wall, %U s CPU" "$@" > "$W/$name.log"; }
timed laplace $PY $S/laplace_teacher.py --data $R/data/$T.npz --teachers $R/teachers/$T/seed{0,1,2,3,4}.pt \
  --out "$W/posterior/seed{seed}.pt" --threads 1
timed bayes $PY $S/train_bayes_student.py --data $R/data/$T.npz --posteriors "$W"/posterior/seed{0,1,2,3,4}.pt \
  --arms none partial full init --seeds 0 1 2 3 4 --epochs "$EPOCHS" --threads 1 --metrics "$W/{arm}/seed{seed}/metrics.json"
timed hinton $PY $S/train_student.py --data $R/data/$T.npz --answers $R/answers/$T-from-$T/none.npz \
  --lams 0 0.25 0.5 0.75 --seeds 0 1 2 3 4 --epochs "$EPOCHS" --threads 1 --metrics "$W/hinton/lam{lam}/seed{seed}.json"
$PY bench/bayes_summary.py "$W"

#!/usr/bin/env bash
# The posterior sds of the variational students before and after they were fitted (issue 25): the four arms of
# mnist <- mnist, seeds 0 and 1, 100 epochs on the whole small part, once with the code of commit $OLD (sd =
# softplus(rho), one learning rate) and once with this checkout's, on the same teachers' posteriors. Needs the
# study's data and the posteriors of teachers/mnist/seed{0,1} under RESULTS (default results; e.g. a
# `snakemake --config 'seeds=[0,1]'` run). Writes bench/bayes_sd.md.
#   bash bench/bayes_sd.sh
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-$PWD/.venv/bin/python}
R=${RESULTS:-results}
OLD=${OLD:-01ec3f8}
W=bench/work/bayes_sd
rm -rf "$W" && mkdir -p "$W"
git worktree add -f --detach "$W/old" "$OLD" > /dev/null
trap 'git worktree remove --force "$W/old"' EXIT
run() {  # $1: checkout, $2: output folder
  $PY "$1/workflow/scripts/train_bayes_student.py" --data "$R/data/mnist.npz" \
    --posteriors "$R"/teachers/mnist/seed{0,1}.posterior.pt --arms none partial full init --seeds 0 1 \
    --epochs 100 --eval-every 20 --threads 2 --metrics "$2/{arm}/seed{seed}/metrics.json" \
    --weights "$2/{arm}/seed{seed}/posterior.pt" > "$2.log"
}
run "$W/old" "$W/before"
run . "$W/after"
{
  echo "# Posterior sds of the variational students, before and after they were fitted"
  echo
  echo "Made by \`bash bench/bayes_sd.sh\` at $(git rev-parse --short HEAD) ($(date -u +%F), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs));"
  echo "mnist <- mnist, arms none / partial / full / init, seeds 0 and 1, 100 epochs of the 1000 small-part rows,"
  echo "the same teachers' posteriors. before: commit $OLD (sd = softplus(rho), Adam at 0.001 for all);"
  echo "after: this commit (log sd at bayes.sd_lr 0.01). Quantiles of each layer's sds; the run's test accuracy."
  echo
  $PY bench/bayes_sd.py --run "before ($OLD)" "$W/before" --run after "$W/after"
} > bench/bayes_sd.md
echo "wrote bench/bayes_sd.md"

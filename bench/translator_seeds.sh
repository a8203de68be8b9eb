#!/usr/bin/env bash
# Does the translator (phi = vae across datasets) need replicating per seed, like the teacher? After
# `make study`: fit each cross-dataset translator again with other seeds, answer with the study's paired
# teachers through each, train students at lam 0 and 0.5 (seeds 0-4) and print the gain per translator seed
# against the study's baselines, with the spread between translator seeds and the one within (over students).
# Writes under bench/work/translator/; each new translator takes about 5 min on 2 cores (300 epochs).
#   bash bench/translator_seeds.sh [translator seeds, default 0 1 2; 0 is the study's own]
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
S=workflow/scripts
W=bench/work/translator
SEEDS=${*:-0 1 2}
mkdir -p "$W"
cfg() { $PY -c "import yaml; c = yaml.safe_load(open('config.yaml')); print(c$1)"; }
read -r EPOCHS BATCH LR HIDDEN LATENT <<< "$(cfg "['training']['translator']" | $PY -c "import ast, sys; t = ast.literal_eval(sys.stdin.read()); print(*(t[k] for k in ('epochs', 'batch_size', 'lr', 'hidden', 'latent')))")"
for pair in mnist:fashion_mnist fashion_mnist:mnist; do
  target=${pair%%:*} source=${pair##*:}
  for k in $SEEDS; do
    out=$W/$target-to-$source/seed$k
    mkdir -p "$out"
    # seed 0 is the study's own translator (training.translator.seed): reuse it
    if [ "$k" = 0 ] && [ -f results/mappings/$target-to-$source/vae.pt ]; then cp results/mappings/$target-to-$source/vae.pt "$out/vae.pt"; fi
    [ -f "$out/vae.pt" ] || $PY $S/fit_mapping.py --target-data results/data/$target.npz --source-data results/data/$source.npz \
      --epochs "$EPOCHS" --batch-size "$BATCH" --lr "$LR" --seed "$k" --hidden "$HIDDEN" --latent "$LATENT" \
      --out "$out/vae.pt" --metrics "$out/vae.json" --threads 2 > "$out/fit.log"
    $PY $S/teacher_answers.py --target-data results/data/$target.npz --teacher results/teachers/$source/seed{0,1,2,3,4}.pt \
      --phi vae --mapping "$out/vae.pt" --seeds 0 1 2 3 4 --out "$out/answers.npz" --metrics "$out/answers.json" --threads 2 > "$out/answers.log"
    $PY $S/train_student.py --data results/data/$target.npz --answers "$out/answers.npz" --lams 0 0.5 --seeds 0 1 2 3 4 \
      --epochs 100 --eval-every 5 --metrics "$out/lam{lam}/seed{seed}.json" --threads 2 > "$out/students.log"
  done
done
$PY - "$W" $SEEDS <<'EOF'
import json, sys
from pathlib import Path
import numpy as np
work, seeds = Path(sys.argv[1]), sys.argv[2:]
for pair in ("mnist-to-fashion_mnist", "fashion_mnist-to-mnist"):
    target = pair.split("-to-")[0]
    base = np.array([json.loads(Path(f"results/students/{target}/n1000/baseline/seed{s}/metrics.json").read_text())["test_metric"] for s in range(5)])
    print(f"{target} <- {pair.split('-to-')[1]}, phi = vae (gain over the study's baselines, mean over student seeds 0-4)")
    for lam in ("0", "0.5"):
        gains = []
        for k in seeds:
            v = np.array([json.loads((work / pair / f"seed{k}" / f"lam{lam}" / f"seed{s}.json").read_text())["test_metric"] for s in range(5)])
            gains.append(v - base)
        means = [g.mean() for g in gains]
        within = np.mean([g.std(ddof=1) for g in gains])
        teacher_through = [json.loads((work / pair / f"seed{k}" / "answers.json").read_text())["test_metric"] for k in seeds]
        print(f"  lam {lam}: gain per translator seed " + ", ".join(f"{k}: {m:+.4f}" for k, m in zip(seeds, means))
              + f"; sd between translator seeds {np.std(means, ddof=1):.4f}, sd within (students) {within:.4f},"
              f" its standard error {within / np.sqrt(5):.4f}; teacher accuracy through phi " + ", ".join(f"{t:.4f}" for t in teacher_through))
EOF

"""Per arm of a bench/bayes_check.sh run: the test metric and log-likelihood at the epochs evaluated first and last
(mean over seeds), [2]'s S and the metric's paired difference against the none arm, the final KL."""

import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
from distill import bayes  # noqa: E402

folder = Path(sys.argv[1])
runs = {arm: {int(p.parent.name[4:]): json.loads(p.read_text()) for p in sorted(
    folder.glob(f"{arm}/seed*/metrics.json"))} for arm in bayes.ARMS}
metric = next(iter(runs["none"].values()))["metric"]
print(f"{folder}: arm, {metric} at epoch 0 and last (mean ± sd over seeds), test log-likelihood, S vs none, paired "
      f"delta vs none, KL")
for arm, by_seed in runs.items():
    seeds = sorted(by_seed)
    first, last = ([r["epochs"][i][metric] for r in by_seed.values()] for i in (0, -1))
    loglik = [r["test_loglik"] for r in by_seed.values()]
    area = [bayes.area_between(by_seed[s]["epochs"], runs["none"][s]["epochs"]) for s in seeds]
    delta = [by_seed[s]["test_metric"] - runs["none"][s]["test_metric"] for s in seeds]
    print(f"  {arm:8s} {np.mean(first):.4f} -> {np.mean(last):.4f} ± {np.std(last, ddof=1):.4f}   loglik "
          f"{np.mean(loglik):.4f} ± {np.std(loglik, ddof=1):.4f}   S {np.mean(area):+.3f} ± "
          f"{np.std(area, ddof=1):.3f}   delta {np.mean(delta):+.4f} ({' '.join(f'{d:+.4f}' for d in delta)})   KL "
          f"{np.mean([r['kl'] for r in by_seed.values()]):.0f}")
for log in sorted(folder.glob("*.log")):
    print(f"  {log.stem}: " + log.read_text().strip().splitlines()[-1])

"""The posterior sds of variational students, before and after they were fitted (issue 25): per arm, seed and
layer, the quantiles of the sds of a saved posterior (--weights of train_bayes_student.py), its test metric and
the reduced prior's. Writes a Markdown table on stdout.
    python bench/bayes_sd.py --run "<code>" DIR [--run ... DIR ...]
DIR holds {arm}/seed{seed}/posterior.pt and {arm}/seed{seed}/metrics.json."""

import argparse
import json
from pathlib import Path

import torch

QUANTILES = (0.0, 0.05, 0.25, 0.5, 0.75, 0.95, 1.0)
p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
p.add_argument("--run", nargs=2, action="append", required=True, metavar=("LABEL", "DIR"),
               help="what made the runs, and their folder")
args = p.parse_args()
print("| code | arm | seed | layer | min | 5% | 25% | median | 75% | 95% | max | test metric |")
print("|---|---|---|---|---|---|---|---|---|---|---|---|")
for label, folder in args.run:
    for weights in sorted(Path(folder).glob("*/seed*/posterior.pt")):
        record = json.loads((weights.parent / "metrics.json").read_text())
        post = torch.load(weights, weights_only=True)
        for layer in ("w1", "b1", "w2", "b2"):
            sd = post[f"sd_{layer}"].flatten().double()
            q = sd.quantile(torch.tensor(QUANTILES, dtype=torch.float64)).tolist()
            print(f"| {label} | {weights.parent.parent.name} | {weights.parent.name[4:]} | {layer} | "
                  + " | ".join(f"{v:.4g}" for v in q) + f" | {record['test_metric']:.4f} |")

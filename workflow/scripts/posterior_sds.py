"""How far the variational students' posterior sds moved: their distribution per target, source, arm and layer.

Every Bayesian student run (results/students/<target>/n<size>/<source>-bayes/<arm>/seed<k>/metrics.json, and the
arm none in bayes-none/) records, per layer (w1, b1, w2, b2), the quantiles of its posterior sds at the end of
training (`posterior_sd`: min, 5 %, 25 %, median, 75 %, 95 %, max) and the sd every weight started from
(`config.init_sd`). This report gives, per (target, size, source, arm, layer), the median over the seeds of each
quantile, the seeds' smallest and largest median, and how many runs' median sd is within a factor of 2 of the
initial sd (a posterior that did not move, as before the fit of 2026-12-03: every sd ended at about 0.005 from
0.001). Writes a Markdown table.

Example:
    python workflow/scripts/posterior_sds.py --results results --out results/posterior-sds.md
"""

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "src"))
import pandas as pd  # noqa: E402

from distill import cli, paths  # noqa: E402
from distill.bayes import LAYERS, SD_NAMES  # noqa: E402
from distill.io import atomic_path, fail  # noqa: E402

QUANTILES = list(SD_NAMES.values())  # as train_bayes_student.py records them (BayesStudents.sd_summary)
HEADER = {name: name if name in ("min", "median", "max") else f"{100 * p:g}%" for p, name in SD_NAMES.items()}

p = cli.Parser(__doc__)
p.add_argument("--results", required=True, type=Path, help="results folder of a finished study (results)")
p.add_argument("--out", required=True, type=Path, help="the Markdown report (results/posterior-sds.md)")
args = p.parse_args()
cli.writable("out", args.out)

runs = {f: paths.match(paths.BAYES, f) or paths.match(paths.BAYES_BASELINE, f)
        for f in sorted(args.results.glob("students/**/metrics.json"))}
files = [f for f, fields in runs.items() if fields is not None]
if not files:
    fail(f"{args.results} holds no Bayesian student run: run a study with method bayes experiments first")
rows = []
for f in files:
    record = json.loads(f.read_text())
    if "posterior_sd" not in record:
        fail(f"{f} records no posterior_sd (a run of code before 2026-12-03): rerun the study")
    source = runs[f].get("source", "none")  # the arm none (BAYES_BASELINE) has no teacher
    for layer in LAYERS:
        q = record["posterior_sd"][layer]
        rows.append({"target": record["dataset"], "size": record["size"], "source": source, "arm": record["arm"],
                     "layer": layer, "init_sd": record["config"]["init_sd"], **{k: q[k] for k in QUANTILES}})
runs = pd.DataFrame(rows)
runs["layer"] = pd.Categorical(runs["layer"], LAYERS, ordered=True)
keys = ["target", "size", "source", "arm", "layer"]
out = []
for key, g in runs.groupby(keys, sort=True, observed=True):
    out.append({**dict(zip(keys, key)), "runs": len(g), "init sd": f"{g['init_sd'].iloc[0]:g}",
                **{HEADER[k]: f"{g[k].median():.4g}" for k in QUANTILES},
                "run medians": f"{g['median'].min():.4g} to {g['median'].max():.4g}",
                "not moved": f"{int((g['median'] < 2 * g['init_sd']).sum())} of {len(g)}"})
table = pd.DataFrame(out)
moved = int((runs["median"] >= 2 * runs["init_sd"]).sum())
text = ("# The variational students' posterior sds\n\n"
        f"{len(files)} Bayesian student runs of `{args.results}`; per layer the quantiles of each run's posterior "
        "sds at the end of training, and in each column from min to max their median over the runs (seeds); 'run "
        "medians' the smallest and largest of the runs' median sd. A run's layer has 'not moved' when its median sd "
        f"is below twice the initial sd. {moved} of {len(runs)} run layers moved.\n\n"
        + table.to_markdown(index=False, disable_numparse=True) + "\n")
with atomic_path(args.out) as tmp:
    tmp.write_text(text)
print(f"wrote {args.out}: {len(table)} rows from {len(files)} runs; {moved} of {len(runs)} run layers moved")

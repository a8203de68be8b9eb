"""The study's three questions as paired contrasts between experiments, pooled over one or more runs.

Per target and small-part size, each experiment (source, phi) is summarised per seed by the student's metric
averaged over its lambda-rows (as in tables/experiments-<target>). Seeds of several runs with disjoint seeds
(results/ and replicate/results/, `make replicate`) are pooled: each seed has its own teacher and student.
For every seed that both have, it tests:
- each experiment against the baseline (does it help?);
- each transformed-domain experiment against Hinton's row (the teacher on the target's own real data), both
  with phi = none and with the domain's psi: does a generated-data teacher beat the real-data teacher?
- each domain's phi = psi against phi = none (does phi matter?).
A contrast A - B is the paired difference of the per-seed means (the shared baseline cancels): mean, sd, 95%
t-interval and two-sided paired t-test p over the seeds, Holm-adjusted within each target's family of contrasts.

Example:
    python workflow/scripts/contrasts.py --runs results replicate/results --out results/contrasts.md
"""

import math
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "src"))
import pandas as pd  # noqa: E402

from distill import cli, names, results as R, stats as S  # noqa: E402
from distill.config import base, psi  # noqa: E402
from distill.io import atomic_path, fail  # noqa: E402

p = cli.Parser(__doc__)
p.add_argument("--runs", required=True, nargs="+", type=Path,
               help="results folders of finished runs with disjoint seeds (their students/ are read)")
p.add_argument("--alpha", type=cli.level, default=0.05,
               help="level of the verdicts, on the Holm-adjusted p (default 0.05)")
p.add_argument("--out", required=True, type=Path, help="the report (.md)")
args = p.parse_args()
cli.writable("out", args.out)

paths = [f for folder in args.runs for f in sorted((folder / "students").glob("*/n*/**/metrics.json"))]
if not paths:
    fail(f"no student runs under {', '.join(f'{r}/students' for r in args.runs)}: give the results folders of finished "
         f"studies")
runs = R.hinton(R.collect(paths))  # the contrasts are between Hinton's rows
if runs.duplicated(R.KEYS).any():
    fail("the runs share seeds: pool only runs with disjoint seeds (e.g. seeds 0-4 and 5-9)")
first_T = runs.loc[~runs["baseline"], "T"].min()  # one temperature: the grid's lowest
runs = runs[runs["baseline"] | (runs["T"] == first_T)]

rows = []
for (target, size), group in runs.groupby(["target", "size"], sort=True):
    metric = group["metric"].iloc[0]
    per_seed = {"baseline": group[group["baseline"]].set_index("seed")["value"]}
    for (source, phi), row in group[~group["baseline"]].groupby(["source", "phi"]):
        per_seed[(source, phi)] = S.lambda_means(row)  # a diverged lambda-row is counted by paired(), not averaged away
    pairs = [(k, "baseline", "helps?") for k in per_seed if k != "baseline"]
    hinton = (target, "none")
    for source, phi in [k for k in per_seed if k != "baseline"]:
        if psi(source) and base(source) == target and hinton in per_seed:
            pairs.append(((source, phi), hinton, "beats Hinton's row?"))
        if psi(source) and phi != "none" and (source, "none") in per_seed:
            pairs.append(((source, phi), (source, "none"), "phi matters?"))
    family = []
    for a, b, question in pairs:
        test = S.paired(per_seed[a], per_seed[b])
        n = test["n_paired"] - test["n_diverged"]
        low, high = S.interval(test["diff_mean"], test["diff_sd"], n)
        family.append({"target": target, "size": size, "question": question, "A": f"{a[0]}, φ={a[1]}",
                       "B": "baseline" if b == "baseline" else f"{b[0]}, φ={b[1]}", "metric": metric, "n": n, **test,
                       "ci_low": low, "ci_high": high})
    holm = S.holm([f["p_ttest"] for f in family])
    for f, ph in zip(family, holm):
        rows.append({**f, "p_holm": ph,
                     "verdict": S.verdict(f, ph, metric, args.alpha).replace("better", "A better").replace(
                         "worse", "A worse")})

table = pd.DataFrame(rows)
order = {"helps?": 0, "beats Hinton's row?": 1, "phi matters?": 2}
table = table.assign(o=table["question"].map(order)).sort_values(["target", "size", "o", "A"], kind="stable").drop(
    columns="o")
shown = []
for r in table.itertuples():
    d = names.DECIMALS.get(r.metric, 4)
    ci = "—" if math.isnan(r.ci_low) else f"[{r.ci_low:+.{d}f}, {r.ci_high:+.{d}f}]"
    shown.append({"target": r.target, "small part": str(r.size), "question": r.question, "A": r.A, "B": r.B,
                  "Δ = A − B": f"{r.diff_mean:+.{d}f} ± {r.diff_sd:.{d}f}", "95% interval": ci, "n": str(r.n),
                  "p (Holm)": "—" if math.isnan(r.p_holm) else "<0.0001" if r.p_holm < 1e-4 else f"{r.p_holm:.4f}",
                  "verdict": r.verdict})
text = (f"# Contrasts between experiments, pooled over {', '.join(map(str, args.runs))}\n\n"
        "Per seed, each experiment's metric averaged over its λ-rows; Δ = A − B paired by seed (mean ± sd), its 95% "
        f"t-interval, the paired t-test p Holm-adjusted within each target's contrasts; verdict at Holm p < "
        f"{args.alpha:g} in the metric's direction (accuracy up, MSE down). Each seed has its own teacher (teachers: "
        f"paired).\n\n"
        + pd.DataFrame(shown).to_markdown(index=False, disable_numparse=True) + "\n")
with atomic_path(args.out) as tmp:
    tmp.write_text(text)
print(text)

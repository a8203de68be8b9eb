"""Write the tables people read: one per target in the paper's Table 5 form, and the teachers' scores.

Per target (Student | small part | Teacher (source domain) | phi | lambda | T | metric and integral criterion, mean
+- sd over seeds | n), the baseline (lambda = 1, no teacher) first, then each distilled row compared
with it over the seeds both have, for the final metric and for the integral criterion (the area under
the test-loss curve, lower is better): paired difference and paired t-test p (and the Wilcoxon
signed-rank p of the metric). The metric's t-test p-values of one target's distilled rows are
Holm-adjusted together (step-down, over the rows that have a test), and the verdict (better / worse /
no clear difference at Holm p < alpha, in the metric's own direction: accuracy up, MSE down) uses the
adjusted p; the integral's difference and p are shown beside it but do not enter the verdict.

A seed whose metric or integral is NaN or infinite (diverged) is counted, not dropped: its cell reads
"0.8830 +- 0.0021 (1 diverged)" (mean +- sd over the other seeds), no test is run on values that include
it (p "—"), and the row's verdict reads "diverged seeds". When every paired difference is the same (zero
variance) no t-test is run (p "—"): the verdict is "no clear difference" if the differences are all 0,
else "no test (zero variance)".

Each table goes to {target}.csv (numbers + text), {target}.md and {target}.tex (booktabs); the teachers'
own test scores and their scores on each target through phi go to teachers.{csv,md,tex}. A row's
baseline is the one trained on the same small-part size (column "small part"). gain-{target}.{csv,md,tex}
holds, per size, row, T and lambda, the gain over that baseline with its 95% interval over seeds: the
numbers of the gain and temperature figures. experiments-{target}.{csv,md,tex} holds one primary test per
experiment (source, phi) and size and T: the per-seed mean over its lambdas against the baseline, Holm over
the target's experiments. Every distilled row also gets the 95% t-interval of its gain (csv ci_low, ci_high; a
Bayesian arm's against the arm none: bayes_ci_low, bayes_ci_high), which bounds the effect of a "no clear
difference" row, and its minimum detectable effect (MDE: 80% power at alpha / m, statsmodels), a figure of the
design, not a bound on the row's effect; each table's note says so.

Bayesian rows (method bayes; docs/study.md, section 12) follow each size's Hinton rows: the arm none (the Bayesian
baseline), then every (source, arm). Each is compared, paired by seed, with the lambda = 1 baseline of its size (the
columns of a Hinton row; Holm over the table's Bayesian rows, a family apart from the Hinton rows') and each arm with
the arm none (bayes_* columns, Holm over the arms) and by [2]'s S, the area between the two test log-likelihood
curves (S_* columns). The csv columns method (hinton, bayes; empty for the baseline) and arm say which row is which.
baselines.{csv,md,tex} lists the lambda = 1 baseline and the arm none per target and size; gains-at-lam.* every
Hinton experiment at the lambda nearest 0.5; verdicts.* the verdict counts per target and comparison.

Without --allow-missing a missing input stops the script before anything is written; with it, a cell
short of seeds reads "0.8830 +- 0.0021 (3/5 seeds)" and an empty one "missing".

Example:
    python workflow/scripts/make_tables.py --runs results/students/*/n*/*/*/seed*/metrics.json \
        results/students/*/n*/*/seed*/metrics.json --teachers results/teachers/*/seed*.json \
        --answers results/answers/*/*.json --out-dir results/tables
"""

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "src"))
from distill import cli, results as R, tables  # noqa: E402
from distill.io import atomic_path, fail  # noqa: E402

p = cli.Parser(__doc__)
p.add_argument("--runs", required=True, nargs="+", type=Path,
               help="student metrics.json files, distilled and baseline (their paths name the grid point)")
p.add_argument("--teachers", nargs="*", default=[], type=Path,
               help="teacher metrics: results/teachers/{source}/seed{seed}.json (posterior records beside them are "
                    "skipped)")
p.add_argument("--answers", nargs="*", default=[], type=Path,
               help="teacher-answers metrics: results/answers/{target}-from-{source}/{phi}.json")
p.add_argument("--out-dir", required=True, type=Path,
               help="folder for {target}, gain-{target}, experiments-{target}, teachers, baselines, gains-at-lam and "
                    "verdicts, each .csv, .md and .tex")
p.add_argument("--allow-missing", action="store_true",
               help="write the tables even if some inputs are missing, marking the cells short of seeds")
p.add_argument("--alpha", type=cli.level, default=0.05,
               help="significance level of the verdict, on the Holm-adjusted p (default 0.05)")
args = p.parse_args()
cli.writable("out-dir", args.out_dir, folder=True)

# Check every input before writing anything.
R.check_missing(args.runs + args.teachers + args.answers, args.allow_missing, "marked in the tables")
try:
    expected = R.grid(args.runs)
    runs = R.collect(args.runs, allow_missing=True)
    answers = [(json.loads(a.read_text()) if a.is_file() else None, a) for a in args.answers]
    teachers = [(json.loads(t.read_text()) if t.is_file() else None, t) for t in args.teachers]
    out = tables.build(expected, runs, teachers, answers, args.alpha)  # file name -> text
except (ValueError, KeyError, json.JSONDecodeError) as e:
    fail(str(e))

for name, text in out.items():
    with atomic_path(args.out_dir / name) as tmp:
        tmp.write_text(text)
print(f"wrote {len(out)} files to {args.out_dir}: {', '.join(sorted(out))}")

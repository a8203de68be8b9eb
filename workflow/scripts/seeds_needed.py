"""How many seeds would the study need? A post-hoc power analysis on the observed effects of a finished study.

For every primary test (tables/experiments-<target>.csv: one per experiment, size and T) it takes the observed
spread of the paired differences and the observed mean difference, and computes the minimum detectable effect
(80% power at the table's alpha / m, as make_tables.py does) for each candidate number of seeds. It reports, per
target and number of seeds, the median MDE and how many experiments' observed |Δ| reaches their MDE, counting
gains and losses apart in the metric's direction (accuracy up is a gain, MSE down is a gain;
distill.stats.direction), and per experiment the seeds its observed |Δ| needs (capped at the largest candidate).

It is post-hoc power: the observed Δ and sd stand in for the true ones. It says how many seeds a new study would
need to detect, with 80% power, effects as large as the ones seen here if they were the true effects; it is a
planning figure. It does not say whether an effect of this study is real or absent (that is what each row's test
and 95% interval say), and the observed |Δ| of a small study is a noisy, for the larger ones upward-biased,
estimate of the true one.

Example:
    python workflow/scripts/seeds_needed.py --tables results/tables --seeds 5 10 15 20 30 --out results/seeds-needed.md
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "src"))
import pandas as pd  # noqa: E402

from distill import cli, names, stats as S  # noqa: E402
from distill.io import atomic_path, fail  # noqa: E402

p = cli.Parser(__doc__)
p.add_argument("--tables", required=True, type=Path,
               help="tables folder of a finished study (with experiments-<target>.csv)")
pairs = cli.number(int, lambda v: v >= 2, "an integer >= 2 (a paired t-test needs 2 pairs)")
p.add_argument("--seeds", type=pairs, nargs="+", default=[5, 10, 15, 20, 30],
               help="candidate numbers of seeds (default 5 10 15 20 30)")
p.add_argument("--alpha", type=cli.level, default=0.05,
               help="the tables' level before the Bonferroni split (default 0.05)")
p.add_argument("--out", required=True, type=Path, help="the report (.md)")
args = p.parse_args()
cli.writable("out", args.out)

files = sorted(args.tables.glob("experiments-*.csv"))
if not files:
    fail(f"{args.tables} holds no experiments-<target>.csv: give the tables folder of a finished study "
         f"(results/tables)")
summary, detail = [], []
for path in files:
    table = pd.read_csv(path)
    target = path.stem.removeprefix("experiments-")
    tested = table[table["p_ttest"].notna()]
    m = len(tested)
    if not m:
        continue
    metric = tested["metric"].iloc[0]
    d = names.DECIMALS.get(metric, 4)
    side = tested["diff_mean"].map(lambda x: S.direction(x, metric))
    need = {}
    for n in sorted(args.seeds):
        mde = tested["diff_sd"].map(lambda sd: S.detectable(sd, n, args.alpha / m))
        reached = tested["diff_mean"].abs() >= mde
        for i in tested.index[reached]:
            need.setdefault(i, n)
        summary.append({"target": target, "seeds": str(n), "experiments": str(m), "median MDE": f"{mde.median():.{d}f}",
                        "gains with |Δ| ≥ MDE": f"{int((reached & (side == 'gain')).sum())} of {m}",
                        "losses with |Δ| ≥ MDE": f"{int((reached & (side == 'loss')).sum())} of {m}"})
    for i, r in tested.iterrows():
        detail.append({"target": target, "Teacher": r["source"], "φ": r["phi"], "small part": str(r["size"]),
                       "T": f"{r['T']:g}",
                       f"Δ (n = {int(r['n_paired'])})": f"{r['diff_mean']:+.{d}f} ± {r['diff_sd']:.{d}f}",
                       "direction": side[i], "verdict": r["verdict"],
                       "seeds for 80% power at this |Δ|": str(need[i]) if i in need else f"> {max(args.seeds)}"})

text = ("# Seeds needed\n\nPost-hoc power from the observed effects of each primary test "
        f"(experiments-<target>.csv of `{args.tables}`): the minimum detectable effect (80% power, two-sided paired "
        f"t-test at {args.alpha:g} / m, m the target's experiments) from each test's observed spread, for each number "
        f"of seeds, and how many experiments' observed |Δ| reaches it, gains and losses apart (a gain: better in the "
        f"metric's direction, accuracy up or MSE down; a loss: worse).\n\n"
        "What this means: if the observed Δ and sd were the true ones, a study with that many seeds would detect "
        "the effect 80% of the time; it is a planning figure for a new study. What it does not mean: it says "
        "nothing about whether an effect of this study is real or absent (each row's test and 95% interval say "
        "that; post-hoc power at the observed effect only restates its p-value), and the observed |Δ| of a few seeds "
        "is noisy, so these counts are rough. The MDE column needs only the spread, not the observed effect.\n\n"
        + pd.DataFrame(summary).to_markdown(index=False, disable_numparse=True) + "\n\n## Per experiment\n\n"
        + pd.DataFrame(detail).to_markdown(index=False, disable_numparse=True) + "\n")
with atomic_path(args.out) as tmp:
    tmp.write_text(text)
print(text)

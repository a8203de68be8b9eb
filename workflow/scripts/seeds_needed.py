"""How many seeds would the study need? A power analysis on the observed spread of a finished study.

For every primary test (tables/experiments-<target>.csv: one per experiment, size and T) it takes the observed
spread of the paired differences and the observed gain, and computes the minimum detectable effect (80%
power at the table's alpha / m, as make_tables.py does) for each candidate number of seeds. It reports, per
target and number of seeds, the median MDE and how many experiments' observed |gain| reaches their MDE (a
true gain of that size would then be detected 80% of the time), and the seeds each experiment needs for
its observed gain (capped at the largest candidate).

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
    d = names.DECIMALS.get(tested["metric"].iloc[0], 4)
    need = {}
    for n in args.seeds:
        mde = tested["diff_sd"].map(lambda sd: S.detectable(sd, n, args.alpha / m))
        reached = tested["diff_mean"].abs() >= mde
        for i in tested.index[reached]:
            need.setdefault(i, n)
        summary.append({"target": target, "seeds": str(n), "experiments": str(m), "median MDE": f"{mde.median():.{d}f}",
                        "observed |gain| ≥ MDE": f"{int(reached.sum())} of {m}"})
    for i, r in tested.iterrows():
        detail.append({"target": target, "Teacher": r["source"], "φ": r["phi"], "small part": str(r["size"]),
                       "T": f"{r['T']:g}",
                       f"Δ (n = {int(r['n_paired'])})": f"{r['diff_mean']:+.{d}f} ± {r['diff_sd']:.{d}f}",
                       "verdict": r["verdict"],
                       "seeds for 80% power at this gain": str(need[i]) if i in need else f"> {max(args.seeds)}"})

text = ("# Seeds needed\n\nFrom the observed spread of the paired differences of each primary test "
        f"(experiments-<target>.csv of `{args.tables}`): the minimum detectable effect (80% power, two-sided paired "
        f"t-test at {args.alpha:g} / m, m the target's experiments) for each number of seeds, and how many "
        f"experiments' observed |gain| reaches it.\n\n"
        + pd.DataFrame(summary).to_markdown(index=False, disable_numparse=True) + "\n\n## Per experiment\n\n"
        + pd.DataFrame(detail).to_markdown(index=False, disable_numparse=True) + "\n")
with atomic_path(args.out) as tmp:
    tmp.write_text(text)
print(text)

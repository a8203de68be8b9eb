"""Compare the tables of two runs of the study, row by row: are its verdicts and intervals reproducible?

Made for two replicates (the same grid with disjoint seeds: new teachers and new students, `make replicate`)
and for one grid under two designs (teachers: paired against shared, `make shared`). For every distilled row
(target, small part, source, phi, lambda, T) that both have, it reports:
- whether the two verdicts agree;
- whether each run's mean gain lies inside the other run's 95% interval of the gain (for two independent
  replicates of equal size, calibrated intervals catch the other's mean about 83% of the time);
- whether the signs contradict (one run says "better", the other "worse");
- each row's minimum detectable effect (MDE) in both runs, beside its gains.

The same for the one primary test per experiment (experiments-*.csv), where both runs have it.
Writes <out>.md (totals per target and overall, the primary tests, then the rows whose verdicts differ) and
<out>.csv (every row).

Example:
    python workflow/scripts/compare_studies.py --a results/tables --b replicate/results/tables \
        --names "seeds 0-4" "seeds 5-9" --out results/replicate
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "src"))
import pandas as pd  # noqa: E402

from distill import cli, names, stats as S, tables  # noqa: E402
from distill.io import atomic_path, fail  # noqa: E402

p = cli.Parser(__doc__)
p.add_argument("--a", required=True, type=Path, help="tables folder of the first run (make_tables.py's --out-dir)")
p.add_argument("--b", required=True, type=Path, help="tables folder of the second run")
p.add_argument("--names", nargs=2, default=["A", "B"], metavar=("A", "B"),
               help="what to call the two runs in the report (default A B)")
p.add_argument("--out", required=True, type=Path, help="path prefix of the report: <out>.md and <out>.csv")
args = p.parse_args()
cli.writable("out", args.out.with_name(args.out.name + ".md"), args.out.with_name(args.out.name + ".csv"))

KEY = ["target", "size", "source", "phi", "T", "lam"]


def rows(folder: Path) -> pd.DataFrame:
    """Every distilled row of one run: its gain, 95% interval, verdict and MDE (from gain-*.csv and *.csv)."""
    gain_files = sorted(folder.glob("gain-*.csv"))
    if not gain_files:
        fail(f"{folder} holds no gain-<target>.csv: give the tables folder of a finished study (results/tables)")
    out = []
    for gain_file in gain_files:
        target = gain_file.stem.removeprefix("gain-")
        table_file = folder / f"{target}.csv"
        if not table_file.is_file():
            fail(f"{folder} has {gain_file.name} but no {table_file.name}: rerun the tables of that study")
        gains = tables.read_csv(gain_file)
        table = tables.read_csv(table_file)  # also a table of older code (small_size, teacher, std)
        # the Bayesian rows have no gain-<target> row
        hinton = table["method"] != "bayes" if "method" in table else table["source"].notna()
        table = table[table["source"].notna() & hinton].rename(columns={"student": "target"})
        merged = gains.merge(table[KEY + ["verdict", "mde"]], on=KEY, how="left", validate="one_to_one")
        out.append(merged[KEY + ["metric", "n_paired", "diff_mean", "ci_low", "ci_high", "verdict", "mde"]])
    return pd.concat(out, ignore_index=True)


def experiments(folder: Path) -> pd.DataFrame:
    """The primary test of every experiment of one run (experiments-*.csv), with its 95% t-interval."""
    frames = [tables.read_csv(f) for f in sorted(folder.glob("experiments-*.csv"))]
    frames = [f for f in frames if len(f)]
    if not frames:
        return pd.DataFrame(columns=KEY[:-1] + ["metric", "diff_mean", "ci_low", "ci_high", "verdict"])
    out = pd.concat(frames, ignore_index=True)
    bounds = [S.interval(r.diff_mean, r.diff_sd, int(r.n_paired - r.n_diverged)) for r in out.itertuples()]
    out["ci_low"], out["ci_high"] = [lo for lo, _ in bounds], [hi for _, hi in bounds]
    return out[KEY[:-1] + ["metric", "diff_mean", "ci_low", "ci_high", "verdict"]]


def compare(a: pd.DataFrame, b: pd.DataFrame, key: list[str]) -> pd.DataFrame:
    """The rows both runs have, side by side (_a, _b), with agree, b_in_a, a_in_b and contradict."""
    both = a.merge(b, on=key + ["metric"], suffixes=("_a", "_b"), how="inner", validate="one_to_one")
    both["agree"] = both["verdict_a"] == both["verdict_b"]
    both["b_in_a"] = both["diff_mean_b"].between(both["ci_low_a"], both["ci_high_a"])
    both["a_in_b"] = both["diff_mean_a"].between(both["ci_low_b"], both["ci_high_b"])
    both["contradict"] = [{va, vb} == {"better", "worse"} for va, vb in zip(both["verdict_a"], both["verdict_b"])]
    return both


a, b = rows(args.a), rows(args.b)
both = compare(a, b, KEY)
if both.empty:
    fail(f"{args.a} and {args.b} share no distilled row (target, small part, source, phi, lambda, T): are they tables "
         f"of one grid?")
only = len(a) + len(b) - 2 * len(both)
primary = compare(experiments(args.a), experiments(args.b), KEY[:-1])
A, B = args.names


def share(flags: pd.Series) -> str:
    return f"{int(flags.sum())} of {len(flags)} ({flags.mean():.0%})"


def dec(metric):
    return names.DECIMALS.get(metric, 4)


totals = []
for target, group in list(both.groupby("target", sort=True)) + [("all", both)]:
    d = dec(group["metric"].iloc[0]) if group["metric"].nunique() == 1 else 4
    inside = pd.concat([group["b_in_a"], group["a_in_b"]])
    mde = "—" if target == "all" else f"{group['mde_a'].median():.{d}f} / {group['mde_b'].median():.{d}f}"
    gain = ("—" if target == "all"
            else f"{group['diff_mean_a'].abs().median():.{d}f} / {group['diff_mean_b'].abs().median():.{d}f}")
    totals.append({"target": target, "rows": str(len(group)), "verdicts agree": share(group["agree"]),
                   f"{B} mean inside {A}'s 95% interval": share(group["b_in_a"]),
                   f"{A} mean inside {B}'s": share(group["a_in_b"]),
                   "either way": share(inside), "signs contradict": str(int(group["contradict"].sum())),
                   f"median MDE ({A} / {B})": mde, f"median abs gain ({A} / {B})": gain})

primary_totals = [{"target": target, "experiments": str(len(group)), "verdicts agree": share(group["agree"]),
                   f"{B} mean inside {A}'s 95% interval": share(group["b_in_a"]),
                   f"{A} mean inside {B}'s": share(group["a_in_b"]),
                   "signs contradict": str(int(group["contradict"].sum()))}
                  for target, group in list(primary.groupby("target", sort=True))
                  + [("all", primary)]] if len(primary) else []
primary_detail = [{"target": r.target, "small part": str(r.size), "Teacher": r.source, "φ": r.phi, "T": f"{r.T:g}",
                   f"Δ {A}": f"{r.diff_mean_a:+.{dec(r.metric)}f}", f"verdict {A}": r.verdict_a,
                   f"Δ {B}": f"{r.diff_mean_b:+.{dec(r.metric)}f}",
                   f"verdict {B}": r.verdict_b} for r in primary.itertuples()]
differ = both[~both["agree"]]
detail = [{"target": r.target, "small part": str(r.size), "Teacher": r.source, "φ": r.phi, "T": f"{r.T:g}",
           "λ": f"{r.lam:g}",
           f"Δ {A}": f"{r.diff_mean_a:+.{dec(r.metric)}f} [{r.ci_low_a:.{dec(r.metric)}f}, "
                     f"{r.ci_high_a:.{dec(r.metric)}f}]",
           f"verdict {A}": r.verdict_a, f"MDE {A}": f"{r.mde_a:.{dec(r.metric)}f}",
           f"Δ {B}": f"{r.diff_mean_b:+.{dec(r.metric)}f} [{r.ci_low_b:.{dec(r.metric)}f}, "
                     f"{r.ci_high_b:.{dec(r.metric)}f}]",
           f"verdict {B}": r.verdict_b, f"MDE {B}": f"{r.mde_b:.{dec(r.metric)}f}"} for r in differ.itertuples()]

md = (f"# {A} against {B}\n\n## Every distilled row (the λ-rows of the per-target tables)\n\n{len(both)} rows in both"
      + (f" ({only} in one only, left out)" if only else "") + ".\n\n"
      + pd.DataFrame(totals).to_markdown(index=False, disable_numparse=True)
      + "\n\nΔ: the row's mean gain over its baseline, paired by seed; its 95% t-interval from make_tables.py "
        "(gain-<target>.csv). "
      "MDE: the smallest gain the row's paired t-test detects with 80% power at the table's α / m. "
      "Calibrated intervals of two independent replicates of equal size catch the other's mean about 83% of the "
      "time.\n\n"
      + ("## One primary test per experiment (experiments-<target>.csv)\n\n"
         + pd.DataFrame(primary_totals).to_markdown(index=False, disable_numparse=True) + "\n\n"
         + pd.DataFrame(primary_detail).to_markdown(index=False, disable_numparse=True) + "\n\n" if primary_totals
         else "")
      + f"## Rows whose verdicts differ ({len(differ)})\n\n"
      + (pd.DataFrame(detail).to_markdown(index=False, disable_numparse=True) if detail else "None.") + "\n")
for suffix, text in [(".md", md), (".csv", both.to_csv(index=False, float_format="%.10g", lineterminator="\n"))]:
    with atomic_path(args.out.with_name(args.out.name + suffix)) as tmp:
        tmp.write_text(text)
print(md)

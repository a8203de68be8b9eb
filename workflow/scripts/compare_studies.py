"""Compare the tables of two runs of the study, row by row: are its verdicts and intervals reproducible?

Made for two replicates (the same grid with disjoint seeds: new teachers and new students, `make replicate`)
and for one grid under two designs (teachers: paired against shared, `make shared`). For every distilled row
(target, small part, source, phi, lambda, T) that both have, it reports:
- whether the two verdicts agree;
- whether each run's mean gain lies inside the other run's 95% interval of the gain, and how often that happens
  per target against the t-based benchmark for the rows' seed counts (distill.stats.replicate_coverage: 0.879 for
  two replicates of 5 seeds, 0.856 of 10), with a Clopper-Pearson interval over the rows and a verdict: the
  intervals under-cover, over-cover, or are consistent with the benchmark;
- whether the signs contradict (one run says "better", the other "worse");
- each row's minimum detectable effect (MDE) in both runs, beside its gains.

The same for the one primary test per experiment (experiments-*.csv), where both runs have it.
Writes <out>.md (totals per target and overall, the coverage of the intervals against the benchmark, the primary
tests, then the rows whose verdicts differ), <out>.csv (every row, with b_in_a, a_in_b and their benchmarks
bench_b_in_a, bench_a_in_b) and <out>-coverage.csv (for the λ-rows, tests "rows", and the primary tests, tests
"experiments": per target and overall, each direction: k, N, share, the Clopper-Pearson interval low, high, the
benchmark and the verdict).

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
cli.writable("out", *(args.out.with_name(args.out.name + suffix) for suffix in (".md", ".csv", "-coverage.csv")))

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
        if "n_paired_diverged" not in merged:  # older tables: a diverged pair left the interval NaN anyway
            merged["n_paired_diverged"] = 0
        merged["n_tested"] = merged["n_paired"] - merged["n_paired_diverged"]
        out.append(merged[KEY + ["metric", "n_tested", "diff_mean", "ci_low", "ci_high", "verdict", "mde"]])
    return pd.concat(out, ignore_index=True)


def experiments(folder: Path) -> pd.DataFrame:
    """The primary test of every experiment of one run (experiments-*.csv), with its 95% t-interval."""
    frames = [tables.read_csv(f) for f in sorted(folder.glob("experiments-*.csv"))]
    frames = [f for f in frames if len(f)]
    columns = KEY[:-1] + ["metric", "n_tested", "diff_mean", "ci_low", "ci_high", "verdict"]
    if not frames:
        return pd.DataFrame(columns=columns)
    out = pd.concat(frames, ignore_index=True)
    out["n_tested"] = out["n_paired"] - out["n_diverged"]
    if "ci_low" not in out:  # tables of older code: the interval as make_tables.py gives it now
        bounds = pd.DataFrame([tables.ci_columns(r, "") for r in out.to_dict("records")], index=out.index)
        out["ci_low"], out["ci_high"] = bounds["ci_low"], bounds["ci_high"]
    return out[columns]


def inside(mean: pd.Series, low: pd.Series, high: pd.Series) -> pd.Series:
    """Whether each mean lies inside its interval; NA where there is no interval or no mean."""
    out = pd.Series(mean.between(low, high), dtype="boolean")
    out[low.isna() | high.isna() | mean.isna()] = pd.NA
    return out


def compare(a: pd.DataFrame, b: pd.DataFrame, key: list[str]) -> pd.DataFrame:
    """The rows both runs have, side by side (_a, _b), with agree, b_in_a, a_in_b (NA where the interval is
    missing), their benchmarks bench_b_in_a, bench_a_in_b (S.replicate_coverage for the rows' seed counts) and
    contradict."""
    both = a.merge(b, on=key + ["metric"], suffixes=("_a", "_b"), how="inner", validate="one_to_one")
    both["agree"] = both["verdict_a"] == both["verdict_b"]
    both["b_in_a"] = inside(both["diff_mean_b"], both["ci_low_a"], both["ci_high_a"])
    both["a_in_b"] = inside(both["diff_mean_a"], both["ci_low_b"], both["ci_high_b"])
    both["bench_b_in_a"] = [S.replicate_coverage(na, nb) for na, nb in zip(both["n_tested_a"], both["n_tested_b"])]
    both["bench_a_in_b"] = [S.replicate_coverage(nb, na) for na, nb in zip(both["n_tested_a"], both["n_tested_b"])]
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


def seeds(n: pd.Series) -> str:
    """The seed counts of a group of rows: '5', or '3–5' when they differ."""
    n = n.dropna().astype(int)
    return "—" if n.empty else str(n.min()) if n.min() == n.max() else f"{n.min()}–{n.max()}"


def calibration(frame: pd.DataFrame, tests: str) -> tuple[list[dict], list[dict]]:
    """Per target and overall, each direction (B's mean inside A's interval, A's inside B's): rows counted, seeds,
    the observed coverage k of N, its Clopper-Pearson 95% interval, the benchmark and the verdict (S.coverage).
    (csv rows, whose column tests names the kind of rows; display rows)."""
    out, shown = [], []
    for target, group in list(frame.groupby("target", sort=True)) + [("all", frame)]:
        for direction, flags, bench, own in ((f"{B} mean inside {A}'s interval", "b_in_a", "bench_b_in_a", "a"),
                                             (f"{A} mean inside {B}'s interval", "a_in_b", "bench_a_in_b", "b")):
            c = S.coverage(group[flags], group[bench])
            counted = group[flags].notna()
            out.append({"tests": tests, "target": target, "direction": flags, **c})
            shown.append({"target": target, "direction": direction,
                          f"seeds ({A} / {B})": (f"{seeds(group.loc[counted, 'n_tested_a'])} / "
                                                 f"{seeds(group.loc[counted, 'n_tested_b'])}"),
                          "inside": f"{c['k']} of {c['N']}" + (f" ({c['share']:.0%})" if c["N"] else ""),
                          "95% interval (Clopper–Pearson)": "—" if not c["N"] else f"[{c['low']:.2f}, {c['high']:.2f}]",
                          "benchmark (t)": "—" if not c["N"] else f"{c['benchmark']:.3f}", "verdict": c["verdict"]})
    return out, shown


totals = []
for target, group in list(both.groupby("target", sort=True)) + [("all", both)]:
    d = dec(group["metric"].iloc[0]) if group["metric"].nunique() == 1 else 4
    mde = "—" if target == "all" else f"{group['mde_a'].median():.{d}f} / {group['mde_b'].median():.{d}f}"
    gain = ("—" if target == "all"
            else f"{group['diff_mean_a'].abs().median():.{d}f} / {group['diff_mean_b'].abs().median():.{d}f}")
    totals.append({"target": target, "rows": str(len(group)), "verdicts agree": share(group["agree"]),
                   "signs contradict": str(int(group["contradict"].sum())),
                   f"median MDE ({A} / {B})": mde, f"median abs gain ({A} / {B})": gain})
coverage_rows, coverage_shown = calibration(both, "rows")

primary_totals = [{"target": target, "experiments": str(len(group)), "verdicts agree": share(group["agree"]),
                   "signs contradict": str(int(group["contradict"].sum()))}
                  for target, group in list(primary.groupby("target", sort=True))
                  + [("all", primary)]] if len(primary) else []
primary_coverage_rows, primary_coverage = calibration(primary, "experiments") if len(primary) else ([], [])
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

NOTE_COVERAGE = (
    "Coverage: how often one run's mean gain lies inside the other run's 95% t-interval of the same row (rows where "
    "that interval is missing, under 2 pairs or with a diverged seed, are left out). Benchmark (t): what calibrated "
    "intervals give if the two runs are independent replicates (disjoint seeds: new teachers, new students) of the "
    "same true gains, with normal paired differences of equal true variance: the other run's mean falls inside "
    "this run's interval with probability P(|t(n−1)| < t(0.975, n−1) / √(1 + n/n')), n this run's and n' the other's "
    "paired seeds (0.879 for two runs of 5 seeds, 0.856 of 10, 0.834 as n grows; the other run's sd does not "
    "enter), averaged over the rows with each row's own n (distill.stats.replicate_coverage). 95% interval: "
    "Clopper–Pearson over the rows as if they were independent trials. They are not: the rows of an experiment "
    "share its teachers and the rows of a target share its baseline seeds, so the real uncertainty is wider and "
    "this interval is optimistic. Verdict: \"intervals under-cover\" when the benchmark lies above the interval "
    "(the intervals are too narrow for what a replicate does: more spread between runs than within one, e.g. "
    "from teachers), \"intervals over-cover\" when below, \"consistent with the benchmark\" otherwise. For two "
    "designs of one grid on the same seeds (make shared: the same student seeds and data, other teachers) the "
    "runs are not independent and the benchmark does not apply: it is a reference for replicates only.")

md = (f"# {A} against {B}\n\n## Every distilled row (the λ-rows of the per-target tables)\n\n{len(both)} rows in both"
      + (f" ({only} in one only, left out)" if only else "") + ".\n\n"
      + pd.DataFrame(totals).to_markdown(index=False, disable_numparse=True)
      + "\n\nΔ: the row's mean gain over its baseline, paired by seed; its 95% t-interval from make_tables.py "
        "(gain-<target>.csv). "
      "MDE: the smallest true gain the row's paired t-test detects with 80% power at the table's α / m (a figure "
      "of the design, not a bound on the row's gain: its interval is).\n\n### Coverage of the 95% intervals\n\n"
      + pd.DataFrame(coverage_shown).to_markdown(index=False, disable_numparse=True) + "\n\n" + NOTE_COVERAGE + "\n\n"
      + ("## One primary test per experiment (experiments-<target>.csv)\n\n"
         + pd.DataFrame(primary_totals).to_markdown(index=False, disable_numparse=True) + "\n\n"
         + pd.DataFrame(primary_coverage).to_markdown(index=False, disable_numparse=True) + "\n\n"
         + pd.DataFrame(primary_detail).to_markdown(index=False, disable_numparse=True) + "\n\n" if primary_totals
         else "")
      + f"## Rows whose verdicts differ ({len(differ)})\n\n"
      + (pd.DataFrame(detail).to_markdown(index=False, disable_numparse=True) if detail else "None.") + "\n")
coverage_csv = pd.DataFrame(coverage_rows + primary_coverage_rows)
for suffix, text in [(".md", md), (".csv", both.to_csv(index=False, float_format="%.10g", lineterminator="\n")),
                     ("-coverage.csv", coverage_csv.to_csv(index=False, float_format="%.10g", lineterminator="\n"))]:
    with atomic_path(args.out.with_name(args.out.name + suffix)) as tmp:
        tmp.write_text(text)
print(md)

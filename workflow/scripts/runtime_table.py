"""Sum Snakemake's benchmark files per rule: jobs, total and mean wall seconds, max RSS; plus a total row. And per
step script, the arithmetic its jobs did per second of job time.

The rule is the first folder under benchmarks/ in each path (benchmarks/{rule}/...tsv). A file with
several rows (Snakemake's benchmark repeats) counts as one job with the mean of its rows. Rules are
sorted by total time, longest first. Writes runtime.csv, runtime.md and flops.csv to --out-dir.

With --records (the metrics.json files of the run) and --scripts (which script each rule runs), flops.csv holds,
and a second table in runtime.md shows, per step script, its rules' jobs and job time, the FLOPs of their matrix
products (each record's `flops`, distill.training.Flops) and GFLOP/s per job (FLOPs over job time: start-up,
data loading and every operation that is not a matrix product are in the time, not in the count).

Example:
    python workflow/scripts/runtime_table.py --benchmarks benchmarks/*/*.tsv benchmarks/*/*/*.tsv \
        --records $(find results -name '*.json') --scripts train_teachers=train_teacher.py --out-dir results/tables
"""

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "src"))
import pandas as pd  # noqa: E402

from distill import cli  # noqa: E402
from distill.io import atomic_path, fail  # noqa: E402

p = cli.Parser(__doc__)
p.add_argument("--benchmarks", required=True, nargs="+", type=Path,
               help="Snakemake benchmark .tsv files, benchmarks/{rule}/...")
p.add_argument("--records", nargs="*", type=Path, default=[],
               help="the run's metrics.json files (those that record flops are counted; other .json are ignored)")
p.add_argument("--scripts", nargs="*", default=[], help="rule=script of each rule that runs a step script")
p.add_argument("--out-dir", required=True, type=Path, help="folder for runtime.csv, runtime.md and flops.csv")
args = p.parse_args()
cli.writable("out-dir", args.out_dir, folder=True)
bad = [s for s in args.scripts if s.count("=") != 1 or not all(s.split("="))]
if bad:
    fail(f"--scripts {' '.join(bad)}: not rule=script; allowed: e.g. train_teachers=train_teacher.py")
script_of = dict(s.split("=") for s in args.scripts)


def rule_of(path: Path) -> str:
    parts = path.parts
    if "benchmarks" in parts[:-1]:
        i = len(parts) - 1 - parts[::-1].index("benchmarks")  # the last benchmarks/ folder in the path
        if i + 1 < len(parts) - 1:
            return parts[i + 1]
    return path.parent.name


missing = [str(b) for b in args.benchmarks if not b.is_file()]
if missing:
    fail(f"{len(missing)} missing benchmark file(s):\n" + "\n".join(missing))
jobs = []
for path in args.benchmarks:
    try:
        bench = pd.read_csv(path, sep="\t", na_values=["-", "NA"])
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as e:
        fail(f"{path}: not a Snakemake benchmark file ({e})")
    if "s" not in bench.columns or bench.empty:
        fail(f"{path}: not a Snakemake benchmark file (no 's' column or no row)")
    rss = pd.to_numeric(bench["max_rss"], errors="coerce").max() if "max_rss" in bench else float("nan")  # MB
    jobs.append({"rule": rule_of(path), "seconds": pd.to_numeric(bench["s"], errors="coerce").mean(), "max_rss": rss})
jobs = pd.DataFrame(jobs)

table = jobs.groupby("rule").agg(jobs=("seconds", "size"), total_s=("seconds", "sum"), mean_s=("seconds", "mean"),
                                 max_rss_mb=("max_rss", "max")).reset_index()
table = table.sort_values(["total_s", "rule"], ascending=[False, True])
total = {"rule": "total", "jobs": int(table["jobs"].sum()), "total_s": table["total_s"].sum(),
         "max_rss_mb": table["max_rss_mb"].max()}
total["mean_s"] = total["total_s"] / total["jobs"]
table = pd.concat([table, pd.DataFrame([total])], ignore_index=True)[["rule", "jobs", "total_s", "mean_s",
                                                                      "max_rss_mb"]]


def flop_table() -> pd.DataFrame:
    """Per step script that recorded flops: its rules, jobs, job time (s), GFLOP and GFLOP/s per job."""
    counted = {}
    for path in args.records:
        try:
            record = json.loads(path.read_text())
        except (OSError, ValueError) as e:
            fail(f"{path}: not a readable .json ({e})")
        if isinstance(record, dict) and "flops" in record and "script" in record:
            counted[record["script"]] = counted.get(record["script"], 0) + record["flops"]
    rows = []
    for script in sorted(counted):
        rules = sorted(r for r, s in script_of.items() if s == script)
        mine = jobs[jobs["rule"].isin(rules)]
        if mine.empty:
            fail(f"{script} recorded flops but no benchmark file is of its rules ({', '.join(rules) or 'none'} in "
                 f"--scripts)")
        rows.append({"script": script, "rules": " ".join(rules), "jobs": len(mine), "job_s": mine["seconds"].sum(),
                     "gflop": counted[script] / 1e9})
    out = pd.DataFrame(rows, columns=["script", "rules", "jobs", "job_s", "gflop"])
    out["gflops_per_job"] = out["gflop"] / out["job_s"]
    return out.sort_values(["gflop", "script"], ascending=[False, True])


flops = flop_table()
shown = table.assign(total_s=table["total_s"].map("{:.1f}".format), mean_s=table["mean_s"].map("{:.1f}".format),
                     max_rss_mb=table["max_rss_mb"].map(lambda x: "—" if pd.isna(x) else f"{x:.0f}"),
                     jobs=table["jobs"].astype(str))
shown.columns = ["rule", "jobs", "total (s)", "mean (s)", "max RSS (MB)"]
with atomic_path(args.out_dir / "runtime.csv") as tmp:
    table.to_csv(tmp, index=False, float_format="%.3f", lineterminator="\n")
text = (shown.to_markdown(index=False, disable_numparse=True)
        + f"\n\nWall-clock seconds per job from Snakemake's benchmark files; {total['jobs']} jobs in all.\n")
with atomic_path(args.out_dir / "flops.csv") as tmp:  # the header alone when no record counted
    flops.to_csv(tmp, index=False, float_format="%.3f", lineterminator="\n")
if not flops.empty:
    rate = flops.assign(rules=flops["rules"].str.replace(" ", ", "), jobs=flops["jobs"].astype(str),
                        job_s=flops["job_s"].map("{:.1f}".format), gflop=flops["gflop"].map("{:.0f}".format),
                        gflops_per_job=flops["gflops_per_job"].map("{:.1f}".format))
    rate.columns = ["script", "rules", "jobs", "job time (s)", "GFLOP", "GFLOP/s per job"]
    text += ("\nPer step script: the FLOPs of its jobs' matrix products (torch's FlopCounterMode; a multiply-add is "
             "2), from each run's metrics.json, over its rules' job time.\n\n"
             + rate.to_markdown(index=False, disable_numparse=True)
             + f"\n\n{flops['gflop'].sum() / 1e3:.1f} TFLOP in {flops['job_s'].sum():.1f} s of job time.\n")
with atomic_path(args.out_dir / "runtime.md") as tmp:
    tmp.write_text(text)
print(f"wrote runtime.csv, runtime.md and flops.csv to {args.out_dir}: {total['jobs']} jobs, {total['total_s']:.1f} s")

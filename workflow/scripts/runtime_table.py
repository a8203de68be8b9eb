"""Sum Snakemake's benchmark files per rule: jobs, total and mean wall seconds, max RSS; plus a total row.

The rule is the first folder under benchmarks/ in each path (benchmarks/{rule}/...tsv). A file with
several rows (Snakemake's benchmark repeats) counts as one job with the mean of its rows. Rules are
sorted by total time, longest first. Writes runtime.csv and runtime.md to --out-dir.

Example:
    python workflow/scripts/runtime_table.py --benchmarks benchmarks/*/*.tsv benchmarks/*/*/*.tsv \
        --out-dir results/tables
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "src"))
import pandas as pd  # noqa: E402

from distill import cli  # noqa: E402
from distill.io import atomic_path, fail  # noqa: E402

p = cli.Parser(__doc__)
p.add_argument("--benchmarks", required=True, nargs="+", type=Path,
               help="Snakemake benchmark .tsv files, benchmarks/{rule}/...")
p.add_argument("--out-dir", required=True, type=Path, help="folder for runtime.csv and runtime.md")
args = p.parse_args()
cli.writable("out-dir", args.out_dir, folder=True)


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

shown = table.assign(total_s=table["total_s"].map("{:.1f}".format), mean_s=table["mean_s"].map("{:.1f}".format),
                     max_rss_mb=table["max_rss_mb"].map(lambda x: "—" if pd.isna(x) else f"{x:.0f}"),
                     jobs=table["jobs"].astype(str))
shown.columns = ["rule", "jobs", "total (s)", "mean (s)", "max RSS (MB)"]
with atomic_path(args.out_dir / "runtime.csv") as tmp:
    table.to_csv(tmp, index=False, float_format="%.3f", lineterminator="\n")
with atomic_path(args.out_dir / "runtime.md") as tmp:
    tmp.write_text(shown.to_markdown(index=False, disable_numparse=True)
                   + f"\n\nWall-clock seconds per job from Snakemake's benchmark files; {total['jobs']} jobs in all.\n")
print(f"wrote runtime.csv and runtime.md to {args.out_dir}: {total['jobs']} jobs, {total['total_s']:.1f} s")

"""Are two studies' common runs the same runs? Compare every output of the given seeds, file by file.

Made for the powered study (`make power`, seeds 0-19 in power/) against the default study (seeds 0-4 in
results/): with `teachers: paired` a seed's teacher, posterior, φ draws and students depend on that seed
only, so the powered study's seeds 0-4 must be the default study's runs, bit for bit. For every file of
--a that belongs to one of --seeds (a path component seed<k>, or seed<k>.*) or to no seed (data, domains,
mappings), the file of the same path in --b must hold the same:
- .pt, .npy and other files: the same bytes;
- .json: the same record, but for what is not the run's (VOLATILE: wall times, the size of its sweep job)
  and, in the teacher-answers records of one (target, source, phi), the entries of other seeds;
- .npz: the same arrays, but an answers file's arrays of other seeds (small_seed<k>, test_seed<k>).
Tables, figures, logs and the run record are not runs and are not compared. Prints, in Markdown, per folder
and kind the files that are the same and that differ, with the largest difference of a test metric among the
differing records, and names the first files that differ; exits 1 if one differs or is missing in --b.

Example:
    python workflow/scripts/same_runs.py --a results --b power/results --seeds 0 1 2 3 4
"""

import json
import re
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "src"))
from distill import cli  # noqa: E402
from distill.io import fail  # noqa: E402

# Not the run's: its seconds, and how many runs shared its sweep job (a study with more seeds has larger sweeps)
VOLATILE = {"wall_seconds", "laplace_seconds", "sweep_runs"}
RUNS = ("data", "domains", "mappings", "teachers", "answers", "students")  # the folders that hold runs
SEED = re.compile(r"seed(\d+)")
LISTED = 30  # files that differ named in the report

p = cli.Parser(__doc__)
p.add_argument("--a", required=True, type=Path, help="results folder of the study with fewer seeds (results)")
p.add_argument("--b", required=True, type=Path, help="results folder of the study with more seeds (power/results)")
p.add_argument("--seeds", required=True, nargs="+", type=int, help="the seeds both studies ran (0 1 2 3 4)")
args = p.parse_args()
for folder in (args.a, args.b):
    if not (folder / "teachers").is_dir():
        fail(f"{folder} holds no teachers/: give the results folder of a finished study (results, power/results)")
seeds = {str(s) for s in args.seeds}


def mine(name: str) -> bool:
    """Whether an entry name of a per-seed record (a JSON key, an npz array) belongs to --seeds or to none."""
    found = SEED.search(name)
    return found is None or found.group(1) in seeds


def record(path: Path) -> dict:
    data = {k: v for k, v in json.loads(path.read_text()).items() if k not in VOLATILE}
    if data.get("step") == "answers":  # one record for every teacher seed: keep ours
        for key in ("teacher_seeds", "test_metric_per_seed"):
            if isinstance(data.get(key), dict):
                data[key] = {s: v for s, v in data[key].items() if s in seeds}
        data.pop("test_metric", None)  # the mean over all teacher seeds
    return data


def arrays(path: Path) -> dict:
    with np.load(path, allow_pickle=False) as z:
        return {k: z[k] for k in z.files if mine(k)}


def metric_gap(x: dict, y: dict) -> float | None:
    """|difference| of two records' test metrics (a run's, or each seed's of an answers record), if any."""
    if isinstance(x.get("test_metric_per_seed"), dict):
        pairs = [(v, y.get("test_metric_per_seed", {}).get(k)) for k, v in x["test_metric_per_seed"].items()]
    else:
        pairs = [(x.get("test_metric"), y.get("test_metric"))]
    gaps = [abs(float(u) - float(v)) for u, v in pairs if isinstance(u, (int, float)) and isinstance(v, (int, float))]
    return max(gaps) if gaps else None


def compare(a: Path, b: Path) -> tuple[bool, float | None]:
    """Whether b holds what a holds; for two records that differ, also the gap of their test metrics."""
    if a.suffix == ".json":
        x, y = record(a), record(b)
        return (True, None) if x == y else (False, metric_gap(x, y))
    if a.suffix == ".npz":
        x, y = arrays(a), arrays(b)
        return x.keys() == y.keys() and all(x[k].dtype == y[k].dtype and np.array_equal(x[k], y[k]) for k in x), None
    return a.read_bytes() == b.read_bytes(), None


rows, differ = {}, []
for folder in RUNS:
    for a in sorted((args.a / folder).rglob("*")):
        relative = a.relative_to(args.a)
        if not a.is_file() or not all(mine(part) for part in relative.parts):
            continue
        b = args.b / relative
        kind = (folder, relative.parts[1] if len(relative.parts) > 2 else "", a.suffix or "file")
        row = rows.setdefault(kind, {"files": 0, "differ": 0, "gap": None, "same metric": 0})
        row["files"] += 1
        equal, gap = compare(a, b) if b.is_file() else (False, None)
        if equal:
            continue
        row["differ"] += 1
        differ.append(str(relative) + ("" if b.is_file() else f" (missing in {args.b})"))
        if gap is not None:
            row["gap"] = max(gap, row["gap"] or 0.0)
            row["same metric"] += gap == 0
if not rows:
    fail(f"{args.a} holds no run of seeds {sorted(seeds, key=int)}")
total = sum(r["files"] for r in rows.values())
print(f"# The runs of seeds {' '.join(sorted(seeds, key=int))}: {args.a} against {args.b}\n")
print(f"{total - len(differ)} of {total} files the same, {len(differ)} differ (wall times aside). Per folder, "
      "dataset or source domain and file type; largest |Δ test metric|: over the differing records, the largest "
      "difference of a run's test metric (accuracy or MSE; an answers record's per seed); same test metric: the "
      "differing records whose test metrics are nevertheless equal.\n")
print("| folder | of | type | files | same | differ | same test metric | largest abs. Δ test metric |\n"
      "|---|---|---|---|---|---|---|---|")
for (folder, of, suffix), r in rows.items():
    gap, kept = ("—", "—") if r["gap"] is None else (f"{r['gap']:.4g}", str(r["same metric"]))
    print(f"| {folder} | {of or '—'} | {suffix} | {r['files']} | {r['files'] - r['differ']} | {r['differ']} | {kept} "
          f"| {gap} |")
if differ:
    shown = differ[:LISTED]
    more = f"\n- and {len(differ) - len(shown)} more" if len(differ) > len(shown) else ""
    print("\nFiles that differ:\n\n- " + "\n- ".join(shown) + more)
    sys.exit(1)

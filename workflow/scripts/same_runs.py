"""Are two studies' common runs the same runs? Compare every output of the given seeds, file by file.

Made for the powered study (`make power`, seeds 0-19 in power/) against the default study (seeds 0-4 in
results/): with `teachers: paired` a seed's teacher, posterior, φ draws and students depend on that seed
only, so the powered study's seeds 0-4 must be the default study's runs, bit for bit. For every file of
--a that belongs to one of --seeds (a path component seed<k>, or seed<k>.*) or to no seed (data, domains,
mappings), the file of the same path in --b must hold the same:
- .pt, .npy and other files: the same bytes;
- .json: the same record, but for what varies from run to run (VOLATILE: wall times) and, in the
  teacher-answers records of one (target, source, phi), the entries of other seeds;
- .npz: the same arrays, but an answers file's arrays of other seeds (small_seed<k>, test_seed<k>).
Tables, figures, logs and the run record are not runs and are not compared. Prints the count per kind and
every file that differs, in Markdown; exits 1 if one differs or is missing in --b.

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

VOLATILE = {"wall_seconds", "laplace_seconds"}  # seconds of a run: differ between any two runs
RUNS = ("data", "domains", "mappings", "teachers", "answers", "students")  # the folders that hold runs
SEED = re.compile(r"seed(\d+)")

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


def same(a: Path, b: Path) -> bool:
    if a.suffix == ".json":
        return record(a) == record(b)
    if a.suffix == ".npz":
        x, y = arrays(a), arrays(b)
        return x.keys() == y.keys() and all(x[k].dtype == y[k].dtype and np.array_equal(x[k], y[k]) for k in x)
    return a.read_bytes() == b.read_bytes()


counts, differ = {}, []
for folder in RUNS:
    for a in sorted((args.a / folder).rglob("*")):
        if not a.is_file() or not all(mine(part) for part in a.relative_to(args.a).parts):
            continue
        b = args.b / a.relative_to(args.a)
        kind = f"{folder} {a.suffix or 'file'}"
        counts[kind] = counts.get(kind, 0) + 1
        if not b.is_file() or not same(a, b):
            differ.append(str(a.relative_to(args.a)) + ("" if b.is_file() else f" (missing in {args.b})"))
print(f"# The runs of seeds {' '.join(sorted(seeds, key=int))}: {args.a} against {args.b}\n")
for kind, n in counts.items():
    print(f"- {kind}: {n} files")
if not counts:
    fail(f"{args.a} holds no run of seeds {sorted(seeds, key=int)}")
if differ:
    print(f"\n{len(differ)} of {sum(counts.values())} files differ:\n\n- " + "\n- ".join(differ))
    sys.exit(1)
print(f"\nall {sum(counts.values())} files the same")

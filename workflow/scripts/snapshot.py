"""Copy the published numbers of a finished full run into docs/results/, stamped with where they came from.

Copies the Markdown tables of results/tables/ (and the comparisons of `make replicate` / `make shared`, the
contrasts and the seeds-needed report, where they exist) and the domains figures, and writes docs/results/README.md: the
git commit, the sha256 of the config the run used (results/config.yaml), the CPU model and cores, the date,
and the list of copied files. docs/results.md interprets these files; nothing in docs/ pastes them.

Example:
    python workflow/scripts/snapshot.py --results results --out docs/results
"""

import hashlib
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "src"))
from distill import cli  # noqa: E402
from distill.io import atomic_path, fail  # noqa: E402

p = cli.Parser(__doc__)
p.add_argument("--results", type=Path, default=Path("results"), help="results folder of a finished full run (default results)")
p.add_argument("--out", type=Path, default=Path("docs/results"), help="where the copies go (default docs/results)")
args = p.parse_args()
cli.writable("out", args.out, folder=True)

config = args.results / "config.yaml"
tables = sorted((args.results / "tables").glob("*.md"))
if not config.is_file() or not tables:
    fail(f"{args.results} holds no config.yaml or tables/*.md: run the study first (make study)")
extra = [args.results / f"{name}.md" for name in ("replicate", "shared", "seeds-needed", "contrasts")]
figures = sorted((args.results / "figures").glob("domains-*.png"))
files = tables + [f for f in extra if f.is_file()] + figures
args.out.mkdir(parents=True, exist_ok=True)
for old in args.out.iterdir():
    if old.name != "README.md":
        old.unlink()
for f in files:
    shutil.copy2(f, args.out / f.name)
commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip() or "unknown"
dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], capture_output=True, text=True).stdout.strip()
cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines() if line.startswith("model name")), "unknown CPU")
stamp = f"""# Generated results

Copied by `make snapshot` from `{args.results}/` on {time.strftime('%Y-%m-%d')}: commit {commit}{' (with uncommitted changes)' if dirty else ''},
config sha256 {hashlib.sha256(config.read_bytes()).hexdigest()[:16]}, {os.cpu_count()} cores ({cpu}).
Do not edit these files: rerun the study and `make snapshot`. `docs/results.md` says what they show.

""" + "\n".join(f"- [{f.name}]({f.name})" for f in files) + "\n"
with atomic_path(args.out / "README.md") as tmp:
    tmp.write_text(stamp)
print(f"copied {len(files)} files to {args.out}")

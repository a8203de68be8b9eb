"""How often to evaluate the students' test curve: the time each cadence costs and how much it moves the
integral criterion (the area under the test-loss curve), on one real sweep of the study.

Runs train_student.py on the same sweep once per --eval-every value, one after the other, and compares
each with evaluating every epoch. Evaluation draws no random numbers, so the trained weights and the
final metric are the same at every cadence; only the curve's resolution (and the trapezoid rule's
error on it) changes. Writes a Markdown table to --out.

Example (after `make bench`, which leaves prepared data and teacher answers in bench/work):
    python bench/eval_every.py --data bench/work/study/results/data/mnist.npz \
        --answers bench/work/study/results/answers/mnist-from-mnist/none.npz
"""

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
p.add_argument("--data", required=True, type=Path, help="prepared target dataset (.npz)")
p.add_argument("--answers", required=True, type=Path, help="teacher answers for it (.npz)")
p.add_argument("--cadences", type=int, nargs="+", default=[1, 2, 5, 10, 20],
               help="--eval-every values to try (default 1 2 5 10 20)")
p.add_argument("--lams", default="0 0.25 0.5 0.75", help="the sweep's lams (default the study's)")
p.add_argument("--seeds", default="0 1 2 3 4", help="the sweep's seeds (default the study's)")
p.add_argument("--epochs", type=int, default=100, help="student epochs (default 100)")
p.add_argument("--out", type=Path, default=ROOT / "bench" / "eval_every.md",
               help="the table (default bench/eval_every.md)")
args = p.parse_args()

rows, reference = [], None
with tempfile.TemporaryDirectory() as tmp:
    for k in args.cadences:
        folder = Path(tmp) / f"every{k}"
        cmd = [sys.executable, str(ROOT / "workflow" / "scripts" / "train_student.py"), "--data", str(args.data),
               "--answers", str(args.answers),
               "--lams", *args.lams.split(), "--seeds", *args.seeds.split(), "--epochs", str(args.epochs),
               "--eval-every", str(k),
               "--threads", "1", "--metrics", str(folder / "lam{lam}-seed{seed}.json")]
        t0 = time.perf_counter()
        subprocess.run(cmd, check=True, capture_output=True)
        seconds = time.perf_counter() - t0
        runs = {path.name: json.loads(path.read_text()) for path in sorted(folder.glob("*.json"))}
        integral = np.array([r["integral"] for r in runs.values()])
        final = np.array([r["test_metric"] for r in runs.values()])
        reference = reference or (seconds, integral, final)
        rel = np.abs(integral - reference[1]) / reference[1]
        rows.append(f"| {k} | {len(runs[next(iter(runs))]['epochs'])} | {seconds:.1f} | {seconds / reference[0]:.2f} | "
                    f"{integral.mean():.2f} | {100 * rel.mean():.2f} % | {100 * rel.max():.2f} % | "
                    f"{np.abs(final - reference[2]).max():.4f} |")
        print(rows[-1], flush=True)

text = f"""# Evaluation cadence of the students

One sweep of {len(runs)} runs (lams {args.lams}, seeds {args.seeds}, {args.epochs} epochs, 1 thread) on \
`{args.data.name}`, once per cadence.
The integral criterion is compared run by run with evaluating every epoch.

| eval every | points on the curve | wall (s) | time vs every epoch | mean integral | mean change | largest change \
| largest change of the final metric |
| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |
""" + "\n".join(rows) + "\n"
args.out.write_text(text)
print(text)

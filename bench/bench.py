"""`make bench`: the bench grid (bench/config.yaml) through the study and through a one-process loop,
on this machine, one after the other; prints both wall times and their ratio, writes bench/results.md.

Both start from the same prepared datasets (prepared once, untimed) and train the same teachers (one per
seed and source domain: a stack per domain in the study, one after another in the loop),
teacher answers and 65 student runs with the same hyperparameters and evaluation cadence:
  - the study: `snakemake --cores all --until train_students train_regression_students train_baselines` (sweeps, one
  thread a job);
  - the loop: bench/one_process_loop.py (one process, one run after another, torch's default threads),
    and the same loop on one thread (often faster for such small models), for reference.
It also checks that both give the same students: the largest difference of a run's test metric, for the
baselines (no teacher: a sweep against runs alone) and for every run (the teachers' thread counts differ,
and a student at lam = 0 follows its teacher's every difference).
"""

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "bench"
p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
p.add_argument("--config", type=Path, default=BENCH / "config.yaml", help="the bench grid (default bench/config.yaml)")
p.add_argument("--workdir", type=Path, default=BENCH / "work",
               help="scratch folder, remade each time (default bench/work)")
p.add_argument("--out", type=Path, default=BENCH / "results.md", help="the report (default bench/results.md)")
args = p.parse_args()

venv_bin = Path(sys.executable).parent
env = dict(os.environ, PATH=f"{venv_bin}{os.pathsep}{os.environ['PATH']}")
snakemake = [str(venv_bin / "snakemake"), "--snakefile", str(ROOT / "Snakefile"), "--configfile", str(args.config)]


def timed(name, cmd, log):
    print(f"[bench] {name}: {' '.join(map(str, cmd))}  (log: {log})", flush=True)
    t0 = time.perf_counter()
    with open(log, "w") as fh:
        r = subprocess.run(list(map(str, cmd)), stdout=fh, stderr=subprocess.STDOUT, env=env, cwd=ROOT)
    seconds = time.perf_counter() - t0
    if r.returncode != 0:
        sys.exit(f"error: {name} exited {r.returncode} after {seconds:.0f} s; see {log}")
    print(f"[bench] {name}: {seconds:.1f} s", flush=True)
    return seconds


shutil.rmtree(args.workdir, ignore_errors=True)
study, loop = args.workdir / "study", args.workdir / "loop"
study.mkdir(parents=True)
timed("prepare the datasets (untimed in the comparison)",
      [*snakemake, "--cores", "all", "--directory", study, "--until", "prepare_data"],
      args.workdir / "prepare.log")
data = study / "results" / "data"
shutil.copytree(data, loop / "data")
study_s = timed("study", [*snakemake, "--cores", "all", "--directory", study, "--until", "train_students",
                          "train_regression_students", "train_baselines"],
                args.workdir / "study.log")
loop_s = timed("one-process loop", [sys.executable, BENCH / "one_process_loop.py", "--config", args.config,
                                    "--data-dir", loop / "data",
                                    "--workdir", loop], args.workdir / "loop.log")
loop1_s = timed("one-process loop, 1 thread", [sys.executable, BENCH / "one_process_loop.py", "--config", args.config,
                                               "--data-dir",
                                               loop / "data", "--workdir", args.workdir / "loop1", "--threads", "1"],
                args.workdir / "loop1.log")

runs = sorted((study / "results" / "students").glob("**/metrics.json"))
looped = [loop / r.relative_to(study) for r in runs]
if not runs or not all(r.is_file() for r in looped):
    sys.exit("error: the study and the loop did not write the same student runs")
value = lambda path: json.loads(path.read_text())["test_metric"]  # noqa: E731
diff = max(abs(value(a) - value(b)) for a, b in zip(runs, looped))
base_diff = max(abs(value(a) - value(b)) for a, b in zip(runs, looped) if "/baseline/" in a.as_posix())
teachers = sorted((study / "results" / "teachers").glob("*/seed*.json"))
teacher_diff = max(abs(value(t) - value(loop / t.relative_to(study))) for t in teachers)

import torch  # noqa: E402  (versions only)
import numpy  # noqa: E402
import snakemake as snakemake_module  # noqa: E402

cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")), platform.processor())
ratio = study_s / loop_s
text = f"""# Bench: the study against a one-process loop

`make bench` ({time.strftime('%Y-%m-%d %H:%M')}), grid \
`{args.config.relative_to(ROOT) if args.config.is_relative_to(ROOT) else args.config}`: \
{len(runs)} student runs and {len(teachers)} teachers, with their teacher answers, from the same prepared data.

| | wall (s) |
| --- | ---: |
| study: `snakemake --cores all` (sweeps, 1 thread per job, {os.cpu_count()} at once) | {study_s:.1f} |
| one-process loop: `bench/one_process_loop.py` (one run after another, torch's default threads) | {loop_s:.1f} |
| **ratio study / loop** | **{ratio:.2f}** |
| the same loop on 1 thread (reference) | {loop1_s:.1f} |
| ratio study / loop on 1 thread | {study_s / loop1_s:.2f} |

Same results: the largest difference of a baseline student's test metric between the study and the loop
is {base_diff:.4f} (a sweep against runs alone: the same runs, floats summed in another order); over every
run it is {diff:.4f}, and of a teacher {teacher_diff:.4f}: the loop's teachers use torch's default threads, the
study's one, and a student at lam = 0 follows its teacher's differences.

Machine: {os.cpu_count()} cores ({cpu}), no GPU used. Python {platform.python_version()}, torch {torch.__version__},
numpy {numpy.__version__}, snakemake {snakemake_module.__version__}. Logs in `{args.workdir.name}/`.
"""
args.out.write_text(text)
print(text)

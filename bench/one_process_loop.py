"""The bench grid trained the way a notebook would: one Python process, one run after another.

Each step is the project's own step script, run in this process with runpy (like `%run` in a notebook),
so the hyperparameters, the evaluation cadence and the code are exactly the study's; what differs is
only the orchestration: no Snakemake, no process per step, no sweeps (every student is a sweep of one),
torch's default threads. Reads the prepared datasets from --data-dir, writes results/ under --workdir
with the same paths as the study.

Example:
    python bench/one_process_loop.py --config bench/config.yaml --data-dir bench/work/data --workdir bench/work/loop
"""

import argparse
import runpy
import sys
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
from distill.config import coerce, small_sizes, temperatures  # noqa: E402
from distill.io import fmt  # noqa: E402

p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
p.add_argument("--config", required=True, type=Path,
               help="grid laid over config.yaml, as Snakemake lays a --configfile")
p.add_argument("--data-dir", required=True, type=Path, help="folder with the prepared {dataset}.npz")
p.add_argument("--workdir", required=True, type=Path, help="results/ goes here")
p.add_argument("--threads", type=int, default=0,
               help="CPU threads for torch (default 0: torch's choice, as in a notebook)")
args = p.parse_args()

config = yaml.safe_load((ROOT / "config.yaml").read_text())
for key, value in coerce(yaml.safe_load(args.config.read_text())).items():
    config[key] = {**config[key], **value} if isinstance(value, dict) else value
results = args.workdir / "results"
t, s, phi_cfg = config["training"]["teacher"], config["training"]["student"], config["phi"]
seeds = [str(x) for x in config["seeds"]]
# as the study's config teachers says
teacher_of = {s: (s if config["teachers"] == "paired" else str(t["seed"])) for s in seeds}
teacher_seeds = sorted(set(teacher_of.values()), key=int)


def run(script, *argv):
    sys.argv = [script, *map(str, argv), "--threads", str(args.threads)]
    runpy.run_path(str(ROOT / "workflow" / "scripts" / script), run_name="__main__")


start = time.perf_counter()
experiments = [(e["target"], e["source"], e["phi"]) for e in config["experiments"]]
for source in dict.fromkeys(source for _, source, _ in experiments):
    domain = args.data_dir / f"{source}.npz"
    if "+" in source:  # a transformed domain: made once, as the study's make_domain rule makes it
        dataset, psi = source.split("+")
        if psi == "vae":
            raise SystemExit("the one-process loop covers noise and conv domains (no fitted VAEs)")
        domain = results / "domains" / f"{source}.npz"
        run("make_domain.py", "--data", args.data_dir / f"{dataset}.npz", "--psi", psi, "--sigma",
            phi_cfg["noise"]["sigma"],
            "--kernel-size", phi_cfg["conv"]["kernel_size"], "--blur-sigma", phi_cfg["conv"]["sigma"], "--seed",
            t["seed"], "--out", domain)
    for seed in teacher_seeds:  # one teacher after another, each a stack of one
        run("train_teacher.py", "--data", domain, "--out", results / "teachers" / source / f"seed{seed}.pt",
            "--metrics", results / "teachers" / source / f"seed{seed}.json", "--epochs", t["epochs"], "--batch-size",
            t["batch_size"],
            "--lr", t["lr"], "--seed", seed)
for target, source, phi in experiments:
    if phi == "vae":
        raise SystemExit("the one-process loop covers none, noise and conv rows (no fitted VAEs or translators)")
    answers = results / "answers" / f"{target}-from-{source}" / phi
    run("teacher_answers.py", "--target-data", args.data_dir / f"{target}.npz",
        "--teacher", *[results / "teachers" / source / f"seed{teacher_of[s]}.pt" for s in seeds],
        "--phi", phi, "--sigma", phi_cfg["noise"]["sigma"], "--kernel-size", phi_cfg["conv"]["kernel_size"],
        "--blur-sigma", phi_cfg["conv"]["sigma"], "--seeds", *seeds, "--out", f"{answers}.npz", "--metrics",
        f"{answers}.json")
students = [("baseline", target, size, None, lam, None, seed) for target in sorted({t for t, _, _ in experiments})
            for size in small_sizes(config, target) for lam in [1] for seed in seeds]
students += [(f"{source}-{phi}", target, size, f"{target}-from-{source}/{phi}.npz", lam, T, seed)
             for target, source, phi in experiments
             for size in small_sizes(config, target) for lam in config["lams"] for T in temperatures(config, target)
             for seed in seeds]
for i, (row, target, size, answers, lam, T, seed) in enumerate(students, 1):
    folder = (results / "students" / target / f"n{size}" / row
              / ("" if answers is None else f"lam{fmt(lam)}-T{fmt(T)}") / f"seed{seed}")
    extra = [] if answers is None else ["--answers", results / "answers" / answers, "--temperature", T,
                                        "--teacher-seeds", teacher_of[seed]] + (
        ["--t2"] if config["t2"] else [])
    run("train_student.py", "--data", args.data_dir / f"{target}.npz", "--small-size", size, "--lam", lam, "--seed",
        seed, *extra, "--epochs", s["epochs"],
        "--batch-size", s["batch_size"], "--lr", s["lr"], "--eval-every", s["eval_every"], "--metrics",
        folder / "metrics.json")
    print(f"[loop] student {i}/{len(students)} done, {time.perf_counter() - start:.0f} s", flush=True)
print(f"[loop] {len(students)} students and {len(set(s for _, s, _ in experiments)) * len(teacher_seeds)} teachers in "
      f"{time.perf_counter() - start:.1f} s")

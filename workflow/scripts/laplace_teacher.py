"""The diagonal Laplace posterior of trained teachers: mean = the weights, precision = the diagonal GGN of the
training NLL over the big part the teacher learned from + 1 / sigma0^2 (distill.laplace).

One call takes the teachers of one source domain (every seed) and writes one posterior per teacher, by default
beside it (seed<s>.pt -> seed<s>.posterior.pt), each with a .json record: provenance (the teacher file's sha256,
its seed and data), sigma0, the noise variance (regression), per-layer variance summaries and the wall time.
The big part is read with the teacher's own scaling; classification uses the softmax cross-entropy, regression
a Gaussian likelihood of the standardized target with the teacher's mean squared residual as noise variance.

Example (the five teachers of one source domain):
    python workflow/scripts/laplace_teacher.py --data results/domains/mnist+noise.npz \
        --teachers results/teachers/mnist+noise/seed{0,1,2,3,4}.pt
"""

import argparse
import hashlib
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "src"))
import torch  # noqa: E402

from distill import cli, data, laplace, models  # noqa: E402
from distill.io import Record, fail, save_torch  # noqa: E402
from distill.training import METRIC, Flops, Scaler, setup, tensors  # noqa: E402

p = cli.Parser(__doc__)
p.add_argument("--data", required=True, type=Path,
               help="the dataset or domain the teachers were trained on (.npz); its big part is read")
p.add_argument("--teachers", "--teacher", required=True, type=Path, nargs="+",
               help="teacher weights from train_teacher.py")
p.add_argument("--out",
               help="posterior per teacher: a pattern with {seed} (default: beside each teacher, <name>.posterior.pt)")
p.add_argument("--sigma0", type=cli.positive, default=1.0,
               help="sd of the N(0, sigma0^2) prior on every weight (default 1)")
p.add_argument("--batch-size", type=cli.positive_int, default=4096,
               help="rows per GGN pass (memory only; default 4096)")
p.add_argument("--threads", type=cli.threads, default=0, help="CPU threads for torch (default: torch's choice)")
args = p.parse_args()
if len(set(args.teachers)) < len(args.teachers):
    fail("--teachers must not repeat a file")
cli.expect("data", args.data, "data", "domain")
for path in args.teachers:
    cli.expect("teacher", path, "teacher")

try:
    info = data.meta(args.data)
    parts = data.load(args.data, "big")
    saved_all = [torch.load(t, weights_only=True, map_location="cpu") for t in args.teachers]
except (data.DataError, FileNotFoundError) as e:
    fail(str(e))
seeds = [saved["seed"] for saved in saved_all]
if len(set(seeds)) < len(seeds):
    fail(f"--teachers holds two teachers of one seed ({seeds}): give one file per seed")
outs = [Path(args.out.format(seed=s)) if args.out
        else t.with_name(t.stem + ".posterior.pt") for s, t in zip(seeds, args.teachers)]
if len(set(outs)) < len(outs):
    fail(f"--out {args.out!r} gives one path to several teachers: put {{seed}} in it")
cli.writable("out", *outs)
for path, saved in zip(args.teachers, saved_all):
    if (saved.get("made_from") or {}).get("data") != data.fingerprint(info):
        fail(f"{path} was not trained on {args.data} (another dataset, domain, split or features): give the data it "
             f"was trained on")

task = info["task"]
device = setup(args.threads)
x, y = tensors(device, parts["x_big"], parts["y_big"])
flops = Flops()
for path, saved, out in zip(args.teachers, saved_all, outs):
    start = time.perf_counter()
    teacher = models.teacher(saved["n_in"], saved["n_out"]).to(device)
    teacher.load_state_dict(saved["state"])
    xs = Scaler.from_state(saved["x_scale"], device)(x)
    target = Scaler.from_state(saved["y_scale"], device)(y).unsqueeze(1) if task == "regression" else y
    counted = flops.total
    with flops("posterior", len(x)):
        mean, var, noise = laplace.posterior(teacher, xs, target, task, args.sigma0, args.batch_size)
    sizes = [saved["n_in"], *models.TEACHER_HIDDEN, saved["n_out"]]
    teacher_file = {"path": str(path), "sha256": hashlib.sha256(path.read_bytes()).hexdigest(), "seed": saved["seed"]}
    save_torch(out, {"kind": "posterior", "mean": {k: v.cpu() for k, v in mean.items()},
                     "var": {k: v.cpu() for k, v in var.items()},
                     "sizes": sizes, "task": task, "seed": saved["seed"], "sigma0": args.sigma0, "noise_var": noise,
                     "n_rows": len(x),
                     "x_scale": saved["x_scale"], "y_scale": saved["y_scale"], "made_from": saved["made_from"],
                     "teacher": teacher_file})
    seconds = time.perf_counter() - start
    summary = {k: {"median_sd": float(v.sqrt().median()), "min_sd": float(v.sqrt().min()),
                   "max_sd": float(v.sqrt().max())} for k, v in var.items()}
    record = Record("laplace",
                    argparse.Namespace(**{**vars(args), "teachers": None, "teacher": str(path), "out": str(out)}),
                    METRIC[task], str(device))
    record.write(out.with_suffix(".json"), dataset=info["dataset"], seed=saved["seed"], teacher=teacher_file,
                 made_from=saved["made_from"],
                 sigma0=args.sigma0, noise_var=noise, n_rows=len(x), layers=summary, laplace_seconds=round(seconds, 3),
                 flops=round(flops.total - counted))
    print(f"teacher seed {saved['seed']} ({path}): diagonal GGN over {len(x)} rows in {seconds:.1f} s, median sd "
          + " ".join(f"{k} {s['median_sd']:.3g}" for k, s in summary.items() if k.endswith("weight")) + f" -> {out}",
          flush=True)

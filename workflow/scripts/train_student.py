"""Train students g on the target's small part, from the labels and the teacher's answers f(phi(x)).

loss = lam * (label term) + (1 - lam) * (teacher term), see distill/losses.py. lam = 1 ignores the
teacher: that is the no-teacher baseline (no --answers needed). Reads only the small and test parts
and the precomputed answers: no big part, no teacher model, no torchvision.

One call trains a sweep: every (lam, T, seed) of --lams x --temperatures x --seeds, side by side as one
batched model (distill.models.Students, one Adam). Each run keeps its seed's initialisation, batch order
and draw of phi, so it ends where it would end alone, and writes its own metrics.json: --metrics is a
path pattern with {lam}, {T} and {seed} (a sweep of one run may give a plain path).

The test metric and test loss are evaluated before training (epoch 0), every --eval-every epochs and
after the last epoch; the integral criterion is the area under that test-loss curve (trapezoid rule).
Each evaluated epoch also records train_loss, the epoch's mean training loss (over its rows: each
mini-batch's loss weighted by its rows, at the weights that batch saw).

--small-size N trains on the first N rows of the small part. The split drew the small part in random
order, so the sizes of a study are nested random subsets (100 of 250 of 1000); the answers are cut alike.

Example (one run):
    python workflow/scripts/train_student.py --data results/data/mnist.npz \
        --answers results/answers/mnist-from-mnist/none.npz --lam 0.5 --temperature 4 --epochs 100 \
        --seed 0 --metrics results/students/mnist/n1000/mnist-none/lam0.5-T4/seed0/metrics.json
Example (a sweep of 4 x 2 x 5 runs on the first 100 rows):
    python workflow/scripts/train_student.py --data results/data/mnist.npz --small-size 100 \
        --answers results/answers/mnist-from-mnist/none.npz --lams 0 0.25 0.5 0.75 --temperatures 1 4 --t2 \
        --seeds 0 1 2 3 4 --metrics 'results/students/mnist/n100/mnist-none/lam{lam}-T{T}/seed{seed}/metrics.json'
"""

import json
import sys
import time
import zipfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "src"))
import numpy as np  # noqa: E402
import torch  # noqa: E402

from distill import cli, data, models, seeds  # noqa: E402
from distill.io import Record, fail, fmt, save_torch  # noqa: E402
from distill.losses import distillation_loss, regression_loss  # noqa: E402
from distill.training import METRIC, Adam, Flops, batches, predict, score, setup, student_data, tensors  # noqa: E402

p = cli.Parser(__doc__)
p.add_argument("--data", required=True, type=Path,
               help="prepared target dataset (.npz); only its small and test parts are read")
p.add_argument("--small-size", type=cli.positive_int, help="train on the first N rows of the small part (a nested "
                                                           "subset drawn by the split; default: all of it)")
p.add_argument("--answers", type=Path, help="teacher answers from teacher_answers.py (required unless every lam is 1)")
p.add_argument("--lams", "--lam", required=True, type=cli.lam, nargs="+",
               help="weights of the labels in [0, 1]; 1 - lam weighs the teacher")
p.add_argument("--temperatures", "--temperature", type=cli.temperature, nargs="+", default=[1.0],
               help="softmax temperatures T of the teacher term (classification; default 1)")
p.add_argument("--t2", action="store_true", help="multiply the teacher term by T^2 (Hinton's scaling)")
p.add_argument("--seeds", "--seed", type=cli.seed, nargs="+", default=[0],
               help="student seeds: initialisation, batch order and the draw of phi (default 0)")
p.add_argument("--teacher-seeds", type=cli.seed, nargs="+",
               help="the teacher seed each student seed must have learned from: one per --seeds entry, or one for all "
                    "(default: the student's own seed, teachers: paired); answers of another teacher are refused")
cli.add_training_options(p)  # --epochs 100, --batch-size 64, --lr 1e-3, --eval-every 1
p.add_argument("--metrics", required=True,
               help="metrics.json to write per run: a pattern with {lam}, {T}, {seed} unless the sweep is one run")
p.add_argument("--weights",
               help="also save each run's final weights (.pt, a dict of tensors w1 b1 w2 b2): a pattern like --metrics")
p.add_argument("--threads", type=cli.threads, default=0, help="CPU threads for torch (default: torch's choice)")
args = p.parse_args()  # the types refuse a lam outside [0, 1], T <= 0, NaN, infinities, sizes below 1
if min(args.lams) < 1 and args.answers is None:
    fail("--answers is required when a lam is below 1 (the teacher term needs f(phi(x)))")
if args.teacher_seeds is not None and len(args.teacher_seeds) not in (1, len(args.seeds)):
    fail(f"--teacher-seeds gives {len(args.teacher_seeds)} seeds for {len(args.seeds)} student seeds: give one per "
         f"seed of --seeds, or one for all")
given = args.seeds if args.teacher_seeds is None else args.teacher_seeds  # one per seed, or one for all
teacher_seed = dict(zip(args.seeds, given if len(given) == len(args.seeds) else given * len(args.seeds)))
if len(set(args.seeds)) < len(args.seeds) or len(set(args.lams)) < len(args.lams) or len(set(args.temperatures)) < len(
    args.temperatures):
    fail("--lams, --temperatures and --seeds must not repeat a value")

# The runs, seed-major (the layout of models.Students): for each seed, every (lam, T).
settings = [(lam, T) for lam in args.lams for T in args.temperatures]
runs = cli.sweep_runs(args, [{"lam": lam, "temperature": T, "seed": seed,
                              "teacher_seed": None if lam == 1 else teacher_seed[seed]}
                             for seed in args.seeds for lam, T in settings],
                      [{"lam": fmt(lam), "T": fmt(T), "seed": seed} for seed in args.seeds for lam, T in settings],
                      ("lams", "temperatures", "seeds", "teacher_seeds"))
cli.expect("data", args.data, "data")
if min(args.lams) < 1:
    cli.expect("answers", args.answers, "answers")

try:
    info = data.meta(args.data)
    parts = data.load(args.data, "small", "test")
    n_small = len(parts["y_small"])
    n = n_small if args.small_size is None else args.small_size
    if n > n_small:
        fail(f"--small-size {n} is larger than the small part of {args.data} ({n_small} rows)")
    if min(args.lams) < 1:
        with np.load(args.answers) as z:
            provenance = json.loads(str(z["provenance"])) if "provenance" in z.files else {}
            if provenance.get("target_data") != data.fingerprint(info):
                fail(f"{args.answers} holds answers for other data than {args.data} (another dataset, split, sizes or "
                     f"features): re-run teacher_answers.py with this --target-data")
            made_by = provenance.get("teacher_seeds", {})
            for seed in args.seeds:
                if made_by.get(str(seed)) != teacher_seed[seed]:
                    fail(f"{args.answers} answers student seed {seed} with teacher seed "
                         f"{made_by.get(str(seed), 'unknown')}, not {teacher_seed[seed]} (--teacher-seeds; config "
                         f"teachers): re-run teacher_answers.py with that seed's teacher")
            answers = np.stack([z[f"small_seed{seed}"][:n] for seed in args.seeds])
except (data.DataError, FileNotFoundError) as e:
    fail(str(e))
except (OSError, ValueError, zipfile.BadZipFile) as e:
    fail(f"{args.answers}: not a teacher answers file ({e}); re-run teacher_answers.py")
except KeyError as e:
    fail(f"{args.answers} has no answers {e}: re-run teacher_answers.py with every seed of --seeds in its --seeds")
task = info["task"]
regression = task == "regression"
metric = METRIC[task]
device = setup(args.threads)
# The first n rows of the small part: the split drew it in random order, so each size is a random subset of the next.
x, target, x_test, y_test, x_scale, y_scale = student_data(parts, n, regression, device)
teacher_out = None
if min(args.lams) < 1:
    (teacher_out,) = tensors(device, answers)  # [S, n_small, R] logits, or [S, n_small] in target units
    teacher_out = y_scale(teacher_out).unsqueeze(-1) if regression else teacher_out

K = len(settings)
student = models.Students(x.shape[1], info["n_classes"] or 1, task, args.seeds, per_seed=K).to(device)
optimizer = Adam([(student.parameters(), args.lr)], fused=True)  # one pass over the stacked tensors
lam = torch.tensor([run.lam for run in runs], device=device)
T = torch.tensor([run.temperature for run in runs], device=device)
order = [seeds.generator("student_batches", seed) for seed in args.seeds]
rows = torch.arange(len(args.seeds), device=device).unsqueeze(1)
chunk = max(256, 2**24 // (len(runs) * student.hidden))  # test rows per product: about 64 MB of hidden units


def loss_per_run(out, idx, answers_of):
    """The training loss of each run on rows idx [S, b] of the small part (each seed's own batch)."""
    if regression:
        return regression_loss(out, target[idx].repeat_interleave(K, 0), answers_of, lam)
    return distillation_loss(out, target[idx].repeat_interleave(K, 0), answers_of, lam, T, args.t2)


def evaluate(epoch, train_loss):
    """Append the test metric and test loss of every run to its curve (the loss against the labels only:
    cross-entropy for classification, MSE in target units for regression)."""
    with flops("eval", len(x_test)):
        out = predict(student, x_test, chunk)  # [M, N, R]
    if regression:
        pred = y_scale.inverse(out.squeeze(-1))
        values = losses = score(task, pred, y_test)
    else:
        values = score(task, out, y_test)
        losses = distillation_loss(out, y_test.expand(len(runs), -1), None, 1.0).tolist()
    for m, curve in enumerate(curves):
        curve.append({"epoch": epoch, metric: values[m], "test_loss": losses[m],
                      "train_loss": None if train_loss is None else train_loss[m]})
    return values


print(f"{len(runs)} student run(s) on {n} of the {n_small} small-part rows of {info['dataset']} ({device}): lams "
      f"{args.lams}, T {args.temperatures}, seeds {args.seeds}", flush=True)
records = [Record("student", run, metric, str(device)) for run in runs]
flops = Flops()
curves = [[] for _ in runs]
start = time.perf_counter()
evaluate(0, None)
for epoch in range(1, args.epochs + 1):
    total = torch.zeros(len(runs), device=device)  # each run's training loss summed over the epoch's rows
    for idx in batches(len(x), args.batch_size, order, device):  # idx [S, b]: each seed its own order
        answers_of = None if teacher_out is None else teacher_out[rows, idx].repeat_interleave(K, 0)
        with flops("train", idx.shape[-1]):
            loss = loss_per_run(student(x[idx]), idx, answers_of)
            optimizer.zero_grad()
            loss.sum().backward()  # the runs share no weights: each gets the gradient of its own loss
            optimizer.step()
        total += loss.detach() * idx.shape[-1]
    if epoch % args.eval_every == 0 or epoch == args.epochs:
        values = evaluate(epoch, (total / len(x)).tolist())  # the epoch's mean training loss
        print(f"epoch {epoch}/{args.epochs}  test {metric} mean {np.mean(values):.4f} (min {min(values):.4f}, max "
              f"{max(values):.4f})  {time.perf_counter() - start:.1f} s", flush=True)

for m, (run, record, curve) in enumerate(zip(runs, records, curves)):
    if run.weights:
        save_torch(run.weights, {k: v.detach().cpu().clone() for k, v in student.run(m).items()})
    record.data["epochs"] = curve
    record.write(run.metrics, test_metric=curve[-1][metric], test_loss=curve[-1]["test_loss"],
                     integral=float(np.trapezoid([e["test_loss"] for e in curve], [e["epoch"] for e in curve])),
                     dataset=info["dataset"], size=n, n_weights=models.n_weights(student), sweep_runs=len(runs),
                     flops=flops.share(len(runs)))
print(f"wrote {len(runs)} metrics.json ({time.perf_counter() - start:.1f} s of training)")

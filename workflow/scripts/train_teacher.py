"""Train the teachers f of a source domain on its big part, one per seed, and score each on the source's test part.

One call trains a stack: every seed of --seeds side by side as one batched model (distill.models.Teachers,
one Adam). Each teacher keeps its own initialisation and batch order (the ("teacher_init", seed) and
("teacher_batches", seed) streams), so it ends where it would end alone, and is written to its own file:
--out and --metrics are path patterns with {seed} (a stack of one may give plain paths). Each file is a
plain models.teacher state dict with its scaling, its seed and the data it was trained on. Its metrics
record, per epoch, the test metric and train_loss, the epoch's mean training loss (each mini-batch's
loss weighted by its rows).

Checkpoints the whole stack every epoch (next to the first output) and resumes from it after a kill or a
SLURM requeue.

Example (the five teachers of one source domain):
    python workflow/scripts/train_teacher.py --data results/data/mnist.npz --seeds 0 1 2 3 4 \
        --out 'results/teachers/mnist/seed{seed}.pt' --metrics 'results/teachers/mnist/seed{seed}.json' --epochs 10
"""

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "src"))
import torch  # noqa: E402
from torch.nn import functional as F  # noqa: E402

from distill import cli, data, models, seeds  # noqa: E402
from distill.io import Record, fail, run_paths, save_torch  # noqa: E402
from distill.training import (METRIC, Adam, Checkpoint, Flops, Scaler, batches, predict, score, setup,  # noqa: E402
                              tensors)

p = cli.Parser(__doc__)
p.add_argument("--data", required=True, type=Path,
               help="prepared source dataset or domain (.npz from prepare_data.py or make_domain.py)")
p.add_argument("--out", required=True, help="teacher weights (.pt) per seed: a pattern with {seed} unless one seed")
p.add_argument("--metrics", required=True, help="metrics.json per seed: a pattern with {seed} unless one seed")
p.add_argument("--epochs", type=cli.positive_int, default=10, help="passes over the big part (default 10)")
p.add_argument("--batch-size", type=cli.positive_int, default=128, help="mini-batch size (default 128)")
p.add_argument("--lr", type=cli.positive, default=1e-3, help="Adam learning rate (default 1e-3)")
p.add_argument("--seeds", "--seed", type=cli.seed, nargs="+", default=[0],
               help="teacher seeds: one teacher each, with its own initialisation and batch order (default 0)")
p.add_argument("--threads", type=cli.threads, default=0, help="CPU threads for torch (default: torch's choice)")
args = p.parse_args()
if len(set(args.seeds)) < len(args.seeds):
    fail(f"--seeds must not repeat a seed, got {args.seeds}")
runs = [{"seed": s} for s in args.seeds]
outs, metrics_paths = run_paths("out", args.out, runs), run_paths("metrics", args.metrics, runs)
cli.expect("data", args.data, "data", "domain")
cli.writable("out", *outs)
cli.writable("metrics", *metrics_paths)

try:
    info = data.meta(args.data)
    parts = data.load(args.data, "big", "test")
except (data.DataError, FileNotFoundError) as e:
    fail(str(e))
task = info["task"]
regression = task == "regression"
device = setup(args.threads)
x, y, x_test, y_test = tensors(device, parts["x_big"], parts["y_big"], parts["x_test"], parts["y_test"])
x_scale = Scaler.fit(x) if regression else Scaler.identity(x.shape[1], device)
y_scale = Scaler.fit(y) if regression else None
x, x_test = x_scale(x), x_scale(x_test)
target = y_scale(y).unsqueeze(1) if regression else y
n_out = info["n_classes"] or 1

stack = models.Teachers(x.shape[1], n_out, args.seeds).to(device)
order = [seeds.generator("teacher_batches", s) for s in args.seeds]
optimizer = Adam([(stack.parameters(), args.lr)], fused=True)  # one pass over the stacked tensors
# One checkpoint for the stack: its name holds every seed, so a stack of other seeds never resumes from it.
ckpt = Path(str(args.out).format(seed="-".join(map(str, args.seeds))) + ".ckpt")
checkpoint = Checkpoint(argparse.Namespace(**{**vars(args), "out": outs[0]}), data=info, path=ckpt)


class Orders:
    """The batch-order generators of the stack as one object for Checkpoint (its get_state / set_state)."""

    def get_state(self):
        return torch.stack([g.get_state() for g in order])

    def set_state(self, state):
        for g, s in zip(order, state):
            g.set_state(s.clone())  # a row of the stack as a tensor of its own (a view crashes set_state)


start, history = checkpoint.resume(stack, optimizer, Orders())
history = history or [[] for _ in args.seeds]


def losses(out, idx):
    """The training loss of each teacher on its own batch idx [S, b]: [S]."""
    if regression:
        return ((out - target[idx]) ** 2).mean(dim=(1, 2))
    return F.cross_entropy(out.transpose(1, 2), target[idx], reduction="none").mean(dim=1)


flops = Flops()


def test_metrics():
    with flops("eval", len(x_test)):
        out = predict(stack, x_test)  # [S, N, R]
    return score(task, y_scale.inverse(out.squeeze(-1)) if regression else out, y_test)


print(f"{len(args.seeds)} teacher(s) on {info['dataset']} ({len(x)} rows, {device}): seeds {args.seeds}", flush=True)
settings = {k: v for k, v in vars(args).items() if k != "seeds"}
records = [Record("teacher", argparse.Namespace(**{**settings, "seed": s, "out": o, "metrics": m}), METRIC[task],
                  str(device))
           for s, o, m in zip(args.seeds, outs, metrics_paths)]
for epoch in range(start + 1, args.epochs + 1):
    total = torch.zeros(len(args.seeds), device=device)  # each teacher's training loss summed over the epoch's rows
    for idx in batches(len(x), args.batch_size, order, device):  # idx [S, b]: each teacher its own order
        with flops("train", idx.shape[-1]):
            loss = losses(stack(x[idx]), idx)
            optimizer.zero_grad()
            loss.sum().backward()  # the teachers share no weights: each gets the gradient of its own loss
            optimizer.step()
        total += loss.detach() * idx.shape[-1]
    values, train = test_metrics(), (total / len(x)).tolist()  # the epoch's mean training loss
    for k in range(len(args.seeds)):
        history[k].append({"epoch": epoch, METRIC[task]: values[k], "train_loss": train[k]})
    print(f"epoch {epoch}/{args.epochs}  test {METRIC[task]} " + " ".join(f"{v:.4f}" for v in values), flush=True)
    checkpoint.save(epoch, stack, optimizer, Orders(), history)

values = test_metrics()
made_from = {"dataset": info["dataset"], "data": data.fingerprint(info),
             "base_data": (info.get("domain") or {}).get("base_data", data.fingerprint(info))}
for k, (seed, out, record) in enumerate(zip(args.seeds, outs, records)):
    save_torch(out, {"state": stack.state_of(k), "task": task, "n_in": x.shape[1], "n_out": n_out, "seed": seed,
                     "x_scale": x_scale.state(), "y_scale": y_scale.state() if regression else None,
                     "made_from": made_from})
    record.data["epochs"] = history[k]
    record.write(metrics_paths[k], test_metric=values[k], dataset=info["dataset"], seed=seed,
                 n_weights=models.n_weights(stack), flops=flops.share(len(args.seeds)))
checkpoint.remove()
print(f"{len(args.seeds)} teacher(s) on {info['dataset']}: test {METRIC[task]} " + " ".join(f"{v:.4f}" for v in values)
      + f" -> {args.out}")

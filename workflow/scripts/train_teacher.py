"""Train the teacher f on the big part of a source dataset and score it on the source's test part.

Checkpoints every epoch next to --out and resumes from it after a kill or a SLURM requeue.

Example:
    python workflow/scripts/train_teacher.py --data results/data/mnist.npz \
        --out results/teachers/mnist.pt --metrics results/teachers/mnist.json --epochs 10
"""

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "src"))
import torch  # noqa: E402

from distill import data, models, seeds  # noqa: E402
from distill.io import Record, fail, save_torch  # noqa: E402
from distill.training import METRIC, Checkpoint, Scaler, batches, predict, score, setup, tensors  # noqa: E402

p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
p.add_argument("--data", required=True, type=Path, help="prepared source dataset (.npz from prepare_data.py)")
p.add_argument("--out", required=True, type=Path, help="teacher weights (.pt, a plain state dict plus scaling)")
p.add_argument("--metrics", required=True, type=Path, help="metrics.json to write")
p.add_argument("--epochs", type=int, default=10, help="passes over the big part (default 10)")
p.add_argument("--batch-size", type=int, default=128, help="mini-batch size (default 128)")
p.add_argument("--lr", type=float, default=1e-3, help="Adam learning rate (default 1e-3)")
p.add_argument("--seed", type=int, default=0, help="seed of the initialisation and batch-order streams (default 0)")
p.add_argument("--threads", type=int, default=0, help="CPU threads for torch (default: torch's choice)")
args = p.parse_args()

try:
    info = data.meta(args.data)
    parts = data.load(args.data, "big", "test")
except (data.DataError, FileNotFoundError) as e:
    fail(str(e))
task = info["task"]
device = setup(args.threads)
x, y, x_test, y_test = tensors(device, parts["x_big"], parts["y_big"], parts["x_test"], parts["y_test"])
regression = task == "regression"
x_scale = Scaler.fit(x) if regression else Scaler.identity(x.shape[1], device)
y_scale = Scaler.fit(y) if regression else None
x, x_test = x_scale(x), x_scale(x_test)
target = y_scale(y).unsqueeze(1) if regression else y

torch.manual_seed(seeds.stream("teacher_init", args.seed))
teacher = models.teacher(x.shape[1], info["n_classes"] or 1).to(device)
generator = seeds.generator("teacher_batches", args.seed)
optimizer = torch.optim.Adam(teacher.parameters(), lr=args.lr)
loss_fn = torch.nn.functional.mse_loss if regression else torch.nn.functional.cross_entropy
checkpoint = Checkpoint(args, data=info)
start, history = checkpoint.resume(teacher, optimizer, generator)


def test_metric():
    out = predict(teacher, x_test)
    return score(task, y_scale.inverse(out.squeeze(1)) if regression else out, y_test)


record = Record("teacher", args, METRIC[task], str(device))
for epoch in range(start + 1, args.epochs + 1):
    for idx in batches(len(x), args.batch_size, generator, device):
        loss = loss_fn(teacher(x[idx]), target[idx])
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
    history.append({"epoch": epoch, METRIC[task]: test_metric(), "train_loss": loss.item()})
    print(f"epoch {epoch}/{args.epochs}  {METRIC[task]} {history[-1][METRIC[task]]:.4f}", flush=True)
    checkpoint.save(epoch, teacher, optimizer, generator, history)

save_torch(args.out, {"state": teacher.state_dict(), "task": task, "n_in": x.shape[1], "n_out": info["n_classes"] or 1,
                      "x_scale": x_scale.state(), "y_scale": y_scale.state() if regression else None,
                      "made_from": {"dataset": info["dataset"], "data": data.fingerprint(info),
                                    "base_data": (info.get("domain") or {}).get("base_data", data.fingerprint(info))}})
record.data["epochs"] = history
record.write(args.metrics, test_metric=test_metric(), dataset=info["dataset"], n_weights=models.n_weights(teacher))
checkpoint.remove()
print(f"teacher on {info['dataset']}: test {METRIC[task]} {test_metric():.4f} -> {args.out}")

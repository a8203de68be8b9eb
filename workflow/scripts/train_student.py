"""Train the student g on the target's small part, from the labels and the teacher's answers f(phi(x)).

loss = lam * (label term) + (1 - lam) * (teacher term), see distill/losses.py. lam = 1 ignores the
teacher: that is the no-teacher baseline (no --answers needed). Reads only the small and test parts
and the precomputed answers: no big part, no teacher model, no torchvision.

Example:
    python workflow/scripts/train_student.py --data results/data/mnist.npz \
        --answers results/answers/mnist-from-mnist/none.npz --lam 0.5 --temperature 4 --epochs 100 \
        --seed 0 --metrics results/students/mnist/mnist-none/lam0.5-T4/seed0/metrics.json
"""

import argparse
import sys
import zipfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "src"))
import numpy as np  # noqa: E402
import torch  # noqa: E402

from distill import data, models  # noqa: E402
from distill.io import Record, fail  # noqa: E402
from distill.losses import distillation_loss, regression_loss  # noqa: E402
from distill.training import METRIC, Scaler, batches, predict, score, setup, tensors  # noqa: E402

p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
p.add_argument("--data", required=True, type=Path, help="prepared target dataset (.npz); only its small and test parts are read")
p.add_argument("--answers", type=Path, help="teacher answers from teacher_answers.py (required unless --lam 1)")
p.add_argument("--lam", required=True, type=float, help="weight of the labels in [0, 1]; 1 - lam weighs the teacher")
p.add_argument("--temperature", type=float, default=1.0, help="softmax temperature T of the teacher term (classification; default 1)")
p.add_argument("--t2", action="store_true", help="multiply the teacher term by T^2 (Hinton's scaling)")
p.add_argument("--epochs", type=int, default=100, help="passes over the small part (default 100)")
p.add_argument("--batch-size", type=int, default=64, help="mini-batch size (default 64)")
p.add_argument("--lr", type=float, default=1e-3, help="Adam learning rate (default 1e-3)")
p.add_argument("--seed", type=int, default=0, help="seed of initialisation, batch order and the phi draw (default 0)")
p.add_argument("--metrics", required=True, type=Path, help="metrics.json to write")
p.add_argument("--threads", type=int, default=0, help="CPU threads for torch (default: torch's choice)")
args = p.parse_args()
if not 0 <= args.lam <= 1:
    fail(f"--lam must lie in [0, 1], got {args.lam}")
if args.temperature <= 0:
    fail(f"--temperature must be positive, got {args.temperature}")
if args.lam < 1 and args.answers is None:
    fail("--answers is required when --lam < 1 (the teacher term needs f(phi(x)))")

try:
    info = data.meta(args.data)
    parts = data.load(args.data, "small", "test")
    if args.lam < 1:
        with np.load(args.answers) as z:
            answers = z[f"small_seed{args.seed}"]
except (data.DataError, FileNotFoundError) as e:
    fail(str(e))
except (OSError, ValueError, zipfile.BadZipFile) as e:
    fail(f"{args.answers}: not a teacher answers file ({e}); re-run teacher_answers.py")
except KeyError:
    fail(f"{args.answers} has no answers for seed {args.seed}: re-run teacher_answers.py with this seed in --seeds")
task = info["task"]
regression = task == "regression"
device, generator = setup(args.seed, args.threads)
x, y, x_test, y_test = tensors(device, parts["x_small"], parts["y_small"], parts["x_test"], parts["y_test"])
x_scale = Scaler.fit(x) if regression else Scaler.identity(x.shape[1], device)
y_scale = Scaler.fit(y) if regression else None
x, x_test = x_scale(x), x_scale(x_test)
target = y_scale(y).unsqueeze(1) if regression else y
teacher_out = None
if args.lam < 1:
    (teacher_out,) = tensors(device, answers)
    teacher_out = y_scale(teacher_out).unsqueeze(1) if regression else teacher_out

student = models.student(x.shape[1], info["n_classes"] or 1, task).to(device)
optimizer = torch.optim.Adam(student.parameters(), lr=args.lr)


def test_metric():
    out = predict(student, x_test)
    return score(task, y_scale.inverse(out.squeeze(1)) if regression else out, y_test)


record = Record("student", args, METRIC[task], str(device))
history = []
for epoch in range(1, args.epochs + 1):
    for idx in batches(len(x), args.batch_size, generator, device):
        teacher_idx = None if teacher_out is None else teacher_out[idx]
        if regression:
            loss = regression_loss(student(x[idx]), target[idx], teacher_idx, args.lam)
        else:
            loss = distillation_loss(student(x[idx]), target[idx], teacher_idx, args.lam, args.temperature, args.t2)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
    history.append({"epoch": epoch, METRIC[task]: test_metric(), "train_loss": loss.item()})
    if epoch % 10 == 0 or epoch == args.epochs:
        print(f"epoch {epoch}/{args.epochs}  test {METRIC[task]} {history[-1][METRIC[task]]:.4f}", flush=True)

record.data["epochs"] = history
record.write(args.metrics, test_metric=history[-1][METRIC[task]], dataset=info["dataset"], n_weights=models.n_weights(student))

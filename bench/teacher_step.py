"""One teacher training step, timed: a plain models.teacher with Adam (each teacher alone, one after another)
against a stack of teachers (models.Teachers, one fused Adam), per teacher, on random MNIST-shaped batches.

Prints the milliseconds per teacher and step of the forward pass, the backward pass and the optimizer step,
the median over --steps steps after --warmup, one thread unless --threads. A teacher of the default study
takes 10 epochs x 461 steps of batch 128 on 59000 images.

Example:
    python bench/teacher_step.py --stack 5 --steps 200
"""

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
import torch  # noqa: E402
from torch.nn import functional as F  # noqa: E402

from distill import models  # noqa: E402

p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
p.add_argument("--stack", type=int, default=5, help="teachers in the stack (default 5, the default study's seeds)")
p.add_argument("--batch-size", type=int, default=128, help="rows per teacher and step (default 128)")
p.add_argument("--steps", type=int, default=200, help="timed steps (default 200)")
p.add_argument("--warmup", type=int, default=20, help="untimed steps first (default 20)")
p.add_argument("--threads", type=int, default=1, help="CPU threads for torch (default 1, as the workflow's jobs)")
args = p.parse_args()
torch.set_num_threads(args.threads)
S, B = args.stack, args.batch_size
x, y = torch.rand(S, B, 784), torch.randint(0, 10, (S, B))


def time_steps(forward, params, fused):
    optimizer = torch.optim.Adam(params, lr=1e-3, fused=fused)
    phases = {"forward": [], "backward": [], "adam": []}
    for i in range(args.warmup + args.steps):
        t0 = time.perf_counter()
        loss = forward()
        t1 = time.perf_counter()
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        t2 = time.perf_counter()
        optimizer.step()
        t3 = time.perf_counter()
        if i >= args.warmup:
            for name, dt in zip(phases, (t1 - t0, t2 - t1, t3 - t2)):
                phases[name].append(dt)
    return {name: statistics.median(v) for name, v in phases.items()}


# each teacher alone: S plain nn.Sequential teachers, one step each
alone = [models.teacher(784, 10) for _ in range(S)]
per_alone = {k: 0.0 for k in ("forward", "backward", "adam")}
for k, teacher in enumerate(alone):
    for name, t in time_steps(lambda: F.cross_entropy(teacher(x[k]), y[k]), list(teacher.parameters()),
                              fused=False).items():
        per_alone[name] += t / S
stack = models.Teachers(784, 10, seeds=list(range(S)))
per_stack = {name: t / S for name, t in time_steps(lambda: F.cross_entropy(
    stack(x).transpose(1, 2), y, reduction="none").mean(1).sum(),
                                                   list(stack.parameters()), fused=True).items()}

cpu = next(
    (line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
     if line.startswith("model name")), "?")
print(f"one teacher step (batch {B}), ms per teacher, median of {args.steps}, {args.threads} thread(s), {cpu}, torch "
      f"{torch.__version__}")
print(f"{'':>24} {'forward':>8} {'backward':>9} {'adam':>6} {'total':>7}")
for name, t in [("alone (nn.Sequential)", per_alone), (f"stack of {S} (Teachers)", per_stack)]:
    print(f"{name:>24} {1e3 * t['forward']:8.2f} {1e3 * t['backward']:9.2f} {1e3 * t['adam']:6.2f} "
          f"{1e3 * sum(t.values()):7.2f}")
print(f"speed-up of the stack: {sum(per_alone.values()) / sum(per_stack.values()):.2f}x")

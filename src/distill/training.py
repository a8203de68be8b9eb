"""What the training scripts share: device, seeding, mini-batches, scores, scaling, checkpoints."""

from __future__ import annotations

import contextlib
from pathlib import Path

import torch
from torch.optim.adam import adam  # the function; the class would import torch._dynamo
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils.flop_counter import flop_registry

from distill.io import save_torch


def setup(threads: int | None = None) -> torch.device:
    """Use at most ``threads`` CPU threads, and CUDA with deterministic algorithms when there is one.

    On the CPU the kernels this study calls are deterministic as they are (the byte-identity tests check
    it), and torch.use_deterministic_algorithms costs 2 s of imports (torch._inductor) in every job, so it
    is set on CUDA only. Random draws come from the streams of distill.seeds, never from a bare seed.

    Denormal floats are flushed to zero (torch.set_flush_denormal). Adam's first moments of weights whose
    gradient is zero for a while (a dead ReLU unit, a pixel that is rarely on) decay by 0.9 a step through the
    denormal range, where every operation takes the CPU a slow microcode path: half a teacher stack's time went
    to Adam's step (docs/speed.md). Such a moment changes a weight by at most lr * 1.2e-38 / eps, below a float's
    resolution at any weight the study trains, and the study's outputs stay byte-identical (docs/speed.md). The
    setting is the calling thread's: a job of one thread has it everywhere."""
    if threads:
        torch.set_num_threads(threads)
    torch.set_flush_denormal(True)
    if not torch.cuda.is_available():
        return torch.device("cpu")
    torch.use_deterministic_algorithms(True, warn_only=True)
    return torch.device("cuda")


class _FlopCount(TorchDispatchMode):
    """The count of torch's FlopCounterMode (its formulas, torch.utils.flop_counter.flop_registry, and its way of
    decomposing an op it has no formula for), without its per-module breakdown. A dispatch mode's
    __torch_dispatch__ is wrapped to keep torch.compile out of it, and that wrapper imports torch._dynamo the first
    time it runs: about 1 s of every job's start-up. No job here compiles, so this mode opts out of the wrapper
    (_should_skip_dynamo, TorchDispatchMode's switch for it). tests/test_flops.py checks that the two counts agree
    and that counting imports no torch._dynamo."""

    @classmethod
    def _should_skip_dynamo(cls) -> bool:  # pragma: no mutate block (mutmut's wrapper fails while the class is made)
        return False

    def __init__(self):
        super().__init__()
        self.total = 0

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        if func not in flop_registry:  # a composite op without a formula counts as the ops it is made of
            with self:
                out = func.decompose(*args, **kwargs)
            if out is not NotImplemented:
                return out
        out = func(*args, **kwargs)
        formula = flop_registry.get(func._overloadpacket)
        if formula is not None:
            self.total += formula(*args, **kwargs, out_val=out)
        return out


class Flops:
    """The floating-point operations of a job's matrix products, as torch's FlopCounterMode counts them (a
    multiply-add is 2; a backward pass counts the products it does, so a first layer's needs no input gradient).

    ``with flops("train", rows): ...`` around a step: the first step of each kind is counted (_FlopCount), the
    later ones are its count per row times their rows (every product of this study's models is linear in the
    rows of its batch), so the count costs one step's dispatch overhead, not every step's. Each run's
    metrics.json records ``flops``, its share of its job's count (the runs of a job do the same products);
    runtime_table.py divides them by the job times (docs/speed.md)."""

    def __init__(self):
        self.total, self.per_row = 0.0, {}

    @contextlib.contextmanager
    def __call__(self, kind: str, rows: int):
        if kind in self.per_row:
            yield
            self.total += self.per_row[kind] * rows
            return
        with _FlopCount() as counter:
            yield
        self.per_row[kind] = counter.total / rows
        self.total += counter.total

    def share(self, runs: int) -> int:
        """Each of ``runs`` runs' share of the count."""
        return round(self.total / runs)


def tensors(device: torch.device, *arrays):
    return [torch.as_tensor(a).to(device) for a in arrays]


def batches(n: int, batch_size: int, generator, device: torch.device):
    """Shuffled index tensors over n rows (data stays on the device; we slice it by index).

    One generator gives 1-d batches [b]; a list of generators gives one order per generator, [len, b]."""
    if isinstance(generator, torch.Generator):
        return torch.randperm(n, generator=generator).to(device).split(batch_size)
    return torch.stack([torch.randperm(n, generator=g) for g in generator]).to(device).split(batch_size, dim=1)


@torch.no_grad()
def predict(model: torch.nn.Module, x: torch.Tensor, chunk: int = 8192) -> torch.Tensor:
    """model(x) in chunks of rows (the rows are the second-to-last dimension of the output)."""
    model.eval()
    out = torch.cat([model(x[i : i + chunk]) for i in range(0, len(x), chunk)], dim=-2)
    model.train()
    return out


def score(task: str, out: torch.Tensor, y: torch.Tensor):
    """Accuracy (classification, higher is better) or MSE (regression, lower is better) of outputs
    [N, R] or [N] (a float), or of a sweep's outputs [M, N, R] or [M, N] (a list, one per run)."""
    if task == "classification":
        return (out.argmax(dim=-1) == y).float().mean(-1).tolist()
    return ((out - y) ** 2).mean(-1).tolist()


METRIC = {"classification": "accuracy", "regression": "mse"}


class Scaler:
    """Standardize with the statistics of the part a model trains on (bike); identity for images."""

    def __init__(self, mean: torch.Tensor, std: torch.Tensor):
        self.mean, self.std = mean, std

    @classmethod
    def fit(cls, x: torch.Tensor) -> "Scaler":
        std = x.std(dim=0)
        return cls(x.mean(dim=0), torch.where(std > 0, std, torch.ones_like(std)))

    @classmethod
    def identity(cls, n: int, device) -> "Scaler":
        return cls(torch.zeros(n, device=device), torch.ones(n, device=device))

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        return (x - self.mean) / self.std

    def inverse(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.std + self.mean

    def state(self) -> dict:
        return {"mean": self.mean.cpu(), "std": self.std.cpu()}

    @classmethod
    def from_state(cls, state: dict, device) -> "Scaler":
        return cls(state["mean"].to(device), state["std"].to(device))


def student_data(parts: dict, n: int, regression: bool, device):
    """A student's tensors: the first n rows of the small part (nested random subsets, the split drew it in random
    order) and the test part, inputs standardized with those n rows' statistics (bike; images as they are).
    Returns x, target (labels, or the standardized target [n, 1]), x_test, y_test (target units), x_scale, y_scale."""
    x, y, x_test, y_test = tensors(device, parts["x_small"][:n], parts["y_small"][:n], parts["x_test"], parts["y_test"])
    x_scale = Scaler.fit(x) if regression else Scaler.identity(x.shape[1], device)
    y_scale = Scaler.fit(y) if regression else None
    return x_scale(x), (y_scale(y).unsqueeze(1) if regression else y), x_scale(x_test), y_test, x_scale, y_scale


class Adam:
    """torch.optim.Adam's update with its defaults, through its functional form torch.optim.adam.adam: the same
    kernels and the same bits (tests/test_sweeps.py), without the class, whose construction imports
    torch._dynamo, about 1 s of every job's start-up (docs/speed.md).

    groups: [(parameters, lr)], one learning rate per group; fused: one fused kernel per group (CPU or CUDA)
    instead of torch's default loop over the tensors."""

    def __init__(self, groups, fused: bool = False):
        self.groups = [(list(params), lr) for params, lr in groups]
        self.fused = fused
        self.state: list[list[dict | None]] = [[None] * len(params) for params, _ in self.groups]

    @torch.no_grad()
    def step(self) -> None:
        for (params, lr), states in zip(self.groups, self.state):
            live = [i for i, p in enumerate(params) if p.grad is not None]
            for i in live:  # created at a parameter's first gradient, as torch.optim.Adam does
                if states[i] is None:
                    p = params[i]
                    step = (torch.zeros((), dtype=torch.float32, device=p.device) if self.fused
                            else torch.tensor(0.0, dtype=torch.float32))
                    states[i] = {"step": step, "exp_avg": torch.zeros_like(p), "exp_avg_sq": torch.zeros_like(p)}
            adam([params[i] for i in live], [params[i].grad for i in live],
                 [states[i]["exp_avg"] for i in live], [states[i]["exp_avg_sq"] for i in live], [],
                 [states[i]["step"] for i in live], fused=self.fused or None, amsgrad=False, beta1=0.9,
                 beta2=0.999, lr=lr, weight_decay=0.0, eps=1e-8, maximize=False)

    def zero_grad(self) -> None:
        for params, _ in self.groups:
            for p in params:
                p.grad = None

    def state_dict(self) -> dict:
        return {"state": self.state}

    def load_state_dict(self, state: dict) -> None:
        self.state = [[None if s is None else {k: v.to(p.device) if k != "step" or self.fused else v
                                               for k, v in s.items()} for s, p in zip(states, params)]
                      for states, (params, _) in zip(state["state"], self.groups)]


class Checkpoint:
    """Per-epoch checkpoint of a long job (teacher, VAE): model, optimizer, RNG states and history.

    Resuming from it gives the same final weights as an uninterrupted run on the CPU."""

    def __init__(self, args, data, path=None):
        """The checkpoint of the run ``args`` (``path``, by default ``<args.out>.ckpt``) on the data described
        by ``data``. A checkpoint of other settings or data, or past ``args.epochs``, is not resumed."""
        self.path = Path(path) if path else args.out.with_name(args.out.name + ".ckpt")
        self.epochs = args.epochs
        settings = {k: v for k, v in vars(args).items() if k not in ("epochs", "threads", "metrics")} | {"data": data}
        self.settings = {k: str(v) for k, v in settings.items()}

    def save(self, epoch: int, model, optimizer, generator: torch.Generator, history: list) -> None:
        state = {
            "epoch": epoch,
            "model": model.state_dict(),
            "optimizer": optimizer.state_dict(),
            "generator": generator.get_state(),
            "torch_rng": torch.get_rng_state(),
            "history": history,
            "settings": self.settings,
        }
        save_torch(self.path, state)

    def resume(self, model, optimizer, generator: torch.Generator) -> tuple[int, list]:
        """Load the checkpoint if there is one and it fits this run; return (epochs done, history)."""
        try:
            state = torch.load(self.path, weights_only=True, map_location="cpu")
        except FileNotFoundError:
            return 0, []
        if state.get("settings") != self.settings or state["epoch"] > self.epochs:
            print(f"ignoring {self.path}: it was written with other settings or more epochs")
            return 0, []
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        generator.set_state(state["generator"])
        torch.set_rng_state(state["torch_rng"])
        print(f"resuming from {self.path} after epoch {state['epoch']}")
        return state["epoch"], state["history"]

    def remove(self) -> None:
        self.path.unlink(missing_ok=True)

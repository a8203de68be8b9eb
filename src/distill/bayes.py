"""Bayesian distillation's student: a mean-field Gaussian MLP [n_in, hidden, n_out] fitted by variational
inference against a prior made from the teacher's posterior (distill.prior), trained as a stacked sweep.

q(w) = N(mu, sd^2) per weight, parameterised by log sd (LOG_SD) with its own Adam learning rate (SD_LR): Adam
moves a parameter by about its learning rate per step, so at the means' 1e-3 an sd starting at 1e-3 could not
reach an optimum near 0.05 or 1 in the study's 1600 steps; in log sd at 1e-2 it can (docs/study.md, section 12;
tests/test_bayes.py checks the optimum against a closed form). The forward pass samples pre-activations with the
local reparameterisation trick: a layer with inputs a gives N(a mu + mu_b, a^2 sd^2 + sd_b^2) per unit, one draw per
row. The loss of a run on a batch is

    mean NLL of the batch + beta * KL(q || prior) / m      (m: the rows of the small part)

with NLL the cross-entropy (classification) or a Gaussian likelihood of the standardized target with a learned
noise variance per run (regression). Predictions, scores and the test log-likelihood are taken at the posterior
mean. Arms (ARMS): none (N(0, sigma0^2) prior, the standard initialisation: the Bayesian baseline), partial
(teacher means, variance sigma0^2), full (teacher means and variances x kappa), init (teacher means as the
start only, N(0, sigma0^2) prior). Every arm but none starts at the teacher's means.

The runs are seed-major, run m = s * n_arms + a, like models.Students; the runs of one seed share its batch
order (("student_batches", seed)) and its reparameterisation noise (("bayes_noise", seed)), so a run ends as it
would alone, and the arms of a seed are compared on the same draws.
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F

from distill.models import STUDENT_HIDDEN, linear_init
from distill.names import ARMS
from distill.seeds import generator

LAYERS = ("w1", "b1", "w2", "b2")
LOG_SD = "log_sd"  # the parameters log_sd_<layer>: sd = exp(log sd)
SD_QUANTILES = (0.0, 0.05, 0.25, 0.5, 0.75, 0.95, 1.0)  # of each layer's posterior sds, in a run's metrics.json
SD_NAMES = {p: "min" if p == 0 else "max" if p == 1 else "median" if p == 0.5 else f"q{p:g}" for p in SD_QUANTILES}
SD_LR = 1e-2


def kl_diag(mq, vq, mp, vp) -> torch.Tensor:
    """KL(N(mq, vq) || N(mp, vp)) per entry (variances, not sds): the closed form _PosteriorKL computes, kept as
    its reference (tests/test_bayes.py)."""
    return 0.5 * (torch.log(vp / vq) + (vq + (mq - mp) ** 2) / vp - 1)


class _PosteriorKL(torch.autograd.Function):
    """A layer's variances exp(2 log sd) and its KL(q || prior) summed per run [M], with the gradients written
    out: one pass over the weights each way, where autograd through kl_diag made about twenty (docs/speed.md).

    KL = 0.5 * (sum((var + (mu - pm)^2) / pv) - 2 sum(log sd) + const), const = sum(log pv) - n per run;
    d/dmu = (mu - pm) / pv, d/d(log sd) = var / pv - 1, plus 2 var times the gradient of the variances."""

    @staticmethod
    def forward(ctx, mu, log_sd, pm, inv_pv, const):
        var = torch.exp(2 * log_sd)
        diff = mu - pm
        scaled = diff * inv_pv  # (mu - pm) / pv: the means' gradient
        ratio = var * inv_pv
        kl = 0.5 * (torch.linalg.vecdot(diff.flatten(1), scaled.flatten(1)) + ratio.flatten(1).sum(1)
                    - 2 * log_sd.flatten(1).sum(1) + const)
        ctx.save_for_backward(scaled, ratio, var)
        return kl, var

    @staticmethod
    def backward(ctx, grad_kl, grad_var):
        scaled, ratio, var = ctx.saved_tensors
        g = grad_kl.view(-1, *[1] * (var.dim() - 1))
        grad_log_sd = (ratio - 1).mul_(g)
        if grad_var is not None:
            grad_log_sd.addcmul_(var, grad_var, value=2)
        return scaled * g, grad_log_sd, None, None, None


def area_between(curve: list[dict], baseline: list[dict]) -> float:
    """[2]'s S: the area between a run's test log-likelihood curve and its baseline's (the none arm of its seed),
    over epochs by the trapezoid rule; positive when the run's log-likelihood is the higher one. Over the same
    epochs it is the difference of the two areas under the curves, which the tables take
    (distill.results.loglik_area)."""
    from distill.results import loglik_area  # pandas: only where S is computed, not in every training job

    if [e["epoch"] for e in curve] != [e["epoch"] for e in baseline]:
        raise ValueError("the two curves were evaluated at different epochs")
    return loglik_area({"epochs": curve}) - loglik_area({"epochs": baseline})


def _in_out(p: dict) -> dict:
    """(out, in) weights of a prior as the (in, out) layout of the stacked products; biases as [1, out]."""
    return {"w1": p["w1"].T, "b1": p["b1"][None], "w2": p["w2"].T, "b2": p["b2"][None]}


class BayesStudents(nn.Module):
    """A sweep of variational students, every arm of ``arms`` for every seed of ``seeds``.

    priors: seed -> (mean, var) of the student prior from distill.prior.chain ((out, in) layout), needed for
    every arm but none. Parameters mu_<layer>, log_sd_<layer> [M, ...]; prior buffers pm_<layer>, pv_<layer>."""

    def __init__(self, n_in: int, n_out: int, task: str, seeds: list[int], arms: list[str], priors: dict | None = None,
                 sigma0: float = 1.0, kappa: float = 1.0, init_sd: float = 1e-3):
        super().__init__()
        unknown = set(arms) - set(ARMS)
        if unknown:
            raise ValueError(f"unknown arm(s) {sorted(unknown)}; known: {', '.join(ARMS)}")
        (self.hidden,) = STUDENT_HIDDEN[task]
        self.n_in, self.n_out, self.task = n_in, n_out, task
        self.seeds, self.arms = list(seeds), list(arms)
        init, pm, pv = {k: [] for k in LAYERS}, {k: [] for k in LAYERS}, {k: [] for k in LAYERS}
        for seed in self.seeds:
            g = generator("student_init", seed)
            (w1, b1), (w2, b2) = linear_init(n_in, self.hidden, g), linear_init(self.hidden, n_out, g)
            standard = {"w1": w1, "b1": b1[None], "w2": w2, "b2": b2[None]}
            teacher = None if priors is None or seed not in priors else [_in_out(p) for p in priors[seed]]
            for arm in self.arms:
                if arm != "none" and teacher is None:
                    raise ValueError(f"arm {arm!r} needs the prior of seed {seed}")
                for k in LAYERS:
                    init[k].append(standard[k] if arm == "none" else teacher[0][k])
                    pm[k].append(teacher[0][k] if arm in ("partial", "full") else torch.zeros_like(standard[k]))
                    pv[k].append(teacher[1][k] * kappa if arm == "full" else torch.full_like(standard[k], sigma0**2))
        for k in LAYERS:
            self.register_parameter(f"mu_{k}", nn.Parameter(torch.stack(init[k]).float().contiguous()))
            self.register_parameter(f"{LOG_SD}_{k}",
                                    nn.Parameter(torch.full_like(getattr(self, f"mu_{k}"), math.log(init_sd))))
            self.register_buffer(f"pm_{k}", torch.stack(pm[k]).float().contiguous())
            self.register_buffer(f"pv_{k}", torch.stack(pv[k]).float().contiguous())
            # what the KL needs of the prior, once: 1 / pv, and sum(log pv) - n per run
            self.register_buffer(f"inv_pv_{k}", 1 / getattr(self, f"pv_{k}"), persistent=False)
            self.register_buffer(f"kl_const_{k}", getattr(self, f"pv_{k}").log().flatten(1).sum(1)
                                 - getattr(self, f"pv_{k}")[0].numel(), persistent=False)
        # regression: log noise variance of the standardized target, per run (a point estimate)
        self.log_noise = nn.Parameter(torch.zeros(self.n_runs)) if task == "regression" else None

    @property
    def n_runs(self) -> int:
        return len(self.seeds) * len(self.arms)

    def sd(self, k: str) -> torch.Tensor:
        return getattr(self, f"{LOG_SD}_{k}").exp()

    def _layer(self, a, k_w, k_b, eps, var=None):
        """A layer's pre-activations: at the posterior mean (eps None), or drawn with noise eps; var: the
        posterior variances per layer (posterior(); computed by it when not given)."""
        mean = self._affine(a, getattr(self, f"mu_{k_w}"), getattr(self, f"mu_{k_b}"))
        if eps is None:
            return mean
        if var is None:
            var = self.posterior()[1]
        return mean + self._affine(a * a, var[k_w], var[k_b]).sqrt_() * eps

    def _affine(self, a, w, b):
        if a.dim() == 2:  # one input for every run (the test part): one wide product
            out = torch.addmm(b.permute(1, 0, 2).reshape(-1), a, w.permute(1, 0, 2).reshape(a.shape[1], -1))
            return out.view(len(a), self.n_runs, -1).transpose(0, 1)
        return torch.baddbmm(b, a, w)

    def forward(self, x: torch.Tensor, noise: tuple[torch.Tensor, torch.Tensor] | None = None,
                var: dict | None = None) -> torch.Tensor:
        """x [M, B, n_in] (each run its batch) or [N, n_in] (one input for all) -> outputs [M, B or N, n_out].

        noise: (eps1 [M, B, hidden], eps2 [M, B, n_out]) standard normal draws, or None for the posterior mean;
        var: the variances of posterior() (computed when not given)."""
        eps1, eps2 = (None, None) if noise is None else noise
        h = self._layer(x, "w1", "b1", eps1, var).relu()
        return self._layer(h, "w2", "b2", eps2, var)

    def noise(self, generators: list[torch.Generator], batch: int, device) -> tuple[torch.Tensor, torch.Tensor]:
        """One draw per seed (on the CPU, the same on any device), shared by the arms of that seed."""
        draws = [(torch.randn(batch, self.hidden, generator=g),
                  torch.randn(batch, self.n_out, generator=g)) for g in generators]
        A = len(self.arms)
        return tuple(torch.stack([d[i] for d in draws]).repeat_interleave(A, 0).to(device) for i in (0, 1))

    def posterior(self) -> tuple[torch.Tensor, dict]:
        """KL(q || prior) of every run, [M] (closed form, summed over the weights), and the posterior variances
        per layer, in one fused pass per layer (_PosteriorKL)."""
        total, var = 0, {}
        for k in LAYERS:
            kl, var[k] = _PosteriorKL.apply(getattr(self, f"mu_{k}"), getattr(self, f"{LOG_SD}_{k}"),
                                            getattr(self, f"pm_{k}"), getattr(self, f"inv_pv_{k}"),
                                            getattr(self, f"kl_const_{k}"))
            total = total + kl
        return total, var

    def kl(self) -> torch.Tensor:
        """KL(q || prior) of every run, [M]."""
        return self.posterior()[0]

    def nll(self, out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """Mean negative log-likelihood per run of outputs [M, B, R] for labels [M, B] or standardized targets
        [M, B, 1]."""
        if self.task == "classification":
            return F.cross_entropy(out.transpose(1, 2), y, reduction="none").mean(1)
        log_noise = self.log_noise[:, None, None]
        return (0.5 * (math.log(2 * math.pi) + log_noise + (y - out) ** 2 / log_noise.exp())).mean((1, 2))

    def sd_summary(self) -> list[dict]:
        """Per run, the distribution of its posterior sds per layer: {layer: {"q0.05": ..., "median": ..., ...}}."""
        q = torch.tensor(SD_QUANTILES, dtype=torch.float64, device=self.mu_w1.device)
        per_layer = {k: self.sd(k).detach().flatten(1).double().quantile(q, dim=1).T for k in LAYERS}  # [M, quantiles]
        return [{k: dict(zip(SD_NAMES.values(), v[m].tolist())) for k, v in per_layer.items()}
                for m in range(self.n_runs)]

    def run(self, m: int) -> dict[str, torch.Tensor]:
        """Run m's posterior: mean and sd per layer in the (out, in) layout of the priors; regression also its log
        noise variance (of the standardized target)."""
        def plain(k, t):
            return (t[m].T if k.startswith("w") else t[m, 0]).detach().clone()

        noise = {} if self.log_noise is None else {"log_noise": self.log_noise[m].detach().clone()}
        return {**{f"mean_{k}": plain(k, getattr(self, f"mu_{k}")) for k in LAYERS},
                **{f"sd_{k}": plain(k, self.sd(k)) for k in LAYERS}, **noise}


def train(model: BayesStudents, x: torch.Tensor, target: torch.Tensor, epochs: int, batch_size: int = 64,
          lr: float = 1e-3, beta: float = 1.0, after_epoch=None, sd_lr: float = SD_LR, flops=None):
    """Fit every run of the sweep on rows x (the small part): Adam over the stacked tensors, the means (and bike's
    noise variance) at lr, the log sds at sd_lr; each seed its own batch order and noise stream.
    after_epoch(epoch, train_loss [M]) is called after each epoch, with each run's mean training loss over the
    epoch's rows (each mini-batch's loss weighted by its rows). flops, a distill.training.Flops, counts the steps'
    matrix products."""
    from distill.training import Adam, Flops, batches

    flops = flops or Flops()

    device = x.device
    order = [generator("student_batches", s) for s in model.seeds]
    draws = [generator("bayes_noise", s) for s in model.seeds]
    log_sds = [p for name, p in model.named_parameters() if name.startswith(LOG_SD)]
    rest = [p for name, p in model.named_parameters() if not name.startswith(LOG_SD)]
    optimizer = Adam([(rest, lr), (log_sds, sd_lr)], fused=True)  # one pass over the stacked tensors
    A, m = len(model.arms), len(x)
    for epoch in range(1, epochs + 1):
        total = torch.zeros(model.n_runs, device=device)
        for idx in batches(m, batch_size, order, device):  # [S, b]
            idx = idx.repeat_interleave(A, 0)  # [M, b]: every arm of a seed on that seed's batch
            with flops("train", idx.shape[1]):
                kl, var = model.posterior()
                out = model(x[idx], model.noise(draws, idx.shape[1], device), var)
                loss = model.nll(out, target[idx]) + beta * kl / m
                optimizer.zero_grad()
                loss.sum().backward()  # the runs share no weights: each gets the gradient of its own loss
                optimizer.step()
            total += loss.detach() * idx.shape[1]
        if after_epoch is not None:
            after_epoch(epoch, total / m)
    return model

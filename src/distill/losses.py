"""Student losses of the paper (docs/study.md, section 5). lam weighs the labels, 1 - lam the teacher.

Both work on one run ([B, R] logits) or on a sweep of runs ([M, B, R]): they return one loss per run,
averaged over the batch, and lam and temperature may be a number or a tensor with one value per run.
"""

from __future__ import annotations

import torch


def _per_run(value, like: torch.Tensor) -> torch.Tensor:
    """A number, or one value per run, as a tensor of the runs' shape like.shape[:-2]."""
    return torch.as_tensor(value, dtype=like.dtype, device=like.device).expand(like.shape[:-2])


def distillation_loss(z: torch.Tensor, y: torch.Tensor, v: torch.Tensor | None, lam, temperature=1.0,
                      t2: bool = False) -> torch.Tensor:
    """lam * CE(y, softmax(z)) + (1 - lam) * CE(softmax(v / T), softmax(z / T)), times T^2 on the soft term if t2.

    z: student logits [..., B, R]; y: labels [..., B]; v: teacher logits f(phi(x)) [..., B, R], or None when
    every lam is 1 (the baseline ignores the teacher). Returns the loss of each run, shape [...]."""
    hard = -z.log_softmax(-1).gather(-1, y.unsqueeze(-1)).squeeze(-1).mean(-1)
    if v is None:
        return hard
    T = _per_run(temperature, z)
    soft = -((v / T[..., None, None]).softmax(-1) * (z / T[..., None, None]).log_softmax(-1)).sum(-1).mean(-1)
    if t2:
        soft = soft * T**2
    lam = _per_run(lam, z)
    return lam * hard + (1 - lam) * soft


def regression_loss(g: torch.Tensor, y: torch.Tensor, f: torch.Tensor | None, lam) -> torch.Tensor:
    """lam * ||y - g(x)||^2 + (1 - lam) * ||g(x) - f(phi(x))||^2, each averaged over the batch.

    g, y, f: [..., B, 1] (f None when every lam is 1). Returns the loss of each run, shape [...]."""
    hard = ((g - y) ** 2).mean((-2, -1))
    if f is None:
        return hard
    lam = _per_run(lam, g)
    return lam * hard + (1 - lam) * ((g - f) ** 2).mean((-2, -1))

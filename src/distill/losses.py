"""Student losses of the paper (DESIGN.md, 'Student loss'). lam weighs the labels, 1 - lam the teacher."""

from __future__ import annotations

import torch
from torch.nn import functional as F


def distillation_loss(z: torch.Tensor, y: torch.Tensor, v: torch.Tensor | None, lam: float, temperature: float = 1.0, t2: bool = False) -> torch.Tensor:
    """lam * CE(y, softmax(z)) + (1 - lam) * CE(softmax(v / T), softmax(z / T)), times T^2 on the soft term if t2.

    z: student logits [B, R]; y: labels [B]; v: teacher logits f(phi(x)) [B, R] (unused when lam == 1)."""
    hard = F.cross_entropy(z, y)
    if lam == 1:
        return hard
    soft = -(F.softmax(v / temperature, dim=1) * F.log_softmax(z / temperature, dim=1)).sum(dim=1).mean()
    if t2:
        soft = soft * temperature**2
    return lam * hard + (1 - lam) * soft


def regression_loss(g: torch.Tensor, y: torch.Tensor, f: torch.Tensor | None, lam: float) -> torch.Tensor:
    """lam * ||y - g(x)||^2 + (1 - lam) * ||g(x) - f(phi(x))||^2, each averaged over the batch."""
    hard = F.mse_loss(g, y)
    if lam == 1:
        return hard
    return lam * hard + (1 - lam) * F.mse_loss(g, f)

"""The teacher's posterior: a diagonal Laplace approximation around its trained weights.

    mean = the trained weights;   precision = diag GGN of the training NLL, summed over the big part, + 1 / sigma0^2

The generalized Gauss-Newton is J^T H J summed over rows, with J the Jacobian of the outputs in the weights
and H the Hessian of the per-row NLL in the outputs: softmax cross-entropy, H = diag(p) - p p^T; the Gaussian
likelihood of bike's standardized target, H = 1 / noise_var. Its diagonal is computed exactly, not sampled, by
BackPACK's DiagGGNExact (backpack-for-pytorch) on the teacher as a plain models.teacher. For a model linear in
its weights (logistic regression) the GGN is the Hessian itself (tests/test_bayes.py).
"""

from __future__ import annotations

import copy
import warnings

import torch
from torch import nn


def diag_ggn(model: nn.Sequential, x: torch.Tensor, y: torch.Tensor, task: str,
             batch_size: int = 4096) -> dict[str, torch.Tensor]:
    """The diagonal of sum over rows of J^T H J, per parameter name of ``model`` (shapes as the parameters).

    Regression: H = 1, the GGN of 0.5 * (y - f)^2 per row (divide by the noise variance for a Gaussian NLL)."""
    from backpack import backpack, extend
    from backpack.extensions import DiagGGNExact

    model = extend(copy.deepcopy(model))  # extend() adds hooks to the module it is given
    loss_fn = extend(nn.CrossEntropyLoss(reduction="sum") if task == "classification" else nn.MSELoss(reduction="sum"))
    total = {name: torch.zeros_like(p) for name, p in model.named_parameters()}
    for start in range(0, len(x), batch_size):
        xb, yb = x[start : start + batch_size], y[start : start + batch_size]
        model.zero_grad()
        loss = loss_fn(model(xb), yb)
        with warnings.catch_warnings():  # "full backward hook is firing ... no inputs require gradients": as intended
            warnings.simplefilter("ignore", UserWarning)
            with backpack(DiagGGNExact()):
                loss.backward()
        for name, p in model.named_parameters():
            total[name] += p.diag_ggn_exact.detach()
    if task == "regression":  # MSELoss(sum) is sum (f - y)^2: its Hessian in f is 2
        total = {name: g / 2 for name, g in total.items()}
    return total


def noise_variance(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    """The Gaussian likelihood's noise variance at the trained weights: the mean squared residual (its MLE)."""
    with torch.no_grad():
        return float(((model(x) - y) ** 2).mean())


def posterior(model: nn.Sequential, x: torch.Tensor, y: torch.Tensor, task: str, sigma0: float = 1.0,
              batch_size: int = 4096):
    """(mean, var, noise_var): per-parameter mean and variance of the diagonal Laplace posterior (names and shapes
    of model.state_dict(), PyTorch's (out, in) layout). y: labels, or the standardized target [N, 1] (regression)."""
    ggn = diag_ggn(model, x, y, task, batch_size)
    noise = noise_variance(model, x, y) if task == "regression" else None
    scale = 1.0 / noise if noise else 1.0
    mean = {name: p.detach().clone() for name, p in model.named_parameters()}
    var = {name: 1.0 / (g * scale + sigma0**-2) for name, g in ggn.items()}
    return mean, var, noise

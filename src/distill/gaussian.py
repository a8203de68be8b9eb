"""The two Gaussian operations of Bayesian distillation (Grabovoy & Strijov, Theorems 1 and 2), on a flat
vector of parameters w ~ N(mean, cov).

- condition(mean, cov, fixed, values): the law of the other coordinates given w[fixed] = values (deleting a
  neuron fixes the next layer's column to 0; deleting a layer fixes its weights to the identity);
- marginalise(mean, cov, keep): the law of w[keep] alone (deleting a neuron drops its row and bias).

With a dense covariance these are the textbook formulas. With a diagonal one (mean-field, what runs) the
coordinates are independent: conditioning leaves the others as they are and marginalising keeps entries, so
both are an exact selection of entries (the *_diag functions). tests/test_bayes.py checks one against the other.
"""

from __future__ import annotations

import torch


def _rest(n: int, fixed: torch.Tensor) -> torch.Tensor:
    mask = torch.ones(n, dtype=torch.bool)
    mask[fixed] = False
    return mask.nonzero().squeeze(1)


def condition(mean: torch.Tensor, cov: torch.Tensor, fixed: torch.Tensor, values: torch.Tensor):
    """N(mean, cov) of the coordinates not in ``fixed``, given w[fixed] = values:
    mean_r + C_rf C_ff^-1 (values - mean_f),  C_rr - C_rf C_ff^-1 C_fr. Returns (mean, cov, rest indices)."""
    rest = _rest(len(mean), fixed)
    c_rf, c_ff = cov[rest][:, fixed], cov[fixed][:, fixed]
    gain = torch.linalg.solve(c_ff, c_rf.T).T  # C_rf C_ff^-1
    return mean[rest] + gain @ (values - mean[fixed]), cov[rest][:, rest] - gain @ c_rf.T, rest


def marginalise(mean: torch.Tensor, cov: torch.Tensor, keep: torch.Tensor):
    """N(mean, cov) of w[keep] alone: the sub-vector and the sub-block."""
    return mean[keep], cov[keep][:, keep]


def condition_diag(mean: torch.Tensor, var: torch.Tensor, fixed: torch.Tensor):
    """condition() for a diagonal covariance: the other coordinates, unchanged (values do not enter)."""
    rest = _rest(len(mean), fixed)
    return mean[rest], var[rest], rest


def marginalise_diag(mean: torch.Tensor, var: torch.Tensor, keep: torch.Tensor):
    """marginalise() for a diagonal covariance: the kept entries."""
    return mean[keep], var[keep]

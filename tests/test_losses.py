"""distill.losses against values computed by hand (math.log / math.exp), not by torch."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from distill.losses import distillation_loss, regression_loss

Z = [[1.0, 2.0, 0.5], [0.0, -1.0, 3.0]]  # student logits, 2 samples, 3 classes
V = [[2.0, 0.0, 1.0], [1.0, 1.0, -1.0]]  # teacher logits
Y = [1, 2]

# CE(y, softmax(z)) per sample = log(sum_j e^{z_j}) - z_y
CE_HARD = ((math.log(math.exp(1.0) + math.exp(2.0) + math.exp(0.5)) - 2.0)
           + (math.log(math.exp(0.0) + math.exp(-1.0) + math.exp(3.0)) - 3.0)) / 2


def soft_ce(T: float) -> float:
    """mean over samples of -sum_j softmax(v/T)_j * log softmax(z/T)_j."""
    total = 0.0
    for z, v in zip(Z, V):
        p_den = sum(math.exp(a / T) for a in v)
        log_q_den = math.log(sum(math.exp(a / T) for a in z))
        total -= sum(math.exp(vj / T) / p_den * (zj / T - log_q_den) for vj, zj in zip(v, z))
    return total / len(Z)


def t(values, dtype=torch.float32):
    return torch.tensor(values, dtype=dtype)


def loss(lam, y=Y, v=V, **kw):
    return distillation_loss(t(Z), t(y, torch.int64), None if v is None else t(v), lam, **kw).item()


def test_hand_values_are_what_they_claim():
    # the soft term at T = 1 written out sample by sample
    # sample 1: p = softmax(2, 0, 1), log q = log softmax(1, 2, 0.5)
    p = [math.exp(2.0), math.exp(0.0), math.exp(1.0)]
    p = [a / sum(p) for a in p]
    lse = math.log(math.exp(1.0) + math.exp(2.0) + math.exp(0.5))
    first = -(p[0] * (1.0 - lse) + p[1] * (2.0 - lse) + p[2] * (0.5 - lse))
    # sample 2: p = softmax(1, 1, -1), log q = log softmax(0, -1, 3)
    p = [math.exp(1.0), math.exp(1.0), math.exp(-1.0)]
    p = [a / sum(p) for a in p]
    lse = math.log(math.exp(0.0) + math.exp(-1.0) + math.exp(3.0))
    second = -(p[0] * (0.0 - lse) + p[1] * (-1.0 - lse) + p[2] * (3.0 - lse))
    assert soft_ce(1.0) == pytest.approx((first + second) / 2, rel=1e-12)
    # the same numbers from a calculator: sample 1 log(11.7561) - 2 = 0.4644, sample 2 log(21.4534) - 3 = 0.0659
    assert CE_HARD == pytest.approx((0.46437 + 0.06587) / 2, abs=1e-4)
    assert soft_ce(1.0) == pytest.approx(2.42038, abs=1e-4) and soft_ce(2.0) == pytest.approx(1.49997, abs=1e-4)


def test_lam_one_is_plain_cross_entropy_and_ignores_the_teacher():
    assert loss(1.0, v=None) == pytest.approx(CE_HARD, rel=1e-6)
    assert loss(1.0) == pytest.approx(CE_HARD, rel=1e-6)
    assert (loss(1.0, v=[[100.0, -5.0, 3.0], [0.0, 0.0, 9.0]], temperature=3.0, t2=True)
            == pytest.approx(CE_HARD, rel=1e-6))
    assert loss(1, v=None) == pytest.approx(CE_HARD, rel=1e-6)  # an int lam too


def test_lam_zero_is_the_soft_term_and_ignores_the_labels():
    expected = soft_ce(1.0)
    assert loss(0.0) == pytest.approx(expected, rel=1e-6)
    assert loss(0.0, y=[0, 0]) == pytest.approx(expected, rel=1e-6)
    assert loss(0.0, y=[2, 1]) == pytest.approx(expected, rel=1e-6)
    assert abs(expected - CE_HARD) > 0.1  # the two terms differ, so the checks above can tell them apart


@pytest.mark.parametrize("t2, factor", [(False, 1.0), (True, 4.0)], ids=["no T^2", "T^2"])
def test_lam_half_temperature_two(t2, factor):
    expected = 0.5 * CE_HARD + 0.5 * factor * soft_ce(2.0)
    assert loss(0.5, temperature=2.0, t2=t2) == pytest.approx(expected, rel=1e-6)
    # the hard term stays at T = 1: it is not the soft formula applied to one-hot targets at T = 2
    assert soft_ce(2.0) != pytest.approx(soft_ce(1.0), rel=1e-3)


def test_distillation_gradient_pulls_towards_the_teacher():
    z = t(Z).requires_grad_()
    distillation_loss(z, t(Y, torch.int64), t(V), 0.0, 1.0).backward()
    # d/dz of CE(p, softmax(z)) = (softmax(z) - p) / batch
    for i in range(2):
        q_den = sum(math.exp(a) for a in Z[i])
        p_den = sum(math.exp(a) for a in V[i])
        for j in range(3):
            grad = (math.exp(Z[i][j]) / q_den - math.exp(V[i][j]) / p_den) / 2
            assert z.grad[i, j].item() == pytest.approx(grad, abs=1e-6)


G = [[1.0], [3.0]]  # student outputs
YR = [[2.0], [1.0]]  # targets
F = [[0.5], [6.0]]  # teacher outputs
MSE_LABELS = ((1.0 - 2.0) ** 2 + (3.0 - 1.0) ** 2) / 2  # 2.5
MSE_TEACHER = ((1.0 - 0.5) ** 2 + (3.0 - 6.0) ** 2) / 2  # 4.625


def rloss(lam, y=YR, f=F):
    return regression_loss(t(G), t(y), None if f is None else t(f), lam).item()


def test_regression_loss_hand_values():
    assert rloss(1.0, f=None) == pytest.approx(2.5)
    assert rloss(1.0) == pytest.approx(2.5)
    assert rloss(1.0, f=[[100.0], [-100.0]]) == pytest.approx(2.5)
    assert rloss(0.0) == pytest.approx(4.625)
    assert rloss(0.0, y=[[-7.0], [40.0]]) == pytest.approx(4.625)
    assert rloss(0.25) == pytest.approx(0.25 * MSE_LABELS + 0.75 * MSE_TEACHER) == pytest.approx(4.09375)
    assert rloss(0.5) == pytest.approx(3.5625)


def per_run_by_hand(z, y, v, lam, T, t2):
    """One run's loss from its own [B, R] tensors, by the hand formulas above (math, sample by sample)."""
    n = len(y)
    hard = sum(math.log(sum(math.exp(a) for a in zs)) - zs[ys] for zs, ys in zip(z, y)) / n
    soft = 0.0
    for zs, vs in zip(z, v):
        p_den = sum(math.exp(a / T) for a in vs)
        log_q_den = math.log(sum(math.exp(a / T) for a in zs))
        soft -= sum(math.exp(vj / T) / p_den * (zj / T - log_q_den) for vj, zj in zip(vs, zs)) / n
    return lam * hard + (1 - lam) * soft * (T**2 if t2 else 1)


@pytest.mark.parametrize("t2", [False, True])
def test_a_sweep_of_runs_gets_each_runs_own_loss(t2):
    """A sweep [M, B, R] with one lam and one T per run (numpy float64, as a caller might pass them): each run's
    loss equals its own formula over its own B samples, in the logits' dtype. Shapes whose axes differ in size
    (3 runs, 4 samples, 5 classes) so that an average or a softmax over the wrong axis shows."""
    g = torch.Generator().manual_seed(0)
    z, v = torch.randn(3, 4, 5, generator=g) * 2, torch.randn(3, 4, 5, generator=g) * 2
    y = torch.randint(0, 5, (3, 4), generator=g)
    lam, T = np.array([0.0, 0.3, 1.0]), np.array([3.0, 1.0, 0.5])
    out = (distillation_loss(z, y, v, torch.as_tensor(lam), torch.as_tensor(T), t2) if t2
           else distillation_loss(z, y, v, torch.as_tensor(lam), torch.as_tensor(T)))
    assert out.shape == (3,) and out.dtype == torch.float32
    for m in range(3):
        assert out[m].item() == pytest.approx(per_run_by_hand(z[m].tolist(), y[m].tolist(), v[m].tolist(), lam[m], T[m],
                                                              t2), rel=1e-5), m
    hard_only = distillation_loss(z, y, None, 1.0)
    for m in range(3):
        assert (hard_only[m].item()
                == pytest.approx(per_run_by_hand(z[m].tolist(), y[m].tolist(), v[m].tolist(), 1.0, 1.0, False),
                                 rel=1e-5))


def test_a_sweep_of_regression_runs_gets_each_runs_own_loss():
    g = torch.Generator().manual_seed(1)
    out_, y, f = (torch.randn(3, 4, 1, generator=g) for _ in range(3))
    lam = np.array([0.0, 0.25, 1.0])
    loss = regression_loss(out_, y, f, torch.as_tensor(lam))
    assert loss.shape == (3,) and loss.dtype == torch.float32
    for m in range(3):
        hard = sum((a - b) ** 2 for a, b in zip(out_[m, :, 0].tolist(), y[m, :, 0].tolist())) / 4
        soft = sum((a - b) ** 2 for a, b in zip(out_[m, :, 0].tolist(), f[m, :, 0].tolist())) / 4
        assert loss[m].item() == pytest.approx(lam[m] * hard + (1 - lam[m]) * soft, rel=1e-5), m
        assert regression_loss(out_, y, None, 1.0)[m].item() == pytest.approx(hard, rel=1e-5)

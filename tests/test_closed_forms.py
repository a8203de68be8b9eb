"""Functions tested at generic points, where a bug shows: the standardization (distill.training.Scaler) on columns
of other means and spreads than 0 and 1, and the prior's change of units (distill.prior.rescale) at scales and
shifts other than 1 and 0, its variances against the variances of sampled weights mapped one by one."""

from __future__ import annotations

import numpy as np
import torch

from distill import prior
from distill.training import Scaler


def test_scaler_standardizes_with_numpys_mean_and_sample_sd_and_inverts():
    """Columns of mean far from 0 and sd far from 1, and a constant one: the statistics are numpy's mean and sd
    (n - 1), a constant column is divided by 1, not 0; the standardized columns have mean 0 and sd 1, and
    inverse() gives the raw values back. A 1-d target (bike's counts) is one column."""
    rng = np.random.default_rng(5)
    x = rng.normal([100.0, -3.0, 0.5], [25.0, 0.01, 4.0], size=(500, 3))
    x = np.column_stack([x, np.full(500, 7.0)]).astype(np.float32)
    scale = Scaler.fit(torch.tensor(x))
    x64 = x.astype(np.float64)
    np.testing.assert_allclose(scale.mean.numpy(), x64.mean(0), rtol=1e-5)
    np.testing.assert_allclose(scale.std.numpy(), [*x64[:, :3].std(0, ddof=1), 1.0], rtol=1e-4)
    z = scale(torch.tensor(x)).double().numpy()
    np.testing.assert_allclose(z[:, :3].mean(0), 0, atol=1e-4)
    np.testing.assert_allclose(z[:, :3].std(0, ddof=1), 1, rtol=1e-4)
    np.testing.assert_array_equal(z[:, 3], 0)
    torch.testing.assert_close(scale.inverse(scale(torch.tensor(x))), torch.tensor(x), rtol=1e-5, atol=1e-4)
    y = rng.gamma(2.0, 90.0, size=300).astype(np.float32)
    y_scale = Scaler.fit(torch.tensor(y))
    assert abs(y_scale.mean.item() - y.astype(np.float64).mean()) < 1e-3
    assert abs(y_scale.std.item() - y.astype(np.float64).std(ddof=1)) < 1e-3
    # state round trip: the same statistics
    again = Scaler.from_state(scale.state(), "cpu")
    assert torch.equal(again.mean, scale.mean) and torch.equal(again.std, scale.std)


def test_rescaled_prior_variances_are_those_of_the_mapped_weights():
    """prior.rescale maps a teacher-unit prior N(mean, var) (independent weights) into the student's units. Drawing
    weights from the teacher-unit prior and mapping each draw by the change of units (W1' = W1 s_s / s_t, b1' = b1 +
    W1 (m_s - m_t) / s_t, W2' = W2 sd_t / sd_s, b2' = (b2 sd_t + mu_t - mu_s) / sd_s) gives weights whose mean and
    variance are the rescaled prior's, entry by entry, at shifts and scales far from 0 and 1."""
    g = torch.Generator().manual_seed(11)
    f, h = 4, 6
    mean = {"w1": torch.randn(h, f, generator=g), "b1": torch.randn(h, generator=g),
            "w2": torch.randn(1, h, generator=g), "b2": torch.randn(1, generator=g)}
    var = {k: torch.rand(v.shape, generator=g) * 0.5 + 0.1 for k, v in mean.items()}
    tx = Scaler(torch.tensor([10.0, -2.0, 0.5, 3.0]), torch.tensor([2.0, 0.5, 3.0, 1.5]))
    sx = Scaler(torch.tensor([12.0, -1.0, 0.0, 2.5]), torch.tensor([2.5, 0.25, 1.0, 4.0]))
    ty, sy = Scaler(torch.tensor(150.0), torch.tensor(60.0)), Scaler(torch.tensor(170.0), torch.tensor(90.0))
    m, v = prior.rescale(mean, var, tx, sx, ty, sy)
    n = 200_000
    draws = {k: mean[k] + var[k].sqrt() * torch.randn(n, *mean[k].shape, generator=g, dtype=torch.float64).float()
             for k in mean}
    d = {k: x.double() for k, x in draws.items()}
    ratio, shift = (sx.std / tx.std).double(), ((sx.mean - tx.mean) / tx.std).double()
    mapped = {"w1": d["w1"] * ratio, "b1": d["b1"] + d["w1"] @ shift,
              "w2": d["w2"] * (ty.std / sy.std).double(),
              "b2": (d["b2"] * ty.std.double() + ty.mean.double() - sy.mean.double()) / sy.std.double()}
    for k in mean:
        sd = mapped[k].std(0)
        assert ((mapped[k].mean(0) - m[k].double()).abs() < 5 * sd / n**0.5).all(), k
        torch.testing.assert_close(mapped[k].var(0), v[k].double(), rtol=0.02, atol=0, msg=k)
    # and the rescaled means compute the teacher's function in the student's units, at inputs in raw units
    x = torch.randn(30, f, generator=g) * 5 + 8

    def net(p, z):
        return (z @ p["w1"].T + p["b1"]).relu() @ p["w2"].T + p["b2"]

    torch.testing.assert_close(sy.inverse(net(m, sx(x))), ty.inverse(net(mean, tx(x))), rtol=1e-4, atol=1e-3)

"""distill.models: the paper's layer sizes and weight counts, activations, and the VAE."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from distill import data, models


@pytest.mark.parametrize(
    "make, expected",
    [
        (lambda: models.teacher(784, 10), 246400),  # paper Table 1
        (lambda: models.Students(784, 10, "classification", seeds=[0]), 50816),
        (lambda: models.teacher(15, 1), 48960),  # paper Table 4, F = 15
        (lambda: models.Students(15, 1, "regression", seeds=[0, 1], per_seed=3), 512),  # per run, whatever the sweep
    ],
    ids=["teacher images", "student images", "teacher bike F=15", "student bike F=15"],
)
def test_paper_weight_counts(make, expected):
    assert models.n_weights(make()) == expected


def test_weight_counts_for_the_real_bike_features():
    f = len(data.BIKE_FEATURES)
    assert f == 12
    teacher, student = models.teacher(f, 1), models.Students(f, 1, "regression", seeds=[0])
    assert models.n_weights(teacher) == 12 * 256 + 256 * 128 + 128 * 64 + 64 * 64 + 64 * 1 == 48192
    assert models.n_weights(student) == 12 * 32 + 32 * 1 == 416
    # biases are not counted, but they are there
    n_biases = 256 + 128 + 64 + 64 + 1
    assert sum(p.numel() for p in teacher.parameters()) == 48192 + n_biases


@pytest.mark.parametrize(
    "make, widths",
    [
        (lambda: models.teacher(784, 10), [784, 256, 128, 64, 64, 10]),
        (lambda: models.teacher(12, 1), [12, 256, 128, 64, 64, 1]),
    ],
    ids=["teacher images", "teacher bike"],
)
def test_layers_relu_after_every_hidden_layer_only(make, widths):
    torch.manual_seed(0)
    model = make()
    layers = list(model)
    linears = [m for m in layers if isinstance(m, nn.Linear)]
    assert [linears[0].in_features] + [m.out_features for m in linears] == widths
    # Linear, ReLU, Linear, ReLU, ..., Linear: one ReLU after each hidden layer, none after the output
    kinds = [type(m) for m in layers]
    assert kinds == [nn.Linear, nn.ReLU] * (len(widths) - 2) + [nn.Linear]
    x = torch.randn(64, widths[0])
    with torch.no_grad():
        # the output is not rectified: an output layer that answers -1 everywhere is seen as -1
        nn.init.zeros_(linears[-1].weight)
        linears[-1].bias.fill_(-1.0)
        assert torch.equal(model(x), torch.full((64, widths[-1]), -1.0))
        # the hidden layers are: with a first layer whose pre-activations depend on x but are all negative,
        # the ReLU zeroes them and the input no longer matters
        linears[-1].weight.fill_(1.0)
        assert not torch.equal(model(x), model(torch.zeros_like(x)))
        linears[0].bias.fill_(-1000.0)
        assert (linears[0](x) < 0).all() and not torch.equal(linears[0](x), linears[0](-x))
        assert torch.equal(model(x), model(-x))
        assert torch.equal(model(x), model(torch.zeros_like(x)))


def test_vae_shapes_and_translate():
    torch.manual_seed(0)
    vae = models.VAE(n_in=784, n_out=784, hidden=64, latent=8, bernoulli=True)
    x = torch.rand(5, 784)
    out, mu, logvar = vae(x, torch.Generator().manual_seed(0))
    assert out.shape == (5, 784) and mu.shape == (5, 8) and logvar.shape == (5, 8)
    t1 = vae.translate(x, torch.Generator().manual_seed(3))
    t2 = vae.translate(x, torch.Generator().manual_seed(3))
    t3 = vae.translate(x, torch.Generator().manual_seed(4))
    assert t1.shape == (5, 784) and (t1 >= 0).all() and (t1 <= 1).all()  # Bernoulli means: pixels
    assert torch.equal(t1, t2) and not torch.equal(t1, t3)  # the draw comes from the generator

    translator = models.VAE(n_in=12, n_out=7, hidden=16, latent=3, bernoulli=False)  # other in/out widths
    out, mu, logvar = translator(torch.randn(4, 12))
    assert out.shape == (4, 7) and mu.shape == (4, 3)
    assert (translator.translate(torch.randn(50, 12)) < 0).any()  # Gaussian: not squashed
    # a learned noise variance per output feature for the Gaussian likelihood only: the Bernoulli one has none
    assert "log_var" not in dict(vae.named_parameters()) and translator.log_var.shape == (7,)


def test_linear_init_draws_weights_and_biases_as_nn_linear_does():
    """U(-1/sqrt(n_in), 1/sqrt(n_in)) for the weights and the biases, as torch.nn.Linear.reset_parameters draws
    them: against the bound, and against nn.Linear's own draws (Kolmogorov-Smirnov, scipy)."""
    from scipy.stats import ks_2samp

    w, b = models.linear_init(400, 2000, torch.Generator().manual_seed(0))
    bound = 400**-0.5
    assert w.shape == (400, 2000) and b.shape == (2000,)
    torch.manual_seed(0)
    linear = nn.Linear(400, 2000)
    for ours, theirs in ((w, linear.weight), (b, linear.bias)):
        assert ours.abs().max() <= bound and ours.min() < -0.99 * bound and ours.max() > 0.99 * bound
        assert ks_2samp(ours.flatten().numpy(), theirs.detach().flatten().numpy()).pvalue > 1e-3


def test_vae_loss_is_reconstruction_plus_kl():
    torch.manual_seed(0)
    vae = models.VAE(n_in=6, n_out=6, hidden=8, latent=2, bernoulli=False)
    x = torch.randn(3, 6)
    # encoder output zero: mu = 0, logvar = 0, so q(z | x) = N(0, I) and the KL term is zero
    last = vae.encoder[-1]
    nn.init.zeros_(last.weight)
    nn.init.zeros_(last.bias)
    eps = torch.randn((3, 2), generator=torch.Generator().manual_seed(5))
    recon = 0.5 * ((vae.decoder(eps) - x) ** 2).sum() / 3
    assert vae.loss(x, x, torch.Generator().manual_seed(5)).item() == pytest.approx(recon.item(), rel=1e-6)
    # a shifted mean costs exactly KL = sum(mu^2) / 2 on top, here mu = (1, 0) for every sample
    last.bias.data[0] = 1.0
    recon = 0.5 * ((vae.decoder(eps + torch.tensor([1.0, 0.0])) - x) ** 2).sum() / 3
    assert vae.loss(x, x, torch.Generator().manual_seed(5)).item() == pytest.approx(recon.item() + 0.5, rel=1e-6)


class Fixed(nn.Module):
    """An encoder whose output is a given (mu, logvar) for every input row."""

    def __init__(self, mu: torch.Tensor, logvar: torch.Tensor):
        super().__init__()
        self.out = torch.cat([mu, logvar], dim=1)

    def forward(self, x):
        return self.out[: len(x)]


def vae_at(mu: torch.Tensor, logvar: torch.Tensor, bernoulli: bool) -> models.VAE:
    """A VAE whose encoder gives (mu, logvar) and whose decoder is the identity, so its output is the latent draw."""
    vae = models.VAE(n_in=3, n_out=mu.shape[1], hidden=4, latent=mu.shape[1], bernoulli=bernoulli)
    vae.encoder, vae.decoder = Fixed(mu, logvar), nn.Identity()
    return vae


def test_vae_reparameterisation_draws_mu_plus_eps_times_the_sd_at_generic_points():
    """At log-variances away from 0 (where sd = variance = 1 hides a variance taken for the sd): the draw from a fixed
    eps is mu + eps * exp(logvar / 2) exactly, and many draws have mean mu and variance exp(logvar)."""
    g = torch.Generator().manual_seed(1)
    mu, logvar = torch.randn(4, 3, generator=g) * 2, torch.rand(4, 3, generator=g) * 5 - 3  # logvar in [-3, 2]
    vae = vae_at(mu, logvar, bernoulli=False)
    out, mu_out, logvar_out = vae(torch.zeros(4, 3), torch.Generator().manual_seed(7))
    eps = torch.randn(4, 3, generator=torch.Generator().manual_seed(7))
    torch.testing.assert_close(out, mu + eps * torch.exp(logvar / 2))
    assert torch.equal(mu_out, mu) and torch.equal(logvar_out, logvar)
    n = 100_000
    many = vae_at(mu[:1].expand(n, -1), logvar[:1].expand(n, -1), bernoulli=False)
    with torch.no_grad():
        draws = many(torch.zeros(n, 3), torch.Generator().manual_seed(3))[0]
    sd = torch.exp(logvar[0] / 2)
    assert ((draws.mean(0) - mu[0]).abs() < 5 * sd / n**0.5).all(), (draws.mean(0), mu[0])
    torch.testing.assert_close(draws.var(0), sd**2, rtol=0.03, atol=0)
    # translate is that draw (through a sigmoid for images)
    bern = vae_at(mu, logvar, bernoulli=True)
    torch.testing.assert_close(bern.translate(torch.zeros(4, 3), torch.Generator().manual_seed(7)),
                               torch.sigmoid(mu + eps * torch.exp(logvar / 2)))


@pytest.mark.parametrize("bernoulli", [False, True], ids=["gaussian", "bernoulli"])
def test_vae_loss_is_the_negative_elbo_of_torch_distributions_at_generic_points(bernoulli):
    """The loss per sample at a generic q(z | x) and (Gaussian) likelihood variance: minus the log-likelihood of x_out
    under the decoder's distribution at the draw (without its constant log 2 pi / 2 per feature), plus
    KL(N(mu, exp(logvar)) || N(0, I)), both from torch.distributions."""
    from torch.distributions import Bernoulli, Normal, kl_divergence

    g = torch.Generator().manual_seed(2)
    mu, logvar = torch.randn(5, 4, generator=g), torch.rand(5, 4, generator=g) * 4 - 2
    vae = vae_at(mu, logvar, bernoulli)
    if bernoulli:
        x_out = (torch.rand(5, 4, generator=g) > 0.5).float()
    else:
        x_out = torch.randn(5, 4, generator=g) * 3
        with torch.no_grad():
            vae.log_var.copy_(torch.rand(4, generator=g) * 3 - 1.5)
    with torch.no_grad():
        loss = vae.loss(torch.zeros(5, 3), x_out, torch.Generator().manual_seed(4)).item()
    draw = mu + torch.randn(5, 4, generator=torch.Generator().manual_seed(4)) * torch.exp(logvar / 2)
    if bernoulli:
        recon = -Bernoulli(logits=draw).log_prob(x_out).sum()
    else:
        recon = (-Normal(draw, torch.exp(vae.log_var.detach() / 2)).log_prob(x_out).sum()
                 - 0.5 * math.log(2 * math.pi) * x_out.numel())
    kl = kl_divergence(Normal(mu, torch.exp(logvar / 2)), Normal(0.0, 1.0)).sum()
    assert loss == pytest.approx(((recon + kl) / 5).item(), rel=1e-5)


@pytest.mark.parametrize("bernoulli", [True, False], ids=["bernoulli", "gaussian"])
def test_vae_loss_is_finite_and_decreases_under_adam(bernoulli):
    torch.manual_seed(0)
    n = 20
    prototypes = torch.rand(2, n) > 0.5  # two patterns, each row one of them with a few pixels flipped
    x = (prototypes[torch.arange(16) % 2] ^ (torch.rand(16, n) < 0.05)).float()
    if not bernoulli:
        x = x * 4 - 2 + 0.1 * torch.randn(16, n)
    vae = models.VAE(n, n, hidden=32, latent=4, bernoulli=bernoulli)
    optimizer = torch.optim.Adam(vae.parameters(), lr=1e-2)
    generator = torch.Generator().manual_seed(0)
    losses = []
    for _ in range(40):
        loss = vae.loss(x, x, generator)
        assert math.isfinite(loss.item())
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert sum(losses[-5:]) / 5 < 0.8 * sum(losses[:5]) / 5


def test_a_checkpoint_of_other_settings_or_more_epochs_is_ignored(tmp_path, capsys):
    """Checkpoint.resume: the same settings resume; other settings, or more epochs done than asked, start over."""
    from argparse import Namespace

    from distill.training import Checkpoint

    def args(**changes):
        return Namespace(**{"out": tmp_path / "teacher.pt", "epochs": 4, "lr": 1e-3, "seed": 0, "threads": 1,
                            "metrics": "m.json", **changes})

    torch.manual_seed(0)
    model = models.teacher(6, 2)
    optimizer = torch.optim.Adam(model.parameters())
    generator = torch.Generator().manual_seed(1)
    Checkpoint(args(), data={"dataset": "x"}).save(3, model, optimizer, generator, [{"epoch": e} for e in (1, 2, 3)])

    for changed in (args(lr=2e-3), args(seed=1)):  # other settings
        m = models.teacher(6, 2)
        assert (
            Checkpoint(changed, data={"dataset": "x"}).resume(m, torch.optim.Adam(m.parameters()), torch.Generator())
                == (0, []))
        assert "ignoring" in capsys.readouterr().out
    m = models.teacher(6, 2)
    assert (Checkpoint(args(), data={"dataset": "y"}).resume(m, torch.optim.Adam(m.parameters()), torch.Generator())
            == (0, []))  # other data
    m = models.teacher(6, 2)
    assert (
        Checkpoint(args(epochs=2), data={"dataset": "x"}).resume(m, torch.optim.Adam(m.parameters()), torch.Generator())
            == (0, []))  # past epochs
    assert "ignoring" in capsys.readouterr().out
    m = models.teacher(6, 2)  # the control: same settings and data resume after epoch 3 with the saved weights
    done, history = Checkpoint(args(), data={"dataset": "x"}).resume(m, torch.optim.Adam(m.parameters()),
                                                                     torch.Generator())
    assert done == 3 and [h["epoch"] for h in history] == [1, 2, 3]
    assert all(torch.equal(a, b) for a, b in zip(m.state_dict().values(), model.state_dict().values()))

"""The paper's MLPs (Tables 1 and 4) and the small VAE behind the ``vae`` mapping."""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

TEACHER_HIDDEN = [256, 128, 64, 64]
STUDENT_HIDDEN = {"classification": [64], "regression": [32]}


def mlp(sizes: list[int]) -> nn.Sequential:
    """Linear layers of the given widths with a ReLU after every hidden layer."""
    layers: list[nn.Module] = []
    for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(nn.Linear(n_in, n_out))
        if i < len(sizes) - 2:
            layers.append(nn.ReLU())
    return nn.Sequential(*layers)


def teacher(n_in: int, n_out: int) -> nn.Sequential:
    return mlp([n_in, *TEACHER_HIDDEN, n_out])


def student(n_in: int, n_out: int, task: str) -> nn.Sequential:
    return mlp([n_in, *STUDENT_HIDDEN[task], n_out])


def n_weights(model: nn.Module) -> int:
    """Weights without biases: the count the paper gives."""
    return sum(p.numel() for name, p in model.named_parameters() if name.endswith("weight"))


class VAE(nn.Module):
    """x_in -> q(z | x_in) -> p(x_out | z). With x_out = x_in it is a plain VAE; with x_in from the
    target and x_out from the source it is the class-paired translator of the ``vae`` mapping."""

    def __init__(self, n_in: int, n_out: int, hidden: int, latent: int, bernoulli: bool):
        super().__init__()
        self.bernoulli = bernoulli  # images in [0, 1]: Bernoulli likelihood; standardized features: Gaussian
        self.encoder = mlp([n_in, hidden, 2 * latent])
        self.decoder = mlp([latent, hidden, n_out])
        # Gaussian likelihood: a learned log-variance per feature, so the fit is not pulled to the mean
        self.log_var = nn.Parameter(torch.zeros(n_out)) if not bernoulli else None

    def forward(self, x: torch.Tensor, generator: torch.Generator | None = None):
        mu, logvar = self.encoder(x).chunk(2, dim=1)
        eps = torch.randn(mu.shape, generator=generator, dtype=mu.dtype).to(mu.device)  # CPU draws: same on any device
        return self.decoder(mu + eps * torch.exp(0.5 * logvar)), mu, logvar

    def loss(self, x: torch.Tensor, x_out: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        """Negative ELBO per sample: reconstruction of x_out plus KL(q(z | x) || N(0, I))."""
        out, mu, logvar = self(x, generator)
        if self.bernoulli:
            recon = F.binary_cross_entropy_with_logits(out, x_out, reduction="sum")
        else:
            recon = 0.5 * torch.sum((out - x_out) ** 2 / self.log_var.exp() + self.log_var)
        kl = -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())
        return (recon + kl) / len(x)

    @torch.no_grad()
    def translate(self, x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        """One draw of x_out given x: the mapping phi(x)."""
        out, _, _ = self(x, generator)
        return torch.sigmoid(out) if self.bernoulli else out

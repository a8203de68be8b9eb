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


def n_weights(model: nn.Module) -> int:
    """Weights without biases: the count the paper gives (per run for a sweep of students or a stack of teachers)."""
    if isinstance(model, Students):
        return model.n_in * model.hidden + model.hidden * model.n_out
    if isinstance(model, Teachers):
        return sum(a * b for a, b in zip(model.sizes[:-1], model.sizes[1:]))
    return sum(p.numel() for name, p in model.named_parameters() if name.endswith("weight"))


def linear_init(n_in: int, n_out: int, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """(weight [n_in, n_out], bias [n_out]) drawn as nn.Linear draws them: U(-1/sqrt(n_in), 1/sqrt(n_in))."""
    bound = n_in**-0.5
    weight = (torch.rand(n_out, n_in, generator=generator) * 2 - 1) * bound
    bias = (torch.rand(n_out, generator=generator) * 2 - 1) * bound
    return weight.T.contiguous(), bias


class Teachers(nn.Module):
    """A stack of teachers [n_in, *TEACHER_HIDDEN, n_out] (paper Table 1), one per seed, trained side by side.

    Layer i of every teacher is one tensor: weight w<i> [S, n_in_i, n_out_i], bias b<i> [S, 1, n_out_i]; a
    forward pass is one batched product per layer, and one Adam over the stack gives each teacher its own
    update (Adam is elementwise). Teacher s starts from its own draw on the ("teacher_init", seed) stream,
    the draw it gets in a stack of one, so it does not depend on its stack-mates.
    """

    def __init__(self, n_in: int, n_out: int, seeds: list[int]):
        super().__init__()
        from distill.seeds import generator

        self.sizes, self.seeds = [n_in, *TEACHER_HIDDEN, n_out], list(seeds)
        layers = [[] for _ in self.sizes[1:]]
        for seed in self.seeds:
            g = generator("teacher_init", seed)
            for i, pair in enumerate(zip(self.sizes[:-1], self.sizes[1:])):
                layers[i].append(linear_init(*pair, g))
        for i, draws in enumerate(layers):
            self.register_parameter(f"w{i}", nn.Parameter(torch.stack([w for w, _ in draws])))
            self.register_parameter(f"b{i}", nn.Parameter(torch.stack([b for _, b in draws]).unsqueeze(1)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x [S, B, n_in] (a batch per teacher) or [N, n_in] (one input for all) -> outputs [S, B or N, n_out]."""
        last = len(self.sizes) - 2
        for i in range(last + 1):
            w, b = getattr(self, f"w{i}"), getattr(self, f"b{i}")
            x = (torch.baddbmm(b, x, w) if x.dim() == 3
                 else torch.addmm(b.reshape(-1), x, w.permute(1, 0, 2).reshape(w.shape[1], -1)))
            if x.dim() == 2:  # the shared input of the first layer: [N, S * width] -> [S, N, width]
                x = x.view(len(x), len(self.seeds), -1).transpose(0, 1)
            if i < last:
                x = x.relu()
        return x

    def state_of(self, k: int) -> dict[str, torch.Tensor]:
        """Teacher k of the stack as the state dict of a plain models.teacher (nn.Linear's [out, in] weights)."""
        state = {}
        for i in range(len(self.sizes) - 1):
            state[f"{2 * i}.weight"] = getattr(self, f"w{i}")[k].detach().T.contiguous().cpu()
            state[f"{2 * i}.bias"] = getattr(self, f"b{i}")[k, 0].detach().clone().cpu()
        return state


class Students(nn.Module):
    """A sweep of students [n_in, hidden, n_out] (paper Tables 1 and 4) trained side by side as one model.

    The runs are laid out seed-major: run m = s * per_seed + k, for seed s and its k-th (lam, T) setting.
    Each run starts from its seed's own draw on the ("student_init", seed) stream, the same draw it would
    get alone, so the runs of one seed (every lam and T) start from the same weights. Those runs also share
    their seed's batch order, so their first layers form one wide matrix per seed:
        w1 [S, n_in, K * hidden], b1 [S, 1, K * hidden];  w2 [M, hidden, n_out], b2 [M, 1, n_out].
    Adam is elementwise, so one Adam over these tensors gives every run its own update.
    """

    def __init__(self, n_in: int, n_out: int, task: str, seeds: list[int], per_seed: int = 1):
        super().__init__()
        from distill.seeds import generator

        (hidden,) = STUDENT_HIDDEN[task]
        self.n_in, self.hidden, self.n_out = n_in, hidden, n_out
        self.n_seeds, self.per_seed = len(seeds), per_seed
        w1, b1, w2, b2 = [], [], [], []
        for seed in seeds:
            g = generator("student_init", seed)
            first, second = linear_init(n_in, hidden, g), linear_init(hidden, n_out, g)
            w1.append(first[0].repeat(1, per_seed))
            b1.append(first[1].repeat(per_seed))
            w2 += [second[0]] * per_seed
            b2 += [second[1]] * per_seed
        self.w1 = nn.Parameter(torch.stack(w1))
        self.b1 = nn.Parameter(torch.stack(b1).unsqueeze(1))
        self.w2 = nn.Parameter(torch.stack(w2))
        self.b2 = nn.Parameter(torch.stack(b2).unsqueeze(1))

    @property
    def n_runs(self) -> int:
        return self.n_seeds * self.per_seed

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x [S, B, n_in] (a batch per seed) or [N, n_in] (one input for all runs) -> outputs [M, B or N, n_out]."""
        if x.dim() == 2:  # e.g. the test part: one product for every run
            h = torch.addmm(self.b1.reshape(-1), x, self.w1.permute(1, 0, 2).reshape(self.n_in, -1)).relu_()
            h = h.view(len(x), self.n_runs, self.hidden).transpose(0, 1)
        else:
            h = torch.baddbmm(self.b1, x, self.w1).relu_()
            h = h.view(self.n_seeds, x.shape[1], self.per_seed, self.hidden).transpose(1, 2)
            h = h.reshape(self.n_runs, x.shape[1], self.hidden)
        return torch.baddbmm(self.b2, h, self.w2)

    def run(self, m: int) -> dict[str, torch.Tensor]:
        """The weights of run m alone: w1 [n_in, hidden], b1 [hidden], w2 [hidden, n_out], b2 [n_out]."""
        s, k = divmod(m, self.per_seed)
        cols = slice(k * self.hidden, (k + 1) * self.hidden)
        return {"w1": self.w1[s, :, cols], "b1": self.b1[s, 0, cols], "w2": self.w2[m], "b2": self.b2[m, 0]}


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

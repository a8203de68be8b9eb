"""The transforms psi that make a source domain from a dataset, and the mappings phi: X_target -> X_source
applied before the teacher answers (docs/study.md, sections 3 and 4).

A domain's psi and the phi that leads into that domain are the same function: noise, a blur, or a draw
through the dataset's VAE. For features (bike) they act on features standardized with the dataset's
big-part statistics and come back in raw units, so a teacher of the domain sees raw-unit inputs as usual."""

from __future__ import annotations

import torch

from distill.models import VAE

def add_options(parser) -> None:
    """The settings of psi and phi (the same functions), for the scripts that apply them: make_domain.py,
    teacher_answers.py."""
    from distill import cli

    parser.add_argument("--sigma", type=cli.nonnegative, default=0.3,
                        help="noise: standard deviation (pixels in [0, 1], or feature standard deviations; default "
                             "0.3)")
    parser.add_argument("--kernel-size", type=cli.odd_size, default=5,
                        help="conv: Gaussian blur kernel size, odd (default 5)")
    parser.add_argument("--blur-sigma", type=cli.positive, default=1.5, help="conv: Gaussian blur sigma (default 1.5)")


def noise(x: torch.Tensor, sigma: float, generator: torch.Generator, clip: bool) -> torch.Tensor:
    """x + N(0, sigma^2), clipped to [0, 1] for images."""
    out = x + sigma * torch.randn(x.shape, generator=generator).to(x.device)
    return out.clamp(0.0, 1.0) if clip else out


def conv(x: torch.Tensor, shape: tuple[int, int], kernel_size: int, sigma: float) -> torch.Tensor:
    """A fixed Gaussian blur of each image (torchvision's kernel)."""
    from torchvision.transforms.v2 import functional as TF  # only the mapping steps need torchvision

    images = x.reshape(len(x), 1, *shape)
    return TF.gaussian_blur(images, kernel_size=[kernel_size, kernel_size], sigma=[sigma, sigma]).reshape(len(x), -1)


def save_vae(path, vae: VAE, meta: dict) -> None:
    from distill.io import save_torch

    save_torch(path, {"state": vae.state_dict(), "meta": meta})


def vae_meta(path) -> dict:
    """What a fitted VAE records: its sizes, and the fingerprints of the data it was fitted on."""
    return torch.load(path, weights_only=True, map_location="cpu")["meta"]


def load_vae(path, device) -> VAE:
    saved = torch.load(path, weights_only=True, map_location=device)
    m = saved["meta"]
    vae = VAE(m["n_in"], m["n_out"], m["hidden"], m["latent"], m["bernoulli"]).to(device)
    vae.load_state_dict(saved["state"])
    vae.eval()
    return vae


def in_raw_units(phi: str, x: torch.Tensor, generator: torch.Generator, scale, **kwargs) -> torch.Tensor:
    """apply() to raw inputs x through the standardization ``scale`` (a training.Scaler; identity for images)."""
    return x if phi == "none" else scale.inverse(apply(phi, scale(x), generator, **kwargs))


def apply(phi: str, x: torch.Tensor, generator: torch.Generator, *, images: bool, shape=(28, 28), sigma: float = 0.0,
          kernel_size: int = 5, blur_sigma: float = 1.0, vae: VAE | None = None) -> torch.Tensor:
    """phi(x) for a batch of target inputs (images in [0, 1], or standardized features)."""
    if phi == "none":
        return x
    if phi == "noise":
        return noise(x, sigma, generator, clip=images)
    if phi == "conv":
        if not images:
            raise ValueError("phi 'conv' applies to images only")
        return conv(x, shape, kernel_size, blur_sigma)
    if phi == "vae":
        return torch.cat([vae.translate(x[i : i + 8192], generator) for i in range(0, len(x), 8192)])
    raise ValueError(f"unknown phi {phi!r}")

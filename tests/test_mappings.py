"""distill.mappings: the four phi on real tensors."""

from __future__ import annotations

import math

import pytest
import torch

from distill import mappings, models


def gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


@pytest.fixture
def pixels():
    return torch.rand(6, 784, generator=gen(123))


def test_none_is_identity(pixels):
    out = mappings.apply("none", pixels, gen(0), images=True)
    assert torch.equal(out, pixels)
    features = torch.randn(5, 12, generator=gen(1)) * 3
    assert torch.equal(mappings.apply("none", features, gen(0), images=False), features)


def test_noise_is_seeded(pixels):
    a = mappings.apply("noise", pixels, gen(1), images=True, sigma=0.3)
    b = mappings.apply("noise", pixels, gen(1), images=True, sigma=0.3)
    c = mappings.apply("noise", pixels, gen(2), images=True, sigma=0.3)
    assert torch.equal(a, b)
    assert not torch.equal(a, c)
    assert not torch.equal(a, pixels)


def test_noise_on_images_is_clipped_to_the_pixel_range(pixels):
    out = mappings.apply("noise", pixels, gen(3), images=True, sigma=0.5)
    assert out.min().item() == 0.0 and out.max().item() == 1.0  # clipping happened at both ends
    expected = (pixels + 0.5 * torch.randn(pixels.shape, generator=gen(3))).clamp(0, 1)
    torch.testing.assert_close(out, expected)


def test_noise_on_features_is_not_clipped():
    x = torch.zeros(2000, 12)
    out = mappings.apply("noise", x, gen(4), images=False, sigma=0.3)
    assert out.min().item() < -0.5 and out.max().item() > 0.5
    assert out.mean().item() == pytest.approx(0.0, abs=0.01)
    assert out.std().item() == pytest.approx(0.3, rel=0.02)  # N(0, sigma^2)


def gaussian_1d(size: int, sigma: float) -> list[float]:
    half = size // 2
    w = [math.exp(-((i - half) ** 2) / (2 * sigma**2)) for i in range(size)]
    return [a / sum(w) for a in w]


@pytest.mark.parametrize("kernel_size, sigma", [(5, 1.5), (3, 0.8)])
def test_conv_blurs_a_bright_pixel_into_a_gaussian(kernel_size, sigma):
    image = torch.zeros(1, 28, 28)
    image[0, 14, 14] = 1.0
    out = mappings.apply("conv", image.reshape(1, -1), gen(0), images=True, kernel_size=kernel_size, blur_sigma=sigma)
    assert out.shape == (1, 784)
    out = out.reshape(28, 28)
    assert out.sum().item() == pytest.approx(1.0, abs=1e-5)  # mass conserved away from the border
    torch.testing.assert_close(out, out.T)  # symmetric
    torch.testing.assert_close(out, out.flip(0).roll(1, 0))  # around row 14 (28 is even: flip maps 14 to 13)
    assert divmod(out.argmax().item(), 28) == (14, 14)  # peak at the centre
    k = gaussian_1d(kernel_size, sigma)
    half = kernel_size // 2
    expected = torch.zeros(28, 28)
    for a in range(kernel_size):
        for b in range(kernel_size):
            expected[14 - half + a, 14 - half + b] = k[a] * k[b]
    torch.testing.assert_close(out, expected, atol=1e-6, rtol=1e-4)


def test_conv_leaves_a_constant_image_constant():
    x = torch.full((2, 784), 0.37)
    out = mappings.apply("conv", x, gen(0), images=True, kernel_size=5, blur_sigma=1.5).reshape(2, 28, 28)
    torch.testing.assert_close(out[:, 2:-2, 2:-2], torch.full((2, 24, 24), 0.37))


def test_conv_is_deterministic_and_smooths(pixels):
    a = mappings.apply("conv", pixels, gen(0), images=True)
    b = mappings.apply("conv", pixels, gen(1), images=True)
    assert torch.equal(a, b)  # a fixed kernel: no draw
    assert a.std().item() < 0.6 * pixels.std().item()  # white noise loses most of its variance


def test_conv_on_features_raises():
    with pytest.raises(ValueError, match="images only"):
        mappings.apply("conv", torch.zeros(3, 12), gen(0), images=False)


def test_unknown_phi_raises(pixels):
    with pytest.raises(ValueError, match="unknown phi"):
        mappings.apply("rotate", pixels, gen(0), images=True)


@pytest.mark.parametrize("bernoulli, n_in, n_out", [(True, 784, 784), (False, 12, 12)], ids=["images", "features"])
def test_vae_save_load_round_trip(tmp_path, bernoulli, n_in, n_out):
    torch.manual_seed(0)
    vae = models.VAE(n_in, n_out, hidden=32, latent=4, bernoulli=bernoulli)
    x = torch.rand(10, n_in)
    meta = {"n_in": n_in, "n_out": n_out, "hidden": 32, "latent": 4, "bernoulli": bernoulli}
    path = tmp_path / "vae.pt"
    mappings.save_vae(path, vae, meta)
    assert [p.name for p in tmp_path.iterdir()] == ["vae.pt"]  # no .tmp-* left
    loaded = mappings.load_vae(path, torch.device("cpu"))
    assert not loaded.training
    before = mappings.apply("vae", x, gen(7), images=bernoulli, vae=vae)
    after = mappings.apply("vae", x, gen(7), images=bernoulli, vae=loaded)
    assert torch.equal(before, after)
    assert not torch.equal(after, mappings.apply("vae", x, gen(8), images=bernoulli, vae=loaded))  # a draw
    assert after.shape == (10, n_out)


def test_vae_mapping_over_more_rows_than_one_chunk():
    torch.manual_seed(0)
    vae = models.VAE(3, 3, hidden=8, latent=2, bernoulli=False).eval()
    x = torch.randn(1, 3).repeat(9000, 1)  # one input 9000 times, in two chunks of 8192
    a = mappings.apply("vae", x, gen(1), images=False, vae=vae)
    b = mappings.apply("vae", x, gen(1), images=False, vae=vae)
    assert a.shape == (9000, 3) and torch.equal(a, b)
    assert not torch.equal(a[:800], a[8192:8992])  # the second chunk gets its own draws
    assert len(torch.unique(a, dim=0)) == 9000  # one draw per row

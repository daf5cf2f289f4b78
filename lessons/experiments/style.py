"""Notebook 12's experiments: what style layers capture, and what trained filters add.

Each function runs one measurement of notebook 12 for one ``seed`` and returns plain numbers; the
notebook prints them and asserts its claims, ``claims/claims_12.py`` runs them for seeds 0, 1, 2 at
1, 2 and 4 threads.

* :func:`experiment_style_layers`: textures synthesized from the Gram matrices of ``relu1_2`` only
  vs of all four layers, scored in pixel space by their autocorrelation against the style image's,
  at short lags (local structure: edges, colours) and long lags (the arrangement over a period).
* :func:`experiment_texture_networks`: the same synthesis with random vs trained filters.
* :func:`experiment_super_resolution`: 4x super-resolution under uncertainty (``K`` shifted copies of
  the true image are all plausible) by a pixel loss and by feature losses of random and trained
  filters, scored by PSNR and by :func:`lessons.style.band_error` (detail in the 1-4 pixel band).
"""

from __future__ import annotations

import math
from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import Tensor

from lessons._checks import as_generator, check_int
from lessons.data import load_sample_image, make_texture
from lessons.style import (
    VGG16_LAYERS,
    LossNetwork,
    band_error,
    feature_reconstruction_loss,
    optimize_image,
    synthesize_texture,
)

__all__ = [
    "autocorrelation",
    "autocorrelation_errors",
    "StyleLayers",
    "experiment_style_layers",
    "experiment_texture_networks",
    "experiment_linear_probe",
    "SuperResolution",
    "super_resolution_problem",
    "psnr",
    "super_resolve",
    "experiment_super_resolution",
]

#: Lags (pixels) up to which autocorrelations are compared; "short" is ``<= 2``, "long" is ``> 4``.
MAX_LAG = 12
_SHORT, _LONG = 2.0, 4.0
_NETS: dict[str, LossNetwork] = {}


def _net(network: str) -> LossNetwork:
    """One loss network per kind, built once (they are fixed)."""
    if network not in _NETS:
        _NETS[network] = LossNetwork(network=network)
    return _NETS[network]


def autocorrelation(image: Tensor, max_lag: int = MAX_LAG) -> Tensor:
    r"""Normalized autocorrelation of an image's brightness, for lags up to ``max_lag`` pixels.

    .. math::
        R(d) = \frac{\operatorname{mean}_p\, g(p)\, g(p + d)}{\operatorname{mean}_p\, g(p)^2},

    with ``g`` the channel mean minus its average, the mean taken over the positions ``p`` where both
    ``p`` and ``p + d`` are inside the image (no wrap-around).

    Args:
        image (Tensor[1, 3, H, W]): RGB image, ``H, W > max_lag``.
        max_lag (int): largest lag along each axis. Default: ``12``.

    Returns:
        Tensor[2L+1, 2L+1]: ``R`` at lags ``(dy, dx)`` in ``[-L, L]^2``; ``R[L, L] = 1``.
    """
    g = image.mean(dim=1)[0]  # (H, W)
    g = g - g.mean()
    h, w = g.shape
    size = (h + max_lag, w + max_lag)
    spectrum = torch.fft.rfft2(g, s=size)
    ones = torch.fft.rfft2(torch.ones_like(g), s=size)
    corr = torch.fft.irfft2(spectrum * spectrum.conj(), s=size)  # (H+L, W+L), circular lags
    count = torch.fft.irfft2(ones * ones.conj(), s=size).round().clamp(min=1)
    r = torch.fft.fftshift(corr / count)
    cy, cx = size[0] // 2, size[1] // 2
    r = r[cy - max_lag : cy + max_lag + 1, cx - max_lag : cx + max_lag + 1]  # (2L+1, 2L+1)
    return r / r[max_lag, max_lag]


def autocorrelation_errors(image: Tensor, style: Tensor, max_lag: int = MAX_LAG) -> tuple[float, float]:
    """Mean ``|R_image - R_style|`` over short lags (``0 < |d| <= 2``) and long lags (``|d| > 4``)."""
    diff = (autocorrelation(image, max_lag) - autocorrelation(style, max_lag)).abs()
    lags = torch.arange(-max_lag, max_lag + 1, dtype=torch.float32)
    radius = (lags[:, None] ** 2 + lags[None, :] ** 2).sqrt()  # (2L+1, 2L+1)
    short = (radius > 0) & (radius <= _SHORT)
    return float(diff[short].mean()), float(diff[radius > _LONG].mean())


def _style_image(gen: torch.Generator, size: int) -> Tensor:
    """Stripes at a random angle, period 12-18 px, for one seed."""
    angle = float(torch.rand((), generator=gen)) * math.pi
    period = 12.0 + 6.0 * float(torch.rand((), generator=gen))
    return make_texture("stripes", size, period=period, angle=angle)[None]  # (1, 3, S, S)


class StyleLayers(NamedTuple):
    """Autocorrelation errors (lower is closer to the style) of textures synthesized from the Gram
    matrices of ``relu1_2`` only (``shallow_*``) and of all four layers (``deep_*``)."""

    shallow_short: float
    shallow_long: float
    deep_short: float
    deep_long: float


def _synthesize_pair(style: Tensor, net: LossNetwork, seed: int, steps: int, size: int) -> dict[str, Tensor]:
    layers = list(VGG16_LAYERS)
    out = {}
    for label, used in (("shallow", layers[:1]), ("deep", layers)):
        out[label], _ = synthesize_texture(
            style, net, size=size, layer_weights={n: 1.0 for n in used}, steps=steps, lr=0.1, seed=seed
        )
    return out


def experiment_style_layers(
    *, seed: int = 0, network: str = "course", n: int = 3, steps: int = 50, size: int = 48
) -> StyleLayers:
    """Shallow vs deep style layers, averaged over ``n`` style images (stripes, random angle and period).

    Args:
        seed (int, keyword-only): picks the style images and the starting noise. Default: ``0``.
        network (str, keyword-only): the loss network (``"course"``, ``"random"`` or ``"vgg16"``).
            Default: ``"course"``.
        n (int, keyword-only): style images averaged over. Default: ``3``.
        steps (int, keyword-only): Adam steps per texture. Default: ``50``.
        size (int, keyword-only): side of the style image and of the texture. Default: ``48``.

    Returns:
        StyleLayers: the four mean autocorrelation errors.
    """
    n = check_int("n", n, minimum=1)
    gen = as_generator("seed", seed)
    net = _net(network)
    sums = torch.zeros(4, dtype=torch.float64)
    for i in range(n):
        style = _style_image(gen, size)
        pair = _synthesize_pair(style, net, 100 * int(seed) + i, steps, size)
        sums += torch.tensor(
            [*autocorrelation_errors(pair["shallow"], style), *autocorrelation_errors(pair["deep"], style)],
            dtype=torch.float64,
        )
    return StyleLayers(*(sums / n).tolist())


def experiment_texture_networks(
    *,
    seed: int = 0,
    networks: tuple[str, ...] = ("random", "course"),
    n: int = 3,
    steps: int = 50,
    size: int = 48,
) -> dict[str, StyleLayers]:
    """:func:`experiment_style_layers` for several loss networks on the same style images and noise.

    Returns:
        dict[str, StyleLayers]: per network name.
    """
    return {name: experiment_style_layers(seed=seed, network=name, n=n, steps=steps, size=size) for name in networks}


class SuperResolution(NamedTuple):
    """A 4x super-resolution problem with uncertainty (:func:`super_resolution_problem`).

    Attributes:
        high (Tensor[1, 3, 64, 64]): the true image.
        low (Tensor[1, 3, 16, 16]): its 4x4 block averages, the input.
        candidates (Tensor[K, 3, 64, 64]): ``high`` shifted by up to 2 pixels: all plausible answers.
        bicubic (Tensor[1, 3, 64, 64]): bicubic upsampling of ``low``, the starting point.
    """

    high: Tensor
    low: Tensor
    candidates: Tensor
    bicubic: Tensor


def super_resolution_problem(*, seed: int | torch.Generator = 0, k: int = 12) -> SuperResolution:
    """A 64x64 crop of ``grace_hopper`` (position from ``seed``), its 16x16 input and ``k`` shifted copies.

    A 16x16 input does not pin down where exactly each edge lies; ``k`` copies of the true image
    shifted by up to +-2 pixels (half an input pixel) model that: a method must give one image for
    all of them.
    """
    k = check_int("k", k, minimum=1)
    gen = as_generator("seed", seed)
    top = int(torch.randint(0, 81, (), generator=gen))
    left = int(torch.randint(0, 113, (), generator=gen))
    high = load_sample_image("grace_hopper", crop=(top, left, 400, 400), size=(64, 64))[None]  # (1, 3, 64, 64)
    low = F.avg_pool2d(high, 4)  # (1, 3, 16, 16)
    shift = (torch.rand(k, 2, generator=gen) * 2 - 1) * 2.0  # pixels, in [-2, 2]
    theta = torch.eye(2, 3).repeat(k, 1, 1)  # (K, 2, 3)
    theta[:, :, 2] = shift * 2 / 64  # affine_grid works in [-1, 1] coordinates
    grid = F.affine_grid(theta, [k, 3, 64, 64], align_corners=False)
    candidates = F.grid_sample(high.expand(k, -1, -1, -1), grid, padding_mode="reflection", align_corners=False)
    bicubic = F.interpolate(low, scale_factor=4, mode="bicubic", align_corners=False).clamp(0, 1)
    return SuperResolution(high, low, candidates, bicubic)


def psnr(image: Tensor, target: Tensor) -> float:
    """Peak signal-to-noise ratio in dB for images in ``[0, 1]``."""
    return float(10 * torch.log10(1.0 / F.mse_loss(image, target)))


def super_resolve(problem: SuperResolution, loss: str, *, steps: int = 50, lr: float = 0.02) -> Tensor:
    """The one image that minimizes a loss averaged over the candidates, found by Adam from bicubic.

    Args:
        problem (SuperResolution): from :func:`super_resolution_problem`.
        loss (str): ``"pixel"`` (mean squared error) or a loss network (``"course"``, ``"random"``,
            ``"vgg16"``) whose ``relu2_2`` feature reconstruction loss is used.
        steps (int, keyword-only): Adam steps. Default: ``50``.
        lr (float, keyword-only): learning rate. Default: ``0.02``.

    Returns:
        Tensor[1, 3, 64, 64]: the super-resolved image.
    """
    cand = problem.candidates
    k = cand.shape[0]
    if loss == "pixel":
        objective = lambda x: F.mse_loss(x.expand(k, -1, -1, -1), cand)  # noqa: E731
    else:
        net = _net(loss)
        with torch.no_grad():
            goal = net(cand)["relu2_2"]  # (K, C, 32, 32)
        objective = lambda x: feature_reconstruction_loss(net(x)["relu2_2"].expand(k, -1, -1, -1), goal)  # noqa: E731
    image, _ = optimize_image(problem.bicubic, objective, steps=steps, lr=lr)
    return image


def experiment_super_resolution(
    *, seed: int = 0, losses: tuple[str, ...] = ("pixel", "random", "course"), n: int = 2, steps: int = 50
) -> dict[str, dict[str, float]]:
    """Super-resolution by each loss, averaged over ``n`` crops: PSNR, band energy ratio, band error.

    Returns:
        dict[str, dict[str, float]]: per method (``"bicubic"``, then each of ``losses``) the means of
        ``"psnr"`` (dB), ``"energy_ratio"`` and ``"band_error"`` (:func:`lessons.style.band_error`).
    """
    n = check_int("n", n, minimum=1)
    gen = as_generator("seed", seed)
    sums: dict[str, torch.Tensor] = {}
    for _ in range(n):
        problem = super_resolution_problem(seed=gen)
        images = {"bicubic": problem.bicubic}
        images.update({name: super_resolve(problem, name, steps=steps) for name in losses})
        for name, image in images.items():
            band = band_error(image, problem.high)
            row = torch.tensor([psnr(image, problem.high), float(band.energy_ratio), float(band.error)])
            sums[name] = sums.get(name, torch.zeros(3)) + row
    return {name: dict(zip(("psnr", "energy_ratio", "band_error"), (v / n).tolist())) for name, v in sums.items()}


def experiment_linear_probe(
    *,
    seed: int = 0,
    networks: tuple[str, ...] = ("random", "course"),
    n: int = 300,
    layer: str = "relu4_3",
    ridge: float = 1e-2,
) -> dict[str, float]:
    """What the filters know: held-out accuracy of a linear classifier on each network's features.

    ``n`` training and ``n`` test images of :func:`lessons.data.make_texture_dataset` (32x32, drawn
    from ``seed`` and ``seed + 1000``, so unlike the course network's own training and held-out sets);
    features are the spatial mean and standard deviation of ``layer``'s channels; the classifier is
    ridge regression onto one-hot labels (closed form, so nothing here depends on an optimizer).

    Returns:
        dict[str, float]: test accuracy per network; chance is 0.1.
    """
    from lessons.data import TEXTURE_CLASSES, make_texture_dataset

    n = check_int("n", n, minimum=10)
    train = make_texture_dataset(n, size=32, seed=1_000_003 + int(seed))
    test = make_texture_dataset(n, size=32, seed=2_000_003 + int(seed))
    onehot = F.one_hot(train.labels, len(TEXTURE_CLASSES)).double()  # (N, 10)
    result = {}
    for name in networks:
        net = _net(name)

        def describe(images: Tensor) -> Tensor:
            with torch.no_grad():
                f = torch.cat([net(chunk)[layer] for chunk in images.split(200)]).double()  # (N, C, h, w)
            x = torch.cat([f.mean((2, 3)), f.std((2, 3))], dim=1)  # (N, 2C)
            return torch.cat([x, torch.ones(len(x), 1, dtype=x.dtype)], dim=1)  # (N, 2C + 1)

        x_train, x_test = describe(train.images), describe(test.images)
        mean, std = x_train.mean(0), x_train.std(0).clamp(min=1e-6)
        std[-1], mean[-1] = 1.0, 0.0  # keep the bias column
        a, b = (x_train - mean) / std, (x_test - mean) / std
        weights = torch.linalg.solve(a.T @ a + ridge * n * torch.eye(a.shape[1], dtype=a.dtype), a.T @ onehot)
        result[name] = float(((b @ weights).argmax(1) == test.labels).double().mean())
    return result

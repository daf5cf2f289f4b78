"""Experiments of notebook 10 (conditional GANs, pix2pix): each trains tiny models and returns numbers.

- :func:`experiment_one_to_many` — one input, nine valid answers: what L2, L1 and a GAN produce.
- :func:`experiment_conditional_gan` — does the condition select the mode? cGAN vs a plain GAN.
- :func:`experiment_super_resolution` — ×4 super-resolution: bilinear, L1, and L1 + an adversarial term.
- :func:`experiment_pix2pix` — edges -> striped shapes with L1 only, cGAN only, and L1 + cGAN (λ = 100).

The scores they report: :func:`mode_accuracy`, :func:`nearest_distance`, :func:`psnr`,
:func:`high_frequency_energy`, :func:`sharpness_ratio`, :func:`radial_power_spectrum` and
:func:`spectral_gap`.

Every run seeds torch's global generator (weight initialization) with ``torch.manual_seed(seed)`` and
draws its data and noise from explicit generators, so a seed fixes the run on one machine.
"""

from __future__ import annotations

import copy

import torch
import torch.nn.functional as F
from torch import Tensor

from lessons._checks import (
    check_finite,
    check_floating,
    check_floating_pair,
    check_int,
    check_labels,
    check_ndim,
    check_positive,
)
from lessons.cycle import gan_loss, patch_discriminator
from lessons.data.pairs import make_edge_shape_pairs, make_one_to_many, make_ring_mixture, make_sr_pairs
from lessons.gan import (
    ConditionalMLP,
    SRGenerator,
    gan_step,
    make_pix2pix,
    pix2pix_step,
    super_resolution_loss,
)

__all__ = [
    "mode_accuracy",
    "nearest_distance",
    "psnr",
    "high_frequency_energy",
    "sharpness_ratio",
    "radial_power_spectrum",
    "spectral_gap",
    "SR_MODES",
    "experiment_one_to_many",
    "experiment_conditional_gan",
    "experiment_super_resolution",
    "experiment_pix2pix",
]

LOSSES = ("l2", "l1", "gan")
PIX2PIX_MODES = ("L1 only", "cGAN only", "L1 + cGAN")


# ------------------------------------------------------------------------------------- scores


def mode_accuracy(points: Tensor, labels: Tensor, centres: Tensor) -> Tensor:
    """The fraction of points whose nearest centre is the mode they were asked for.

    Args:
        points (Tensor[N, D]): generated samples.
        labels (Tensor[N]): int64 requested modes.
        centres (Tensor[K, D]): mode centres.

    Returns:
        Tensor[]: ``mean(argmin_k ||points_n - centres_k|| == labels_n)``; ties go to the lower index.

    Example:
        >>> mode_accuracy(torch.tensor([[0.9, 0.0], [0.0, 0.8]]), torch.tensor([0, 0]), torch.eye(2))
        tensor(0.5000)
    """
    for name, value in (("points", points), ("centres", centres)):
        check_floating(name, value)
        check_ndim(name, value, 2, "(N, D)" if name == "points" else "(K, D)")
        check_finite(name, value)
    if centres.shape[1] != points.shape[1]:
        raise ValueError(
            f"centres: expected D = {points.shape[1]} columns like points, got shape {tuple(centres.shape)}"
        )
    check_labels("labels", labels, n=points.shape[0], high=centres.shape[0])
    nearest = torch.cdist(points, centres.to(points.dtype)).argmin(dim=1)  # (N,)
    return (nearest == labels).to(points.dtype).mean()


def nearest_distance(outputs: Tensor, answers: Tensor) -> Tensor:
    """Per output, the root-mean-square distance to the closest valid answer.

    Args:
        outputs (Tensor[N, ...]): generated samples.
        answers (Tensor[K, ...]): every valid answer, same trailing shape.

    Returns:
        Tensor[N]: ``min_k sqrt(mean((outputs_n - answers_k)^2))``; 0 for an output that is an answer.

    Example:
        >>> nearest_distance(torch.tensor([[0.0, 0.0], [1.0, 1.0]]), torch.tensor([[1.0, 1.0], [3.0, 1.0]]))
        tensor([1., 0.])
    """
    check_floating("outputs", outputs)
    check_floating("answers", answers)
    check_finite("answers", answers)
    if outputs.shape[1:] != answers.shape[1:]:
        raise ValueError(
            f"answers: expected the shape of outputs' items {tuple(outputs.shape[1:])}, "
            f"got items of shape {tuple(answers.shape[1:])}"
        )
    dims = outputs[0].numel()
    d = torch.cdist(outputs.flatten(1), answers.flatten(1).to(outputs.dtype))  # (N, K) Euclidean
    return d.min(dim=1).values / dims**0.5


def psnr(pred: Tensor, target: Tensor, *, data_range: float = 1.0) -> Tensor:
    """Peak signal-to-noise ratio per image: ``10 log10(data_range^2 / mean((pred - target)^2))`` dB.

    Args:
        pred, target (Tensor[B, C, H, W]): images and ground truths.
        data_range (float): ``max - min`` of the value range, ``> 0``. Default: ``1.0`` (images in [0, 1]).

    Returns:
        Tensor[B]: dB; ``inf`` for a perfect image.

    Example:
        >>> psnr(torch.full((1, 1, 2, 2), 0.1), torch.zeros(1, 1, 2, 2))
        tensor([20.])
    """
    check_floating_pair("target", target, "pred", pred)
    check_positive("data_range", data_range)
    mse = (pred - target).square().flatten(1).mean(dim=1)  # (B,)
    return 10 * torch.log10(data_range**2 / mse)


_LAPLACIAN = torch.tensor([[0.0, 1.0, 0.0], [1.0, -4.0, 1.0], [0.0, 1.0, 0.0]])


def high_frequency_energy(images: Tensor) -> Tensor:
    """Mean squared Laplacian per image: how much fine detail (edges, texture, and noise) it holds.

    ``mean_{c, valid pixels} (Δ images)^2`` with the 5-point Laplacian
    ``Δx[i, j] = x[i-1, j] + x[i+1, j] + x[i, j-1] + x[i, j+1] - 4 x[i, j]``, without padding.

    Args:
        images (Tensor[B, C, H, W]): ``H, W >= 3``.

    Returns:
        Tensor[B]: the energy; 0 for a constant or linear ramp image.
    """
    check_floating("images", images)
    check_ndim("images", images, 4, "(B, C, H, W)")
    b, c, h, w = images.shape
    if h < 3 or w < 3:
        raise ValueError(f"images: expected H, W >= 3, got shape {tuple(images.shape)}")
    kernel = _LAPLACIAN.to(images)[None, None]  # (1, 1, 3, 3)
    lap = F.conv2d(images.reshape(b * c, 1, h, w), kernel)  # (B*C, 1, H-2, W-2)
    return lap.reshape(b, -1).square().mean(dim=1)


def sharpness_ratio(pred: Tensor, target: Tensor) -> Tensor:
    """High-frequency energy of ``pred`` relative to the ground truth's, over the whole batch.

    ``sum_b E(pred_b) / sum_b E(target_b)`` with ``E`` = :func:`high_frequency_energy`: ``1`` means as
    much fine detail as the truth, ``< 1`` blur. Noise *raises* the ratio above 1, so do not read
    "higher is better": read the distance from 1, ``|log2 ratio|`` (0 is ideal; a ratio of 0.5 and
    one of 2 are equally far off). It says nothing about *where* the detail is; PSNR does.

    Args:
        pred (Tensor[B, C, H, W]): images.
        target (Tensor[B, C, H, W]): ground truths with some detail (non-zero energy).

    Returns:
        Tensor[]: the ratio.
    """
    check_floating_pair("target", target, "pred", pred)
    reference = high_frequency_energy(target).sum()
    if not reference > 0:
        raise ValueError("target: expected images with some high-frequency energy, got flat images")
    return high_frequency_energy(pred).sum() / reference


def radial_power_spectrum(images: Tensor) -> Tensor:
    """Radially averaged power spectrum per image: how much energy sits at each spatial frequency.

    For each image and channel the mean is removed, ``P = |FFT2(x)|^2`` is computed and averaged over
    channels; ring ``k`` averages ``P`` over the frequencies ``(f_y, f_x)`` (in cycles per image) with
    ``round(sqrt(f_y^2 + f_x^2)) = k``, for ``k = 0 .. min(H, W) // 2`` (the corners beyond are left out).
    Phase is ignored: stripes shifted by half a period have the same spectrum.

    Args:
        images (Tensor[B, C, H, W]): images.

    Returns:
        Tensor[B, min(H, W) // 2 + 1]: the power per ring; ring 0 is 0 (the mean was removed).
    """
    check_floating("images", images)
    check_ndim("images", images, 4, "(B, C, H, W)")
    h, w = images.shape[-2:]
    centred = images - images.mean(dim=(-2, -1), keepdim=True)
    power = torch.fft.fft2(centred).abs().square().mean(dim=1)  # (B, H, W)
    fy = torch.fft.fftfreq(h, d=1.0 / h, dtype=images.dtype)  # cycles per image
    fx = torch.fft.fftfreq(w, d=1.0 / w, dtype=images.dtype)
    ring = (fy[:, None].square() + fx[None, :].square()).sqrt().round().long()  # (H, W)
    n_rings = min(h, w) // 2 + 1
    keep = ring < n_rings
    flat = power[:, keep]  # (B, K)
    index = ring[keep]  # (K,)
    total = torch.zeros(power.shape[0], n_rings, dtype=power.dtype).index_add_(1, index, flat)
    count = torch.bincount(index, minlength=n_rings).to(power.dtype)
    return total / count


def spectral_gap(pred: Tensor, target: Tensor, *, min_frequency: int) -> Tensor:
    """How far the batch's fine-detail spectrum is from the ground truth's, in decades of power.

    ``mean_{k >= min_frequency} |log10 P_pred(k) - log10 P_target(k)|`` with ``P`` the
    :func:`radial_power_spectrum` averaged over the batch. Blur (too little power) and noise or
    artefacts (too much) both count as error, so unlike :func:`sharpness_ratio` it does not reward
    noise; like it, it ignores *where* the detail is (PSNR does not). ``0`` means the same amount of
    detail at every frequency from ``min_frequency`` up.

    Args:
        pred (Tensor[B, C, H, W]): images.
        target (Tensor[B, C, H, W]): ground truths.
        min_frequency (int): the first ring counted, in cycles per image, ``1 <= min_frequency <= min(H, W) // 2``.
            For ×s super-resolution of an ``h``-pixel input, ``h // 2 + 1``: the first frequency the input
            cannot hold.

    Returns:
        Tensor[]: the gap in decades (``1`` = a factor 10 of power).
    """
    check_floating_pair("target", target, "pred", pred)
    check_int("min_frequency", min_frequency, minimum=1)
    top = min(pred.shape[-2:]) // 2
    if min_frequency > top:
        raise ValueError(f"min_frequency: expected at most min(H, W) // 2 = {top}, got {min_frequency}")
    p = radial_power_spectrum(pred).mean(dim=0)[min_frequency:]  # (R',)
    t = radial_power_spectrum(target).mean(dim=0)[min_frequency:]
    return (p.log10() - t.log10()).abs().mean()


# ---------------------------------------------------------------------------------- experiments


def experiment_one_to_many(
    *,
    seed: int = 0,
    steps: int = 800,
    regression_steps: int = 200,
    batch: int = 64,
    z_dim: int = 4,
    lr: float = 2e-3,
    n_samples: int = 512,
) -> dict:
    """Train one small generator per loss on a one-to-many target and measure where its outputs land.

    The same input (only noise ``z``) has nine equally likely answers: a 1x9 RGB strip with a stroke
    at one of three positions in one of three colours. The generator is an MLP ``z -> strip``
    (:class:`lessons.gan.ConditionalMLP`, tanh output); ``"l2"`` and ``"l1"`` regress it on random
    answers, ``"gan"`` trains it against an MLP discriminator (:func:`lessons.gan.gan_step`).

    Args:
        seed (int): seeds initialization, data and noise. Default: ``0``.
        steps (int): GAN iterations. Default: ``800`` (with 500, one run in nine over seeds 0-2 and 1/2/4
            threads had not yet landed on the answers).
        regression_steps (int): L1/L2 iterations (they converge sooner). Default: ``200``.
        batch (int): batch size. Default: ``64``.
        z_dim (int): noise size. Default: ``4``.
        lr (float): Adam learning rate (betas 0.5, 0.999). Default: ``2e-3``.
        n_samples (int): outputs measured per loss. Default: ``512``.

    Returns:
        dict: ``answers`` (Tensor[9, 3, 1, 9]) and, per loss in ``("l2", "l1", "gan")``, a dict with
        ``to_nearest`` (median RMS distance of an output to its closest valid answer), ``to_mean``
        (median RMS distance to the mean of the answers), ``to_median`` (to their per-pixel median),
        ``hits`` (fraction of outputs within 0.1 of an answer), ``answers_used`` (how many different
        answers those hits are) and ``samples`` (Tensor[8, 3, 1, 9]).
    """
    check_int("seed", seed)
    g = torch.Generator().manual_seed(seed)
    answers = make_one_to_many(1).answers  # (K, 3, 1, W)
    k, dim = answers.shape[0], answers[0].numel()
    mean, median = answers.mean(0, keepdim=True), answers.median(0, keepdim=True).values
    result: dict = {"answers": answers}
    for loss in LOSSES:
        torch.manual_seed(seed)
        gen = ConditionalMLP(z_dim, dim, hidden=64, out_activation="tanh")
        opt_g = torch.optim.Adam(gen.parameters(), lr=lr, betas=(0.5, 0.999))
        if loss == "gan":
            disc = ConditionalMLP(dim, 1, hidden=64)
            opt_d = torch.optim.Adam(disc.parameters(), lr=lr, betas=(0.5, 0.999))
        for _ in range(steps if loss == "gan" else regression_steps):
            targets = answers[torch.randint(k, (batch,), generator=g)].flatten(1)  # (B, 27)
            z = torch.randn(batch, z_dim, generator=g)
            if loss == "gan":
                gan_step(gen, disc, opt_g, opt_d, targets, z)
            else:
                opt_g.zero_grad(set_to_none=True)
                diff = gen(z) - targets
                (diff.square().mean() if loss == "l2" else diff.abs().mean()).backward()
                opt_g.step()
        with torch.no_grad():
            outputs = gen(torch.randn(n_samples, z_dim, generator=g)).view(-1, *answers.shape[1:])
        nearest = nearest_distance(outputs, answers)  # (n_samples,)
        closest = torch.cdist(outputs.flatten(1), answers.flatten(1)).argmin(dim=1)  # (n_samples,)
        result[loss] = {
            "to_nearest": nearest.median().item(),
            "to_mean": nearest_distance(outputs, mean).median().item(),
            "to_median": nearest_distance(outputs, median).median().item(),
            "hits": (nearest < 0.1).float().mean().item(),
            "answers_used": len(set(closest[nearest < 0.1].tolist())),
            "samples": outputs[:8],
        }
    return result


def experiment_conditional_gan(
    *,
    seed: int = 0,
    steps: int = 400,
    batch: int = 64,
    n_modes: int = 4,
    z_dim: int = 2,
    lr: float = 1e-3,
    n_samples: int = 1024,
) -> dict:
    """Train a conditional and an unconditional GAN on a ring of Gaussians; ask each for given modes.

    Data: :func:`lessons.data.make_ring_mixture` (``n_modes`` modes, std 0.05, radius 1). Both GANs
    are MLPs (:class:`lessons.gan.ConditionalMLP`, 64 units); the conditional one feeds the one-hot
    mode to G and to D. After training, each is asked for ``n_samples`` points, modes ``0 .. K-1`` in
    turn; the unconditional G cannot be told, so it gets the same noise only.

    Args:
        seed (int): seeds everything. Default: ``0``.
        steps (int): iterations. Default: ``400``.
        batch (int): batch size. Default: ``64``.
        n_modes (int): ``K``. Default: ``4``.
        z_dim (int): noise size. Default: ``2``.
        lr (float): Adam learning rate (betas 0.5, 0.999). Default: ``1e-3``.
        n_samples (int): points measured. Default: ``1024``.

    Returns:
        dict: ``centres`` (Tensor[K, 2]), ``real`` (Tensor[512, 2]) and per ``"conditional"`` /
        ``"unconditional"``: ``accuracy`` (:func:`mode_accuracy` against the requested
        mode), ``on_a_mode`` (fraction within 0.2 of some centre, i.e. realistic), ``points``
        (Tensor[n_samples, 2]) and ``labels`` (Tensor[n_samples]).
    """
    check_int("seed", seed)
    g = torch.Generator().manual_seed(seed)
    pool = make_ring_mixture(steps * batch, n_modes=n_modes, seed=g)
    result: dict = {"centres": pool.centres, "real": pool.points[:512]}
    for name in ("conditional", "unconditional"):
        k = n_modes if name == "conditional" else 0
        torch.manual_seed(seed)
        gen = ConditionalMLP(z_dim, 2, n_classes=k, hidden=64)
        disc = ConditionalMLP(2, 1, n_classes=k, hidden=64)
        opt_g = torch.optim.Adam(gen.parameters(), lr=lr, betas=(0.5, 0.999))
        opt_d = torch.optim.Adam(disc.parameters(), lr=lr, betas=(0.5, 0.999))
        for step in range(steps):
            rows = slice(step * batch, (step + 1) * batch)
            labels = pool.modes[rows] if k else None
            gan_step(gen, disc, opt_g, opt_d, pool.points[rows], torch.randn(batch, z_dim, generator=g), labels)
        asked = torch.arange(n_modes).repeat(n_samples // n_modes)  # (n_samples,)
        with torch.no_grad():
            points = gen(torch.randn(asked.shape[0], z_dim, generator=g), asked if k else None)
        near = torch.cdist(points, pool.centres).min(dim=1).values
        result[name] = {
            "accuracy": mode_accuracy(points, asked, pool.centres).item(),
            "on_a_mode": (near < 0.2).float().mean().item(),
            "points": points,
            "labels": asked,
        }
    return result


SR_MODES = ("bilinear", "L1", "L1 + adversarial")


def experiment_super_resolution(
    *,
    seed: int = 0,
    steps: int = 200,
    fine_tune_steps: int = 300,
    batch: int = 16,
    n_train: int = 256,
    n_test: int = 64,
    lr: float = 1e-3,
    adversarial_weight: float = 0.05,
) -> dict:
    """×4 super-resolution: bilinear upsampling, a generator trained with L1, and one with L1 + a GAN term.

    Data: :func:`lessons.data.make_sr_pairs` (32x32 crops, half procedural textures with periods of
    4-8 px, half crops of matplotlib's photos; 8x8 inputs by block averaging). The generator is
    :class:`lessons.gan.SRGenerator` (16 features, two residual blocks). As in SRGAN, the adversarial
    model starts from the pixel-loss model: one generator is trained ``steps`` steps with L1, then two
    copies are trained ``fine_tune_steps`` more steps each, on the same batches, one with L1 alone and one
    with :func:`lessons.gan.super_resolution_loss` ``L1 + adversarial_weight * (-log D(G(x)))`` against
    an unconditional PatchGAN (:func:`lessons.cycle.patch_discriminator`, 16 filters, 3 layers, no
    normalization) trained alongside. Adam (betas 0.5, 0.999) for the fine-tuning, as pix2pix.

    Args:
        seed (int): seeds everything. Default: ``0``.
        steps (int): L1 steps shared by both generators (Adam, betas 0.9, 0.999). Default: ``200``.
        fine_tune_steps (int): further steps of each generator. Default: ``300``.
        batch (int): batch size. Default: ``16``.
        n_train (int): training pairs. Default: ``256``.
        n_test (int): held-out pairs. Default: ``64``.
        lr (float): learning rate of the generators and the discriminator. Default: ``1e-3``.
        adversarial_weight (float): weight of the adversarial term. Default: ``0.05`` (SRGAN's ``1e-3``
            is tuned against a VGG feature loss of another scale; at this one it changes nothing in a few
            hundred steps).

    Returns:
        dict: ``test`` (:class:`lessons.data.SRPairs`), ``min_frequency`` (the first frequency the 8x8 input
        cannot hold, 5 cycles per image) and per mode of :data:`SR_MODES`: ``psnr`` (mean dB over the test
        images), ``sharpness`` (:func:`sharpness_ratio`), ``spectral_gap`` (:func:`spectral_gap` from
        ``min_frequency``), ``spectrum`` (Tensor[17], the batch's :func:`radial_power_spectrum`) and
        ``outputs`` (Tensor[8, 3, 32, 32]); ``ground truth`` holds the truth's ``spectrum``.
    """
    check_int("seed", seed)
    check_positive("adversarial_weight", adversarial_weight)
    g = torch.Generator().manual_seed(seed)
    train = make_sr_pairs(n_train, seed=g)
    test = make_sr_pairs(n_test, seed=g)
    torch.manual_seed(seed)
    pretrained = SRGenerator(3, nf=16, n_blocks=2)
    opt = torch.optim.Adam(pretrained.parameters(), lr=lr)
    for _ in range(steps):
        idx = torch.randint(n_train, (batch,), generator=g)
        opt.zero_grad(set_to_none=True)
        super_resolution_loss(pretrained(train.lr[idx]), train.hr[idx], pixel_loss="l1").backward()
        opt.step()
    outputs = {"bilinear": F.interpolate(test.lr, scale_factor=4, mode="bilinear", align_corners=False)}
    for mode in SR_MODES[1:]:
        gen = copy.deepcopy(pretrained)
        opt_g = torch.optim.Adam(gen.parameters(), lr=lr, betas=(0.5, 0.999))
        batches = torch.Generator().manual_seed(seed + 1)  # the same batches for both
        if mode == "L1 + adversarial":
            torch.manual_seed(seed + 1)
            disc = patch_discriminator(3, ndf=16, n_layers=3, norm="none")
            opt_d = torch.optim.Adam(disc.parameters(), lr=lr, betas=(0.5, 0.999))
        for _ in range(fine_tune_steps):
            idx = torch.randint(n_train, (batch,), generator=batches)
            lo, hi = train.lr[idx], train.hr[idx]
            sr = gen(lo)
            pred_fake = None
            if mode == "L1 + adversarial":
                opt_d.zero_grad(set_to_none=True)
                loss_d = 0.5 * (
                    gan_loss(disc(hi), True, gan_mode="vanilla")
                    + gan_loss(disc(sr.detach()), False, gan_mode="vanilla")
                )
                loss_d.backward()
                opt_d.step()
                pred_fake = disc(sr)
            opt_g.zero_grad(set_to_none=True)
            super_resolution_loss(sr, hi, pred_fake, pixel_loss="l1", adversarial_weight=adversarial_weight).backward()
            opt_g.step()
        with torch.no_grad():
            outputs[mode] = gen(test.lr)
    min_frequency = test.lr.shape[-1] // 2 + 1
    result: dict = {
        "test": test,
        "min_frequency": min_frequency,
        "ground truth": {"spectrum": radial_power_spectrum(test.hr).mean(dim=0)},
    }
    for name, out in outputs.items():
        result[name] = {
            "psnr": psnr(out, test.hr).mean().item(),
            "sharpness": sharpness_ratio(out, test.hr).item(),
            "spectral_gap": spectral_gap(out, test.hr, min_frequency=min_frequency).item(),
            "spectrum": radial_power_spectrum(out).mean(dim=0),
            "outputs": out[:8],
        }
    return result


def experiment_pix2pix(
    *,
    seed: int = 0,
    steps: int = 200,
    batch: int = 16,
    n_train: int = 512,
    n_test: int = 128,
    lambda_l1: float = 100.0,
    lr: float = 2e-3,
) -> dict:
    """pix2pix on edges -> striped shapes (16x16) with three objectives, same networks and budget.

    ``"L1 only"`` (``gan_weight = 0``), ``"cGAN only"`` (``lambda_l1 = 0``) and ``"L1 + cGAN"``
    (``lambda_l1``), each from the same initialization (:func:`lessons.gan.make_pix2pix`) and the same
    batches. Scored on held-out pairs: the L1 distance to the ground truth (faithfulness) and
    :func:`sharpness_ratio` (fine detail relative to the ground truth, 1 = as sharp).

    Args:
        seed (int): seeds everything. Default: ``0``.
        steps (int): iterations per objective. Default: ``200``.
        batch (int): batch size. Default: ``16``.
        n_train (int): training pairs. Default: ``512``.
        n_test (int): held-out pairs. Default: ``128``.
        lambda_l1 (float): λ of "L1 + cGAN". Default: ``100.0`` (pix2pix).
        lr (float): Adam learning rate for G and D (beta1 0.5). Default: ``2e-3``, ten times the
            reference's, because we train 200 steps rather than 200 epochs.

    Returns:
        dict: ``test`` (the held-out :class:`lessons.data.EdgePairs`) and per mode of
        :data:`PIX2PIX_MODES`: ``l1`` (mean absolute error to the ground truth), ``sharpness`` and
        ``outputs`` (Tensor[8, 1, 16, 16], the first test outputs, in eval mode).
    """
    check_int("seed", seed)
    g = torch.Generator().manual_seed(seed)
    train = make_edge_shape_pairs(n_train, seed=g)
    test = make_edge_shape_pairs(n_test, seed=g)
    order = torch.randint(n_train, (steps, batch), generator=g)  # the same batches for every mode
    result: dict = {"test": test}
    for mode in PIX2PIX_MODES:
        torch.manual_seed(seed)
        model = make_pix2pix(seed=seed, lr=lr)
        lam = 0.0 if mode == "cGAN only" else lambda_l1
        weight = 0.0 if mode == "L1 only" else 1.0
        for idx in order:
            pix2pix_step(model, train.edges[idx], train.images[idx], lambda_l1=lam, gan_weight=weight)
        model.g.eval()
        with torch.no_grad():
            fake: Tensor = model.g(test.edges)  # (n_test, 1, 16, 16)
        result[mode] = {
            "l1": (fake - test.images).abs().mean().item(),
            "sharpness": sharpness_ratio(fake, test.images).item(),
            "outputs": fake[:8],
        }
    return result

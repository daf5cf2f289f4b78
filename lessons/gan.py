"""Conditional GANs: cGAN, super-resolution with an adversarial term, and pix2pix.

Concept:
    A conditional generative model produces what a condition ``c`` asks for: ``G(z, c)`` instead of
    ``G(z)``, judged by ``D(x, c)``. Trained with a per-pixel L1/L2 loss alone, a generator facing
    several plausible outputs returns their mean (L2) or per-pixel median (L1): a blurry, "safe"
    image. An adversarial loss instead asks that the output be indistinguishable from *some* real
    sample. pix2pix combines both for image-to-image translation: L1 keeps the output on the ground
    truth, the conditional PatchGAN makes it look real.

Papers:
    - Mehdi Mirza, Simon Osindero, "Conditional Generative Adversarial Nets", 2014, arXiv:1411.1784.
    - Phillip Isola, Jun-Yan Zhu, Tinghui Zhou, Alexei A. Efros, "Image-to-Image Translation with
      Conditional Adversarial Networks" (pix2pix), CVPR 2017, arXiv:1611.07004. Reference code:
      ``junyanz/pytorch-CycleGAN-and-pix2pix`` (``models/pix2pix_model.py``, ``models/networks.py``).
    - Christian Ledig et al., "Photo-Realistic Single Image Super-Resolution Using a Generative
      Adversarial Network" (SRGAN), CVPR 2017, arXiv:1609.04802.

Summary:
    :class:`UNetGenerator` (the reference's ``UnetGenerator``); :class:`ConditionalPatchGAN` on
    :func:`discriminator_input` ``= cat(A, B)``; receptive fields from the layer list
    (:func:`receptive_field`, :func:`patchgan_receptive_field`) and measured
    (:func:`measure_receptive_field`); pix2pix's losses (Eq. 4) and training step; a (conditional) GAN
    on vectors (:class:`ConditionalMLP`, :func:`gan_step`); ×4 super-resolution (:class:`SRGenerator`,
    :func:`super_resolution_loss`, defined in :mod:`lessons.super_resolution`). The scores the notebook measures with live in
    :mod:`lessons.experiments.gan`.

Deviations from the papers / reference:
    - The adversarial losses are :func:`lessons.cycle.gan_loss` (the reference's ``GANLoss``); the
      PatchGAN is :func:`lessons.cycle.patch_discriminator`. :func:`make_pix2pix` sizes both for 16x16
      images on a CPU (``ngf = ndf = 8``, 4 U-Net levels, a 2-layer PatchGAN); the reference trains
      ``unet_256`` (8 levels, 64 filters) with the 3-layer 70x70 PatchGAN.
    - Super-resolution's deviations from SRGAN: see :mod:`lessons.super_resolution`.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from lessons._checks import (
    as_generator,
    check_choice,
    check_floating,
    check_floating_pair,
    check_int,
    check_ndim,
    check_non_negative,
    check_positive,
    check_tensor,
    describe,
)
from lessons.cycle import GAN_MODES, NORMS, _norm_layer, gan_loss, init_normal_, patch_discriminator
from lessons.super_resolution import SRGAN_ADVERSARIAL_WEIGHT, SRGenerator, super_resolution_loss

__all__ = [
    "UNetGenerator",
    "discriminator_input",
    "ConditionalPatchGAN",
    "receptive_field",
    "patchgan_receptive_field",
    "measure_receptive_field",
    "pix2pix_generator_loss",
    "pix2pix_discriminator_loss",
    "Pix2PixLosses",
    "pix2pix_losses",
    "Pix2Pix",
    "make_pix2pix",
    "pix2pix_step",
    "ConditionalMLP",
    "gan_step",
    "SRGenerator",
    "super_resolution_loss",
    "SRGAN_ADVERSARIAL_WEIGHT",
]

#: pix2pix's weight of the L1 term (the reference's ``--lambda_L1``).
LAMBDA_L1 = 100.0


# ------------------------------------------------------------------------------------- generator


class _UNetBlock(nn.Module):
    """One level of the U-Net: ``x -> cat(x, up(inner(down(x))))`` (the outermost returns no ``x``)."""

    def __init__(
        self,
        outer: int,
        inner: int,
        sub: nn.Module | None,
        *,
        in_channels: int | None = None,
        outermost: bool = False,
        norm: str = "batch",
        dropout: bool = False,
    ) -> None:
        super().__init__()
        self.outermost = outermost
        bias = norm != "batch"
        in_channels = outer if in_channels is None else in_channels
        down_conv = nn.Conv2d(in_channels, inner, 4, stride=2, padding=1, bias=bias)  # (B, inner, H/2, W/2)
        if outermost:
            up = nn.ConvTranspose2d(inner * 2, outer, 4, stride=2, padding=1)  # (B, outer, H, W)
            layers = [down_conv, sub, nn.ReLU(True), up, nn.Tanh()]
        elif sub is None:  # innermost: no norm on the bottleneck, nothing concatenated below it
            up = nn.ConvTranspose2d(inner, outer, 4, stride=2, padding=1, bias=bias)
            layers = [nn.LeakyReLU(0.2, True), down_conv, nn.ReLU(True), up, _norm_layer(norm, outer)]
        else:
            up = nn.ConvTranspose2d(inner * 2, outer, 4, stride=2, padding=1, bias=bias)
            layers = [
                nn.LeakyReLU(0.2, True),
                down_conv,
                _norm_layer(norm, inner),
                sub,
                nn.ReLU(True),
                up,
                _norm_layer(norm, outer),
            ] + ([nn.Dropout(0.5)] if dropout else [])
        self.model = nn.Sequential(*layers)

    def forward(self, x: Tensor) -> Tensor:
        if self.outermost:
            return self.model(x)
        return torch.cat([x, self.model(x)], dim=1)  # (B, outer + outer, H, W): the skip connection


class UNetGenerator(nn.Module):
    """pix2pix's U-Net: an encoder-decoder whose mirrored layers are joined by skip connections.

    ``num_downs`` stride-2 4x4 convolutions take ``H`` to ``H / 2**num_downs``; as many transposed
    convolutions come back, and each decoder layer also receives the encoder's features of the same
    size (concatenated), so low-level detail such as edge positions need not squeeze through the
    bottleneck. Channels at depth ``i`` are ``ngf * min(2**i, 8)``; the output goes through ``tanh``.

    Args:
        in_channels (int): channels of ``A``. Default: ``3``.
        out_channels (int): channels of ``B``. Default: ``3``.
        num_downs (int): levels, ``>= 2``; ``H`` and ``W`` must be multiples of ``2**num_downs``.
            Default: ``8`` (``unet_256``: 256 -> 1).
        ngf (int): filters of the outermost layer. Default: ``64``.
        norm (str): one of :data:`lessons.cycle.NORMS`. Default: ``"batch"`` (pix2pix).
        use_dropout (bool): dropout 0.5 in the middle levels (depth ``>= 4`` below the bottleneck), the
            reference's only source of randomness. Default: ``False``.

    Shape:
        ``(B, in_channels, H, W) -> (B, out_channels, H, W)``, values in ``[-1, 1]``.

    Example:
        >>> UNetGenerator(1, 3, num_downs=3, ngf=4)(torch.zeros(2, 1, 16, 16)).shape
        torch.Size([2, 3, 16, 16])
    """

    def __init__(
        self,
        in_channels: int = 3,
        out_channels: int = 3,
        *,
        num_downs: int = 8,
        ngf: int = 64,
        norm: str = "batch",
        use_dropout: bool = False,
    ) -> None:
        super().__init__()
        for name, value in (("in_channels", in_channels), ("out_channels", out_channels), ("ngf", ngf)):
            check_int(name, value, minimum=1)
        check_int("num_downs", num_downs, minimum=2)
        check_choice("norm", norm, NORMS)
        self.num_downs = num_downs
        width = [ngf * min(2**i, 8) for i in range(num_downs)]  # inner channels of level i
        block = None
        for i in reversed(range(1, num_downs)):  # build from the bottleneck outwards
            block = _UNetBlock(width[i - 1], width[i], block, norm=norm, dropout=use_dropout and 4 <= i < num_downs - 1)
        self.model = _UNetBlock(out_channels, width[0], block, in_channels=in_channels, outermost=True, norm=norm)

    def forward(self, a: Tensor) -> Tensor:
        check_floating("a", a)
        check_ndim("a", a, 4, "(B, C, H, W)")
        step = 2**self.num_downs
        if a.shape[-1] % step or a.shape[-2] % step:
            raise ValueError(
                f"a: expected H and W to be multiples of 2**num_downs = {step}, got shape {tuple(a.shape)}"
            )
        return self.model(a)


# --------------------------------------------------------------------------------- discriminator


def discriminator_input(a: Tensor, b: Tensor) -> Tensor:
    """What pix2pix's discriminator sees: the condition and the output, stacked along channels.

    ``cat(A, B)`` (the reference's ``torch.cat((real_A, fake_B), 1)``): D judges whether ``B`` is a
    plausible translation *of this* ``A``, not just whether ``B`` looks real.

    Args:
        a (Tensor[B, Ca, H, W]): the conditions (inputs of the generator).
        b (Tensor[B, Cb, H, W]): real or generated outputs.

    Returns:
        Tensor[B, Ca + Cb, H, W]: ``A``'s channels first.

    Example:
        >>> discriminator_input(torch.zeros(2, 1, 4, 4), torch.ones(2, 3, 4, 4)).shape
        torch.Size([2, 4, 4, 4])
    """
    for name, value in (("a", a), ("b", b)):
        check_floating(name, value)
        check_ndim(name, value, 4, "(B, C, H, W)")
    if a.shape[0] != b.shape[0] or a.shape[2:] != b.shape[2:]:
        raise ValueError(f"b: expected the batch size and (H, W) of a {tuple(a.shape)}, got {tuple(b.shape)}")
    return torch.cat([a, b], dim=1)  # (B, Ca + Cb, H, W)


class ConditionalPatchGAN(nn.Module):
    """A PatchGAN that judges pairs: ``D(A, B) = patch_discriminator(cat(A, B))``, one logit per patch.

    Args:
        a_channels, b_channels (int): channels of ``A`` and ``B``. Defaults: 3, 3.
        ndf, n_layers (int): see :func:`lessons.cycle.patch_discriminator`. Defaults: 64, 3.
        norm (str): one of :data:`lessons.cycle.NORMS`. Default: ``"batch"`` (pix2pix).

    Shape:
        ``(B, a_channels, H, W), (B, b_channels, H, W) -> (B, 1, h, w)`` logits.
    """

    def __init__(
        self, a_channels: int = 3, b_channels: int = 3, *, ndf: int = 64, n_layers: int = 3, norm: str = "batch"
    ) -> None:
        super().__init__()
        check_int("a_channels", a_channels, minimum=1)
        check_int("b_channels", b_channels, minimum=1)
        self.net = patch_discriminator(a_channels + b_channels, ndf=ndf, n_layers=n_layers, norm=norm)

    def forward(self, a: Tensor, b: Tensor) -> Tensor:
        return self.net(discriminator_input(a, b))


def receptive_field(net: nn.Module) -> int:
    """The receptive field of a chain of convolutions and poolings, read from its layer list.

    Walk the layers from the output back to the input: a layer with kernel ``k``, stride ``s`` and
    dilation ``d`` turns a field of ``r`` outputs into ``(r - 1) s + d (k - 1) + 1`` inputs. Layers
    without a kernel (activations, norms) leave it alone.

    Args:
        net (nn.Module): layers applied one after the other (``nn.Sequential``); square kernels.

    Returns:
        int: the side in input pixels that one output value depends on.

    Example:
        >>> receptive_field(nn.Sequential(nn.Conv2d(1, 1, 3), nn.Conv2d(1, 1, 3, stride=2), nn.Conv2d(1, 1, 3)))
        9
    """
    if not isinstance(net, nn.Module):
        raise TypeError(f"net: expected an nn.Module, got {describe(net)}")
    field = 1
    for layer in reversed([m for m in net.modules() if isinstance(m, (nn.Conv2d, nn.MaxPool2d, nn.AvgPool2d))]):
        k, s, d = (
            (getattr(layer, n) for n in ("kernel_size", "stride", "dilation"))
            if isinstance(layer, nn.Conv2d)
            else (layer.kernel_size, layer.stride, getattr(layer, "dilation", 1))
        )
        k, s, d = (v[0] if isinstance(v, tuple) else v for v in (k, s, d))
        field = (field - 1) * s + d * (k - 1) + 1
    return field


def patchgan_receptive_field(n_layers: int = 3) -> int:
    """The patch size of :func:`lessons.cycle.patch_discriminator` with ``n_layers``, from its layers.

    Builds the network and applies :func:`receptive_field` to it (``n_layers`` stride-2 4x4 convs,
    then two stride-1 4x4 convs): ``r = 1 -> 4 -> 7 -> 16 -> 34 -> 70 ...``.

    Args:
        n_layers (int): stride-2 layers, ``>= 1``. Default: ``3``.

    Returns:
        int: 16, 34, 70, 142, 286 for ``n_layers`` = 1 .. 5 (pix2pix Sec. 4.4 names 1x1, 16x16,
        70x70 and 286x286 "ImageGANs").

    Example:
        >>> [patchgan_receptive_field(n) for n in (1, 3, 5)]
        [16, 70, 286]
    """
    check_int("n_layers", n_layers, minimum=1)
    return receptive_field(patch_discriminator(1, ndf=1, n_layers=n_layers, norm="none"))


def measure_receptive_field(
    net: nn.Module, in_channels: int, size: int, *, seed: int | torch.Generator = 0
) -> tuple[int, int]:
    """Measure a network's receptive field: backpropagate from its centre output pixel.

    A float64 copy of ``net`` (in eval mode) runs on a random ``(1, in_channels, size, size)`` input;
    the gradient of the centre output value with respect to the input is non-zero exactly on the
    pixels that value depends on (with random weights an exact cancellation has probability 0).
    Instance norm mixes every pixel, so measure networks with ``norm="none"`` or ``"batch"``.

    Args:
        net (nn.Module): ``(1, C, H, W) -> (1, C', h, w)``; not modified.
        in_channels (int): ``C``.
        size (int): input side; the field must fit inside it.
        seed (int | torch.Generator): random source of the input. Default: ``0``.

    Returns:
        tuple[int, int]: height and width of the bounding box of the non-zero gradient.

    Raises:
        ValueError: if the field reaches the border of the input (make ``size`` larger).
    """
    check_int("in_channels", in_channels, minimum=1)
    check_int("size", size, minimum=1)
    g = as_generator("seed", seed)
    probe = copy.deepcopy(net).double().eval()
    x = torch.randn(1, in_channels, size, size, generator=g, dtype=torch.float64, requires_grad=True)
    out = probe(x)  # (1, C', h, w)
    out[0, 0, out.shape[2] // 2, out.shape[3] // 2].backward()
    rows = torch.nonzero(x.grad.abs().sum(dim=(0, 1)).sum(dim=1))[:, 0]  # input rows that matter
    cols = torch.nonzero(x.grad.abs().sum(dim=(0, 1)).sum(dim=0))[:, 0]
    if rows.numel() == 0 or rows[0] == 0 or cols[0] == 0 or rows[-1] == size - 1 or cols[-1] == size - 1:
        raise ValueError(f"size: the receptive field reaches the border of a {size}x{size} input; use a larger size")
    return int(rows[-1] - rows[0] + 1), int(cols[-1] - cols[0] + 1)


# -------------------------------------------------------------------------------------- pix2pix


def _check_logits(name: str, logits: Tensor) -> None:
    """A discriminator's logits, any shape (per patch ``(B, 1, h, w)`` or per sample ``(B, 1)``);
    NaN passes through (not scanned)."""
    check_floating(name, logits)


def pix2pix_generator_loss(
    pred_fake: Tensor,
    fake_b: Tensor,
    real_b: Tensor,
    *,
    lambda_l1: float = LAMBDA_L1,
    gan_weight: float = 1.0,
    gan_mode: str = "vanilla",
) -> Tensor:
    """pix2pix's generator objective: fool D on the pair, and stay close to the ground truth in L1.

    .. math::

        G^* = \\arg\\min_G \\max_D \\; \\mathcal{L}_{cGAN}(G, D) + \\lambda \\mathcal{L}_{L1}(G)   \\quad (Eq. 4)

    with :math:`\\mathcal{L}_{L1} = \\mathbb{E} \\lVert y - G(x) \\rVert_1` (Eq. 3); the generator's side,
    in the reference's non-saturating form::

        gan_weight * gan_loss(D(A, G(A)), real) + lambda_l1 * mean|G(A) - B|

    ``gan_weight = 0`` is "L1 only", ``lambda_l1 = 0`` "cGAN only" (pix2pix Table 1).

    Args:
        pred_fake (Tensor[B, 1, h, w]): ``D(A, G(A))``, logits, *not* detached.
        fake_b (Tensor[B, C, H, W]): ``G(A)``.
        real_b (Tensor[B, C, H, W]): the ground truth ``B``.
        lambda_l1 (float): λ, ``>= 0``. Default: ``100.0`` (the reference's ``--lambda_L1``).
        gan_weight (float): weight of the adversarial term, ``>= 0``. Default: ``1.0``.
        gan_mode (str): one of :data:`lessons.cycle.GAN_MODES`. Default: ``"vanilla"`` (pix2pix).

    Returns:
        Tensor[]: the loss.

    Example:
        >>> b = torch.zeros(1, 1, 2, 2)
        >>> round(pix2pix_generator_loss(torch.zeros(1, 1, 1, 1), b + 0.1, b).item(), 4)  # ln 2 + 100 * 0.1
        10.6931
    """
    _check_logits("pred_fake", pred_fake)
    check_floating_pair("real_b", real_b, "fake_b", fake_b)
    check_non_negative("lambda_l1", lambda_l1)
    check_non_negative("gan_weight", gan_weight)
    l1 = (fake_b - real_b).abs().mean()  # Eq. (3), a mean as in nn.L1Loss
    return gan_weight * gan_loss(pred_fake, True, gan_mode=gan_mode) + lambda_l1 * l1


def pix2pix_discriminator_loss(pred_real: Tensor, pred_fake: Tensor, *, gan_mode: str = "vanilla") -> Tensor:
    """The discriminator's side: ``0.5 * (gan_loss(D(A, B), real) + gan_loss(D(A, G(A)), fake))``.

    The factor 0.5 is the paper's "divide the objective by 2 while optimizing D, which slows down the
    rate at which D learns relative to G" (Sec. 3.3). ``pred_fake`` must come from a *detached*
    ``G(A)`` so that this loss trains D only.

    Args:
        pred_real (Tensor[B, 1, h, w]): ``D(A, B)`` logits.
        pred_fake (Tensor[B, 1, h, w]): ``D(A, G(A).detach())`` logits.
        gan_mode (str): one of :data:`lessons.cycle.GAN_MODES`. Default: ``"vanilla"``.

    Returns:
        Tensor[]: the loss (``ln 2`` for all-zero logits with ``vanilla``).
    """
    _check_logits("pred_real", pred_real)
    _check_logits("pred_fake", pred_fake)
    return 0.5 * (gan_loss(pred_real, True, gan_mode=gan_mode) + gan_loss(pred_fake, False, gan_mode=gan_mode))


class Pix2PixLosses(NamedTuple):
    """The terms of one pix2pix iteration (scalars with their graphs)."""

    generator: Tensor  #: ``gan_weight * generator_gan + lambda_l1 * generator_l1``
    generator_gan: Tensor  #: ``gan_loss(D(A, G(A)), real)``
    generator_l1: Tensor  #: ``mean|G(A) - B|``, unweighted
    discriminator: Tensor  #: :func:`pix2pix_discriminator_loss` on ``G(A).detach()``


def pix2pix_losses(
    discriminator: nn.Module,
    real_a: Tensor,
    real_b: Tensor,
    fake_b: Tensor,
    *,
    lambda_l1: float = LAMBDA_L1,
    gan_weight: float = 1.0,
    gan_mode: str = "vanilla",
) -> Pix2PixLosses:
    """Both sides of pix2pix's objective for one batch (the reference's ``backward_D`` and ``backward_G``).

    Args:
        discriminator (nn.Module): ``D(A, B) -> (B, 1, h, w)``, e.g. :class:`ConditionalPatchGAN`.
        real_a (Tensor[B, Ca, H, W]): inputs ``A``.
        real_b (Tensor[B, Cb, H, W]): ground truths ``B``.
        fake_b (Tensor[B, Cb, H, W]): ``G(A)``, with its graph.
        lambda_l1, gan_weight (float): see :func:`pix2pix_generator_loss`. Defaults: 100.0, 1.0.
        gan_mode (str): one of :data:`lessons.cycle.GAN_MODES`. Default: ``"vanilla"``.

    Returns:
        Pix2PixLosses: ``(generator, generator_gan, generator_l1, discriminator)``.
    """
    check_floating_pair("real_b", real_b, "fake_b", fake_b)
    check_choice("gan_mode", gan_mode, GAN_MODES)
    loss_d = pix2pix_discriminator_loss(
        discriminator(real_a, real_b), discriminator(real_a, fake_b.detach()), gan_mode=gan_mode
    )
    pred_fake = discriminator(real_a, fake_b)
    gan = gan_loss(pred_fake, True, gan_mode=gan_mode)
    loss_g = pix2pix_generator_loss(
        pred_fake, fake_b, real_b, lambda_l1=lambda_l1, gan_weight=gan_weight, gan_mode=gan_mode
    )
    return Pix2PixLosses(loss_g, gan, (fake_b - real_b).abs().mean(), loss_d)


@dataclass
class Pix2Pix:
    """A generator, a conditional discriminator and their Adam optimizers."""

    g: nn.Module
    d: nn.Module
    opt_g: torch.optim.Optimizer
    opt_d: torch.optim.Optimizer


def make_pix2pix(
    a_channels: int = 1,
    b_channels: int = 1,
    *,
    num_downs: int = 4,
    ngf: int = 8,
    ndf: int = 8,
    n_layers: int = 2,
    norm: str = "batch",
    lr: float = 2e-4,
    beta1: float = 0.5,
    seed: int | torch.Generator = 0,
) -> Pix2Pix:
    """Build a CPU-sized pix2pix: :class:`UNetGenerator` + :class:`ConditionalPatchGAN`, normal(0, 0.02) init.

    The defaults suit 16x16 images: a 4-level U-Net (16 -> 1) with 8 filters and a 2-layer PatchGAN
    (34x34 receptive field, so each patch sees the whole 16x16 image plus padding). ``lr = 2e-4``,
    ``beta1 = 0.5`` are the reference's.

    Args:
        a_channels, b_channels (int): channels of ``A`` and ``B``. Defaults: 1, 1.
        num_downs, ngf (int): see :class:`UNetGenerator`. Defaults: 4, 8.
        ndf, n_layers (int): see :class:`ConditionalPatchGAN`. Defaults: 8, 2.
        norm (str): for both networks. Default: ``"batch"``.
        lr (float): Adam learning rate, ``> 0``. Default: ``2e-4``.
        beta1 (float): Adam's first beta. Default: ``0.5``.
        seed (int | torch.Generator): seeds the initialization. Default: ``0``.

    Returns:
        Pix2Pix: the networks in training mode.
    """
    check_positive("lr", lr)
    check_non_negative("beta1", beta1)
    g_init = as_generator("seed", seed)
    g = init_normal_(UNetGenerator(a_channels, b_channels, num_downs=num_downs, ngf=ngf, norm=norm), seed=g_init)
    d = init_normal_(ConditionalPatchGAN(a_channels, b_channels, ndf=ndf, n_layers=n_layers, norm=norm), seed=g_init)
    betas = (float(beta1), 0.999)
    return Pix2Pix(
        g, d, torch.optim.Adam(g.parameters(), lr=lr, betas=betas), torch.optim.Adam(d.parameters(), lr=lr, betas=betas)
    )


def pix2pix_step(
    model: Pix2Pix,
    real_a: Tensor,
    real_b: Tensor,
    *,
    lambda_l1: float = LAMBDA_L1,
    gan_weight: float = 1.0,
    gan_mode: str = "vanilla",
) -> dict[str, float]:
    """One iteration in the reference's order (``Pix2PixModel.optimize_parameters``).

    1. ``fake_b = G(A)``;
    2. D: one Adam step on :func:`pix2pix_discriminator_loss` (real pair vs detached fake pair);
    3. G, with D frozen: one Adam step on :func:`pix2pix_generator_loss`.

    With ``gan_weight = 0`` ("L1 only") step 2 is skipped: D would not influence G.

    Args:
        model (Pix2Pix): updated in place.
        real_a (Tensor[B, Ca, H, W]): inputs.
        real_b (Tensor[B, Cb, H, W]): ground truths.
        lambda_l1, gan_weight (float): see :func:`pix2pix_generator_loss`. Defaults: 100.0, 1.0.
        gan_mode (str): one of :data:`lessons.cycle.GAN_MODES`. Default: ``"vanilla"``.

    Returns:
        dict[str, float]: ``G_GAN``, ``G_L1`` (unweighted), ``G`` (total) and ``D`` (``nan`` when skipped).
    """
    if not isinstance(model, Pix2Pix):
        raise TypeError(f"model: expected a Pix2Pix (see make_pix2pix), got {describe(model)}")
    check_floating("real_a", real_a)
    check_ndim("real_a", real_a, 4, "(B, C, H, W)")
    check_non_negative("lambda_l1", lambda_l1)
    check_non_negative("gan_weight", gan_weight)
    check_choice("gan_mode", gan_mode, GAN_MODES)
    fake_b = model.g(real_a)  # (B, Cb, H, W)
    loss_d = float("nan")
    if gan_weight > 0:
        model.d.requires_grad_(True)
        model.opt_d.zero_grad(set_to_none=True)
        d_loss = pix2pix_discriminator_loss(
            model.d(real_a, real_b), model.d(real_a, fake_b.detach()), gan_mode=gan_mode
        )
        d_loss.backward()
        model.opt_d.step()
        loss_d = d_loss.item()
    model.d.requires_grad_(False)  # G's step must not accumulate gradients in D
    model.opt_g.zero_grad(set_to_none=True)
    pred_fake = model.d(real_a, fake_b) if gan_weight > 0 else fake_b.new_zeros(1, 1, 1, 1)
    gan = gan_loss(pred_fake, True, gan_mode=gan_mode)
    l1 = (fake_b - real_b).abs().mean()
    total = pix2pix_generator_loss(
        pred_fake, fake_b, real_b, lambda_l1=lambda_l1, gan_weight=gan_weight, gan_mode=gan_mode
    )
    total.backward()
    model.opt_g.step()
    model.d.requires_grad_(True)
    return {"G_GAN": gan.item(), "G_L1": l1.item(), "G": total.item(), "D": loss_d}


# ------------------------------------------------------------------------------ GANs on vectors


class ConditionalMLP(nn.Module):
    """An MLP on ``cat(x, one_hot(labels))``: a generator ``G(z, c)`` or a discriminator ``D(x, c)``.

    With ``n_classes = 0`` the labels are not used (an unconditional ``G(z)`` / ``D(x)``): the cGAN of
    Mirza & Osindero 2014 is exactly "feed ``c`` to both networks as an extra input".

    Args:
        in_features, out_features (int): sizes of ``x`` (or ``z``) and of the output.
        n_classes (int): number of conditions, ``>= 0``. Default: ``0``.
        hidden (int): units per hidden layer. Default: ``64``.
        depth (int): hidden layers, ``>= 1``. Default: ``2``.
        out_activation (str): ``"none"`` or ``"tanh"``. Default: ``"none"``.

    Shape:
        ``(N, in_features), labels (N,) int64 -> (N, out_features)``.
    """

    def __init__(
        self,
        in_features: int,
        out_features: int,
        *,
        n_classes: int = 0,
        hidden: int = 64,
        depth: int = 2,
        out_activation: str = "none",
    ) -> None:
        super().__init__()
        for name, value, minimum in (
            ("in_features", in_features, 1),
            ("out_features", out_features, 1),
            ("n_classes", n_classes, 0),
            ("hidden", hidden, 1),
            ("depth", depth, 1),
        ):
            check_int(name, value, minimum=minimum)
        check_choice("out_activation", out_activation, ("none", "tanh"))
        self.n_classes = n_classes
        layers: list[nn.Module] = []
        width = in_features + n_classes
        for _ in range(depth):
            layers += [nn.Linear(width, hidden), nn.LeakyReLU(0.2)]
            width = hidden
        layers.append(nn.Linear(width, out_features))
        if out_activation == "tanh":
            layers.append(nn.Tanh())
        self.net = nn.Sequential(*layers)

    def forward(self, x: Tensor, labels: Tensor | None = None) -> Tensor:
        if self.n_classes:
            if labels is None:
                raise ValueError(f"labels: this network is conditioned on {self.n_classes} classes; pass them")
            x = torch.cat([x, F.one_hot(labels, self.n_classes).to(x.dtype)], dim=1)  # (N, in + K)
        return self.net(x)


def gan_step(
    generator: nn.Module,
    discriminator: nn.Module,
    opt_g: torch.optim.Optimizer,
    opt_d: torch.optim.Optimizer,
    real: Tensor,
    noise: Tensor,
    labels: Tensor | None = None,
    *,
    gan_mode: str = "vanilla",
) -> dict[str, float]:
    """One (conditional) GAN iteration: a D step, then a non-saturating G step.

    ``fake = G(z, c)``; D minimizes ``0.5 (gan(D(x, c), real) + gan(D(fake.detach(), c), fake))``;
    G minimizes ``gan(D(fake, c), real)``. Real and fake share the labels ``c``, so D learns what a
    sample *of class c* looks like (Mirza & Osindero 2014, Eq. 2). ``labels=None`` is the plain GAN.

    Args:
        generator, discriminator (nn.Module): ``G(noise, labels)`` and ``D(x, labels)``.
        opt_g, opt_d (torch.optim.Optimizer): their optimizers.
        real (Tensor[N, D]): real samples.
        noise (Tensor[N, Z]): ``z``.
        labels (Tensor[N] | None): int64 conditions of ``real`` (and of the fakes). Default: ``None``.
        gan_mode (str): one of :data:`lessons.cycle.GAN_MODES`. Default: ``"vanilla"``.

    Returns:
        dict[str, float]: ``G`` and ``D`` losses.
    """
    check_floating("real", real)
    check_floating("noise", noise)
    if labels is not None:
        check_tensor("labels", labels)
    fake = generator(noise, labels)  # (N, D)
    opt_d.zero_grad(set_to_none=True)
    loss_d = pix2pix_discriminator_loss(
        discriminator(real, labels), discriminator(fake.detach(), labels), gan_mode=gan_mode
    )
    loss_d.backward()
    opt_d.step()
    discriminator.requires_grad_(False)
    opt_g.zero_grad(set_to_none=True)
    loss_g = gan_loss(discriminator(fake, labels), True, gan_mode=gan_mode)
    loss_g.backward()
    opt_g.step()
    discriminator.requires_grad_(True)
    return {"G": loss_g.item(), "D": loss_d.item()}

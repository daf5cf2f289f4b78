"""CycleGAN: unpaired image-to-image translation with a cycle-consistency loss.

Concept:
    pix2pix learns ``X -> Y`` from *paired* examples ``(x, y)``; such pairs are expensive or do not
    exist (a photo of the scene Monet painted). CycleGAN learns from two *unpaired* sets: a
    generator ``G: X -> Y`` and a generator ``F: Y -> X``, each with a discriminator (``D_Y``
    judges Y images, ``D_X`` judges X images). The adversarial losses alone only ask that ``G(x)``
    *looks like* some Y image, so ``G`` may ignore its input (mode collapse). The
    cycle-consistency loss asks that translating there and back gives the input again,
    ``F(G(x)) ~ x`` and ``G(F(y)) ~ y``: a self-supervised loss that keeps the content. It asks
    that ``G(x)`` *carry* the content, not that it *show* it: where Y cannot show everything X
    holds, ``G`` learns to hide the rest in faint signals that ``F`` reads back (Chu et al.,
    "CycleGAN, a Master of Steganography", 2017, arXiv:1712.02950; measured in notebook 11).

Paper:
    Jun-Yan Zhu, Taesung Park, Phillip Isola, Alexei A. Efros, "Unpaired Image-to-Image Translation
    using Cycle-Consistent Adversarial Networks", ICCV 2017, arXiv:1703.10593.
    Reference code: ``junyanz/pytorch-CycleGAN-and-pix2pix`` (``models/cycle_gan_model.py``,
    ``models/networks.py``, ``util/image_pool.py``).

Summary:
    - :func:`gan_loss` — the reference's ``GANLoss`` (``vanilla``, ``lsgan``, ``wgangp``), labels
      real = 1, fake = 0, mean over every patch of a PatchGAN output.
    - :func:`cycle_consistency_loss` (Eq. 2, weighted by λ of Eq. 3) and :func:`identity_loss`.
    - :func:`image_pool_query` / :class:`ImagePool` — the history of 50 generated images that the
      discriminators see (Shrivastava et al. 2017); they live in :mod:`lessons.image_pool`.
    - :func:`resnet_generator`, :func:`patch_discriminator`, :func:`init_normal_` — the reference
      networks with every size a parameter, in :mod:`lessons.gan_networks` (shared with pix2pix);
      :func:`make_cycle_gan` builds a CPU-sized set, :func:`cycle_gan_step` updates G, F, D_X, D_Y
      in the reference's order.
    - :func:`translation_error`, :func:`output_diversity` — measure a translation against a known
      ground truth (the course's toy domains know it), and how much its outputs differ.

    The pool and the networks are re-exported here, so ``from lessons.cycle import ImagePool``
    keeps working. Inputs are checked once, at the public door (:func:`cycle_gan_step` then calls
    the losses' private cores); images and discriminator outputs are not scanned for NaN, which
    passes through into the losses.

Deviations from the paper / reference:
    - Names follow the paper: ``G`` (reference ``netG_A``), ``F`` (``netG_B``), ``D_Y``
      (``netD_A``, judges Y = B images), ``D_X`` (``netD_B``).
    - One weight ``λ`` for both cycle directions (the reference has ``lambda_A``, ``lambda_B``,
      both 10 by default).
    - The image pool and the weight initialization draw from the course's ``seed: int |
      torch.Generator`` instead of Python's ``random`` and torch's global generator (same
      probabilities, see :func:`lessons.image_pool.image_pool_query`).
    - :func:`make_cycle_gan` defaults to tiny networks (16x16 images on one CPU thread); the
      builders' own defaults are the reference's (``resnet_9blocks``, ``n_layers_D = 3``, 64 filters).
    - No learning-rate schedule (the reference keeps ``lr`` for 100 epochs, then decays it linearly).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import torch
import torch.nn.functional as nnf  # not F: in this module F is the Y -> X generator
from torch import Tensor, nn

from lessons._checks import (
    as_generator,
    check_choice,
    check_floating,
    check_ndim,
    check_non_negative,
    check_positive,
    check_same_device,
    check_same_dtype,
    describe,
)
from lessons.gan_networks import (  # re-exported: notebooks and lessons.gan import them from here
    NORMS,
    ResnetBlock,
    _norm_layer,  # noqa: F401  (lessons.gan builds its U-Net with it)
    init_normal_,
    patch_discriminator,
    patch_receptive_field,
    resnet_generator,
)
from lessons.image_pool import ImagePool, image_pool_query

__all__ = [
    "GAN_MODES",
    "NORMS",
    "gan_loss",
    "cycle_consistency_loss",
    "identity_loss",
    "image_pool_query",
    "ImagePool",
    "ResnetBlock",
    "resnet_generator",
    "patch_discriminator",
    "patch_receptive_field",
    "init_normal_",
    "CycleGAN",
    "make_cycle_gan",
    "cycle_gan_step",
    "translation_error",
    "output_diversity",
]

#: The adversarial objectives :func:`gan_loss` knows (the reference's ``--gan_mode``).
GAN_MODES = ("vanilla", "lsgan", "wgangp")

# the reference's GANLoss labels: real_label = 1.0, fake_label = 0.0
_REAL_LABEL = 1.0
_FAKE_LABEL = 0.0


# ----------------------------------------------------------------------------------------- losses


def gan_loss(prediction: Tensor, target_is_real: bool, *, gan_mode: str = "lsgan") -> Tensor:
    """The adversarial loss of one discriminator output, as the reference's ``GANLoss`` computes it.

    The target is ``1.0`` everywhere for ``target_is_real=True`` and ``0.0`` otherwise, expanded to
    the prediction's shape, so a PatchGAN's ``(B, 1, h, w)`` map is averaged over all its patches.

    - ``vanilla``: binary cross-entropy on logits, the GAN of Goodfellow et al. and Eq. (1)::

          L_GAN(G, D_Y, X, Y) = E_y[log D_Y(y)] + E_x[log(1 - D_Y(G(x)))]          (Eq. 1)

      ``gan_loss(D(y), True) + gan_loss(D(G(x)), False)`` is ``-L_GAN`` with ``D = sigmoid(logits)``;
      the generator minimizes ``gan_loss(D(G(x)), True) = -E[log D(G(x))]`` (the non-saturating form).
    - ``lsgan`` (CycleGAN's choice, Sec. 4 "Training details"; Mao et al. 2017): mean squared
      error, D minimizes ``E_y[(D(y) - 1)^2] + E_x[D(G(x))^2]`` and G minimizes
      ``E_x[(D(G(x)) - 1)^2]``.
    - ``wgangp``: ``-mean(prediction)`` for real, ``mean(prediction)`` for fake (the gradient
      penalty itself is not part of this loss).

    Args:
        prediction (Tensor[B, 1, h, w] or any shape): discriminator outputs, raw (no sigmoid).
        target_is_real (bool): ``True`` to score against the real label ``1.0``, ``False`` for
            the fake label ``0.0``.
        gan_mode (str): one of :data:`GAN_MODES`. Default: ``"lsgan"`` (the reference's default).

    Returns:
        Tensor[] : the loss, a scalar.

    Example:
        >>> p = torch.zeros(1, 1, 30, 30)
        >>> round(gan_loss(p, True, gan_mode="vanilla").item(), 6)   # ln 2
        0.693147
        >>> gan_loss(p, True, gan_mode="lsgan").item()
        1.0
    """
    check_floating("prediction", prediction)
    if prediction.numel() == 0:
        raise ValueError(f"prediction: expected at least one element, got {describe(prediction)}")
    if not isinstance(target_is_real, bool):
        raise TypeError(f"target_is_real: expected a bool, got {describe(target_is_real)}")
    check_choice("gan_mode", gan_mode, GAN_MODES)
    return _gan_loss(prediction, target_is_real, gan_mode)


def _gan_loss(prediction: Tensor, target_is_real: bool, gan_mode: str) -> Tensor:
    """:func:`gan_loss` without the checks."""
    if gan_mode == "wgangp":
        return -prediction.mean() if target_is_real else prediction.mean()
    label = _REAL_LABEL if target_is_real else _FAKE_LABEL
    target = torch.full_like(prediction, label)  # the reference's label.expand_as(prediction)
    if gan_mode == "lsgan":
        return nnf.mse_loss(prediction, target)
    return nnf.binary_cross_entropy_with_logits(prediction, target)


def _check_image_pair(name_real: str, real: Tensor, name_other: str, other: Tensor) -> None:
    """Both floating (B, C, H, W) tensors of one shape, dtype and device, with at least one pixel."""
    for name, value in ((name_real, real), (name_other, other)):
        check_floating(name, value)
        check_ndim(name, value, 4, "(B, C, H, W)")
        if value.numel() == 0:
            raise ValueError(f"{name}: expected a non-empty batch of images, got {describe(value)}")
    if real.shape != other.shape:
        raise ValueError(
            f"{name_other}: expected the same shape as {name_real} {tuple(real.shape)}, got {tuple(other.shape)}"
        )
    check_same_dtype(name_other, other, name_real, real)
    check_same_device(name_other, other, name_real, real)


def cycle_consistency_loss(
    real_x: Tensor,
    reconstructed_x: Tensor,
    real_y: Tensor,
    reconstructed_y: Tensor,
    *,
    weight: float = 10.0,
) -> Tensor:
    """The cycle-consistency loss: there and back again must give the input.

    .. math::

        \\mathcal{L}_{cyc}(G, F) = \\mathbb{E}_x \\lVert F(G(x)) - x \\rVert_1
                                  + \\mathbb{E}_y \\lVert G(F(y)) - y \\rVert_1      \\quad (Eq. 2)

    returned multiplied by ``weight`` (λ of the full objective, Eq. 3:
    ``L = L_GAN(G, D_Y) + L_GAN(F, D_X) + λ L_cyc``)::

        weight * (mean|reconstructed_x - real_x| + mean|reconstructed_y - real_y|)

    It needs no labels: the input is its own target (self-supervision).

    Args:
        real_x (Tensor[B, C, H, W]): images of domain X.
        reconstructed_x (Tensor[B, C, H, W]): ``F(G(real_x))``, same shape as ``real_x``.
        real_y (Tensor[B', C', H', W']): images of domain Y (its own batch, any size).
        reconstructed_y (Tensor[B', C', H', W']): ``G(F(real_y))``, same shape as ``real_y``.
        weight (float): λ, ``>= 0``. Default: ``10.0`` (the reference's ``lambda_A = lambda_B``).

    Returns:
        Tensor[] : the weighted loss, a scalar.

    Note:
        The paper writes ``||.||_1`` (a sum over pixels); the reference uses ``nn.L1Loss()``, a
        *mean* over batch, channels and pixels, so λ = 10 is tuned for the mean. We follow the
        reference; the sum would be ``C * H * W`` times larger. The reference also weights each
        direction separately (``lambda_A`` for X -> Y -> X, ``lambda_B`` for Y -> X -> Y); here both
        share ``weight``.
    """
    _check_image_pair("real_x", real_x, "reconstructed_x", reconstructed_x)
    _check_image_pair("real_y", real_y, "reconstructed_y", reconstructed_y)
    check_same_dtype("real_y", real_y, "real_x", real_x)
    check_non_negative("weight", weight)
    return _cycle_consistency_loss(real_x, reconstructed_x, real_y, reconstructed_y, weight)


def _cycle_consistency_loss(
    real_x: Tensor, reconstructed_x: Tensor, real_y: Tensor, reconstructed_y: Tensor, weight: float
) -> Tensor:
    """:func:`cycle_consistency_loss` without the checks."""
    forward_cycle = (reconstructed_x - real_x).abs().mean()  # E_x |F(G(x)) - x|
    backward_cycle = (reconstructed_y - real_y).abs().mean()  # E_y |G(F(y)) - y|
    return weight * (forward_cycle + backward_cycle)


def identity_loss(
    real_x: Tensor,
    mapped_x: Tensor,
    real_y: Tensor,
    mapped_y: Tensor,
    *,
    weight: float = 10.0,
    identity_weight: float = 0.5,
) -> Tensor:
    """The identity loss: a generator fed an image of its *output* domain should leave it alone.

    .. math::

        \\mathcal{L}_{identity}(G, F) = \\mathbb{E}_y \\lVert G(y) - y \\rVert_1
                                       + \\mathbb{E}_x \\lVert F(x) - x \\rVert_1

    (paper Sec. 5.2, "Photo generation from paintings", after Taigman et al. 2017), weighted by
    ``identity_weight * weight`` as the reference does::

        weight * identity_weight * (mean|mapped_x - real_x| + mean|mapped_y - real_y|)

    It keeps colours and overall composition where nothing needs to change (the paper uses it so
    that painting -> photo does not turn a daytime painting into a sunset).

    Args:
        real_x (Tensor[B, C, H, W]): images of domain X.
        mapped_x (Tensor[B, C, H, W]): ``F(real_x)``, the Y -> X generator applied to X images.
        real_y (Tensor[B', C, H', W']): images of domain Y.
        mapped_y (Tensor[B', C, H', W']): ``G(real_y)``, the X -> Y generator applied to Y images.
        weight (float): λ of the cycle loss, ``>= 0``. Default: ``10.0``.
        identity_weight (float): the reference's ``lambda_identity``, a fraction of λ, ``>= 0``.
            Default: ``0.5``, so each term is weighted ``0.5 * 10 = 5``.

    Returns:
        Tensor[] : the weighted loss, a scalar.

    Note:
        The reference weights the term with Y inputs, ``|G_A(B) - B|``, by ``lambda_B *
        lambda_identity`` and the term with X inputs by ``lambda_A * lambda_identity`` — the λ of
        the *input's* cycle, which is the other direction's generator. With one shared ``weight``
        the two conventions agree. Like :func:`cycle_consistency_loss`, means not sums.
    """
    _check_image_pair("real_x", real_x, "mapped_x", mapped_x)
    _check_image_pair("real_y", real_y, "mapped_y", mapped_y)
    check_same_dtype("real_y", real_y, "real_x", real_x)
    check_non_negative("weight", weight)
    check_non_negative("identity_weight", identity_weight)
    return _identity_loss(real_x, mapped_x, real_y, mapped_y, weight, identity_weight)


def _identity_loss(
    real_x: Tensor, mapped_x: Tensor, real_y: Tensor, mapped_y: Tensor, weight: float, identity_weight: float
) -> Tensor:
    """:func:`identity_loss` without the checks."""
    same_x = (mapped_x - real_x).abs().mean()  # E_x |F(x) - x|
    same_y = (mapped_y - real_y).abs().mean()  # E_y |G(y) - y|
    return weight * identity_weight * (same_x + same_y)


# --------------------------------------------------------------------------------------- training


@dataclass
class CycleGAN:
    """The four networks, their two optimizers and the two image pools of one CycleGAN.

    Attributes:
        g (nn.Module): ``G: X -> Y`` (reference ``netG_A``).
        f (nn.Module): ``F: Y -> X`` (reference ``netG_B``).
        d_x (nn.Module): judges X images, real or ``F(y)`` (reference ``netD_B``).
        d_y (nn.Module): judges Y images, real or ``G(x)`` (reference ``netD_A``).
        opt_g (torch.optim.Optimizer): Adam over the parameters of ``g`` and ``f`` together.
        opt_d (torch.optim.Optimizer): Adam over the parameters of ``d_x`` and ``d_y`` together.
        pool_x (ImagePool): history of generated X images, shown to ``d_x``.
        pool_y (ImagePool): history of generated Y images, shown to ``d_y``.
    """

    g: nn.Module
    f: nn.Module
    d_x: nn.Module
    d_y: nn.Module
    opt_g: torch.optim.Optimizer
    opt_d: torch.optim.Optimizer
    pool_x: ImagePool
    pool_y: ImagePool


def make_cycle_gan(
    x_channels: int = 3,
    y_channels: int = 3,
    *,
    ngf: int = 8,
    n_blocks: int = 1,
    n_downsampling: int = 0,
    ndf: int = 8,
    n_layers: int = 1,
    norm: str = "instance",
    lr: float = 2e-4,
    beta1: float = 0.5,
    pool_size: int = 50,
    seed: int | torch.Generator = 0,
) -> CycleGAN:
    """Build G, F, D_X, D_Y, their Adam optimizers and image pools, sized for a CPU by default.

    The defaults make a 16x16 CycleGAN that trains in seconds on one thread: generators with 8
    filters, no downsampling and one residual block; PatchGANs with 8 filters and one stride-2
    layer (16x16 receptive field, a 6x6 map of patches on a 16x16 image). The reference's values
    are ``ngf = ndf = 64``, ``n_blocks = 9``, ``n_downsampling = 2``, ``n_layers = 3``;
    ``lr = 2e-4``, ``beta1 = 0.5`` and ``pool_size = 50`` are the reference's too.

    Args:
        x_channels (int): channels of X images. Default: ``3``.
        y_channels (int): channels of Y images. Default: ``3``.
        ngf, n_blocks, n_downsampling (int): see :func:`resnet_generator`. Defaults: 8, 1, 0.
        ndf, n_layers (int): see :func:`patch_discriminator`. Defaults: 8, 1.
        norm (str): one of :data:`NORMS`, for all four networks. Default: ``"instance"``.
        lr (float): Adam learning rate, ``> 0``. Default: ``2e-4``.
        beta1 (float): Adam's first beta (the second is 0.999). Default: ``0.5``.
        pool_size (int): capacity of each image pool, ``>= 0``. Default: ``50``.
        seed (int | torch.Generator): seeds the weight initialization (:func:`init_normal_`) and
            the pools: an int ``s`` draws the weights from a generator seeded with ``s`` and the pools
            from one seeded with ``s + 1``; a generator is drawn from (the pools from a seed it draws).
            Default: ``0``.

    Returns:
        CycleGAN: the networks in training mode.
    """
    gen = as_generator("seed", seed)
    check_positive("lr", lr)
    check_non_negative("beta1", beta1)
    g = init_normal_(
        resnet_generator(x_channels, y_channels, ngf=ngf, n_blocks=n_blocks, n_downsampling=n_downsampling, norm=norm),
        seed=gen,
    )
    f = init_normal_(
        resnet_generator(y_channels, x_channels, ngf=ngf, n_blocks=n_blocks, n_downsampling=n_downsampling, norm=norm),
        seed=gen,
    )
    d_x = init_normal_(patch_discriminator(x_channels, ndf=ndf, n_layers=n_layers, norm=norm), seed=gen)
    d_y = init_normal_(patch_discriminator(y_channels, ndf=ndf, n_layers=n_layers, norm=norm), seed=gen)
    betas = (float(beta1), 0.999)
    opt_g = torch.optim.Adam(itertools.chain(g.parameters(), f.parameters()), lr=lr, betas=betas)
    opt_d = torch.optim.Adam(itertools.chain(d_x.parameters(), d_y.parameters()), lr=lr, betas=betas)
    pool_seed = seed + 1 if isinstance(seed, int) else int(torch.randint(2**62, (), generator=gen))
    pool_gen = torch.Generator().manual_seed(pool_seed)
    # the two pools share one generator, drawing in turn
    return CycleGAN(
        g, f, d_x, d_y, opt_g, opt_d, ImagePool(pool_size, seed=pool_gen), ImagePool(pool_size, seed=pool_gen)
    )


def _set_requires_grad(nets: tuple[nn.Module, ...], flag: bool) -> None:
    for net in nets:
        for p in net.parameters():
            p.requires_grad_(flag)


def cycle_gan_step(
    model: CycleGAN,
    real_x: Tensor,
    real_y: Tensor,
    *,
    weight: float = 10.0,
    identity_weight: float = 0.5,
    gan_mode: str = "lsgan",
) -> dict[str, float]:
    """One training iteration, in the reference's order (``CycleGANModel.optimize_parameters``).

    1. Forward: ``fake_y = G(x)``, ``rec_x = F(fake_y)``, ``fake_x = F(y)``, ``rec_y = G(fake_x)``.
    2. Generators (discriminators frozen)::

           L_G = gan(D_Y(G(x)), real) + gan(D_X(F(y)), real)
                 + λ (|F(G(x)) - x| + |G(F(y)) - y|) + λ λ_idt (|G(y) - y| + |F(x) - x|)

       one Adam step on G and F together.
    3. Discriminators, each on real images and on pooled, detached fakes::

           L_D_Y = 0.5 (gan(D_Y(y), real) + gan(D_Y(pool_y(G(x))), fake))   (likewise L_D_X)

       (the 0.5 slows D relative to G), one Adam step on D_X and D_Y together.

    ``weight = 0`` trains with the adversarial losses only (the identity loss, ``λ λ_idt``, is then
    off too, as in the reference).

    Args:
        model (CycleGAN): networks, optimizers and pools, updated in place.
        real_x (Tensor[B, C, H, W]): a batch of X images in [-1, 1].
        real_y (Tensor[B', C', H, W]): a batch of Y images, sampled independently of ``real_x``.
        weight (float): λ of the cycle loss, ``>= 0``. Default: ``10.0``.
        identity_weight (float): ``lambda_identity``, ``>= 0``; needs ``C == C'``. Default: ``0.5``.
        gan_mode (str): one of :data:`GAN_MODES`. Default: ``"lsgan"``.

    Returns:
        dict[str, float]: ``G`` and ``F`` (adversarial terms of the generators), ``cycle_x``
        (``mean|F(G(x)) - x|``) and ``cycle_y`` (``mean|G(F(y)) - y|``), both unweighted and
        reported even when ``weight = 0``; ``identity`` (weighted, 0 when off); ``total_G``;
        ``D_X`` and ``D_Y``.
    """
    if not isinstance(model, CycleGAN):
        raise TypeError(f"model: expected a CycleGAN (see make_cycle_gan), got {describe(model)}")
    for name, value in (("real_x", real_x), ("real_y", real_y)):
        check_floating(name, value)
        check_ndim(name, value, 4, "(B, C, H, W)")
        if value.numel() == 0:
            raise ValueError(f"{name}: expected a non-empty batch of images, got {describe(value)}")
    check_same_dtype("real_y", real_y, "real_x", real_x)
    check_same_device("real_y", real_y, "real_x", real_x)
    check_non_negative("weight", weight)
    check_non_negative("identity_weight", identity_weight)
    check_choice("gan_mode", gan_mode, GAN_MODES)
    use_identity = weight * identity_weight > 0
    if use_identity and real_x.shape[1] != real_y.shape[1]:
        raise ValueError(
            f"identity_weight: the identity loss feeds Y images to G: X -> Y, so it needs as many "
            f"channels in X as in Y; got {real_x.shape[1]} and {real_y.shape[1]}. Pass identity_weight=0."
        )
    g, f, d_x, d_y = model.g, model.f, model.d_x, model.d_y

    # 1. forward: both cycles (without the cycle loss they are only measured, not trained)
    fake_y = g(real_x)  # (B, C', H, W)  G(x)
    fake_x = f(real_y)  # (B', C, H, W)  F(y)
    with torch.set_grad_enabled(weight > 0):
        rec_x = f(fake_y)  # (B, C, H, W)    F(G(x))
        rec_y = g(fake_x)  # (B', C', H, W)  G(F(y))

    # 2. generators, with the discriminators frozen (their gradients are not needed here)
    _set_requires_grad((d_x, d_y), False)
    model.opt_g.zero_grad(set_to_none=True)
    # the inputs were checked above: from here on the private cores, without checking again
    loss_g = _gan_loss(d_y(fake_y), True, gan_mode)  # fool D_Y
    loss_f = _gan_loss(d_x(fake_x), True, gan_mode)  # fool D_X
    cycle_x = (rec_x - real_x).abs().mean()
    cycle_y = (rec_y - real_y).abs().mean()
    loss_cycle = _cycle_consistency_loss(real_x, rec_x, real_y, rec_y, weight)
    if use_identity:
        loss_idt = _identity_loss(real_x, f(real_x), real_y, g(real_y), weight, identity_weight)
    else:
        loss_idt = real_x.new_zeros(())
    total_g = loss_g + loss_f + loss_cycle + loss_idt
    total_g.backward()
    model.opt_g.step()

    # 3. discriminators: real vs pooled fakes (detached: no gradient into G or F)
    _set_requires_grad((d_x, d_y), True)
    model.opt_d.zero_grad(set_to_none=True)
    pooled_y = model.pool_y.query(fake_y.detach())
    loss_d_y = 0.5 * (_gan_loss(d_y(real_y), True, gan_mode) + _gan_loss(d_y(pooled_y), False, gan_mode))
    pooled_x = model.pool_x.query(fake_x.detach())
    loss_d_x = 0.5 * (_gan_loss(d_x(real_x), True, gan_mode) + _gan_loss(d_x(pooled_x), False, gan_mode))
    (loss_d_y + loss_d_x).backward()
    model.opt_d.step()

    return {
        "G": loss_g.item(),
        "F": loss_f.item(),
        "cycle_x": cycle_x.item(),
        "cycle_y": cycle_y.item(),
        "identity": loss_idt.item(),
        "total_G": total_g.item(),
        "D_X": loss_d_x.item(),
        "D_Y": loss_d_y.item(),
    }


# -------------------------------------------------------------------------------------- measuring


def _check_batch(name: str, value: Tensor, minimum: int) -> None:
    check_floating(name, value)
    check_ndim(name, value, 4, "(B, C, H, W)")
    if value.shape[0] < minimum:
        raise ValueError(f"{name}: expected at least {minimum} images, got shape {tuple(value.shape)}")


def translation_error(outputs: Tensor, targets: Tensor) -> Tensor:
    """Per-image mean absolute error against the known true translation.

    Args:
        outputs (Tensor[B, C, H, W]): translated images, e.g. ``G(x)``.
        targets (Tensor[B, C, H, W]): the true translations of the same inputs.

    Returns:
        Tensor[B]: ``mean_{c,h,w} |outputs - targets|`` per image (2.0 is the largest possible
        error for images in [-1, 1]).
    """
    _check_image_pair("targets", targets, "outputs", outputs)
    return (outputs - targets).abs().flatten(1).mean(dim=1)  # (B,)


def output_diversity(images: Tensor) -> Tensor:
    """How different a batch of images are from each other: the mean pairwise L1 distance.

    ``(1 / (B (B - 1))) * sum_{i != j} mean_{c,h,w} |images_i - images_j|``. A generator that ignores
    its input entirely gives ``0``; compare with the diversity of real images of the target domain.

    Args:
        images (Tensor[B, C, H, W]): ``B >= 2`` images, e.g. ``G(x)`` for B different inputs.

    Returns:
        Tensor[] : the mean distance, a scalar in the images' dtype.

    Note:
        A low value reveals a collapse, a normal value does not rule one out: pixel distances are
        dominated by what covers many pixels (where a shape is), so outputs that follow the input's
        layout but have all lost its colour still look diverse. Notebook 11 measures both.
    """
    _check_batch("images", images, 2)
    flat = images.flatten(1).double()  # (B, C*H*W)
    distances = torch.cdist(flat, flat, p=1) / flat.shape[1]  # (B, B), zero diagonal
    b = images.shape[0]
    return (distances.sum() / (b * (b - 1))).to(images.dtype)

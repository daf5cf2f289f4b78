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
      discriminators see (Shrivastava et al. 2017).
    - :func:`resnet_generator`, :func:`patch_discriminator` — the reference networks with every size
      a parameter; :func:`make_cycle_gan` builds a CPU-sized set, :func:`cycle_gan_step` updates
      G, F, D_X, D_Y in the reference's order.
    - :func:`translation_error`, :func:`output_diversity` — measure a translation against a known
      ground truth (the course's toy domains know it), and how much its outputs differ.

Deviations from the paper / reference:
    - Names follow the paper: ``G`` (reference ``netG_A``), ``F`` (``netG_B``), ``D_Y``
      (``netD_A``, judges Y = B images), ``D_X`` (``netD_B``).
    - One weight ``λ`` for both cycle directions (the reference has ``lambda_A``, ``lambda_B``,
      both 10 by default).
    - The image pool draws from an explicit :class:`torch.Generator` instead of Python's ``random``
      (same probabilities, see :func:`image_pool_query`).
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
    check_tensor,
    describe,
)

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
#: The normalization layers the networks can use (the reference's ``--norm``).
NORMS = ("instance", "batch", "none")

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
            f"{name_other}: expected the same shape as {name_real} {tuple(real.shape)}, "
            f"got {tuple(other.shape)}"
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
    same_x = (mapped_x - real_x).abs().mean()  # E_x |F(x) - x|
    same_y = (mapped_y - real_y).abs().mean()  # E_y |G(y) - y|
    return weight * identity_weight * (same_x + same_y)


# ------------------------------------------------------------------------------------- image pool


def _check_pool_size(pool_size: object) -> int:
    if isinstance(pool_size, bool) or not isinstance(pool_size, int):
        raise TypeError(f"pool_size: expected an int, got {describe(pool_size)}")
    if pool_size < 0:
        raise ValueError(f"pool_size: expected an int >= 0, got {pool_size}")
    return pool_size


def image_pool_query(
    images: Tensor,
    pool: Tensor,
    *,
    pool_size: int = 50,
    generator: torch.Generator | None = None,
) -> tuple[Tensor, Tensor]:
    """The images a discriminator sees instead of the newest fakes, and the updated history.

    A discriminator trained only on the latest generator's output can forget what older fakes
    looked like, and the generator can then go back to them (the two chase each other). The
    reference keeps a history of up to ``pool_size`` generated images (Shrivastava et al. 2017,
    CycleGAN Sec. 4) and, image by image, in batch order:

    1. while the history holds fewer than ``pool_size`` images: store the image, return it;
    2. once full: draw ``u ~ U[0, 1)``; if ``u > 0.5`` draw a slot ``k`` uniformly in
       ``0 .. pool_size - 1``, return the stored image ``k`` and store the new image in its place;
       otherwise return the new image.

    So after warm-up half the returned images (on average) come from the history.

    Args:
        images (Tensor[B, C, H, W]): the latest generated images.
        pool (Tensor[M, C, H, W]): the history so far, ``0 <= M <= pool_size``; ``M = 0`` at the
            start (``images.new_empty(0, C, H, W)``). Not modified.
        pool_size (int): capacity, ``>= 0``. ``0`` turns the pool off: ``images`` is returned
            unchanged. Default: ``50`` (the reference's CycleGAN default; pix2pix uses 0).
        generator (torch.Generator | None): the random source, for reproducible runs. ``None``
            uses torch's global generator. Default: ``None``.

    Returns:
        tuple[Tensor[B, C, H, W], Tensor[M', C, H, W]]: the images to show the discriminator
        (detached, like the reference's ``image.data``) and the new history,
        ``M' = min(pool_size, M + B)``.

    Note:
        The reference draws with Python's ``random``: ``random.uniform(0, 1) > 0.5`` and
        ``random.randint(0, pool_size - 1)`` (inclusive). Here, for each image once the pool is
        full, ``torch.rand((), generator=generator) > 0.5`` and, only then,
        ``torch.randint(pool_size, (), generator=generator)`` (exclusive upper end) — the same
        probabilities and the same number of draws in the same order, so a seeded generator makes
        the pool deterministic. A slot replaced earlier in the batch can be drawn again, so an image
        of this very batch may come back in place of a later one, as in the reference.
    """
    check_floating("images", images)
    check_ndim("images", images, 4, "(B, C, H, W)")
    check_tensor("pool", pool)
    check_ndim("pool", pool, 4, "(M, C, H, W)")
    pool_size = _check_pool_size(pool_size)
    if generator is not None and not isinstance(generator, torch.Generator):
        raise TypeError(f"generator: expected a torch.Generator or None, got {describe(generator)}")
    if pool_size == 0:  # no history: the identity, as in the reference
        return images, pool
    if images.shape[0] == 0:  # nothing to show, nothing to store
        return images.detach(), pool.detach().clone()
    if pool.shape[0] > pool_size:
        raise ValueError(f"pool: expected at most pool_size={pool_size} images, got {pool.shape[0]}")
    if pool.shape[0] > 0 and pool.shape[1:] != images.shape[1:]:
        raise ValueError(
            f"pool: expected images of shape (C, H, W) = {tuple(images.shape[1:])} like images, "
            f"got {tuple(pool.shape[1:])}"
        )
    if pool.shape[0] > 0:
        check_same_dtype("pool", pool, "images", images)

    stored = list(pool.detach().clone())  # M tensors (C, H, W); the caller's pool stays unchanged
    returned = []
    for image in images.detach():  # (C, H, W), one image at a time, in batch order
        if len(stored) < pool_size:  # warm-up: keep it and show it
            stored.append(image.clone())
            returned.append(image)
        elif torch.rand((), generator=generator).item() > 0.5:  # reference: random.uniform(0, 1) > 0.5
            slot = int(torch.randint(pool_size, (), generator=generator))  # randint(0, pool_size - 1)
            returned.append(stored[slot])
            stored[slot] = image.clone()
        else:
            returned.append(image)
    new_pool = torch.stack(stored) if stored else pool.detach().clone()  # (M', C, H, W)
    return torch.stack(returned), new_pool  # (B, C, H, W), (M', C, H, W)


class ImagePool:
    """A stateful wrapper around :func:`image_pool_query` (the reference's ``ImagePool``).

    Args:
        pool_size (int): capacity, ``>= 0``; ``0`` passes images through. Default: ``50``.
        generator (torch.Generator | None): random source for the 50/50 draws. Default: ``None``
            (torch's global generator).

    Example:
        >>> pool = ImagePool(2, generator=torch.Generator().manual_seed(0))
        >>> pool.query(torch.zeros(3, 1, 2, 2)).shape, len(pool)
        (torch.Size([3, 1, 2, 2]), 2)
    """

    def __init__(self, pool_size: int = 50, *, generator: torch.Generator | None = None) -> None:
        self.pool_size = _check_pool_size(pool_size)
        if generator is not None and not isinstance(generator, torch.Generator):
            raise TypeError(f"generator: expected a torch.Generator or None, got {describe(generator)}")
        self.generator = generator
        self.images: Tensor | None = None  # (M, C, H, W) once the first batch arrives

    def __len__(self) -> int:
        return 0 if self.images is None else int(self.images.shape[0])

    def query(self, images: Tensor) -> Tensor:
        """Return as many images as given, mixing in stored ones; see :func:`image_pool_query`."""
        check_floating("images", images)
        check_ndim("images", images, 4, "(B, C, H, W)")
        pool = images.new_empty((0, *images.shape[1:])) if self.images is None else self.images
        returned, self.images = image_pool_query(
            images, pool, pool_size=self.pool_size, generator=self.generator
        )
        return returned


# --------------------------------------------------------------------------------------- networks


def _norm_layer(norm: str, channels: int) -> nn.Module:
    if norm == "instance":  # the reference: affine=False, track_running_stats=False
        return nn.InstanceNorm2d(channels, affine=False, track_running_stats=False)
    if norm == "batch":
        return nn.BatchNorm2d(channels, affine=True, track_running_stats=True)
    return nn.Identity()


def _check_count(name: str, value: object, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name}: expected an int, got {describe(value)}")
    if value < minimum:
        raise ValueError(f"{name}: expected an int >= {minimum}, got {value}")
    return value


class ResnetBlock(nn.Module):
    """``x + conv-norm-ReLU-conv-norm(x)`` with 3x3 convolutions and reflection padding.

    Args:
        channels (int): input = output channels.
        norm (str): one of :data:`NORMS`. Default: ``"instance"``.

    Shape:
        ``(B, channels, H, W) -> (B, channels, H, W)``.
    """

    def __init__(self, channels: int, *, norm: str = "instance") -> None:
        super().__init__()
        _check_count("channels", channels, 1)
        check_choice("norm", norm, NORMS)
        bias = norm != "batch"  # the reference: a bias only where no affine norm follows
        self.block = nn.Sequential(
            nn.ReflectionPad2d(1),
            nn.Conv2d(channels, channels, 3, bias=bias),
            _norm_layer(norm, channels),
            nn.ReLU(inplace=True),
            nn.ReflectionPad2d(1),
            nn.Conv2d(channels, channels, 3, bias=bias),
            _norm_layer(norm, channels),
        )

    def forward(self, x: Tensor) -> Tensor:
        return x + self.block(x)  # the residual keeps the input's content by default


def resnet_generator(
    in_channels: int = 3,
    out_channels: int = 3,
    *,
    ngf: int = 64,
    n_blocks: int = 9,
    n_downsampling: int = 2,
    norm: str = "instance",
) -> nn.Sequential:
    """The reference's ``ResnetGenerator`` (after Johnson et al. 2016), every size a parameter.

    ``c7s1-ngf``, ``n_downsampling`` stride-2 3x3 convolutions (channels doubling), ``n_blocks``
    :class:`ResnetBlock`, as many stride-1/2 transposed convolutions back, ``c7s1-out``, ``tanh``::

        (B, in, H, W) -> (B, ngf, H, W) -> (B, ngf * 2**n, H / 2**n, W / 2**n)
                      -> ... blocks ... -> (B, ngf, H, W) -> (B, out, H, W) in [-1, 1]

    Args:
        in_channels (int): input channels. Default: ``3``.
        out_channels (int): output channels. Default: ``3``.
        ngf (int): filters of the first layer. Default: ``64``.
        n_blocks (int): residual blocks at the lowest resolution, ``>= 0``. Default: ``9``
            (``resnet_9blocks``, the reference's CycleGAN default for 256x256; ``6`` for 128x128).
        n_downsampling (int): stride-2 steps, ``>= 0``; H and W must be divisible by
            ``2**n_downsampling``. Default: ``2``.
        norm (str): one of :data:`NORMS`. Default: ``"instance"`` (CycleGAN's ``--norm``).

    Returns:
        nn.Sequential: ``(B, in_channels, H, W) -> (B, out_channels, H, W)``.

    Note:
        Reflection padding needs ``H, W > 3`` for the 7x7 layers and ``H, W / 2**n_downsampling > 1``
        inside the blocks. :func:`make_cycle_gan` uses ``n_downsampling = 0`` on 16x16 images:
        downsampling a 16x16 image buys little receptive field and the transposed convolutions
        that undo it add checkerboard artefacts that a few hundred steps do not remove.
    """
    in_channels = _check_count("in_channels", in_channels, 1)
    out_channels = _check_count("out_channels", out_channels, 1)
    ngf = _check_count("ngf", ngf, 1)
    n_blocks = _check_count("n_blocks", n_blocks, 0)
    n_downsampling = _check_count("n_downsampling", n_downsampling, 0)
    check_choice("norm", norm, NORMS)
    bias = norm != "batch"
    layers: list[nn.Module] = [
        nn.ReflectionPad2d(3),
        nn.Conv2d(in_channels, ngf, 7, bias=bias),  # (B, ngf, H, W)
        _norm_layer(norm, ngf),
        nn.ReLU(inplace=True),
    ]
    for i in range(n_downsampling):
        c = ngf * 2**i
        layers += [
            nn.Conv2d(c, 2 * c, 3, stride=2, padding=1, bias=bias),  # (B, 2c, H/2, W/2)
            _norm_layer(norm, 2 * c),
            nn.ReLU(inplace=True),
        ]
    inner = ngf * 2**n_downsampling
    layers += [ResnetBlock(inner, norm=norm) for _ in range(n_blocks)]
    for i in reversed(range(n_downsampling)):
        c = ngf * 2**i
        layers += [
            nn.ConvTranspose2d(2 * c, c, 3, stride=2, padding=1, output_padding=1, bias=bias),  # (B, c, 2H, 2W)
            _norm_layer(norm, c),
            nn.ReLU(inplace=True),
        ]
    layers += [nn.ReflectionPad2d(3), nn.Conv2d(ngf, out_channels, 7), nn.Tanh()]  # (B, out, H, W)
    return nn.Sequential(*layers)


def patch_discriminator(
    in_channels: int = 3,
    *,
    ndf: int = 64,
    n_layers: int = 3,
    norm: str = "instance",
) -> nn.Sequential:
    """The reference's PatchGAN (``NLayerDiscriminator``): one real/fake logit per image patch.

    All kernels are 4x4 with padding 1: a stride-2 conv (``ndf`` filters, LeakyReLU 0.2, no norm),
    ``n_layers - 1`` stride-2 convs doubling the filters (at most ``8 * ndf``) + norm + LeakyReLU,
    one stride-1 conv + norm + LeakyReLU, and a stride-1 conv to one channel (no sigmoid: use the
    logits with :func:`gan_loss`). A 256x256 input gives a 30x30 map of 70x70 patches
    (:func:`patch_receptive_field`).

    Args:
        in_channels (int): image channels (pix2pix: input + output channels). Default: ``3``.
        ndf (int): filters of the first layer. Default: ``64``.
        n_layers (int): stride-2 layers, ``>= 1``. Default: ``3`` (the 70x70 PatchGAN).
        norm (str): one of :data:`NORMS`. Default: ``"instance"`` (CycleGAN; pix2pix uses
            ``"batch"``).

    Returns:
        nn.Sequential: ``(B, in_channels, H, W) -> (B, 1, h, w)`` with, per stride-2 layer,
        ``H -> H // 2`` and then ``-1`` for each stride-1 layer (256 -> 128 -> 64 -> 32 -> 31 -> 30).
    """
    in_channels = _check_count("in_channels", in_channels, 1)
    ndf = _check_count("ndf", ndf, 1)
    n_layers = _check_count("n_layers", n_layers, 1)
    check_choice("norm", norm, NORMS)
    bias = norm != "batch"
    layers: list[nn.Module] = [
        nn.Conv2d(in_channels, ndf, 4, stride=2, padding=1),  # (B, ndf, H/2, W/2)
        nn.LeakyReLU(0.2, inplace=True),
    ]
    mult = 1
    for n in range(1, n_layers + 1):
        prev, mult = mult, min(2**n, 8)
        stride = 2 if n < n_layers else 1  # the last of these keeps the resolution (minus one)
        layers += [
            nn.Conv2d(ndf * prev, ndf * mult, 4, stride=stride, padding=1, bias=bias),
            _norm_layer(norm, ndf * mult),
            nn.LeakyReLU(0.2, inplace=True),
        ]
    layers += [nn.Conv2d(ndf * mult, 1, 4, stride=1, padding=1)]  # (B, 1, h, w) patch logits
    return nn.Sequential(*layers)


def patch_receptive_field(n_layers: int = 3) -> int:
    """The side in pixels of the input patch each output of :func:`patch_discriminator` sees.

    Walk the layers backwards: a ``k x k`` conv with stride ``s`` turns a field of ``r`` outputs
    into ``(r - 1) * s + k`` inputs. The layers are ``n_layers`` stride-2 convs and two stride-1
    convs, all ``k = 4``.

    Args:
        n_layers (int): as in :func:`patch_discriminator`, ``>= 1``. Default: ``3``.

    Returns:
        int: 16, 34, 70, 142, 286 for ``n_layers`` = 1 .. 5.
    """
    n_layers = _check_count("n_layers", n_layers, 1)
    field = 1
    for stride in [1, 1] + [2] * n_layers:  # output -> input
        field = (field - 1) * stride + 4
    return field


def init_normal_(module: nn.Module, std: float = 0.02, *, generator: torch.Generator | None = None) -> nn.Module:
    """The reference's ``init_type='normal'``: conv weights ``N(0, std)``, biases 0, norm scales ``N(1, std)``.

    Args:
        module (nn.Module): initialized in place, every submodule.
        std (float): standard deviation, ``> 0``. Default: ``0.02``.
        generator (torch.Generator | None): random source. Default: ``None`` (global).

    Returns:
        nn.Module: ``module``, for chaining.
    """
    check_positive("std", std)
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
            nn.init.normal_(m.weight, 0.0, std, generator=generator)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.normal_(m.weight, 1.0, std, generator=generator)
            nn.init.zeros_(m.bias)
    return module


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
    g = init_normal_(resnet_generator(x_channels, y_channels, ngf=ngf, n_blocks=n_blocks,
                                      n_downsampling=n_downsampling, norm=norm), generator=gen)
    f = init_normal_(resnet_generator(y_channels, x_channels, ngf=ngf, n_blocks=n_blocks,
                                      n_downsampling=n_downsampling, norm=norm), generator=gen)
    d_x = init_normal_(patch_discriminator(x_channels, ndf=ndf, n_layers=n_layers, norm=norm), generator=gen)
    d_y = init_normal_(patch_discriminator(y_channels, ndf=ndf, n_layers=n_layers, norm=norm), generator=gen)
    betas = (float(beta1), 0.999)
    opt_g = torch.optim.Adam(itertools.chain(g.parameters(), f.parameters()), lr=lr, betas=betas)
    opt_d = torch.optim.Adam(itertools.chain(d_x.parameters(), d_y.parameters()), lr=lr, betas=betas)
    pool_seed = seed + 1 if isinstance(seed, int) else int(torch.randint(2**62, (), generator=gen))
    pool_gen = torch.Generator().manual_seed(pool_seed)
    return CycleGAN(g, f, d_x, d_y, opt_g, opt_d,
                    ImagePool(pool_size, generator=pool_gen), ImagePool(pool_size, generator=pool_gen))


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
    loss_g = gan_loss(d_y(fake_y), True, gan_mode=gan_mode)  # fool D_Y
    loss_f = gan_loss(d_x(fake_x), True, gan_mode=gan_mode)  # fool D_X
    cycle_x = (rec_x - real_x).abs().mean()
    cycle_y = (rec_y - real_y).abs().mean()
    loss_cycle = cycle_consistency_loss(real_x, rec_x, real_y, rec_y, weight=weight)
    if use_identity:
        loss_idt = identity_loss(real_x, f(real_x), real_y, g(real_y), weight=weight,
                                 identity_weight=identity_weight)
    else:
        loss_idt = real_x.new_zeros(())
    total_g = loss_g + loss_f + loss_cycle + loss_idt
    total_g.backward()
    model.opt_g.step()

    # 3. discriminators: real vs pooled fakes (detached: no gradient into G or F)
    _set_requires_grad((d_x, d_y), True)
    model.opt_d.zero_grad(set_to_none=True)
    pooled_y = model.pool_y.query(fake_y.detach())
    loss_d_y = 0.5 * (gan_loss(d_y(real_y), True, gan_mode=gan_mode)
                      + gan_loss(d_y(pooled_y), False, gan_mode=gan_mode))
    pooled_x = model.pool_x.query(fake_x.detach())
    loss_d_x = 0.5 * (gan_loss(d_x(real_x), True, gan_mode=gan_mode)
                      + gan_loss(d_x(pooled_x), False, gan_mode=gan_mode))
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

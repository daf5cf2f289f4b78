"""The image-to-image GAN networks of the CycleGAN/pix2pix reference: ResNet generator, PatchGAN, init.

Papers:
    J. Johnson, A. Alahi, L. Fei-Fei, "Perceptual Losses for Real-Time Style Transfer and
    Super-Resolution", ECCV 2016, arXiv:1603.08155 (the residual generator).
    P. Isola, J.-Y. Zhu, T. Zhou, A. A. Efros, "Image-to-Image Translation with Conditional
    Adversarial Networks", CVPR 2017, arXiv:1611.07004 (the PatchGAN discriminator, Sec. 3.2.2).
    J.-Y. Zhu, T. Park, P. Isola, A. A. Efros, "Unpaired Image-to-Image Translation using
    Cycle-Consistent Adversarial Networks", ICCV 2017, arXiv:1703.10593 (both, as CycleGAN uses them).
    Reference code: ``junyanz/pytorch-CycleGAN-and-pix2pix`` (``models/networks.py``).

Summary:
    - :class:`ResnetBlock`, :func:`resnet_generator` — the reference's ``ResnetGenerator``
      (``c7s1-ngf``, stride-2 downsampling, residual blocks, transposed convolutions back, ``tanh``).
    - :func:`patch_discriminator` — the reference's ``NLayerDiscriminator`` (PatchGAN): one logit
      per image patch; :func:`patch_receptive_field` gives the patch size.
    - :func:`init_normal_` — the reference's ``init_type='normal'``.

    Every size is a parameter and the defaults are the reference's (``resnet_9blocks``,
    ``n_layers_D = 3``, 64 filters); :func:`lessons.cycle.make_cycle_gan` and
    :func:`lessons.gan.make_pix2pix` pick CPU-sized values.

Deviations from the reference:
    - :func:`init_normal_` draws from the course's ``seed: int | torch.Generator`` instead of
      torch's global generator. The networks' constructors leave PyTorch's default initialization
      (global RNG) in place; call :func:`init_normal_` for the reference's.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from lessons._checks import (
    as_generator,
    check_choice,
    check_floating,
    check_int,
    check_ndim,
    check_positive,
    check_shape,
)

__all__ = ["NORMS", "ResnetBlock", "resnet_generator", "patch_discriminator", "patch_receptive_field", "init_normal_"]

#: The normalization layers the networks can use (the reference's ``--norm``).
NORMS = ("instance", "batch", "none")


def _norm_layer(norm: str, channels: int) -> nn.Module:
    if norm == "instance":  # the reference: affine=False, track_running_stats=False
        return nn.InstanceNorm2d(channels, affine=False, track_running_stats=False)
    if norm == "batch":
        return nn.BatchNorm2d(channels, affine=True, track_running_stats=True)
    return nn.Identity()


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
        self.channels = check_int("channels", channels, minimum=1)
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
        """``x (B, channels, H, W) -> (B, channels, H, W)``; NaN in ``x`` passes through (not scanned)."""
        check_floating("x", x)
        check_ndim("x", x, 4, f"(B, {self.channels}, H, W)")
        check_shape("x", x, (None, self.channels, None, None), f"(B, {self.channels}, H, W)")
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
    in_channels = check_int("in_channels", in_channels, minimum=1)
    out_channels = check_int("out_channels", out_channels, minimum=1)
    ngf = check_int("ngf", ngf, minimum=1)
    n_blocks = check_int("n_blocks", n_blocks, minimum=0)
    n_downsampling = check_int("n_downsampling", n_downsampling, minimum=0)
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
    in_channels = check_int("in_channels", in_channels, minimum=1)
    ndf = check_int("ndf", ndf, minimum=1)
    n_layers = check_int("n_layers", n_layers, minimum=1)
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
    n_layers = check_int("n_layers", n_layers, minimum=1)
    field = 1
    for stride in [1, 1] + [2] * n_layers:  # output -> input
        field = (field - 1) * stride + 4
    return field


def init_normal_(
    module: nn.Module,
    std: float = 0.02,
    *,
    seed: int | torch.Generator = 0,
) -> nn.Module:
    """The reference's ``init_type='normal'``: conv weights ``N(0, std)``, biases 0, norm scales ``N(1, std)``.

    Args:
        module (nn.Module): initialized in place, every submodule.
        std (float): standard deviation, ``> 0``. Default: ``0.02``.
        seed (int | torch.Generator): the random source: an int for a fresh seeded generator, or a
            generator to draw from (it advances). Default: ``0``.

    Returns:
        nn.Module: ``module``, for chaining.
    """
    if not isinstance(module, nn.Module):
        raise TypeError(f"module: expected an nn.Module, got {type(module).__name__}")
    check_positive("std", std)
    generator = as_generator("seed", seed)
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
            nn.init.normal_(m.weight, 0.0, std, generator=generator)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.normal_(m.weight, 1.0, std, generator=generator)
            nn.init.zeros_(m.bias)
    return module

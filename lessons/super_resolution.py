"""×4 super-resolution with a pixel loss and SRGAN's adversarial term: a small SRResNet and its loss.

Paper:
    Christian Ledig et al., "Photo-Realistic Single Image Super-Resolution Using a Generative
    Adversarial Network" (SRGAN), CVPR 2017, arXiv:1609.04802. Sub-pixel convolution: Wenzhe Shi et al.,
    "Real-Time Single Image and Video Super-Resolution Using an Efficient Sub-Pixel Convolutional Neural
    Network", CVPR 2016, arXiv:1609.05158.

Summary:
    :class:`SRGenerator` upsamples ``h x w -> scale h x scale w``; :func:`super_resolution_loss` is a
    pixel loss (L1 or L2) plus, when the discriminator's logits are given, ``w * (-log D(G(x)))``
    (SRGAN, Eq. 3 and 6). Both are re-exported by :mod:`lessons.gan`.

Deviations from the paper:
    - SRGAN pairs its 10⁻³ adversarial weight with a VGG feature loss; :func:`super_resolution_loss`
      pairs it with a pixel loss and takes the mean of ``-log D`` over patches, not the sum.
    - :class:`SRGenerator` is a small SRResNet (two residual blocks, two PixelShuffle ×2 stages)
      that adds its output to a bilinear upsampling of the input, so it only learns the detail.
"""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor, nn

from lessons._checks import check_choice, check_floating, check_floating_pair, check_int, check_ndim, check_non_negative
from lessons.cycle import gan_loss

__all__ = ["SRGAN_ADVERSARIAL_WEIGHT", "SRGenerator", "super_resolution_loss"]

#: SRGAN's weight of the adversarial term (Ledig et al. 2017, Eq. 3).
SRGAN_ADVERSARIAL_WEIGHT = 1e-3


class SRGenerator(nn.Module):
    """A small SRResNet: features at low resolution, PixelShuffle ×2 stages, plus a bilinear skip.

    ``sr = bilinear_up(lr) + tail(shuffle(body(head(lr))))``, where ``body`` has ``n_blocks`` residual
    blocks (conv-ReLU-conv) and each ×2 stage is conv -> PixelShuffle(2) -> ReLU (Shi et al. 2016's
    sub-pixel convolution, as in SRGAN).

    Args:
        channels (int): image channels. Default: ``3``.
        scale (int): a power of 2, ``>= 2``. Default: ``4``.
        nf (int): features. Default: ``16``.
        n_blocks (int): residual blocks, ``>= 0``. Default: ``2``.

    Shape:
        ``(B, channels, h, w) -> (B, channels, scale h, scale w)``.
    """

    def __init__(self, channels: int = 3, *, scale: int = 4, nf: int = 16, n_blocks: int = 2) -> None:
        super().__init__()
        check_int("channels", channels, minimum=1)
        check_int("scale", scale, minimum=2)
        check_int("nf", nf, minimum=1)
        check_int("n_blocks", n_blocks, minimum=0)
        if scale & (scale - 1):
            raise ValueError(f"scale: expected a power of 2, got {scale}")
        self.scale = scale
        self.head = nn.Conv2d(channels, nf, 3, padding=1)
        self.blocks = nn.ModuleList(
            nn.Sequential(nn.Conv2d(nf, nf, 3, padding=1), nn.ReLU(True), nn.Conv2d(nf, nf, 3, padding=1))
            for _ in range(n_blocks)
        )
        ups: list[nn.Module] = []
        for _ in range(scale.bit_length() - 1):
            ups += [nn.Conv2d(nf, 4 * nf, 3, padding=1), nn.PixelShuffle(2), nn.ReLU(True)]  # (B, nf, 2h, 2w)
        self.up = nn.Sequential(*ups)
        self.tail = nn.Conv2d(nf, channels, 3, padding=1)

    def forward(self, lr: Tensor) -> Tensor:
        check_floating("lr", lr)
        check_ndim("lr", lr, 4, "(B, C, h, w)")
        x = self.head(lr)  # (B, nf, h, w)
        for block in self.blocks:
            x = x + block(x)
        base = F.interpolate(lr, scale_factor=self.scale, mode="bilinear", align_corners=False)
        return base + self.tail(self.up(x))  # (B, C, scale h, scale w)


def super_resolution_loss(
    sr: Tensor,
    hr: Tensor,
    pred_fake: Tensor | None = None,
    *,
    pixel_loss: str = "l1",
    adversarial_weight: float = SRGAN_ADVERSARIAL_WEIGHT,
) -> Tensor:
    """The generator's loss for super-resolution: a pixel loss, plus SRGAN's adversarial term if given.

    .. math::

        l^{SR} = l^{SR}_{pixel} + 10^{-3} \\, l^{SR}_{Gen}, \\qquad
        l^{SR}_{Gen} = -\\log D(G(I^{LR}))            \\quad (SRGAN, Eq. 3 and 6)

    ``l_pixel`` is ``mean|sr - hr|`` (``"l1"``) or ``mean (sr - hr)^2`` (``"l2"``, SRGAN's MSE baseline).

    Args:
        sr (Tensor[B, C, H, W]): the generator's output.
        hr (Tensor[B, C, H, W]): the ground truth.
        pred_fake (Tensor[B, 1, h, w] | None): ``D(sr)`` logits, not detached; ``None`` for no
            adversarial term. Default: ``None``.
        pixel_loss (str): ``"l1"`` or ``"l2"``. Default: ``"l1"``.
        adversarial_weight (float): ``>= 0``. Default: ``1e-3`` (SRGAN).

    Returns:
        Tensor[]: the loss.

    Note:
        SRGAN's content loss is the VGG54 feature loss (rescaled by 1/12.75), and 10⁻³ is tuned
        against it; a pixel loss has another scale, so a larger weight can suit it (notebook 10 uses
        one and says so).
    """
    check_floating("hr", hr)
    check_ndim("hr", hr, 4, "(B, C, H, W)")
    check_floating_pair("hr", hr, "sr", sr)
    if pred_fake is not None:
        check_floating("pred_fake", pred_fake)
        check_ndim("pred_fake", pred_fake, 4, "(B, 1, h, w)")
    check_choice("pixel_loss", pixel_loss, ("l1", "l2"))
    check_non_negative("adversarial_weight", adversarial_weight)
    diff = sr - hr
    loss = diff.abs().mean() if pixel_loss == "l1" else diff.square().mean()
    if pred_fake is not None:
        loss = loss + adversarial_weight * gan_loss(pred_fake, True, gan_mode="vanilla")  # -log sigmoid(D)
    return loss

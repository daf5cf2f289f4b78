"""Stacked hourglass networks: downsample for context, skip branches for precision, add don't concat.

Newell, Yang and Deng, "Stacked Hourglass Networks for Human Pose Estimation", 2016,
arXiv:1603.06937; reference code ``bearpaw/pytorch-pose`` (``pose/models/hourglass.py``).

An **hourglass** (:class:`Hourglass`) looks like a U-Net (Ronneberger et al., "U-Net:
Convolutional Networks for Biomedical Image Segmentation", 2015, arXiv:1505.04597): it halves the
resolution level by level, so that a pixel of the output *sees* a large part of the image (its
receptive field grows, :func:`receptive_field`), then doubles it back. At each level a **skip
branch** carries the features of that resolution to the way up, so low-level detail pins down the
exact position. Two differences from U-Net:

* the skip branch passes through **its own residual block** (``up1 = Res(x)``);
* it is **added** to the upsampled coarse features, not concatenated, so the channel count stays
  the same at every level (``merge="add"``; ``merge="concat"`` builds the U-Net-style alternative,
  ``merge="none"`` a pure encoder-decoder without skip branches, for comparison).

A **stacked hourglass** (:class:`StackedHourglass`) chains several hourglasses; each stack outputs
heatmaps, and the next stack receives its features *and* its heatmaps remapped by 1x1
convolutions, ``x + conv(y) + conv(score)``, so it can refine the previous estimate with a second
look at the whole image. Every stack's heatmaps are compared with the same target:
**intermediate supervision** (:func:`intermediate_loss`).

The building block is the pre-activation bottleneck :class:`Residual`
(BN-ReLU-conv1x1 -> BN-ReLU-conv3x3 -> BN-ReLU-conv1x1, plus the identity or a 1x1 projection).

With ``channels=256, depth=4, in_channels=3`` the modules have the same layers, in the same order,
with the same parameter count as pytorch-pose's ``HourglassNet(Bottleneck, num_stacks,
num_blocks, num_classes)`` (``num_feats = 128``; tested against a transcription of that code).
The course uses the same structure with far fewer channels so that it trains on a CPU.

Deviations from the reference code:

* the width is a parameter: the stem's widths are ``channels // 4`` and ``channels // 2``
  (pytorch-pose: 64 and 128 for ``channels = 256``), the input channels ``in_channels`` (3 there);
* the hourglass depth is a parameter (4 there);
* ``merge="concat"`` and ``merge="none"`` are additions for the comparisons of notebook 07;
* :func:`intermediate_loss` is pytorch-pose's ``JointsMSELoss`` (:func:`heatmap_mse`) summed over
  the stacks, with the mean taken over the labelled keypoints only (the reference multiplies by
  the weight and keeps the unlabelled maps in the mean); its ``loss="cross-entropy"`` option
  (:func:`heatmap_cross_entropy`, the per-pixel softmax classification of notebook 06) is an
  addition, used by the course because it trains in far fewer steps;
* :func:`receptive_field` and :func:`conv_receptive_field` are teaching tools, not part of the
  reference.

NaN policy: feature maps, logits, images and the inputs of losses are not scanned for NaN/inf (a
full scan would cost more than the operation), so a NaN there passes through to the result; boxes,
coordinates, sizes, indices and labels are checked and a NaN/inf there raises ``ValueError``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch import Tensor

from lessons._checks import (
    as_generator,
    check_choice,
    check_floating,
    check_int,
    check_int_pair,
    check_ndim,
    describe,
)
from lessons.heatmaps import _visible_mask

__all__ = [
    "MERGES",
    "Residual",
    "Hourglass",
    "StackedHourglass",
    "intermediate_loss",
    "LOSSES",
    "heatmap_mse",
    "heatmap_cross_entropy",
    "ReceptiveField",
    "receptive_field",
    "conv_receptive_field",
    "count_parameters",
]

#: How an hourglass level joins its skip branch and the upsampled coarse branch.
MERGES = ("add", "concat", "none")
#: The per-stack heatmap losses of :func:`intermediate_loss`.
LOSSES = ("mse", "cross-entropy")


# ----------------------------------------------------------------------------- blocks


class Residual(nn.Module):
    """The pre-activation bottleneck residual module of the hourglass.

    .. math::
        \\mathrm{Res}(x) = W_3 * \\rho(W_2 * \\rho(W_1 * \\rho(x))) + P x, \\qquad \\rho = \\mathrm{ReLU} \\circ \\mathrm{BN}

    ``W_1``: 1x1 to ``out_ch // 2``, ``W_2``: 3x3 (padding 1) at ``out_ch // 2``, ``W_3``: 1x1 to
    ``out_ch``; ``P`` is the identity when ``in_ch == out_ch``, else a 1x1 convolution (the
    projection). All convolutions have biases, as in pytorch-pose's ``Bottleneck`` (expansion 2).

    Args:
        in_ch (int): input channels, >= 1.
        out_ch (int): output channels, even, >= 2.

    Shape:
        ``(B, in_ch, H, W) -> (B, out_ch, H, W)``.

    Example:
        >>> Residual(4, 8)(torch.zeros(2, 4, 5, 5)).shape
        torch.Size([2, 8, 5, 5])
    """

    def __init__(self, in_ch: int, out_ch: int) -> None:
        super().__init__()
        check_int("in_ch", in_ch, minimum=1)
        check_int("out_ch", out_ch, minimum=2)
        if out_ch % 2:
            raise ValueError(f"out_ch: expected an even number (the bottleneck has out_ch // 2 channels), got {out_ch}")
        mid = out_ch // 2
        # registration order = pytorch-pose's Bottleneck: bn1, conv1, bn2, conv2, bn3, conv3, downsample
        self.bn1 = nn.BatchNorm2d(in_ch)
        self.conv1 = nn.Conv2d(in_ch, mid, kernel_size=1)
        self.bn2 = nn.BatchNorm2d(mid)
        self.conv2 = nn.Conv2d(mid, mid, kernel_size=3, padding=1)
        self.bn3 = nn.BatchNorm2d(mid)
        self.conv3 = nn.Conv2d(mid, out_ch, kernel_size=1)
        self.downsample = nn.Conv2d(in_ch, out_ch, kernel_size=1) if in_ch != out_ch else None

    def forward(self, x: Tensor) -> Tensor:
        _check_features(x, self.bn1.num_features)  # shape and dtype only: no scan of the values
        out = self.conv1(F.relu(self.bn1(x)))
        out = self.conv2(F.relu(self.bn2(out)))
        out = self.conv3(F.relu(self.bn3(out)))
        return out + (x if self.downsample is None else self.downsample(x))


def _check_features(x: object, channels: int, multiple: int = 1) -> None:
    """``x``: a floating ``(B, channels, H, W)`` tensor with ``H, W`` divisible by ``multiple``."""
    check_floating("x", x)
    check_ndim("x", x, 4, "(B, C, H, W)")  # type: ignore[arg-type]
    if x.shape[1] != channels:  # type: ignore[union-attr]
        raise ValueError(f"x: expected {channels} channels, got shape {tuple(x.shape)}")  # type: ignore[union-attr]
    if x.shape[-2] % multiple or x.shape[-1] % multiple:  # type: ignore[union-attr]
        raise ValueError(
            f"x: expected a height and width divisible by 2 ** depth = {multiple}, got shape {tuple(x.shape)}"  # type: ignore[union-attr]
        )


def _residuals(channels: int, num_blocks: int) -> nn.Sequential:
    return nn.Sequential(*[Residual(channels, channels) for _ in range(num_blocks)])


class Hourglass(nn.Module):
    """One hourglass: recursive downsampling and upsampling with a skip branch at every level.

    For a level of depth ``n`` (the outermost has ``n = depth``)::

        up1  = Res(x)                                  # the skip branch, through its own block
        low1 = Res(maxpool2x2(x))                      # half resolution
        low2 = Hourglass(n - 1)(low1) if n > 1 else Res(low1)
        low3 = Res(low2)
        out  = up1 + upsample_nearest_x2(low3)        # merge="add": channels stay the same

    ``Res`` is ``num_blocks`` :class:`Residual` modules at ``channels``. The alternatives, for
    comparison:

    * ``merge="concat"`` (U-Net style): ``out = conv1x1(cat[up1, upsample(low3)])``; the join has
      ``2 * channels`` channels, and the 1x1 convolution (``2C -> C``, with bias) brings them back
      so that every level still returns ``channels``;
    * ``merge="none"``: ``out = upsample(low3)``, no skip branch (a pure encoder-decoder); ``up1``
      is not built.

    The input's height and width must be divisible by ``2 ** depth``.

    Args:
        depth (int): number of levels (halvings), >= 1; pytorch-pose uses 4.
        channels (int): feature channels at every level, even, >= 2; pytorch-pose uses 256.
        num_blocks (int): residual modules per ``Res``, >= 1. Default: ``1``.
        merge (str): ``"add"``, ``"concat"`` or ``"none"``. Default: ``"add"``.

    Shape:
        ``(B, C, H, W) -> (B, C, H, W)``.

    Example:
        >>> hg = Hourglass(2, 8)
        >>> hg(torch.zeros(1, 8, 8, 8)).shape, type(hg.low2).__name__, type(hg.low2.low2).__name__
        (torch.Size([1, 8, 8, 8]), 'Hourglass', 'Sequential')
    """

    def __init__(self, depth: int, channels: int, *, num_blocks: int = 1, merge: str = "add") -> None:
        super().__init__()
        check_int("depth", depth, minimum=1)
        check_int("channels", channels, minimum=2)
        check_int("num_blocks", num_blocks, minimum=1)
        check_choice("merge", merge, MERGES)
        self.depth, self.channels, self.merge = depth, channels, merge
        self.up1 = _residuals(channels, num_blocks) if merge != "none" else None
        self.low1 = _residuals(channels, num_blocks)
        self.low2 = (
            Hourglass(depth - 1, channels, num_blocks=num_blocks, merge=merge)
            if depth > 1
            else _residuals(channels, num_blocks)
        )
        self.low3 = _residuals(channels, num_blocks)
        self.fuse = nn.Conv2d(2 * channels, channels, kernel_size=1) if merge == "concat" else None

    def forward(self, x: Tensor) -> Tensor:
        _check_features(x, self.channels, 2**self.depth)  # shape and dtype only: no scan of the values
        low1 = self.low1(F.max_pool2d(x, 2, stride=2))  # (B, C, H/2, W/2)
        low3 = self.low3(self.low2(low1))
        up2 = F.interpolate(low3, scale_factor=2, mode="nearest")  # (B, C, H, W)
        if self.merge == "none":
            return up2
        up1 = self.up1(x)  # (B, C, H, W)
        if self.merge == "add":
            return up1 + up2
        return self.fuse(torch.cat([up1, up2], dim=1))  # (B, 2C, H, W) -> (B, C, H, W)

    def levels(self, size: int | tuple[int, int]) -> list[dict[str, object]]:
        """The structure level by level for an input of ``size = (H, W)``: a list of dicts.

        Each row has ``level`` (``depth`` for the outermost, 0 for the innermost block),
        ``resolution`` ``(h, w)`` of the features at that level, ``channels``, ``join_channels`` at
        the merge (``C`` for add, ``2C`` for concat, ``0`` without skip or at level 0) and
        ``parameters`` of that level alone (skip branch, ``low1``, ``low3`` and the fusion; at level
        0 the innermost ``Res``).
        """
        h, w = check_int_pair("size", size)
        rows, level = [], self
        while isinstance(level, Hourglass):
            own = [level.up1, level.low1, level.low3, level.fuse]
            join = {"add": level.channels, "concat": 2 * level.channels, "none": 0}[level.merge]
            rows.append(
                {
                    "level": level.depth,
                    "resolution": (h, w),
                    "channels": level.channels,
                    "join_channels": join,
                    "parameters": sum(count_parameters(m) for m in own if m is not None),
                }
            )
            h, w, inner, level = h // 2, w // 2, level.low2, level.low2
        rows.append(
            {
                "level": 0,
                "resolution": (h, w),
                "channels": self.channels,
                "join_channels": 0,
                "parameters": count_parameters(inner),
            }
        )
        return rows


class StackedHourglass(nn.Module):
    """Stem, then ``num_stacks`` hourglasses, each followed by a heatmap head; one output per stack.

    Stem (stride 4): ``conv7x7 stride 2 (C/4) -> BN -> ReLU -> Res(C/4 -> C/2) -> maxpool2x2 ->
    Res(C/2 -> C) -> Res(C -> C)``. Then, for stack ``i``::

        y     = fc(Res^num_blocks(Hourglass(x)))      # fc = conv1x1 -> BN -> ReLU
        score = conv1x1(y)                            # (B, K, H/4, W/4), collected
        x     = x + conv1x1(y) + conv1x1(score)       # not after the last stack

    The last line is the inter-stack remapping: the next stack sees the features *and* the
    heatmaps of the previous one, brought back to ``C`` channels.

    Note:
        The stem follows pytorch-pose, whose ``layer2`` is built as ``_make_residual(block,
        self.inplanes)`` after ``layer1`` has set ``inplanes = 128``: it already widens to
        ``C = 256`` (bottleneck 128), and ``layer3`` keeps ``C``. The paper's Torch code widens in
        its last stem module instead (``Residual(128, 128)`` then ``Residual(128, 256)``).

    Args:
        num_stacks (int): hourglasses, >= 1.
        num_keypoints (int): ``K``, heatmaps per output, >= 1.
        channels (int): ``C``, features in the hourglasses, divisible by 4, >= 4 (pytorch-pose:
            256).
        depth (int): levels of each hourglass, >= 1 (pytorch-pose: 4). The input's height and
            width must be divisible by ``2 ** (depth + 2)``.
        in_channels (int): image channels, >= 1. Default: ``3``.
        num_blocks (int): residual modules per ``Res`` and after each hourglass, >= 1. Default: ``1``.
        merge (str): the hourglasses' merge, see :class:`Hourglass`. Default: ``"add"``.

    Shape:
        ``(B, in_channels, H, W) -> list of num_stacks tensors (B, K, H/4, W/4)``.

    Example:
        >>> net = StackedHourglass(2, 5, 16, 2, in_channels=1)
        >>> [tuple(o.shape) for o in net(torch.zeros(3, 1, 32, 32))]
        [(3, 5, 8, 8), (3, 5, 8, 8)]
    """

    def __init__(
        self,
        num_stacks: int,
        num_keypoints: int,
        channels: int,
        depth: int,
        *,
        in_channels: int = 3,
        num_blocks: int = 1,
        merge: str = "add",
    ) -> None:
        super().__init__()
        check_int("num_stacks", num_stacks, minimum=1)
        check_int("num_keypoints", num_keypoints, minimum=1)
        check_int("channels", channels, minimum=4)
        if channels % 4:
            raise ValueError(f"channels: expected a multiple of 4 (the stem uses C/4 and C/2), got {channels}")
        check_int("depth", depth, minimum=1)
        check_int("in_channels", in_channels, minimum=1)
        check_int("num_blocks", num_blocks, minimum=1)
        check_choice("merge", merge, MERGES)
        self.num_stacks, self.depth = num_stacks, depth
        c = channels
        # registration order = pytorch-pose's HourglassNet
        self.conv1 = nn.Conv2d(in_channels, c // 4, kernel_size=7, stride=2, padding=3)
        self.bn1 = nn.BatchNorm2d(c // 4)
        self.layer1 = Residual(c // 4, c // 2)
        self.layer2 = Residual(c // 2, c)  # pytorch-pose builds layer2 with planes = inplanes: it widens
        self.layer3 = Residual(c, c)
        self.hg = nn.ModuleList([Hourglass(depth, c, num_blocks=num_blocks, merge=merge) for _ in range(num_stacks)])
        self.res = nn.ModuleList([_residuals(c, num_blocks) for _ in range(num_stacks)])
        self.fc = nn.ModuleList(
            [nn.Sequential(nn.Conv2d(c, c, kernel_size=1), nn.BatchNorm2d(c), nn.ReLU()) for _ in range(num_stacks)]
        )
        self.score = nn.ModuleList([nn.Conv2d(c, num_keypoints, kernel_size=1) for _ in range(num_stacks)])
        self.fc_ = nn.ModuleList([nn.Conv2d(c, c, kernel_size=1) for _ in range(num_stacks - 1)])
        self.score_ = nn.ModuleList([nn.Conv2d(num_keypoints, c, kernel_size=1) for _ in range(num_stacks - 1)])

    def forward(self, images: Tensor) -> list[Tensor]:
        check_floating("images", images)
        check_ndim("images", images, 4, "(B, C, H, W)")
        step = 2 ** (self.depth + 2)
        if images.shape[-2] % step or images.shape[-1] % step:
            raise ValueError(
                f"images: expected a height and width divisible by 2 ** (depth + 2) = {step}, "
                f"got shape {tuple(images.shape)}"
            )
        x = F.relu(self.bn1(self.conv1(images)))  # (B, C/4, H/2, W/2)
        x = F.max_pool2d(self.layer1(x), 2, stride=2)  # (B, C/2, H/4, W/4)
        x = self.layer3(self.layer2(x))  # (B, C, H/4, W/4)
        outputs = []
        for i in range(self.num_stacks):
            y = self.fc[i](self.res[i](self.hg[i](x)))
            score = self.score[i](y)  # (B, K, H/4, W/4)
            outputs.append(score)
            if i < self.num_stacks - 1:
                x = x + self.fc_[i](y) + self.score_[i](score)
        return outputs


def count_parameters(module: nn.Module) -> int:
    """The number of trainable parameters (elements) of ``module``."""
    if not isinstance(module, nn.Module):
        raise TypeError(f"module: expected a torch.nn.Module, got {describe(module)}")
    return sum(p.numel() for p in module.parameters() if p.requires_grad)


# ----------------------------------------------------------------------------- losses


def heatmap_mse(pred: Tensor, target: Tensor, visible: Tensor | None = None) -> Tensor:
    """pytorch-pose's ``JointsMSELoss`` for one output, averaged over the labelled keypoints.

    .. math::
        L = \\frac{1}{\\sum_{b,k} v_{bk}} \\sum_{b,k} v_{bk}\\,\\frac{1}{2HW}\\sum_{i,j}
            (\\hat h_{bk}[i, j] - h_{bk}[i, j])^2

    Note:
        The reference computes ``(1/K) sum_k 0.5 * mean_{b,i,j}((pred*w - gt*w)^2)``: the same when
        every keypoint is labelled; with unlabelled keypoints it still divides by all of them,
        which shrinks the loss of images with missing labels. Here only labelled maps count.

    Args:
        pred (Tensor[B, K, H, W]): predicted heatmaps (floating point; NaN passes through).
        target (Tensor[B, K, H, W]): target heatmaps, same shape.
        visible (Tensor[B, K] or None): bool, which keypoints are labelled. Default: ``None`` (all).

    Returns:
        Tensor[] (0-d): the loss; NaN when no keypoint is labelled.

    Example:
        >>> heatmap_mse(torch.ones(1, 1, 2, 2), torch.zeros(1, 1, 2, 2))
        tensor(0.5000)
    """
    _check_maps(pred, target)
    vis = _visible_mask(visible, pred.shape[:2], pred)  # (B, K)
    return _heatmap_loss(pred, target, vis, "mse")


def heatmap_cross_entropy(pred: Tensor, target: Tensor, visible: Tensor | None = None) -> Tensor:
    """Per-pixel classification: softmax over each map's pixels, cross-entropy against the target.

    Each map is treated as one classification over its ``H * W`` pixels (the lecture's "each
    keypoint is a class, classified at every pixel"), with the target normalized to a distribution:

    .. math::
        L = -\\frac{1}{\\sum_{b,k} v_{bk}} \\sum_{b,k} v_{bk} \\sum_{i,j}
            \\frac{h_{bk}[i,j]}{\\sum_{i',j'} h_{bk}[i',j']}\\,\\log \\mathrm{softmax}(\\hat h_{bk})[i, j]

    This is the loss of notebook 06; the stacked-hourglass paper regresses the maps with MSE
    (:func:`heatmap_mse`) instead. Both train; at the course's tiny scale this one converges in far
    fewer steps.

    Args:
        pred (Tensor[B, K, H, W]): predicted logits (floating point; NaN passes through).
        target (Tensor[B, K, H, W]): target heatmaps, non-negative, same shape; every labelled map
            must have a positive sum.
        visible (Tensor[B, K] or None): bool, which keypoints are labelled. Default: ``None`` (all).

    Returns:
        Tensor[] (0-d): the loss; NaN when no keypoint is labelled.

    Example:
        >>> round(heatmap_cross_entropy(torch.zeros(1, 1, 2, 2), torch.ones(1, 1, 2, 2)).item(), 4)  # log 4
        1.3863
    """
    _check_maps(pred, target)
    vis = _visible_mask(visible, pred.shape[:2], pred)  # (B, K)
    return _heatmap_loss(pred, target, vis, "cross-entropy")


def intermediate_loss(
    outputs: Sequence[Tensor], target: Tensor, visible: Tensor | None = None, *, loss: str = "mse"
) -> Tensor:
    """Intermediate supervision: the sum over the stacks of one heatmap loss against one target.

    .. math::
        L = \\sum_{s=1}^{S} \\ell(\\hat h^{(s)}, h)

    as in pytorch-pose's ``example/main.py`` (``loss = sum(criterion(o, target, w) for o in output)``).
    Training on ``outputs[-1]`` alone is the "no intermediate supervision" baseline.

    Args:
        outputs (Sequence[Tensor[B, K, H, W]]): one heatmap tensor per stack, at least one.
        target (Tensor[B, K, H, W]): the target heatmaps, same shape as each output.
        visible (Tensor[B, K] or None): bool, which keypoints are labelled. Default: ``None`` (all).
        loss (str): ``"mse"`` (:func:`heatmap_mse`, the paper's) or ``"cross-entropy"``
            (:func:`heatmap_cross_entropy`). Default: ``"mse"``.

    Returns:
        Tensor[] (0-d): the summed loss.

    Example:
        >>> t = torch.zeros(1, 2, 4, 4)
        >>> intermediate_loss([t + 1.0, t + 2.0], t)  # 0.5 * 1 + 0.5 * 4
        tensor(2.5000)
    """
    if isinstance(outputs, Tensor) or not isinstance(outputs, Sequence) or len(outputs) == 0:
        raise TypeError(
            f"outputs: expected a non-empty list of heatmap tensors (one per stack), got {describe(outputs)}"
        )
    for s, out in enumerate(outputs):
        _check_maps(out, target, name=f"outputs[{s}]")
    check_choice("loss", loss, LOSSES)
    vis = _visible_mask(visible, target.shape[:2], target)  # (B, K)
    return torch.stack([_heatmap_loss(out, target, vis, loss) for out in outputs]).sum()


def _heatmap_loss(pred: Tensor, target: Tensor, vis: Tensor, loss: str) -> Tensor:
    if loss == "mse":
        per_map = 0.5 * ((pred - target) ** 2).mean(dim=(-2, -1))  # (B, K)
    else:
        log_p = F.log_softmax(pred.flatten(2), dim=-1)  # (B, K, H*W)
        q = target.flatten(2)
        q = q / q.sum(dim=-1, keepdim=True).clamp_min(torch.finfo(q.dtype).tiny)
        per_map = -(q * log_p).sum(dim=-1)  # (B, K)
    w = vis.to(per_map.dtype)
    return (per_map * w).sum() / w.sum()


def _check_maps(pred: object, target: object, name: str = "pred") -> None:
    check_floating(name, pred)
    check_floating("target", target)
    check_ndim("target", target, 4, "(B, K, H, W)")
    if pred.shape != target.shape:  # type: ignore[union-attr]
        raise ValueError(
            f"{name}: expected the target's shape {tuple(target.shape)}, got shape {tuple(pred.shape)}"  # type: ignore[union-attr]
        )


# ----------------------------------------------------------------------------- receptive field


class ReceptiveField(NamedTuple):
    """What :func:`receptive_field` returns.

    Attributes:
        mask (Tensor[H, W]): bool, the input pixels that influence the output pixel.
        strength (Tensor[H, W]): float, ``|ds/dx|`` summed over the input channels and averaged
            over the trials, divided by its maximum: the *effective* receptive field (Luo et al.,
            "Understanding the Effective Receptive Field in Deep Convolutional Neural Networks",
            2016, arXiv:1701.04128), which is concentrated near the centre of ``mask``.
        box (tuple[int, int, int, int]): ``(x0, y0, x1, y1)``, the mask's bounding box, inclusive.
        size (tuple[int, int]): ``(height, width)`` of the box in input pixels.
        location (tuple[int, int]): ``(x, y)`` of the output pixel, in output pixels.
    """

    mask: Tensor
    strength: Tensor
    box: tuple[int, int, int, int]
    size: tuple[int, int]
    location: tuple[int, int]


def receptive_field(
    module: nn.Module,
    input_size: int | tuple[int, int],
    *,
    in_channels: int = 1,
    location: tuple[int, int] | None = None,
    trials: int = 4,
    seed: int | torch.Generator = 0,
) -> ReceptiveField:
    """The empirical receptive field of one output pixel, by backpropagating from it.

    Feed a random image ``x``, take ``s = sum_c out[0, c, y, x]`` at the output location, and mark
    every input pixel where ``ds/dx`` is not zero:

    .. math::
        \\mathrm{RF}(y, x) = \\{(i, j) : \\exists\\,c',\\ \\partial s / \\partial x[0, c', i, j] \\ne 0\\}

    A ReLU that is off, or a max pool that picked another pixel, blocks the gradient for one input,
    so the masks of ``trials`` random inputs are united. The module is run in eval mode (BatchNorm
    with its running statistics: in training mode the batch statistics would connect every pixel
    to every other) and put back in its previous mode afterwards. For a module that returns a list
    or tuple (a stacked hourglass), the last element is used.

    For a stack of convolutions the result is the textbook receptive field: with kernel ``k_l`` and
    stride ``s_l`` at layer ``l``, ``r_l = r_{l-1} + (k_l - 1) \\prod_{m<l} s_m`` with ``r_0 = 1``.

    Args:
        module (nn.Module): maps ``(1, in_channels, H, W)`` to ``(1, C, h, w)`` (or a list of them).
        input_size (int or tuple[int, int]): ``(H, W)`` of the input, or one int.
        in_channels (int): input channels, >= 1. Default: ``1``.
        location (tuple[int, int] or None): ``(x, y)`` of the output pixel. Default: ``None``
            (the centre, ``(w // 2, h // 2)``).
        trials (int): random inputs, >= 1. Default: ``4``.
        seed (int or torch.Generator): the source of the random inputs. Default: ``0``.

    Returns:
        ReceptiveField: ``(mask, strength, box, size, location)``.

    Example:
        >>> convs = nn.Sequential(nn.Conv2d(1, 2, 3), nn.Conv2d(2, 2, 3, stride=2), nn.Conv2d(2, 1, 3))
        >>> receptive_field(convs, 32).size  # 1 + 2 + 2 + 2 * 2
        (9, 9)
    """
    if not isinstance(module, nn.Module):
        raise TypeError(f"module: expected a torch.nn.Module, got {describe(module)}")
    height, width = check_int_pair("input_size", input_size)
    check_int("in_channels", in_channels, minimum=1)
    check_int("trials", trials, minimum=1)
    gen = as_generator("seed", seed)
    if location is not None:
        loc = check_int_pair("location", location, minimum=0)
        location = (loc[0], loc[1])
    dtype = next((p.dtype for p in module.parameters()), torch.float32)
    mask = torch.zeros(height, width, dtype=torch.bool)
    strength = torch.zeros(height, width, dtype=torch.float64)
    was_training = module.training
    module.eval()
    try:
        for _ in range(trials):
            x = torch.randn(1, in_channels, height, width, generator=gen, dtype=dtype).requires_grad_(True)
            out = module(x)
            if isinstance(out, (list, tuple)):
                out = out[-1]
            h, w = out.shape[-2:]
            if location is None:
                location = (w // 2, h // 2)
            if not (location[0] < w and location[1] < h):
                raise ValueError(f"location: expected (x, y) inside the {h}x{w} output, got {location}")
            (grad,) = torch.autograd.grad(out[0, :, location[1], location[0]].sum(), x)
            mask |= (grad[0] != 0).any(dim=0)  # (H, W)
            strength += grad[0].abs().sum(dim=0).double() / trials
    finally:
        module.train(was_training)
    strength = strength / strength.max() if bool(mask.any()) else strength
    if not bool(mask.any()):
        return ReceptiveField(mask, strength, (0, 0, -1, -1), (0, 0), location)
    rows = mask.any(dim=1).nonzero()[:, 0]
    cols = mask.any(dim=0).nonzero()[:, 0]
    x0, x1, y0, y1 = int(cols[0]), int(cols[-1]), int(rows[0]), int(rows[-1])
    return ReceptiveField(mask, strength, (x0, y0, x1, y1), (y1 - y0 + 1, x1 - x0 + 1), location)


def conv_receptive_field(layers: Sequence[tuple[int, int]]) -> int:
    """The textbook receptive field of a stack of convolutions (or pools), in input pixels.

    Layer ``l`` has kernel ``k_l`` and stride ``s_l``; the *jump* ``j_l`` is the distance in input
    pixels between two neighbouring outputs of layer ``l``:

    .. math::
        r_0 = 1,\\ j_0 = 1, \\qquad r_l = r_{l-1} + (k_l - 1)\\, j_{l-1}, \\qquad j_l = j_{l-1}\\, s_l

    Padding does not change the size (it only moves the field over the border); dilation ``d``
    acts as a kernel of ``d (k - 1) + 1``. :func:`receptive_field` measures the same thing.

    Args:
        layers (Sequence[tuple[int, int]]): ``(kernel, stride)`` per layer, each >= 1.

    Returns:
        int: ``r_L``.

    Example:
        >>> conv_receptive_field([(3, 1), (3, 1)]), conv_receptive_field([(7, 2), (2, 2), (3, 1)])
        (5, 17)
    """
    if isinstance(layers, (str, Tensor)) or not isinstance(layers, Sequence):
        raise TypeError(f"layers: expected a sequence of (kernel, stride) pairs, got {describe(layers)}")
    pairs = [check_int_pair(f"layers[{i}]", layer) for i, layer in enumerate(layers)]
    r, jump = 1, 1
    for kernel, stride in pairs:
        r += (kernel - 1) * jump
        jump *= stride
    return r

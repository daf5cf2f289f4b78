"""Notebook 01's two measurements of RoIPool's misalignment, as functions of a seed.

* :func:`shift_misalignment` — move an image and its box together by sub-pixel steps; a pooling
  op that keeps the box where it was drawn returns (almost) the same features, one that rounds does
  not. Returns the relative change of the pooled features per shift and stride.
* :func:`pasted_mask_iou` — the mask branch's view: pool a 28 x 28 mask from an ideal "coverage"
  feature map, paste it back into its box, and measure IoU against the true shape.

Neither trains anything; the seed draws the image content and the objects.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import Tensor

from lessons._checks import as_generator, check_int
from lessons.data import SHAPE_KINDS, mask_to_box, shape_mask
from lessons.roi import roi_align, roi_pool

__all__ = ["ShiftResult", "MaskResult", "shift_misalignment", "pasted_mask_iou", "paste_mask", "STRIDES"]

#: The feature strides of FPN's P2-P5.
STRIDES = (4, 8, 16, 32)


class ShiftResult(NamedTuple):
    """``errors[(op, stride)]`` is Tensor[T]: the relative change of the pooled features at each shift."""

    shifts: Tensor
    errors: dict


class MaskResult(NamedTuple):
    """``ious[(op, stride)]`` is Tensor[N]; ``examples[(op, stride)]`` the pasted mask of object 2."""

    ious: dict
    examples: dict
    truth: Tensor
    boxes: Tensor


def _render_blobs(centres: Tensor, sigmas: Tensor, amplitudes: Tensor, size: int, shift: float) -> Tensor:
    # C channels of Gaussian blobs sampled at pixel centres, the whole image moved right/down by `shift` px
    p = torch.arange(size) + 0.5 - shift
    gx = torch.exp(-((p - centres[..., 0, None]) ** 2) / (2 * sigmas[..., None] ** 2))  # (C, N, W)
    gy = torch.exp(-((p - centres[..., 1, None]) ** 2) / (2 * sigmas[..., None] ** 2))  # (C, N, H)
    return torch.einsum("cn,cny,cnx->cyx", amplitudes, gy, gx)  # (C, H, W)


def shift_misalignment(
    *, seed: int | torch.Generator = 0, size: int = 256, max_shift: float = 32.0, step: float = 0.5
) -> ShiftResult:
    """Relative change of RoIPool and RoIAlign (``aligned=True``) outputs when image and box move together.

    The image is 4 channels of 24 random Gaussian blobs; the box ``(70.3, 61.8, 181.6, 170.2)`` moves
    with it. Features at stride ``s`` are ``s x s`` block averages. The error at shift ``t`` is
    ``mean|pooled(t) - pooled(0)| / mean|pooled(0)|``.
    """
    g = as_generator("seed", seed)
    check_int("size", size, minimum=64)
    centres = torch.rand(4, 24, 2, generator=g) * size
    sigmas = 6 + torch.rand(4, 24, generator=g) * 14
    amplitudes = torch.randn(4, 24, generator=g)
    shifts = torch.arange(0, max_shift + 1e-3, step)
    images = torch.stack([_render_blobs(centres, sigmas, amplitudes, size, float(t)) for t in shifts])  # (T, C, H, W)
    box = torch.tensor([70.3, 61.8, 181.6, 170.2]) * size / 256
    rois = torch.cat([torch.arange(len(shifts))[:, None].float(), box + shifts[:, None]], dim=1)  # (T, 5)
    errors = {}
    for stride in STRIDES:
        feats = F.avg_pool2d(images, stride)  # (T, C, H/s, W/s)
        for name, pooled in (
            ("RoIPool", roi_pool(feats, rois, 7, 1 / stride)),
            ("RoIAlign", roi_align(feats, rois, 7, 1 / stride, 2, aligned=True)),
        ):
            errors[name, stride] = (pooled - pooled[:1]).abs().mean(dim=(1, 2, 3)) / pooled[:1].abs().mean()
    return ShiftResult(shifts, errors)


def paste_mask(mask: Tensor, box: Tensor, size: int) -> Tensor:
    """Resize a soft ``(M, M)`` mask into its box (bilinear), threshold at 0.5; ``False`` outside the box."""
    x1, y1, x2, y2 = box.tolist()
    centres = torch.arange(size) + 0.5
    gx, gy = 2 * (centres - x1) / (x2 - x1) - 1, 2 * (centres - y1) / (y2 - y1) - 1  # [-1, 1] inside the box
    grid = torch.stack(torch.meshgrid(gx, gy, indexing="xy"), dim=-1)[None]  # (1, H, W, 2) as (x, y)
    soft = F.grid_sample(mask[None, None], grid, align_corners=False, padding_mode="border")[0, 0]
    inside = (gy.abs() <= 1)[:, None] & (gx.abs() <= 1)[None, :]
    return (soft > 0.5) & inside


def pasted_mask_iou(*, seed: int | torch.Generator = 0, size: int = 256, per_kind: int = 3) -> MaskResult:
    """Mask IoU after pool-and-paste for RoIPool, RoIAlign and RoIAlign ``aligned=False``, per stride.

    ``per_kind`` objects of every shape kind at sub-pixel positions (radius 20-60 px, random angle);
    the "feature map" at stride ``s`` is the fraction of each ``s x s`` cell the object covers.
    """
    g = as_generator("seed", seed)
    check_int("per_kind", per_kind, minimum=1)
    objects = []
    for kind in SHAPE_KINDS:
        for _ in range(per_kind):
            cx, cy = (size * 60 / 256 + torch.rand(2, generator=g) * size * 136 / 256).tolist()
            radius = (20 + float(torch.rand((), generator=g)) * 40) * size / 256
            objects.append(shape_mask(kind, (cx, cy), radius, size, angle=float(torch.rand((), generator=g)) * math.pi))
    truth = torch.stack(objects)  # (N, H, W) bool
    boxes = mask_to_box(truth)  # (N, 4) tight boxes
    rois = torch.cat([torch.arange(len(objects))[:, None].float(), boxes], dim=1)  # (N, 5)
    ops = {
        "RoIPool": lambda f, s: roi_pool(f, rois, 28, 1 / s),
        "RoIAlign": lambda f, s: roi_align(f, rois, 28, 1 / s, 2, aligned=True),
        "RoIAlign aligned=False": lambda f, s: roi_align(f, rois, 28, 1 / s, 2, aligned=False),
    }
    ious, examples = {}, {}
    for stride in STRIDES:
        feats = F.avg_pool2d(truth[:, None].float(), stride)  # (N, 1, H/s, W/s): cell coverage
        for name, op in ops.items():
            pooled = op(feats, stride)[:, 0]  # (N, 28, 28)
            pasted = [paste_mask(pooled[i], boxes[i], size) for i in range(len(objects))]
            ious[name, stride] = torch.tensor([((p & t).sum() / (p | t).sum()).item() for p, t in zip(pasted, truth)])
            examples[name, stride] = pasted[2]
    return MaskResult(ious, examples, truth, boxes)

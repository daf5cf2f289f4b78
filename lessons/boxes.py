"""Boxes: area and pairwise intersection over union (IoU), the warm-up of the course.

Every box in the course is ``(x1, y1, x2, y2)`` in continuous pixel coordinates with
``x1 <= x2`` and ``y1 <= y2`` — torchvision's convention. IoU is the overlap measure that NMS,
detection metrics and mask matching all build on:

.. math::
    \\mathrm{IoU}(A, B) = \\frac{|A \\cap B|}{|A \\cup B|} = \\frac{|A \\cap B|}{|A| + |B| - |A \\cap B|}

Note:
    torchvision's :func:`torchvision.ops.box_iou` divides by the union with no guard, so two
    zero-area boxes give ``0 / 0 = nan``. This module keeps that convention (it is the reference
    the exercise is checked against) and documents it, rather than silently returning 0.
"""

from __future__ import annotations

import torch
from torch import Tensor

from lessons._checks import check_boxes, check_same_dtype

__all__ = ["box_area", "box_iou", "box_iou_loop"]


def box_area(boxes: Tensor) -> Tensor:
    """Area of each box.

    Args:
        boxes (Tensor[N, 4]): rows ``(x1, y1, x2, y2)``, floating point.

    Returns:
        Tensor[N]: ``(x2 - x1) * (y2 - y1)``.

    Raises:
        TypeError: ``boxes`` is not a floating-point tensor.
        ValueError: not ``(N, 4)``, a NaN/inf coordinate, or a row with ``x1 > x2`` or ``y1 > y2``.
    """
    check_boxes("boxes", boxes)
    return _box_area(boxes)


def _box_area(boxes: Tensor) -> Tensor:
    return (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])


def box_iou(boxes1: Tensor, boxes2: Tensor) -> Tensor:
    """Pairwise IoU between two sets of boxes, equal to :func:`torchvision.ops.box_iou`.

    Args:
        boxes1 (Tensor[N, 4]): rows ``(x1, y1, x2, y2)`` with ``x1 <= x2`` and ``y1 <= y2``.
        boxes2 (Tensor[M, 4]): the same format and dtype.

    Returns:
        Tensor[N, M]: ``iou[i, j]`` between ``boxes1[i]`` and ``boxes2[j]``; boxes that only touch
        have IoU 0; two zero-area boxes give ``nan`` (0 / 0), as in torchvision.

    Example:
        Two 2 x 2 squares offset by (1, 1) share a 1 x 1 square: IoU = 1 / (4 + 4 - 1) = 1/7.

        >>> box_iou(torch.tensor([[0., 0., 2., 2.]]), torch.tensor([[1., 1., 3., 3.]]))
        tensor([[0.1429]])
    """
    _check_box_pair(boxes1, boxes2)
    return _box_iou(boxes1, boxes2)


def _box_iou(boxes1: Tensor, boxes2: Tensor) -> Tensor:
    area1 = _box_area(boxes1)  # (N,)
    area2 = _box_area(boxes2)  # (M,)
    top_left = torch.maximum(boxes1[:, None, :2], boxes2[None, :, :2])  # (N, M, 2)
    bottom_right = torch.minimum(boxes1[:, None, 2:], boxes2[None, :, 2:])  # (N, M, 2)
    wh = (bottom_right - top_left).clamp(min=0)  # (N, M, 2): no overlap -> 0, never negative
    inter = wh[..., 0] * wh[..., 1]  # (N, M)
    union = area1[:, None] + area2[None, :] - inter  # (N, M)
    return inter / union


def _check_box_pair(boxes1: Tensor, boxes2: Tensor) -> None:
    check_boxes("boxes1", boxes1)
    check_boxes("boxes2", boxes2)
    check_same_dtype("boxes2", boxes2, "boxes1", boxes1)


def box_iou_loop(boxes1: Tensor, boxes2: Tensor) -> Tensor:
    """The definition of :func:`box_iou`, one pair at a time (slow; for teaching and tests).

    Args:
        boxes1 (Tensor[N, 4]): rows ``(x1, y1, x2, y2)`` with ``x1 <= x2`` and ``y1 <= y2``.
        boxes2 (Tensor[M, 4]): the same format and dtype.

    Returns:
        Tensor[N, M]: the IoUs in ``boxes1``'s dtype; ``nan`` where the union is empty.
    """
    _check_box_pair(boxes1, boxes2)
    out = torch.zeros(len(boxes1), len(boxes2), dtype=boxes1.dtype)
    for i, (ax1, ay1, ax2, ay2) in enumerate(boxes1.tolist()):
        for j, (bx1, by1, bx2, by2) in enumerate(boxes2.tolist()):
            inter = max(0.0, min(ax2, bx2) - max(ax1, bx1)) * max(0.0, min(ay2, by2) - max(ay1, by1))
            union = (ax2 - ax1) * (ay2 - ay1) + (bx2 - bx1) * (by2 - by1) - inter
            out[i, j] = inter / union if union > 0 else float("nan")
    return out

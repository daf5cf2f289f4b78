"""Non-maximum suppression: the greedy loop and YOLACT's FastNMS.

Papers:
    Bolya, Zhou, Xiao, Lee. "YOLACT: Real-time Instance Segmentation", 2019, arXiv:1904.02689
    (Sec. 3.3, Fast NMS). Greedy NMS is the classic detector post-processing (e.g. R. Girshick,
    "Fast R-CNN", 2015, arXiv:1504.08083), implemented by :func:`torchvision.ops.nms`.

Summary:
    Greedy NMS visits boxes by decreasing score and keeps a box unless an already *kept* box
    overlaps it by more than the IoU threshold: each decision waits for the previous ones.
    FastNMS computes the whole upper-triangular IoU matrix at once and suppresses every box that
    overlaps *any* higher-scored box, so it keeps a subset of what greedy NMS keeps, in one matrix
    operation.

Deviations from the reference code (``dbolya/yolact``):
    * :func:`batched_fast_nms` separates classes with torchvision's coordinate-offset trick instead
      of a ``(classes, top_k, top_k)`` IoU tensor; the kept set is the same when ``top_k`` is
      ``None``.
    * Boxes must be finite with ``x1 <= x2`` and ``y1 <= y2`` (a NaN box would otherwise be kept:
      its IoU with everything is NaN, and ``NaN > t`` is false). Scores must be finite too.
"""

from __future__ import annotations

import torch
from torch import Tensor
from torchvision.ops import box_iou

from lessons._checks import (
    check_boxes,
    check_finite,
    check_floating,
    check_int,
    check_int_tensor,
    check_non_negative,
    check_shape,
)

__all__ = ["fast_nms", "batched_fast_nms", "greedy_nms"]


def _check_nms_inputs(boxes: object, scores: object, iou_threshold: object) -> None:
    check_boxes("boxes", boxes)
    n = boxes.shape[0]  # type: ignore[union-attr]
    check_floating("scores", scores)
    check_shape("scores", scores, (n,), f"({n},), one score per box")  # type: ignore[arg-type]
    check_finite("scores", scores)  # type: ignore[arg-type]
    check_non_negative("iou_threshold", iou_threshold)


def _check_top_k(top_k: object) -> int | None:
    return None if top_k is None else check_int("top_k", top_k, minimum=1)


def fast_nms(boxes: Tensor, scores: Tensor, iou_threshold: float = 0.5, *, top_k: int | None = None) -> Tensor:
    """FastNMS (YOLACT §3.3): suppress every box that overlaps *any* higher-scored box.

    Sort by score (keep the ``top_k`` best), compute the IoU matrix ``X`` (N x N), keep its strict
    upper triangle (``X_ij`` for ``i < j``, i.e. box ``i`` scores higher) and take each column's
    maximum; box ``j`` is kept iff

    .. math::  \\max_{i < j} X_{ij} \\le t

    One matrix product and a max replace greedy NMS's sequential loop, so already-suppressed boxes
    can still suppress others: FastNMS keeps a subset of what greedy NMS keeps.

    Args:
        boxes (Tensor[N, 4]): ``(x1, y1, x2, y2)`` boxes (IoU without the +1 in the areas).
        scores (Tensor[N]): their scores.
        iou_threshold (float): suppress when IoU ``> iou_threshold``. Default: ``0.5``
            (the reference's ``nms_thresh``).
        top_k (int | None): consider only the ``top_k`` highest scores first (the reference uses
            ``200``). Default: ``None`` (all boxes, to compare with :func:`torchvision.ops.nms`).

    Returns:
        Tensor[M] (int64): indices of the kept boxes, by decreasing score, like
        :func:`torchvision.ops.nms`.

    Example:
        A = (0, 0, 10, 10) s = .9, B = (3, 0, 13, 10) s = .8, C = (6, 0, 16, 10) s = .7:
        IoU(A, B) = IoU(B, C) = 0.5385 and IoU(A, C) = 0.25. FastNMS keeps ``[A]`` (B suppresses
        C although B itself is suppressed); greedy NMS keeps ``[A, C]``.
    """
    _check_nms_inputs(boxes, scores, iou_threshold)
    return _fast_nms(boxes, scores, iou_threshold, _check_top_k(top_k))


def _fast_nms(boxes: Tensor, scores: Tensor, iou_threshold: float, top_k: int | None) -> Tensor:
    """:func:`fast_nms` without the checks."""
    order = scores.argsort(descending=True)  # (N,)
    if top_k is not None:
        order = order[:top_k]
    iou = box_iou(boxes[order], boxes[order]).triu(diagonal=1)  # (N, N), row i beats column j
    iou_max = iou.max(dim=0).values if order.numel() else iou.new_zeros(0)  # (N,) per column
    return order[iou_max <= iou_threshold]


def batched_fast_nms(
    boxes: Tensor, scores: Tensor, idxs: Tensor, iou_threshold: float = 0.5, *, top_k: int | None = None
) -> Tensor:
    """FastNMS within each class (boxes of different ``idxs`` never suppress each other).

    Uses torchvision's ``batched_nms`` trick: boxes are shifted by ``class * (coordinate span + 1)``
    so boxes of different classes cannot overlap, then one :func:`fast_nms` runs. The reference instead builds a
    ``(classes, top_k, top_k)`` IoU tensor; the kept set is the same when ``top_k`` is ``None``.

    Args:
        boxes (Tensor[N, 4]): ``(x1, y1, x2, y2)`` boxes.
        scores (Tensor[N]): their scores.
        idxs (Tensor[N]): integer class of each box.
        iou_threshold (float): as in :func:`fast_nms`. Default: ``0.5``.
        top_k (int | None): as in :func:`fast_nms`, over all classes. Default: ``None``.

    Returns:
        Tensor[M] (int64): kept indices by decreasing score.
    """
    _check_nms_inputs(boxes, scores, iou_threshold)
    check_int_tensor("idxs", idxs)
    check_shape("idxs", idxs, (boxes.shape[0],), f"({boxes.shape[0]},), one class per box")
    top_k = _check_top_k(top_k)
    if boxes.numel() == 0:
        return torch.zeros(0, dtype=torch.int64, device=boxes.device)
    offsets = idxs.to(boxes) * (boxes.max() - boxes.min() + 1)  # (N,) classes far apart
    return _fast_nms(boxes + offsets[:, None], scores, iou_threshold, top_k)


def greedy_nms(boxes: Tensor, scores: Tensor, iou_threshold: float = 0.5) -> Tensor:
    """Greedy NMS as a readable loop (the semantics of :func:`torchvision.ops.nms`).

    Visit boxes by decreasing score; keep a box unless a box *already kept* overlaps it with
    IoU ``> iou_threshold``. The decision for a box depends on the decisions before it, which is
    the sequential dependency FastNMS removes.

    Args:
        boxes (Tensor[N, 4]): ``(x1, y1, x2, y2)`` boxes.
        scores (Tensor[N]): their scores.
        iou_threshold (float): Default: ``0.5``.

    Returns:
        Tensor[M] (int64): kept indices by decreasing score.
    """
    _check_nms_inputs(boxes, scores, iou_threshold)
    order = scores.argsort(descending=True)
    iou = box_iou(boxes, boxes)  # (N, N)
    kept: list[int] = []
    for j in order.tolist():
        if all(iou[i, j] <= iou_threshold for i in kept):
            kept.append(j)
    return torch.tensor(kept, dtype=torch.int64, device=boxes.device)

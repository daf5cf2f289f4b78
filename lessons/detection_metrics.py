"""Average precision of a detector: the ranking of detections scored against the ground truth.

The metric of Pascal VOC (Everingham et al., "The Pascal Visual Object Classes (VOC) Challenge",
IJCV 2010) and COCO (Lin et al., "Microsoft COCO: Common Objects in Context", 2014,
arXiv:1405.0312), in a "lite" form: one IoU threshold, all-point interpolation. Notebook 09 scores
CornerNet's and CenterNet's boxes with it (importable from :mod:`lessons.keypoint_detection` too).

Deviations: see the Note of :func:`average_precision` (COCO's 101 recall points and 10 thresholds
are not averaged here).
"""

from __future__ import annotations

import torch
from torch import Tensor

from lessons._checks import check_finite, check_floating, check_shape, describe
from lessons.boxes import _box_iou

__all__ = ["average_precision"]


def average_precision(
    pred_boxes: list[Tensor],
    pred_scores: list[Tensor],
    gt_boxes: list[Tensor],
    *,
    iou_threshold: float = 0.5,
    pred_labels: list[Tensor] | None = None,
    gt_labels: list[Tensor] | None = None,
) -> float:
    """AP-lite: all-point interpolated average precision at one IoU threshold, mean over classes.

    Detections of all images ranked by score (stable) are true positives when their best unmatched
    ground truth (same image and class) has IoU ``>= iou_threshold``. With precision ``P`` and recall
    ``R`` along the ranking, ``AP = sum_i (R_i - R_{i-1}) max_{j >= i} P_j`` (VOC 2010+). An
    inverted box (``x2 < x1`` or ``y2 < y1``) is a false positive.

    Note:
        COCO matches at IoU ``>=`` the threshold (used here), Pascal VOC's ``voc_eval`` at ``>``; COCO
        also averages over 101 recall points and 10 thresholds, which this "lite" version does not.

    Args:
        pred_boxes, pred_scores (list[Tensor[D_i, 4]], list[Tensor[D_i]]): detections per image.
        gt_boxes (list[Tensor[G_i, 4]]): ground truth per image.
        iou_threshold (float): in (0, 1]. Default: ``0.5``.
        pred_labels, gt_labels (list[Tensor[D_i]], list[Tensor[G_i]] or None): classes, both or
            neither; ``None`` = class-agnostic. Default: ``None``.

    Returns:
        float: AP in [0, 1] (``nan`` when there is no ground truth at all).

    Example:
        >>> gt = [torch.tensor([[0.0, 0.0, 10.0, 10.0]])]
        >>> average_precision([torch.tensor([[0.0, 0.0, 10.0, 4.0], [0.0, 0.0, 10.0, 9.0]])],
        ...                   [torch.tensor([0.9, 0.8])], gt)
        0.5
    """
    for name, seq in (("pred_boxes", pred_boxes), ("pred_scores", pred_scores), ("gt_boxes", gt_boxes)):
        if not isinstance(seq, (list, tuple)):
            raise TypeError(f"{name}: expected a list of tensors (one per image), got {describe(seq)}")
    if not len(pred_boxes) == len(pred_scores) == len(gt_boxes):
        raise ValueError(f"pred_scores, gt_boxes: expected {len(pred_boxes)} entries (one per image) like pred_boxes")
    if not (isinstance(iou_threshold, (int, float)) and 0 < iou_threshold <= 1):
        raise ValueError(f"iou_threshold: expected a number in (0, 1], got {iou_threshold!r}")
    if (pred_labels is None) != (gt_labels is None):
        raise ValueError("pred_labels, gt_labels: give both or neither")
    for i, (pb, ps, gb) in enumerate(zip(pred_boxes, pred_scores, gt_boxes)):
        for name, t in ((f"pred_boxes[{i}]", pb), (f"gt_boxes[{i}]", gb)):
            check_floating(name, t)
            check_shape(name, t, (None, 4), "(N, 4)")
            check_finite(name, t)
        check_floating(f"pred_scores[{i}]", ps)
        check_shape(f"pred_scores[{i}]", ps, (pb.shape[0],), "(D,)")
        check_finite(f"pred_scores[{i}]", ps)
    if pred_labels is None:
        pred_labels = [torch.zeros(len(p), dtype=torch.long) for p in pred_boxes]
        gt_labels = [torch.zeros(len(g), dtype=torch.long) for g in gt_boxes]
    classes = sorted({int(c) for g in gt_labels for c in g.tolist()})
    if not classes:
        return float("nan")
    aps = []
    for c in classes:
        records = []  # (score, image, box)
        for i, (pb, ps, pl) in enumerate(zip(pred_boxes, pred_scores, pred_labels)):
            records += [(float(s), i, pb[j]) for j, s in enumerate(ps.tolist()) if int(pl[j]) == c]
        records.sort(key=lambda r: -r[0])  # stable: ties keep their order
        gts = [gb[gl == c] for gb, gl in zip(gt_boxes, gt_labels)]
        taken = [torch.zeros(len(g), dtype=torch.bool) for g in gts]
        total = sum(len(g) for g in gts)
        tp = []
        for _, i, box in records:
            hit = False
            if len(gts[i]) and box[2] >= box[0] and box[3] >= box[1]:  # an inverted box matches nothing
                iou = _box_iou(box[None].to(gts[i].dtype), gts[i])[0].masked_fill(taken[i], -1.0)  # (G,)
                best = int(iou.argmax())
                if iou[best] >= iou_threshold:
                    taken[i][best] = hit = True
            tp.append(hit)
        aps.append(_ap_from_ranking(tp, total))
    return float(sum(aps) / len(aps))


def _ap_from_ranking(tp: list[bool], total: int) -> float:
    if not tp:
        return 0.0
    hits = torch.tensor(tp, dtype=torch.float64).cumsum(0)
    precision = hits / torch.arange(1, len(tp) + 1, dtype=torch.float64)
    recall = hits / total
    envelope = precision.flip(0).cummax(0).values.flip(0)  # max_{j >= i} P_j
    steps = torch.diff(recall, prepend=torch.zeros(1, dtype=torch.float64))
    return float((steps * envelope).sum())

"""Multi-task learning for face detection: RetinaFace's heads, targets and loss on one backbone.

RetinaFace (Deng, Guo, Zhou, Yu, Kotsia, Zafeiriou, "RetinaFace: Single-stage Dense Face
Localisation in the Wild", 2019, arXiv:1905.00641; CVPR 2020) is a single-stage detector whose
anchors each predict several things at once from one shared backbone: face vs not-face, the box,
five landmarks (eyes, nose tip, mouth corners) and a dense 3D face. Its multi-task loss (Eq. 1):

.. math::
    L = L_{cls}(p_i, p_i^*) + \\lambda_1 p_i^* L_{box}(t_i, t_i^*)
        + \\lambda_2 p_i^* L_{pts}(l_i, l_i^*) + \\lambda_3 p_i^* L_{pixel},
    \\qquad \\lambda_1 = 0.25,\\ \\lambda_2 = 0.1,\\ \\lambda_3 = 0.01

``p_i^* = 1`` for a positive anchor and 0 for a negative one: the box, landmark and pixel terms
count **only on positive anchors**. The lecture's point (공통된 정보 이외에 task마다 다른 정보를
backbone이 학습): each task teaches the shared backbone something the others do not, so the
features get stronger, and the gain is often large for the amount of data used.

This module implements the **paper's weighting** ``lambda_1 = 0.25, lambda_2 = 0.1``
(:data:`PAPER_WEIGHTS`) in :func:`retinaface_loss`; the dense term is left out (there is no 3D face
here), which is what ``lambda_3 = 0`` means.

Note:
    The popular PyTorch port (``biubug6/Pytorch_Retinaface``, ``data/config.py`` and
    ``layers/modules/multibox_loss.py``) weighs the terms differently: ``loss = 2.0 * L_loc + L_cls
    + L_landm`` (``loc_weight = 2.0``, landmarks weight 1, no dense term), i.e. a box term 8 times
    and a landmark term 10 times larger relative to the classification than the paper's. Pass
    ``weights=(2.0, 1.0)`` to :func:`retinaface_loss` for that port's balance.

Everything else follows the port, scaled down:

* anchors (:func:`make_anchors`) are squares centred on the cells of one feature map;
* box targets are Fast R-CNN's offsets with the port's variances ``(0.1, 0.2)``
  (:func:`encode_boxes`); landmark targets are offsets from the anchor centre in units of
  ``0.1 x`` the anchor size, ``(l - c_a) / (0.1 w_a)`` (:func:`encode_landmarks`);
* matching (:func:`match_anchors`): IoU >= 0.5 is positive, < 0.3 negative, in between ignored, and
  every face's best anchor is positive.

Deviations, stated again where they apply: one feature level instead of the pyramid P2–P6 (the
images are 32 x 32); no OHEM (the paper keeps the hardest negatives at 3:1), so the
classification term is the mean cross-entropy over all positive and negative anchors; no context
module, no dense 3D term; one face per image in the experiments (the functions take any number).

NaN policy: feature maps, logits, images and the inputs of losses are not scanned for NaN/inf (a
full scan would cost more than the operation), so a NaN there passes through to the result; boxes,
coordinates, sizes, indices and labels are checked and a NaN/inf there raises ``ValueError``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from lessons._checks import (
    check_finite,
    check_floating,
    check_int,
    check_int_pair,
    check_non_negative,
    check_positive,
    check_tensor,
    describe,
)
from lessons.boxes import _box_iou

__all__ = [
    "PAPER_WEIGHTS",
    "PORT_WEIGHTS",
    "VARIANCES",
    "RetinaFaceLoss",
    "make_anchors",
    "encode_boxes",
    "decode_boxes",
    "encode_landmarks",
    "decode_landmarks",
    "match_anchors",
    "retinaface_loss",
    "TinyRetinaFace",
    "best_detection",
    "landmark_nme",
]

#: ``(lambda_1, lambda_2)`` of RetinaFace's Eq. 1: box and landmark weights (classification has 1).
PAPER_WEIGHTS = (0.25, 0.1)
#: The weights of ``biubug6/Pytorch_Retinaface``: ``2.0 * L_loc + L_cls + L_landm``.
PORT_WEIGHTS = (2.0, 1.0)
#: Scale of the encoded offsets (centre, size), as in the port's ``cfg['variance']``.
VARIANCES = (0.1, 0.2)


class RetinaFaceLoss(NamedTuple):
    """The multi-task loss and its terms (each already multiplied by its weight).

    Attributes:
        total (Tensor[]): ``cls + box + landmarks``.
        cls (Tensor[]): ``L_cls``, mean cross-entropy over the anchors that are not ignored.
        box (Tensor[]): ``lambda_1 * L_box`` over the positive anchors.
        landmarks (Tensor[]): ``lambda_2 * L_pts`` over the positive anchors.
    """

    total: Tensor
    cls: Tensor
    box: Tensor
    landmarks: Tensor


# ----------------------------------------------------------------------------- anchors and coding


def make_anchors(feature_size: int | tuple[int, int], stride: int, sizes: Sequence[float]) -> Tensor:
    """Square anchors ``(cx, cy, w, h)`` centred on every cell of a feature map.

    Cell ``(row i, col j)`` of a map of stride ``s`` covers image pixels ``s*j .. s*j + s - 1``;
    its centre, with pixel centres on the integers (the convention of the landmarks), is
    ``((j + 0.5) s - 0.5, (i + 0.5) s - 0.5)``. Anchors are ordered row by row, then by size,
    matching a head's ``(B, A*C, H, W) -> (B, H*W*A, C)`` reshape.

    Args:
        feature_size (int or tuple[int, int]): ``(H, W)`` of the feature map.
        stride (int): image pixels per feature cell, >= 1.
        sizes (Sequence[float]): side of each anchor in pixels, each > 0.

    Returns:
        Tensor[H*W*A, 4] (float32): ``(cx, cy, w, h)`` per anchor, ``A = len(sizes)``.

    Example:
        >>> make_anchors(2, 4, [8.0])
        tensor([[1.5000, 1.5000, 8.0000, 8.0000],
                [5.5000, 1.5000, 8.0000, 8.0000],
                [1.5000, 5.5000, 8.0000, 8.0000],
                [5.5000, 5.5000, 8.0000, 8.0000]])
    """
    height, width = check_int_pair("feature_size", feature_size)
    check_int("stride", stride, minimum=1)
    if not isinstance(sizes, (list, tuple)) or not sizes:
        raise TypeError(f"sizes: expected a non-empty list of anchor sides, got {describe(sizes)}")
    for size in sizes:
        check_positive("sizes", size)
    ys = (torch.arange(height, dtype=torch.float32) + 0.5) * stride - 0.5  # (H,)
    xs = (torch.arange(width, dtype=torch.float32) + 0.5) * stride - 0.5  # (W,)
    cy, cx = torch.meshgrid(ys, xs, indexing="ij")  # (H, W)
    side = torch.tensor([float(s) for s in sizes])  # (A,)
    a = len(sizes)
    centres = torch.stack([cx, cy], dim=-1).reshape(-1, 1, 2).expand(-1, a, 2)  # (H*W, A, 2)
    wh = side[None, :, None].expand(height * width, a, 2)  # (H*W, A, 2)
    return torch.cat([centres, wh], dim=-1).reshape(-1, 4)  # (H*W*A, 4)


def _check_anchors(anchors: object) -> None:
    check_floating("anchors", anchors)
    if anchors.ndim != 2 or anchors.shape[1] != 4:  # type: ignore[union-attr]
        raise ValueError(f"anchors: expected shape (A, 4) with rows (cx, cy, w, h), got {describe(anchors)}")
    check_finite("anchors", anchors)  # type: ignore[arg-type]
    if anchors.numel() and not bool((anchors[:, 2:] > 0).all()):  # type: ignore[index]
        raise ValueError("anchors: expected positive widths and heights (columns 2 and 3)")


def _xyxy_to_cxcywh(boxes: Tensor) -> Tensor:
    return torch.cat([(boxes[..., :2] + boxes[..., 2:]) / 2, boxes[..., 2:] - boxes[..., :2]], dim=-1)


def _cxcywh_to_xyxy(boxes: Tensor) -> Tensor:
    return torch.cat([boxes[..., :2] - boxes[..., 2:] / 2, boxes[..., :2] + boxes[..., 2:] / 2], dim=-1)


def encode_boxes(boxes: Tensor, anchors: Tensor) -> Tensor:
    """Box regression targets: Fast R-CNN's offsets, scaled by :data:`VARIANCES`.

    .. math::
        t = \\left(\\frac{x_c - x_a}{0.1\\,w_a}, \\frac{y_c - y_a}{0.1\\,h_a},
        \\frac{\\log(w / w_a)}{0.2}, \\frac{\\log(h / h_a)}{0.2}\\right)

    Args:
        boxes (Tensor[..., A, 4]): ``(x1, y1, x2, y2)`` with positive width and height, finite.
        anchors (Tensor[A, 4]): ``(cx, cy, w, h)``.

    Returns:
        Tensor[..., A, 4]: the offsets ``t``.

    Example:
        >>> encode_boxes(torch.tensor([[2.0, 2.0, 10.0, 10.0]]), torch.tensor([[5.0, 6.0, 8.0, 8.0]]))
        tensor([[1.2500, 0.0000, 0.0000, 0.0000]])
    """
    check_floating("boxes", boxes)
    _check_anchors(anchors)
    if boxes.shape[-2:] != anchors.shape:
        raise ValueError(f"boxes: expected shape (..., {anchors.shape[0]}, 4), got shape {tuple(boxes.shape)}")
    check_finite("boxes", boxes)
    if not bool((boxes[..., 2:] > boxes[..., :2]).all()):
        raise ValueError("boxes: expected x1 < x2 and y1 < y2 in every row (the log needs a positive size)")
    return _encode_boxes(boxes, anchors)


def _encode_boxes(boxes: Tensor, anchors: Tensor) -> Tensor:
    g = _xyxy_to_cxcywh(boxes)  # (..., A, 4)
    centre = (g[..., :2] - anchors[:, :2]) / (VARIANCES[0] * anchors[:, 2:])
    size = torch.log(g[..., 2:] / anchors[:, 2:]) / VARIANCES[1]
    return torch.cat([centre, size], dim=-1)


def decode_boxes(deltas: Tensor, anchors: Tensor) -> Tensor:
    """Invert :func:`encode_boxes`: offsets back to ``(x1, y1, x2, y2)``.

    Args:
        deltas (Tensor[..., A, 4]): predicted offsets (NaN passes through).
        anchors (Tensor[A, 4]): ``(cx, cy, w, h)``.

    Returns:
        Tensor[..., A, 4]: boxes ``(x1, y1, x2, y2)``.

    Example:
        >>> anchors = torch.tensor([[5.0, 6.0, 8.0, 8.0]])
        >>> decode_boxes(encode_boxes(torch.tensor([[2.0, 2.0, 10.0, 12.0]]), anchors), anchors)
        tensor([[ 2.,  2., 10., 12.]])
    """
    check_floating("deltas", deltas)
    _check_anchors(anchors)
    if deltas.shape[-2:] != anchors.shape:
        raise ValueError(f"deltas: expected shape (..., {anchors.shape[0]}, 4), got shape {tuple(deltas.shape)}")
    return _decode_boxes(deltas, anchors)


def _decode_boxes(deltas: Tensor, anchors: Tensor) -> Tensor:
    centre = anchors[:, :2] + deltas[..., :2] * VARIANCES[0] * anchors[:, 2:]
    size = anchors[:, 2:] * torch.exp(deltas[..., 2:] * VARIANCES[1])
    return _cxcywh_to_xyxy(torch.cat([centre, size], dim=-1))


def encode_landmarks(landmarks: Tensor, anchors: Tensor) -> Tensor:
    """Landmark regression targets: offsets from the anchor centre in units of ``0.1 x`` its size.

    .. math:: l^*_k = \\left(\\frac{x_k - x_a}{0.1\\,w_a}, \\frac{y_k - y_a}{0.1\\,h_a}\\right),
        \\quad k = 1..5, \\text{ flattened to 10 numbers}

    Args:
        landmarks (Tensor[..., A, L, 2]): ``(x, y)`` per landmark, finite.
        anchors (Tensor[A, 4]): ``(cx, cy, w, h)``.

    Returns:
        Tensor[..., A, 2L]: ``(x_1, y_1, x_2, y_2, ...)`` offsets.

    Example:
        >>> encode_landmarks(torch.tensor([[[6.0, 4.0]]]), torch.tensor([[5.0, 6.0, 10.0, 10.0]]))
        tensor([[ 1., -2.]])
    """
    check_floating("landmarks", landmarks)
    _check_anchors(anchors)
    if landmarks.ndim < 3 or landmarks.shape[-1] != 2 or landmarks.shape[-3] != anchors.shape[0]:
        raise ValueError(
            f"landmarks: expected shape (..., {anchors.shape[0]}, L, 2), got shape {tuple(landmarks.shape)}"
        )
    check_finite("landmarks", landmarks)
    return _encode_landmarks(landmarks, anchors)


def _encode_landmarks(landmarks: Tensor, anchors: Tensor) -> Tensor:
    offsets = (landmarks - anchors[:, None, :2]) / (VARIANCES[0] * anchors[:, None, 2:])  # (..., A, L, 2)
    return offsets.flatten(-2)  # (..., A, 2L)


def decode_landmarks(deltas: Tensor, anchors: Tensor) -> Tensor:
    """Invert :func:`encode_landmarks`.

    Args:
        deltas (Tensor[..., A, 2L]): predicted offsets (NaN passes through).
        anchors (Tensor[A, 4]): ``(cx, cy, w, h)``.

    Returns:
        Tensor[..., A, L, 2]: ``(x, y)`` per landmark.

    Example:
        >>> decode_landmarks(torch.tensor([[1.0, -2.0]]), torch.tensor([[5.0, 6.0, 10.0, 10.0]]))
        tensor([[[6., 4.]]])
    """
    check_floating("deltas", deltas)
    _check_anchors(anchors)
    if deltas.ndim < 2 or deltas.shape[-2] != anchors.shape[0] or deltas.shape[-1] % 2:
        raise ValueError(f"deltas: expected shape (..., {anchors.shape[0]}, 2L), got shape {tuple(deltas.shape)}")
    return _decode_landmarks(deltas, anchors)


def _decode_landmarks(deltas: Tensor, anchors: Tensor) -> Tensor:
    offsets = deltas.unflatten(-1, (-1, 2))  # (..., A, L, 2)
    return anchors[:, None, :2] + offsets * VARIANCES[0] * anchors[:, None, 2:]


# ----------------------------------------------------------------------------- matching


def match_anchors(
    anchors: Tensor, boxes: Tensor, *, pos_iou: float = 0.5, neg_iou: float = 0.3
) -> tuple[Tensor, Tensor]:
    """Label each anchor positive (1), negative (0) or ignored (-1) against one image's faces.

    * ``IoU >= pos_iou`` with some face: positive, matched to the face of highest IoU;
    * ``IoU < neg_iou`` with every face: negative;
    * otherwise ignored (no loss at all);
    * then every face's best anchor is made positive and matched to that face, so that no face is
      left without an anchor (the port's ``match`` does the same).

    Args:
        anchors (Tensor[A, 4]): ``(cx, cy, w, h)``.
        boxes (Tensor[G, 4]): the faces' ``(x1, y1, x2, y2)``, same dtype, finite; ``G`` may be 0.
        pos_iou (float): positive threshold (``>=``). Default: ``0.5``.
        neg_iou (float): negative threshold (``<``), ``<= pos_iou``. Default: ``0.3``.

    Returns:
        tuple[Tensor[A], Tensor[A]]: int64 labels in ``{1, 0, -1}`` and the index of the matched face
        (0 where the anchor is not positive).

    Example:
        >>> anchors = torch.tensor([[4.0, 4.0, 8.0, 8.0], [12.0, 4.0, 8.0, 8.0], [7.0, 4.0, 8.0, 8.0]])
        >>> match_anchors(anchors, torch.tensor([[0.0, 0.0, 8.0, 8.0]]))  # IoU 1, 0 and 40/88
        (tensor([ 1,  0, -1]), tensor([0, 0, 0]))
    """
    _check_anchors(anchors)
    check_floating("boxes", boxes)
    if boxes.ndim != 2 or boxes.shape[1] != 4:
        raise ValueError(f"boxes: expected shape (G, 4) with rows (x1, y1, x2, y2), got shape {tuple(boxes.shape)}")
    check_finite("boxes", boxes)
    check_non_negative("neg_iou", neg_iou)
    check_positive("pos_iou", pos_iou)
    if neg_iou > pos_iou:
        raise ValueError(f"neg_iou: expected neg_iou <= pos_iou = {pos_iou}, got {neg_iou}")
    return _match_anchors(anchors, boxes.to(anchors.dtype), pos_iou, neg_iou)


def _match_anchors(anchors: Tensor, boxes: Tensor, pos_iou: float, neg_iou: float) -> tuple[Tensor, Tensor]:
    num = anchors.shape[0]
    if boxes.shape[0] == 0 or num == 0:
        return torch.zeros(num, dtype=torch.int64), torch.zeros(num, dtype=torch.int64)
    iou = _box_iou(_cxcywh_to_xyxy(anchors), boxes)  # (A, G)
    best_iou, matched = iou.max(dim=1)  # (A,)
    labels = torch.full((num,), -1, dtype=torch.int64)
    labels[best_iou < neg_iou] = 0
    labels[best_iou >= pos_iou] = 1
    best_anchor = iou.argmax(dim=0)  # (G,) each face's best anchor
    labels[best_anchor] = 1
    matched[best_anchor] = torch.arange(boxes.shape[0])
    return labels, torch.where(labels == 1, matched, 0)


# ----------------------------------------------------------------------------- loss


def retinaface_loss(
    cls_logits: Tensor,
    box_deltas: Tensor,
    landmark_deltas: Tensor,
    labels: Tensor,
    box_targets: Tensor,
    landmark_targets: Tensor,
    *,
    weights: tuple[float, float] = PAPER_WEIGHTS,
) -> RetinaFaceLoss:
    """RetinaFace's multi-task loss (Eq. 1, without the dense term), positives-only for box and landmarks.

    .. math::
        L = \\frac{1}{N_{cls}} \\sum_{i: p_i^* \\ge 0} \\mathrm{CE}(c_i, p_i^*)
          + \\frac{\\lambda_1}{N_{pos}} \\sum_{i: p_i^* = 1} \\sum_{j=1}^{4} \\mathrm{smooth}_{L1}(t_{ij} - t^*_{ij})
          + \\frac{\\lambda_2}{N_{pos}} \\sum_{i: p_i^* = 1} \\sum_{j=1}^{10} \\mathrm{smooth}_{L1}(l_{ij} - l^*_{ij})

    with the softmax cross-entropy over two classes (not-face, face), ``smooth_L1(d) = 0.5 d^2`` for
    ``|d| < 1`` and ``|d| - 0.5`` otherwise (Fast R-CNN's, ``beta = 1``), ``N_cls`` the number of
    anchors that are not ignored and ``N_pos`` the number of positives; a term with nothing to
    average is 0. Anchors from every image of the batch are pooled.

    Note:
        The paper does not say how the terms are normalized; this divides the box and landmark sums
        by the number of positives, as the port does. The port also divides the classification sum
        by the positives (after keeping 3 hard negatives per positive); with no OHEM here the
        classification term is the mean over all labelled anchors instead.

    Args:
        cls_logits (Tensor[..., A, 2]): logits (not-face, face) per anchor.
        box_deltas (Tensor[..., A, 4]): predicted box offsets.
        landmark_deltas (Tensor[..., A, 10]): predicted landmark offsets.
        labels (Tensor[..., A]): int64: 1 positive, 0 negative, -1 ignored.
        box_targets (Tensor[..., A, 4]): :func:`encode_boxes` of the matched face (any finite
            value where the anchor is not positive).
        landmark_targets (Tensor[..., A, 10]): :func:`encode_landmarks` of the matched face.
        weights (tuple[float, float]): ``(lambda_1, lambda_2)``, each >= 0. Default:
            :data:`PAPER_WEIGHTS` ``(0.25, 0.1)``; the port's balance is :data:`PORT_WEIGHTS`
            ``(2.0, 1.0)``; ``(0.25, 0.0)`` trains without landmarks.

    Returns:
        RetinaFaceLoss: ``total``, ``cls``, ``box``, ``landmarks`` (0-d tensors, weighted).

    Example:
        >>> labels = torch.tensor([1, 0])
        >>> loss = retinaface_loss(torch.zeros(2, 2), torch.ones(2, 4), torch.zeros(2, 10), labels,
        ...                        torch.zeros(2, 4), torch.zeros(2, 10))
        >>> round(loss.cls.item(), 4), loss.box.item(), loss.landmarks.item()  # ln 2, 0.25 * 4 * 0.5, 0
        (0.6931, 0.5, 0.0)
    """
    check_floating("cls_logits", cls_logits)
    if cls_logits.ndim < 2 or cls_logits.shape[-1] != 2:
        raise ValueError(f"cls_logits: expected shape (..., A, 2), got shape {tuple(cls_logits.shape)}")
    lead = cls_logits.shape[:-1]
    for name, value, width in (
        ("box_deltas", box_deltas, 4),
        ("landmark_deltas", landmark_deltas, 10),
        ("box_targets", box_targets, 4),
        ("landmark_targets", landmark_targets, 10),
    ):
        check_floating(name, value)
        if value.shape != (*lead, width):
            raise ValueError(f"{name}: expected shape {(*lead, width)}, got shape {tuple(value.shape)}")
    check_tensor("labels", labels)
    if labels.dtype != torch.int64 or labels.shape != lead:
        raise ValueError(f"labels: expected an int64 tensor of shape {tuple(lead)}, got {describe(labels)}")
    if not bool(((labels >= -1) & (labels <= 1)).all()):
        raise ValueError(f"labels: expected values in {{1, 0, -1}}, got {labels.unique().tolist()}")
    if not (isinstance(weights, (tuple, list)) and len(weights) == 2):
        raise TypeError(f"weights: expected a pair (lambda_1, lambda_2), got {describe(weights)}")
    for w in weights:
        check_non_negative("weights", w)
    return _retinaface_loss(cls_logits, box_deltas, landmark_deltas, labels, box_targets, landmark_targets, weights)


def _retinaface_loss(
    cls_logits: Tensor,
    box_deltas: Tensor,
    landmark_deltas: Tensor,
    labels: Tensor,
    box_targets: Tensor,
    landmark_targets: Tensor,
    weights: Sequence[float],
) -> RetinaFaceLoss:
    labelled = labels >= 0
    positive = labels == 1
    zero = cls_logits.sum() * 0
    # L_cls: softmax cross-entropy, face vs not-face, over positives and negatives
    cls = F.cross_entropy(cls_logits[labelled], labels[labelled]) if bool(labelled.any()) else zero
    num_pos = int(positive.sum())
    if num_pos == 0:
        return RetinaFaceLoss(cls + zero, cls, zero, zero)
    # p_i^* L_box and p_i^* L_pts: only positive anchors, summed over coordinates, averaged over positives
    box = F.smooth_l1_loss(box_deltas[positive], box_targets[positive], reduction="sum", beta=1.0) / num_pos
    pts = F.smooth_l1_loss(landmark_deltas[positive], landmark_targets[positive], reduction="sum", beta=1.0) / num_pos
    box, pts = weights[0] * box, weights[1] * pts
    return RetinaFaceLoss(cls + box + pts, cls, box, pts)


# ----------------------------------------------------------------------------- model


class TinyRetinaFace(nn.Module):
    """A small single-stage face detector: one backbone, three heads per anchor.

    Backbone: four 3x3 convolutions with ReLU (strides 1, 2, 2, 1) to a stride-4 feature map.
    Heads (1x1 convolutions on the shared features), as in RetinaFace: classification
    ``A * 2``, box ``A * 4`` and landmarks ``A * 10`` channels. The landmark head always exists;
    training with ``lambda_2 = 0`` simply never uses it.

    Args:
        num_anchors (int): anchors per cell ``A``. Default: ``2``.
        channels (int): width of the backbone. Default: ``32``.
        in_channels (int): image channels. Default: ``1``.

    Shape:
        images ``(B, C_in, H, W)`` -> ``(cls (B, H/4*W/4*A, 2), box (B, .., 4), landmarks (B, .., 10))``
        with anchors ordered as :func:`make_anchors`.

    Example:
        >>> cls, box, lm = TinyRetinaFace()(torch.zeros(3, 1, 32, 32))
        >>> cls.shape, box.shape, lm.shape
        (torch.Size([3, 128, 2]), torch.Size([3, 128, 4]), torch.Size([3, 128, 10]))
    """

    stride = 4

    def __init__(self, num_anchors: int = 2, channels: int = 32, in_channels: int = 1) -> None:
        super().__init__()
        check_int("num_anchors", num_anchors, minimum=1)
        check_int("channels", channels, minimum=1)
        check_int("in_channels", in_channels, minimum=1)
        c = channels
        self.num_anchors = num_anchors
        self.backbone = nn.Sequential(
            nn.Conv2d(in_channels, c // 2, 3, padding=1),
            nn.ReLU(),
            nn.Conv2d(c // 2, c, 3, stride=2, padding=1),
            nn.ReLU(),
            nn.Conv2d(c, c, 3, stride=2, padding=1),
            nn.ReLU(),
            nn.Conv2d(c, c, 3, padding=1),
            nn.ReLU(),
        )
        self.cls_head = nn.Conv2d(c, num_anchors * 2, 1)
        self.box_head = nn.Conv2d(c, num_anchors * 4, 1)
        self.landmark_head = nn.Conv2d(c, num_anchors * 10, 1)

    def forward(self, images: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        check_floating("images", images)
        if images.ndim != 4:
            raise ValueError(f"images: expected shape (B, C, H, W), got shape {tuple(images.shape)}")
        features = self.backbone(images)  # (B, C, H/4, W/4)

        def per_anchor(head: nn.Module, width: int) -> Tensor:
            out = head(features)  # (B, A*width, h, w)
            b, _, h, w = out.shape
            out = out.permute(0, 2, 3, 1)  # (B, h, w, A*width)
            return out.reshape(b, h * w * self.num_anchors, width)  # (B, h*w*A, width)

        return per_anchor(self.cls_head, 2), per_anchor(self.box_head, 4), per_anchor(self.landmark_head, 10)


# ----------------------------------------------------------------------------- inference and metrics


def best_detection(
    cls_logits: Tensor, box_deltas: Tensor, landmark_deltas: Tensor, anchors: Tensor
) -> tuple[Tensor, Tensor, Tensor]:
    """The highest-scoring anchor of each image, decoded: a detector that expects one face.

    Args:
        cls_logits (Tensor[B, A, 2]): logits (not-face, face).
        box_deltas (Tensor[B, A, 4]): box offsets.
        landmark_deltas (Tensor[B, A, 10]): landmark offsets.
        anchors (Tensor[A, 4]): ``(cx, cy, w, h)``.

    Returns:
        tuple[Tensor[B, 4], Tensor[B], Tensor[B, 5, 2]]: the box ``(x1, y1, x2, y2)``, its face
        probability (softmax), and its five landmarks.

    Example:
        >>> anchors = make_anchors(2, 4, [8.0])
        >>> logits = torch.zeros(1, 4, 2); logits[0, 3, 1] = 5.0
        >>> box, score, lm = best_detection(logits, torch.zeros(1, 4, 4), torch.zeros(1, 4, 10), anchors)
        >>> box, round(score.item(), 3)
        (tensor([[1.5000, 1.5000, 9.5000, 9.5000]]), 0.993)
    """
    _check_anchors(anchors)
    check_floating("cls_logits", cls_logits)
    num = anchors.shape[0]
    if cls_logits.ndim != 3 or cls_logits.shape[1:] != (num, 2):
        raise ValueError(f"cls_logits: expected shape (B, {num}, 2), got shape {tuple(cls_logits.shape)}")
    batch = cls_logits.shape[0]
    for name, value, width in (("box_deltas", box_deltas, 4), ("landmark_deltas", landmark_deltas, 10)):
        check_floating(name, value)
        if value.shape != (batch, num, width):
            raise ValueError(f"{name}: expected shape {(batch, num, width)}, got shape {tuple(value.shape)}")
    scores = torch.softmax(cls_logits, dim=-1)[..., 1]  # (B, A)
    best = scores.argmax(dim=1)  # (B,)
    rows = torch.arange(batch)
    # one chosen anchor per image: the image index plays the role of the anchor index
    box = _decode_boxes(box_deltas[rows, best], anchors[best])  # (B, 4)
    landmarks = _decode_landmarks(landmark_deltas[rows, best], anchors[best])  # (B, 5, 2)
    return box, scores[rows, best], landmarks


def landmark_nme(pred: Tensor, target: Tensor, boxes: Tensor) -> Tensor:
    """Normalized mean error of landmarks: mean point distance over the face's box size.

    .. math:: \\mathrm{NME} = \\frac{1}{N L} \\sum_{n, k} \\frac{\\lVert \\hat p_{nk} - p_{nk} \\rVert_2}{\\sqrt{w_n h_n}}

    (the box-size normalization of RetinaFace's AFLW evaluation; WFLW-style benchmarks divide by the
    inter-ocular distance instead).

    Args:
        pred (Tensor[N, L, 2]): predicted ``(x, y)``.
        target (Tensor[N, L, 2]): ground truth, same shape.
        boxes (Tensor[N, 4]): the faces' ``(x1, y1, x2, y2)``, positive size, finite.

    Returns:
        Tensor[] (0-d): the NME (a fraction; multiply by 100 for percent).

    Example:
        >>> landmark_nme(torch.tensor([[[3.0, 4.0]]]), torch.zeros(1, 1, 2), torch.tensor([[0.0, 0.0, 10.0, 10.0]]))
        tensor(0.5000)
    """
    check_floating("pred", pred)
    check_floating("target", target)
    if pred.ndim != 3 or pred.shape[-1] != 2:
        raise ValueError(f"pred: expected shape (N, L, 2), got shape {tuple(pred.shape)}")
    if target.shape != pred.shape:
        raise ValueError(f"target: expected shape {tuple(pred.shape)} like pred, got shape {tuple(target.shape)}")
    check_finite("pred", pred)
    check_finite("target", target)
    check_floating("boxes", boxes)
    if boxes.shape != (pred.shape[0], 4):
        raise ValueError(f"boxes: expected shape {(pred.shape[0], 4)}, got shape {tuple(boxes.shape)}")
    check_finite("boxes", boxes)
    size = torch.sqrt((boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1]))  # (N,)
    if not bool((size > 0).all()):
        raise ValueError("boxes: expected boxes of positive width and height")
    err = torch.linalg.vector_norm(pred - target, dim=-1)  # (N, L)
    return (err / size[:, None]).mean()

"""Panoptic segmentation: UPSNet's parameter-free panoptic head and the heuristic merge.

Concept. Instance segmentation gives masks for countable *things* but leaves the background
(*stuff*: sky, road, wall) unlabelled, and its masks may overlap. Panoptic segmentation labels every
pixel once: with a class, and for things also with an instance id. A panoptic network has a semantic
head (one logit map per class), an instance head (boxes, classes, mask logits) and a panoptic head
that turns both into one map.

Papers.
- Y. Xiong, R. Liao, H. Zhao, R. Hu, M. Bai, E. Yumer, R. Urtasun, "UPSNet: A Unified Panoptic
  Segmentation Network", CVPR 2019, arXiv:1901.03784 (the panoptic head and the unknown class).
- A. Kirillov, K. He, R. Girshick, C. Rother, P. Dollar, "Panoptic Segmentation", CVPR 2019,
  arXiv:1801.00868 (the task and Panoptic Quality, Eq. 1 and the SQ x RQ split, Eq. 2).
- A. Kirillov, R. Girshick, K. He, P. Dollar, "Panoptic Feature Pyramid Networks", CVPR 2019,
  arXiv:1901.02446 (the heuristic merge that detectron2 implements).

Summary. UPSNet's head builds one logit per output segment and classifies every pixel:

    Z = [X_stuff, Y_1, ..., Y_N, Z_unknown],   Y_i = Yc_i + X_mask_i,
    Z_unknown = max_c X_thing,c - max_i Yc_i,

where ``X_stuff`` are the stuff channels of the semantic logits, ``Yc_i`` is the semantic logit of
instance i's class cropped to its box (0 outside), ``X_mask_i`` its mask logits pasted into its box
(0 outside), and the unknown channel is high where the semantic head sees a thing that no detected
instance explains. ``argmax Z`` is the panoptic map; pixels that pick the unknown channel are void.
The heuristic merge (detectron2 ``combine_semantic_and_instance_outputs``) instead pastes binary
masks in score order and fills what is left with stuff from the semantic argmax. Panoptic Quality,
which scores either map, lives in :mod:`lessons.panoptic_quality` (``panoptic_quality`` and ``VOID``
are re-exported here).

Validation. Each public function checks its arguments once and calls a private core (``_name``)
that does not check again; :func:`upsnet_inference` and :func:`upsnet_panoptic_logits` call the
cores of the steps they chain. Boxes, labels and scores must be finite; the logits (feature maps)
are not scanned for NaN, which passes through to the pixels it touches.

Deviations from the reference code (each is a ``Note:`` at the function).
- Boxes are the course's continuous ``(x1, y1, x2, y2)`` (``lessons.data.mask_to_box``; a box over
  pixel columns 1..2 is ``x1 = 1, x2 = 3``). UPSNet's code takes legacy inclusive pixel boxes (there
  ``x2 = 2``), so we subtract 1 from ``x2, y2`` first and then apply UPSNet's integer rules exactly.
- One image at a time (UPSNet asserts batch size 1); ``semantic_logits`` is ``(C, H, W)``.
- With no instances UPSNet inserts one dummy instance channel of -10; we insert none and take the
  instance maximum in the unknown channel as 0 (the value outside every box).
- Errors are ``ValueError``/``TypeError`` naming the argument.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor

from lessons._checks import (
    check_boxes,
    check_finite,
    check_floating,
    check_int,
    check_int_pair,
    check_int_tensor,
    check_labels,
    check_ndim,
    check_non_negative,
    check_same_device,
    check_shape,
    check_tensor,
    describe,
)
from lessons.panoptic_quality import VOID, panoptic_quality

__all__ = [
    "paste_mask_logits",
    "crop_thing_logits",
    "unknown_logits",
    "upsnet_panoptic_logits",
    "mask_removal",
    "panoptic_from_logits",
    "upsnet_inference",
    "heuristic_merge",
    "VOID",
    "panoptic_quality",
]


# ---------------------------------------------------------------------------------------------
# input checks private to this module (each public function runs them once)
# ---------------------------------------------------------------------------------------------


def _check_bool(name: str, value: object) -> None:
    if not isinstance(value, bool):
        raise TypeError(f"{name}: expected a bool, got {describe(value)}")


def _check_semantic(semantic_logits: object) -> tuple[int, int, int]:
    """A floating ``(C, H, W)`` map; returns ``(C, H, W)``."""
    check_floating("semantic_logits", semantic_logits)
    check_ndim("semantic_logits", semantic_logits, 3, "(C, H, W), stuff channels first")  # type: ignore[arg-type]
    num_classes, height, width = semantic_logits.shape  # type: ignore[union-attr]
    return num_classes, height, width


def _check_num_stuff(num_stuff: object, num_classes: int) -> int:
    num_stuff = check_int("num_stuff", num_stuff, minimum=0)
    if num_stuff >= num_classes:
        raise ValueError(
            f"num_stuff: expected 0 <= num_stuff < C = {num_classes} (stuff channels first, then at "
            f"least one thing channel), got {num_stuff}"
        )
    return num_stuff


def _check_mask_logits(mask_logits: object) -> int:
    """Floating ``(N, MH, MW)`` mask logits; returns ``N``."""
    check_floating("mask_logits", mask_logits)
    check_ndim("mask_logits", mask_logits, 3, "(N, MH, MW)")  # type: ignore[arg-type]
    return mask_logits.shape[0]  # type: ignore[union-attr]


def _check_scores(scores: object, n: int) -> None:
    check_floating("scores", scores)
    check_shape("scores", scores, (n,), f"({n},), one score per detection")  # type: ignore[arg-type]
    check_finite("scores", scores)  # type: ignore[arg-type]


def _check_instances(
    semantic_logits: object, mask_logits: object, boxes: object, labels: object, num_stuff: object
) -> tuple[int, int, int, int]:
    """Validate a semantic head's and an instance head's outputs together.

    Labels must be thing channels of the semantic map, ``[num_stuff, C)``. Returns
    ``(num_stuff, N, H, W)``.
    """
    num_classes, height, width = _check_semantic(semantic_logits)
    num_stuff = _check_num_stuff(num_stuff, num_classes)
    n = _check_mask_logits(mask_logits)
    check_boxes("boxes", boxes, n=n)
    check_labels("labels", labels, n=n, low=num_stuff, high=num_classes)
    check_same_device("mask_logits", mask_logits, "semantic_logits", semantic_logits)  # type: ignore[arg-type]
    check_same_device("boxes", boxes, "semantic_logits", semantic_logits)  # type: ignore[arg-type]
    return num_stuff, n, height, width


# ---------------------------------------------------------------------------------------------
# UPSNet's integer box rules
# ---------------------------------------------------------------------------------------------


def _mask_term_bounds(box: Tensor) -> tuple[int, int, int, int]:
    """UPSNet ``MaskTerm``: truncate the inclusive box to ints; the region is x1..x2, y1..y2."""
    x1, y1, x2, y2 = box.tolist()
    # continuous -> inclusive (x2 - 1, y2 - 1); int() truncates toward zero, like UPSNet's .long()
    return int(x1), int(y1), int(x2 - 1), int(y2 - 1)


def _seg_term_bounds(box: Tensor, height: int, width: int) -> tuple[int, int, int, int]:
    """UPSNet ``SegTerm``: ``x0 = int(x1)``, ``x1 = int(round(x2)) + 1`` on the inclusive box."""
    x1, y1, x2, y2 = box.tolist()
    # Python's round() rounds half to even, like NumPy's .round() in UPSNet
    x_0, x_1 = int(x1), round(x2 - 1) + 1
    y_0, y_1 = int(y1), round(y2 - 1) + 1
    clip_x = lambda v: min(max(v, 0), width)  # noqa: E731
    clip_y = lambda v: min(max(v, 0), height)  # noqa: E731
    return clip_x(x_0), clip_y(y_0), clip_x(x_1), clip_y(y_1)


# ---------------------------------------------------------------------------------------------
# the panoptic logits
# ---------------------------------------------------------------------------------------------


def paste_mask_logits(mask_logits: Tensor, boxes: Tensor, size: int | tuple[int, int]) -> Tensor:
    """Paste each instance's mask logits into the full image, 0 outside its box (UPSNet ``MaskTerm``).

    For instance i with box ``(x1, y1, x2, y2)``: convert to UPSNet's inclusive pixel box
    ``(x1, y1, x2 - 1, y2 - 1)``, truncate it to ints ``(a, b, c, d)``, resize the ``M x M`` logits to
    ``(d - b + 1) x (c - a + 1)`` (at least 1 x 1) with bilinear interpolation
    (``align_corners=False``), and write them into rows ``b..d`` and columns ``a..c``, cropped to the
    image. Logits are pasted, not probabilities, so ``Y_i = Yc_i + X_mask_i`` adds like with like.
    A box less than one pixel wide truncates to ``c < a`` and pastes nothing, as in UPSNet.

    Args:
        mask_logits (Tensor[N, MH, MW]): each instance's mask logits for its own class, e.g. 28 x 28.
        boxes (Tensor[N, 4]): continuous ``(x1, y1, x2, y2)`` in image pixels; a box over columns
            1..2 has ``x1 = 1, x2 = 3``.
        size (int | tuple[int, int]): the image ``(H, W)`` (or one int for a square image).

    Returns:
        Tensor[N, H, W]: ``X_mask``, the pasted logits, exactly 0 outside each box.

    Note:
        UPSNet's code expects inclusive pixel boxes (Detectron's legacy convention, where a box over
        columns 1..2 has ``x2 = 2``); we take the course's continuous boxes and subtract 1 from
        ``x2, y2`` first. torchvision's ``paste_masks_in_image`` pastes *probabilities* after
        expanding the box by ``(M + 2) / M``, and detectron2 samples pixel centres with
        ``grid_sample``; all three give slightly different borders.

    Example:
        >>> paste_mask_logits(torch.tensor([[[2.0, -1.0]]]), torch.tensor([[1.0, 0.0, 3.0, 1.0]]), (1, 4))
        tensor([[[ 0.,  2., -1.,  0.]]])
    """
    n = _check_mask_logits(mask_logits)
    check_boxes("boxes", boxes, n=n)
    check_same_device("boxes", boxes, "mask_logits", mask_logits)
    height, width = check_int_pair("size", size)
    return _paste_mask_logits(mask_logits, boxes, height, width)


def _paste_mask_logits(mask_logits: Tensor, boxes: Tensor, height: int, width: int) -> Tensor:
    """:func:`paste_mask_logits` without the checks."""
    n = mask_logits.shape[0]
    pasted = mask_logits.new_zeros(n, height, width)  # (N, H, W)
    for i in range(n):
        a, b, c, d = _mask_term_bounds(boxes[i])
        w, h = max(c - a + 1, 1), max(d - b + 1, 1)
        resized = F.interpolate(mask_logits[i][None, None], size=(h, w), mode="bilinear", align_corners=False)[
            0, 0
        ]  # (h, w)
        x_0, x_1 = max(a, 0), min(c + 1, width)
        y_0, y_1 = max(b, 0), min(d + 1, height)
        if x_1 > x_0 and y_1 > y_0:
            pasted[i, y_0:y_1, x_0:x_1] = resized[y_0 - b : y_1 - b, x_0 - a : x_1 - a]
    return pasted


def crop_thing_logits(semantic_logits: Tensor, boxes: Tensor, labels: Tensor, *, num_stuff: int) -> Tensor:
    """The semantic logit of each instance's class, cropped to its box, 0 outside (UPSNet ``SegTerm``).

    ``Yc_i = X[labels_i]`` on rows ``int(y1) .. int(round(y2 - 1))`` and columns
    ``int(x1) .. int(round(x2 - 1))`` (inclusive; UPSNet's rule on its inclusive box), else 0.

    Args:
        semantic_logits (Tensor[C, H, W]): semantic head logits, the ``num_stuff`` stuff channels
            first, then the thing channels.
        boxes (Tensor[N, 4]): continuous ``(x1, y1, x2, y2)`` in image pixels.
        labels (Tensor[N]): each instance's class as a semantic channel, in ``[num_stuff, C)``.
        num_stuff (int): number of stuff channels.

    Returns:
        Tensor[N, H, W]: ``Yc``.

    Note:
        UPSNet truncates the far edge in ``MaskTerm`` but rounds it in ``SegTerm``, so for a
        fractional box ``Yc_i`` can cover one more row or column than ``X_mask_i``; we keep that.
    """
    num_classes, _, _ = _check_semantic(semantic_logits)
    num_stuff = _check_num_stuff(num_stuff, num_classes)
    check_boxes("boxes", boxes)
    check_labels("labels", labels, n=boxes.shape[0], low=num_stuff, high=num_classes)
    check_same_device("boxes", boxes, "semantic_logits", semantic_logits)
    return _crop_thing_logits(semantic_logits, boxes, labels)


def _crop_thing_logits(semantic_logits: Tensor, boxes: Tensor, labels: Tensor) -> Tensor:
    """:func:`crop_thing_logits` without the checks."""
    _, height, width = semantic_logits.shape
    n = boxes.shape[0]
    cropped = semantic_logits.new_zeros(n, height, width)  # (N, H, W)
    for i in range(n):
        x_0, y_0, x_1, y_1 = _seg_term_bounds(boxes[i], height, width)
        cropped[i, y_0:y_1, x_0:x_1] = semantic_logits[int(labels[i]), y_0:y_1, x_0:x_1]
    return cropped


def unknown_logits(semantic_logits: Tensor, cropped_thing_logits: Tensor, *, num_stuff: int) -> Tensor:
    """UPSNet's unknown channel: thing evidence that no detected instance explains.

    .. math::
        Z_{unknown} = \\max_{c \\in things} X_c - \\max_i Yc_i

    The maximum over instances includes the zeros outside each box, so a pixel outside every box
    gets ``max_c X_thing,c - 0``. With no instances that maximum is taken as 0.

    Args:
        semantic_logits (Tensor[C, H, W]): semantic logits, stuff channels first.
        cropped_thing_logits (Tensor[N, H, W]): ``Yc`` from :func:`crop_thing_logits`.
        num_stuff (int): number of stuff channels.

    Returns:
        Tensor[H, W]: the unknown logit.

    Note:
        With N = 0 UPSNet's ``SegTerm`` returns one dummy channel of -10 (so its unknown channel
        is ``max X_thing + 10``); we use 0, the value every instance channel has outside its box.
    """
    num_classes, height, width = _check_semantic(semantic_logits)
    num_stuff = _check_num_stuff(num_stuff, num_classes)
    check_floating("cropped_thing_logits", cropped_thing_logits)
    check_shape("cropped_thing_logits", cropped_thing_logits, (None, height, width), f"(N, {height}, {width})")
    check_same_device("cropped_thing_logits", cropped_thing_logits, "semantic_logits", semantic_logits)
    return _unknown_logits(semantic_logits, cropped_thing_logits, num_stuff)


def _unknown_logits(semantic_logits: Tensor, cropped_thing_logits: Tensor, num_stuff: int) -> Tensor:
    """:func:`unknown_logits` without the checks."""
    thing_max = semantic_logits[num_stuff:].max(dim=0).values  # (H, W)
    if cropped_thing_logits.shape[0] == 0:
        return thing_max
    return thing_max - cropped_thing_logits.max(dim=0).values  # (H, W)


def upsnet_panoptic_logits(
    semantic_logits: Tensor,
    mask_logits: Tensor,
    boxes: Tensor,
    labels: Tensor,
    *,
    num_stuff: int,
    void: bool = True,
) -> Tensor:
    """UPSNet's panoptic logits ``Z = [X_stuff, Y_1 .. Y_N, Z_unknown]``.

    .. math::
        Y_i = Yc_i + X_{mask,i}, \\qquad
        Z_{unknown} = \\max_{c \\in things} X_c - \\max_i Yc_i

    Args:
        semantic_logits (Tensor[C, H, W]): semantic logits, the ``num_stuff`` stuff channels first.
        mask_logits (Tensor[N, MH, MW]): each instance's mask logits for its class.
        boxes (Tensor[N, 4]): continuous ``(x1, y1, x2, y2)`` in image pixels.
        labels (Tensor[N]): each instance's semantic class, in ``[num_stuff, C)``.
        num_stuff (int): number of stuff channels.
        void (bool): append the unknown channel (UPSNet's ``enable_void``, on in all its shipped
            configs). Default: ``True``.

    Returns:
        Tensor[num_stuff + N + void, H, W]: ``Z``. Channel ``k < num_stuff`` is stuff class ``k``,
        channel ``num_stuff + i`` is instance ``i``, and the last one (if ``void``) is unknown.

    Example (a 1 x 4 case worked by hand: one instance of class 2 boxed over pixels 1..2):
        >>> X = torch.tensor([[2., 0, 0, 0], [0, 0, 1, 0], [1, 3, .5, 4], [0, 1, 2, 0]])[:, None]
        >>> upsnet_panoptic_logits(X, torch.tensor([[[2., -1.]]]), torch.tensor([[1., 0, 3, 1]]),
        ...                        torch.tensor([2]), num_stuff=2)[:, 0]
        tensor([[ 2.0000,  0.0000,  0.0000,  0.0000],
                [ 0.0000,  0.0000,  1.0000,  0.0000],
                [ 0.0000,  5.0000, -0.5000,  0.0000],
                [ 1.0000,  0.0000,  1.5000,  4.0000]])
    """
    num_stuff, _, _, _ = _check_instances(semantic_logits, mask_logits, boxes, labels, num_stuff)
    _check_bool("void", void)
    return _upsnet_panoptic_logits(semantic_logits, mask_logits, boxes, labels, num_stuff, void)


def _upsnet_panoptic_logits(
    semantic_logits: Tensor, mask_logits: Tensor, boxes: Tensor, labels: Tensor, num_stuff: int, void: bool
) -> Tensor:
    """:func:`upsnet_panoptic_logits` without the checks."""
    _, height, width = semantic_logits.shape
    x_mask = _paste_mask_logits(mask_logits.to(semantic_logits.dtype), boxes, height, width)  # (N, H, W)
    y_c = _crop_thing_logits(semantic_logits, boxes, labels)  # (N, H, W)
    parts = [semantic_logits[:num_stuff], y_c + x_mask]  # (S, H, W), (N, H, W)
    if void:
        parts.append(_unknown_logits(semantic_logits, y_c, num_stuff)[None])  # (1, H, W)
    return torch.cat(parts, dim=0)  # (S + N + void, H, W)


def mask_removal(
    mask_logits: Tensor,
    boxes: Tensor,
    labels: Tensor,
    scores: Tensor,
    size: int | tuple[int, int],
    *,
    fraction_threshold: float = 0.3,
) -> Tensor:
    """UPSNet's test-time ``MaskRemoval``: drop instances mostly covered by better ones of their class.

    In descending score order, binarize each pasted mask as ``logit > 0``; drop it if it is empty
    or if more than ``fraction_threshold`` of its pixels are already covered by kept masks **of the
    same class**; otherwise keep it.

    Args:
        mask_logits (Tensor[N, MH, MW]): mask logits.
        boxes (Tensor[N, 4]): continuous boxes.
        labels (Tensor[N]): classes (any integer ids; only equality matters).
        scores (Tensor[N]): detection scores.
        size (int | tuple[int, int]): the image ``(H, W)``.
        fraction_threshold (float): the overlap fraction above which a mask is dropped.
            Default: ``0.3`` (UPSNet's value).

    Returns:
        Tensor[K] (int64): indices of the kept instances, in descending score order (the order
        UPSNet stacks their channels in ``Z``).
    """
    n = _check_mask_logits(mask_logits)
    check_boxes("boxes", boxes, n=n)
    check_int_tensor("labels", labels)
    check_shape("labels", labels, (n,), f"({n},), one class per detection")
    _check_scores(scores, n)
    height, width = check_int_pair("size", size)
    check_non_negative("fraction_threshold", fraction_threshold)
    return _mask_removal(mask_logits, boxes, labels, scores, height, width, float(fraction_threshold))


def _mask_removal(
    mask_logits: Tensor,
    boxes: Tensor,
    labels: Tensor,
    scores: Tensor,
    height: int,
    width: int,
    fraction_threshold: float,
) -> Tensor:
    """:func:`mask_removal` without the checks."""
    masks = _paste_mask_logits(mask_logits, boxes, height, width) > 0  # (N, H, W)
    covered: dict[int, Tensor] = {}
    keep = []
    for i in torch.argsort(scores, descending=True, stable=True).tolist():
        area = int(masks[i].sum())
        cls = int(labels[i])
        seen = covered.get(cls, torch.zeros_like(masks[i]))
        if area == 0 or int((seen & masks[i]).sum()) / area > fraction_threshold:
            continue
        keep.append(i)
        covered[cls] = seen | masks[i]
    return torch.tensor(keep, dtype=torch.int64, device=mask_logits.device)


# ---------------------------------------------------------------------------------------------
# from logits or masks to a panoptic map
# ---------------------------------------------------------------------------------------------


def panoptic_from_logits(
    panoptic_logits: Tensor,
    labels: Tensor,
    *,
    num_stuff: int,
    void: bool = True,
    stuff_area_thresh: int = 0,
    scores: Tensor | None = None,
) -> tuple[Tensor, list[dict[str, Any]]]:
    """Classify every pixel by ``argmax Z``; the unknown channel becomes void.

    Channel ``k < num_stuff`` gives a segment of stuff class ``k``; channel ``num_stuff + i`` gives
    the segment of instance ``i`` (class ``labels[i]``); the last channel (with ``void``) gives
    :data:`VOID` = 0. Ties go to the lower channel. Segment ids are ``1, 2, ...`` in channel order,
    over the channels that win at least one pixel. A stuff segment smaller than
    ``stuff_area_thresh`` pixels becomes void, as UPSNet's final PNG does with
    ``panoptic_stuff_area_limit``.

    Args:
        panoptic_logits (Tensor[S + N + void, H, W]): ``Z`` from :func:`upsnet_panoptic_logits`.
        labels (Tensor[N]): each instance's semantic class (becomes its ``category_id``).
        num_stuff (int): number of stuff channels ``S``.
        void (bool): whether ``Z`` ends with the unknown channel. Default: ``True``.
        stuff_area_thresh (int): smallest stuff area kept. Default: ``0`` (keep all; UPSNet uses
            4096 on COCO-sized images).
        scores (Tensor[N] | None): detection scores, copied into the segments. Default: ``None``.

    Returns:
        tuple[Tensor[H, W], list[dict]]: the panoptic map (int64 segment ids, 0 = void) and one dict
        per segment: ``id``, ``category_id``, ``isthing``, ``area``, and for things ``instance_id``
        (index into ``labels``) and ``score`` (when ``scores`` is given).

    Note:
        Without void UPSNet takes ``argmax softmax(Z)``, the same map. Its final PNG step
        (``get_unified_pan_result``) also relabels an instance whose pixels the semantic argmax
        mostly calls one stuff class; we leave that heuristic out.
    """
    check_floating("panoptic_logits", panoptic_logits)
    check_ndim("panoptic_logits", panoptic_logits, 3, "(S + N + void, H, W)")
    check_int_tensor("labels", labels)
    check_ndim("labels", labels, 1, "(N,)")
    num_stuff = check_int("num_stuff", num_stuff, minimum=0)
    _check_bool("void", void)
    n = labels.shape[0]
    expected = num_stuff + n + int(bool(void))
    if panoptic_logits.shape[0] != expected:
        raise ValueError(
            f"panoptic_logits: expected num_stuff + N + void = {num_stuff} + {n} + {int(bool(void))} "
            f"= {expected} channels, got {panoptic_logits.shape[0]}"
        )
    if expected == 0:
        raise ValueError("panoptic_logits: no stuff, no instances and no void channel: nothing to assign")
    check_non_negative("stuff_area_thresh", stuff_area_thresh)
    if scores is not None:
        _check_scores(scores, n)
    return _panoptic_from_logits(panoptic_logits, labels, num_stuff, void, stuff_area_thresh, scores)


def _panoptic_from_logits(
    panoptic_logits: Tensor,
    labels: Tensor,
    num_stuff: int,
    void: bool,
    stuff_area_thresh: float,
    scores: Tensor | None,
) -> tuple[Tensor, list[dict[str, Any]]]:
    """:func:`panoptic_from_logits` without the checks."""
    n = labels.shape[0]
    expected = num_stuff + n + int(void)
    winner = panoptic_logits.argmax(dim=0)  # (H, W) channel index, first maximum on ties
    areas = torch.bincount(winner.reshape(-1), minlength=expected).tolist()
    channel_to_id = torch.zeros(expected, dtype=torch.int64, device=winner.device)
    segments: list[dict[str, Any]] = []
    for k in range(num_stuff + n):
        area = areas[k]
        if area == 0 or (k < num_stuff and area < stuff_area_thresh):
            continue  # absent, or a stuff region too small: void
        seg: dict[str, Any] = {"id": len(segments) + 1, "area": area}
        if k < num_stuff:
            seg.update(category_id=k, isthing=False)
        else:
            i = k - num_stuff
            seg.update(category_id=int(labels[i]), isthing=True, instance_id=i)
            if scores is not None:
                seg["score"] = float(scores[i])
        channel_to_id[k] = seg["id"]
        segments.append(seg)
    return channel_to_id[winner], segments  # (H, W)


def upsnet_inference(
    semantic_logits: Tensor,
    mask_logits: Tensor,
    boxes: Tensor,
    labels: Tensor,
    scores: Tensor,
    *,
    num_stuff: int,
    void: bool = True,
    score_thresh: float = 0.6,
    fraction_threshold: float = 0.3,
    stuff_area_thresh: int = 0,
) -> tuple[Tensor, list[dict[str, Any]]]:
    """UPSNet at test time: keep detections with ``score > score_thresh``, :func:`mask_removal`,
    :func:`upsnet_panoptic_logits`, then :func:`panoptic_from_logits`.

    Args:
        semantic_logits (Tensor[C, H, W]): semantic logits, stuff channels first.
        mask_logits (Tensor[N, MH, MW]): mask logits of each detection's class.
        boxes (Tensor[N, 4]): continuous boxes.
        labels (Tensor[N]): semantic classes in ``[num_stuff, C)``.
        scores (Tensor[N]): detection scores.
        num_stuff (int): number of stuff channels.
        void (bool): use the unknown channel. Default: ``True``.
        score_thresh (float): detections with ``score <= score_thresh`` are dropped first.
            Default: ``0.6`` (UPSNet's ``panoptic_score_thresh``).
        fraction_threshold (float): :func:`mask_removal`'s threshold. Default: ``0.3``.
        stuff_area_thresh (int): stuff segments smaller than this become void. Default: ``0``.

    Returns:
        tuple[Tensor[H, W], list[dict]]: as :func:`panoptic_from_logits`; ``instance_id`` indexes
        the detections as given.

    Note:
        UPSNet also runs class-agnostic NMS at 0.5 before this step; pass detections after NMS.
    """
    num_stuff, n, height, width = _check_instances(semantic_logits, mask_logits, boxes, labels, num_stuff)
    _check_scores(scores, n)
    _check_bool("void", void)
    check_non_negative("score_thresh", score_thresh)
    check_non_negative("fraction_threshold", fraction_threshold)
    check_non_negative("stuff_area_thresh", stuff_area_thresh)
    # from here on only the private cores run: every argument is checked once, above
    candidates = (scores > score_thresh).nonzero().flatten()  # (N',)
    kept = candidates[
        _mask_removal(
            mask_logits[candidates],
            boxes[candidates],
            labels[candidates],
            scores[candidates],
            height,
            width,
            float(fraction_threshold),
        )
    ]  # (K,) indices into the input, descending score
    z = _upsnet_panoptic_logits(
        semantic_logits, mask_logits[kept], boxes[kept], labels[kept], num_stuff, void
    )  # (S + K + void, H, W)
    panoptic, segments = _panoptic_from_logits(z, labels[kept], num_stuff, void, stuff_area_thresh, scores[kept])
    for seg in segments:
        if seg["isthing"]:
            seg["instance_id"] = int(kept[seg["instance_id"]])
    return panoptic, segments


def heuristic_merge(
    semantic_labels: Tensor,
    masks: Tensor,
    labels: Tensor,
    scores: Tensor,
    *,
    num_stuff: int,
    overlap_threshold: float = 0.5,
    stuff_area_thresh: int = 4096,
    instances_score_thresh: float = 0.5,
) -> tuple[Tensor, list[dict[str, Any]]]:
    """The heuristic merge of Panoptic FPN (detectron2 ``combine_semantic_and_instance_outputs``).

    1. Sort instances by descending score; **stop** at the first score ``< instances_score_thresh``.
    2. Skip an instance whose mask is empty, or whose mask lies more than ``overlap_threshold`` on
       pixels already assigned (``overlap_area / mask_area > overlap_threshold``).
    3. Otherwise give its still unassigned pixels a new id (earlier, higher-scored masks win).
    4. For each stuff class of ``semantic_labels``, take its still unassigned pixels; skip them if
       fewer than ``stuff_area_thresh``, else give them a new id. Thing pixels of the semantic map
       that no instance took stay void.

    Args:
        semantic_labels (Tensor[H, W]): the semantic argmax, ints in ``[0, C)``.
        masks (Tensor[N, H, W]): binary instance masks in the image (bool, or anything ``> 0``).
        labels (Tensor[N]): each instance's class (its ``category_id``).
        scores (Tensor[N]): detection scores.
        num_stuff (int): labels ``< num_stuff`` of ``semantic_labels`` are stuff, the rest things.
        overlap_threshold (float): Default: ``0.5`` (detectron2's).
        stuff_area_thresh (int): Default: ``4096`` (detectron2's, for COCO-sized images; scale it
            with the image area).
        instances_score_thresh (float): Default: ``0.5`` (detectron2's).

    Returns:
        tuple[Tensor[H, W], list[dict]]: the panoptic map (int64, 0 = void) and segments with
        ``id``, ``category_id``, ``isthing``, ``area``, and for things ``instance_id``, ``score``.
        Instances come first (ids in score order), then stuff in increasing class order.

    Note:
        detectron2's semantic head predicts one merged "things" class 0 and stuff classes 1..;
        here the semantic map has UPSNet's layout (stuff first, then each thing class), so every
        label ``>= num_stuff`` plays the role of detectron2's label 0. detectron2's masks come from
        its mask head at probability ``>= 0.5``; when you build them from pasted logits use
        ``logits > 0`` (``>= 0`` would also take the zeros outside the box).
    """
    check_int_tensor("semantic_labels", semantic_labels)
    check_ndim("semantic_labels", semantic_labels, 2, "(H, W)")
    height, width = semantic_labels.shape
    check_tensor("masks", masks)
    if masks.is_complex():
        raise TypeError(f"masks: expected bool masks or real values thresholded at 0, got dtype {masks.dtype}")
    check_shape("masks", masks, (None, height, width), f"(N, {height}, {width}), like semantic_labels")
    n = masks.shape[0]
    check_int_tensor("labels", labels)
    check_shape("labels", labels, (n,), f"({n},), one class per mask")
    _check_scores(scores, n)
    num_stuff = check_int("num_stuff", num_stuff, minimum=0)
    check_non_negative("overlap_threshold", overlap_threshold)
    check_non_negative("stuff_area_thresh", stuff_area_thresh)
    check_non_negative("instances_score_thresh", instances_score_thresh)
    panoptic = torch.zeros(height, width, dtype=torch.int64, device=semantic_labels.device)
    binary = masks > 0 if masks.dtype != torch.bool else masks  # (N, H, W)
    segments: list[dict[str, Any]] = []
    for i in torch.argsort(scores, descending=True, stable=True).tolist():
        score = float(scores[i])
        if score < instances_score_thresh:
            break  # sorted, so every later one is below too
        mask = binary[i]
        mask_area = int(mask.sum())
        if mask_area == 0:
            continue
        taken = mask & (panoptic > 0)
        if int(taken.sum()) / mask_area > overlap_threshold:
            continue
        mask = mask & (panoptic == 0)
        seg_id = len(segments) + 1
        panoptic[mask] = seg_id
        segments.append(
            {
                "id": seg_id,
                "category_id": int(labels[i]),
                "isthing": True,
                "area": int(mask.sum()),
                "instance_id": i,
                "score": score,
            }
        )
    for label in torch.unique(semantic_labels).tolist():
        if label >= num_stuff:
            continue  # a thing class: only instances may claim these pixels
        mask = (semantic_labels == label) & (panoptic == 0)
        area = int(mask.sum())
        if area < stuff_area_thresh or area == 0:  # detectron2 would list an empty segment at thresh 0
            continue
        seg_id = len(segments) + 1
        panoptic[mask] = seg_id
        segments.append({"id": seg_id, "category_id": int(label), "isthing": False, "area": area})
    return panoptic, segments

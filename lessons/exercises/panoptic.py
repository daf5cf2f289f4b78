"""Checks for the exercises of notebook 04 (panoptic merge and the unknown class).

- 4.1 ``paste_instance_logits(mask_logits, box, size)``: paste one instance's mask logits into the
  image the way UPSNet does (:func:`lessons.panoptic.paste_mask_logits` for one instance).
- 4.2 ``unknown_channel(semantic_logits, cropped_thing_logits, num_stuff)``: UPSNet's unknown
  channel (:func:`lessons.panoptic.unknown_logits`).
- 4.3 ``category_pq(pred_panoptic, pred_segments, gt_panoptic, gt_segments, category_id)``:
  ``(PQ, SQ, RQ)`` of one category in one image (:func:`lessons.panoptic.panoptic_quality`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor

from lessons.exercises import Case, CheckReport, Hint, Mistake, check_function
from lessons.panoptic import panoptic_quality, paste_mask_logits, unknown_logits

__all__ = ["check_paste_instance_logits", "check_unknown_channel", "check_category_pq"]


# ---------------------------------------------------------------------------------------------
# 4.1 pasting
# ---------------------------------------------------------------------------------------------


def _paste_reference(mask_logits: Tensor, box: Tensor, size: tuple[int, int]) -> Tensor:
    return paste_mask_logits(mask_logits[None], box[None], size)[0]


def _paste_variant(
    mask_logits: Tensor,
    box: Tensor,
    size: tuple[int, int],
    *,
    to_int=int,
    last: float = 1.0,
    align_corners: bool = False,
) -> Tensor:
    """UPSNet's paste with one step changed (the wrong answers of exercise 4.1)."""
    height, width = size
    x1, y1 = to_int(float(box[0])), to_int(float(box[1]))
    x2, y2 = to_int(float(box[2]) - last), to_int(float(box[3]) - last)
    h, w = max(y2 - y1 + 1, 1), max(x2 - x1 + 1, 1)
    resized = F.interpolate(mask_logits[None, None], size=(h, w), mode="bilinear", align_corners=align_corners)[0, 0]
    out = mask_logits.new_zeros(height, width)
    ys, xs = slice(max(y1, 0), min(y1 + h, height)), slice(max(x1, 0), min(x1 + w, width))
    if ys.stop > ys.start and xs.stop > xs.start:
        out[ys, xs] = resized[ys.start - y1 : ys.stop - y1, xs.start - x1 : xs.stop - x1]
    return out


PASTE_MISTAKES = [
    Mistake(
        "x2, y2 taken as the last pixel (one row and column too many)",
        lambda m, b, s: _paste_variant(m, b, s, last=0.0),
        Hint(
            "The box's x2 and y2 are one past its last pixel (continuous coordinates); UPSNet's inclusive "
            "box ends at x2 - 1, y2 - 1.",
            "x1, y1, x2, y2 = int(x1), int(y1), int(x2 - 1), int(y2 - 1); resize to (y2 - y1 + 1, x2 - x1 + 1).",
        ),
    ),
    Mistake(
        "the box rounded instead of truncated",
        lambda m, b, s: _paste_variant(m, b, s, to_int=round),
        Hint(
            "UPSNet truncates the box's coordinates with int(); rounding moves fractional boxes by a pixel.",
            "x1, y1, x2, y2 = int(x1), int(y1), int(x2 - 1), int(y2 - 1).",
        ),
    ),
    Mistake(
        "align_corners=True",
        lambda m, b, s: _paste_variant(m, b, s, align_corners=True),
        Hint(
            "Resize with align_corners=False: with True the mask's corner values are pinned to the box's "
            "corner pixels, which stretches the mask differently.",
            "F.interpolate(m[None, None], size=(h, w), mode='bilinear', align_corners=False)[0, 0].",
        ),
    ),
]


def check_paste_instance_logits(student: Callable[..., Any]) -> CheckReport:
    """Exercise 4.1: ``paste_instance_logits(mask_logits (Tensor[M, M]), box (Tensor[4]), size) -> Tensor[H, W]``."""
    g = torch.Generator().manual_seed(41)
    ramp = torch.arange(1.0, 5.0).view(2, 2)
    cases = [
        Case(
            "a 2x2 mask into a 2x2 box (1, 1, 3, 3): the values land unchanged on rows 1-2, cols 1-2",
            (ramp, torch.tensor([1.0, 1.0, 3.0, 3.0]), (4, 4)),
            hint="The box (x1, y1, x2, y2) covers pixels x1 .. x2 - 1: UPSNet's inclusive box is "
            "(x1, y1, x2 - 1, y2 - 1), and the pasted block is (y2 - y1) x (x2 - x1) pixels here.",
        ),
        Case(
            "a 2x2 mask stretched over a 4x4 box (bilinear, align_corners=False)",
            (ramp, torch.tensor([0.0, 0.0, 4.0, 4.0]), (5, 6)),
            hint=Hint(
                "Resize bilinearly so that the mask's pixels are stretched over the box's pixels, centre to "
                "centre (not corner to corner).",
                "F.interpolate(m[None, None], size=(h, w), mode='bilinear', align_corners=False)[0, 0]; "
                "align_corners=True stretches the corners differently.",
            ),
        ),
        Case(
            "a fractional box (2.3, 1.7, 6.6, 5.5): UPSNet truncates the inclusive box with int()",
            (torch.randn(6, 6, generator=g), torch.tensor([2.3, 1.7, 6.6, 5.5]), (8, 8)),
            hint=Hint(
                "UPSNet turns the box into whole pixels by truncating (int()), not by rounding, after moving "
                "x2, y2 to the last pixel.",
                "x1, y1, x2, y2 = int(x1), int(y1), int(x2 - 1), int(y2 - 1); the resized size is "
                "(y2 - y1 + 1, x2 - x1 + 1). Truncate, do not round.",
            ),
        ),
        Case(
            "a box that sticks out of the image at the top left: crop what falls outside",
            (torch.randn(4, 4, generator=g), torch.tensor([-2.0, -1.0, 3.0, 4.0]), (5, 5)),
            hint="Resize to the full box size first, then copy only the part inside the image: "
            "image rows max(y1, 0) .. min(y2 + 1, H) take mask rows starting at max(y1, 0) - y1.",
        ),
        Case(
            "a one-pixel box",
            (torch.full((3, 3), 2.5), torch.tensor([4.0, 2.0, 5.0, 3.0]), (6, 7)),
        ),
        Case(
            "a box at the bottom-right corner of a non-square image",
            (torch.randn(28, 28, generator=g), torch.tensor([9.0, 3.0, 16.0, 10.0]), (10, 16)),
        ),
    ]
    for _ in range(3):
        xy = torch.rand(2, generator=g) * 20
        wh = 1 + torch.rand(2, generator=g) * 14
        cases.append(
            Case(
                "a random 28x28 mask and box",
                (torch.randn(28, 28, generator=g), torch.cat([xy, xy + wh]), (24, 30)),
            )
        )
    return check_function(
        student,
        _paste_reference,
        cases,
        exercise="4.1",
        name="paste_instance_logits",
        hint="Start from torch.zeros(size); resize the logits to the integer box size, paste them "
        "into the box, 0 elsewhere.",
        mistakes=PASTE_MISTAKES,
    )


# ---------------------------------------------------------------------------------------------
# 4.2 the unknown channel
# ---------------------------------------------------------------------------------------------


def _unknown_reference(semantic_logits: Tensor, cropped_thing_logits: Tensor, num_stuff: int) -> Tensor:
    return unknown_logits(semantic_logits, cropped_thing_logits, num_stuff=num_stuff)


UNKNOWN_MISTAKES = [
    Mistake(
        "the stuff channels in the first max",
        lambda sem, cropped, n: sem.max(dim=0).values - (cropped.max(dim=0).values if len(cropped) else 0),
        Hint(
            "The unknown channel compares things with things: the first max runs over the thing channels "
            "only, after the num_stuff stuff channels.",
            "semantic_logits[num_stuff:].max(dim=0).values.",
        ),
    ),
    Mistake(
        "the instance term clamped at 0",
        lambda sem, cropped, n: (
            sem[n:].max(dim=0).values - (cropped.max(dim=0).values.clamp(min=0) if len(cropped) else 0)
        ),
        Hint(
            "Inside every box the instance term is the cropped logit itself, even when it is negative; only "
            "outside a box does that instance contribute its 0."
        ),
    ),
    Mistake(
        "plus instead of minus",
        lambda sem, cropped, n: sem[n:].max(dim=0).values + (cropped.max(dim=0).values if len(cropped) else 0),
        Hint(
            "The unknown logit is high where the semantic head sees a thing that no instance explains: "
            "subtract the instances' term."
        ),
    ),
]


def check_unknown_channel(student: Callable[..., Any]) -> CheckReport:
    """Exercise 4.2: ``unknown_channel(semantic_logits, cropped_thing_logits, num_stuff) -> Tensor[H, W]``."""
    g = torch.Generator().manual_seed(42)

    def crop(sem: Tensor, boxes: list[tuple[int, int, int, int]], labels: list[int]) -> Tensor:
        out = torch.zeros(len(boxes), *sem.shape[1:])
        for i, ((x1, y1, x2, y2), c) in enumerate(zip(boxes, labels)):
            out[i, y1:y2, x1:x2] = sem[c, y1:y2, x1:x2]
        return out

    # Hand-worked case: channels [S0, S1, T0, T1] over one row of 4 pixels, one instance of class 2
    sem1 = torch.tensor([[2.0, 0, 0, 0], [0, 0, 1, 0], [1, 3, 0.5, 4], [0, 1, 2, 0]])[:, None, :]  # (4, 1, 4)
    sem2 = torch.full((3, 2, 3), -1.0)
    sem2[1] = -3.0  # the instance's class is negative inside its box
    sem3 = torch.randn(5, 4, 5, generator=g)
    sem3[:2] += 10.0  # large stuff logits
    sem4 = torch.randn(4, 6, 7, generator=g)
    cases = [
        Case(
            "the hand-worked 1x4 example: one instance of class 2 with its box over pixels 1..2",
            (sem1, crop(sem1, [(1, 0, 3, 1)], [2]), 2),
            hint="Expected (1, 0, 1.5, 4): max over the thing channels (2 and 3) minus the max over "
            "instances of the cropped thing logits.",
        ),
        Case(
            "one box over the whole image whose class logit is negative (-3): no clamping at 0",
            (sem2, crop(sem2, [(0, 0, 3, 2)], [1]), 1),
            hint="Inside every box the instance term is the cropped logit itself, even when it is "
            "negative; only outside a box does that instance contribute its 0.",
        ),
        Case(
            "large stuff logits: only the thing channels enter the first max",
            (sem3, crop(sem3, [(0, 0, 3, 3), (2, 1, 5, 4)], [2, 4]), 2),
            hint=Hint(
                "The first term looks at the thing channels only, the ones after the num_stuff stuff channels.",
                "The first term is semantic_logits[num_stuff:].max(dim=0).values.",
            ),
        ),
        Case(
            "three overlapping instances",
            (sem4, crop(sem4, [(0, 0, 4, 4), (2, 2, 7, 6), (1, 3, 3, 6)], [2, 3, 3]), 2),
            hint=Hint(
                "The second term is, per pixel, the largest cropped logit over the instances, the zeros outside "
                "their boxes included.",
                "The second term is cropped_thing_logits.max(dim=0).values (zeros outside boxes included).",
            ),
        ),
        Case(
            "no detections at all (N = 0)",
            (sem4, torch.zeros(0, 6, 7), 2),
            hint="With no instances every pixel is outside every box: the instance term is 0 "
            "(torch's max over an empty dimension raises, so handle N = 0 first).",
        ),
    ]
    for _ in range(2):
        sem = torch.randn(6, 8, 9, generator=g)
        boxes = []
        for _ in range(3):
            x1, y1, w, h = (int(v) for v in torch.randint(0, 6, (4,), generator=g))
            boxes.append((x1, y1, x1 + 1 + w % 3, y1 + 1 + h % 3))
        labels = torch.randint(3, 6, (3,), generator=g).tolist()
        cases.append(Case("random logits, three instances, 3 stuff channels", (sem, crop(sem, boxes, labels), 3)))
    return check_function(
        student,
        _unknown_reference,
        cases,
        exercise="4.2",
        name="unknown_channel",
        mistakes=UNKNOWN_MISTAKES,
        hint="unknown = max over thing channels of the semantic logits - max over instances of the "
        "box-cropped thing logits.",
    )


# ---------------------------------------------------------------------------------------------
# 4.3 PQ of one category
# ---------------------------------------------------------------------------------------------


def _category_pq_reference(
    pred_panoptic: Tensor,
    pred_segments: list[dict[str, int]],
    gt_panoptic: Tensor,
    gt_segments: list[dict[str, int]],
    category_id: int,
) -> tuple[float, float, float]:
    cats = {int(s["category_id"]) for s in pred_segments + gt_segments} | {int(category_id)}
    result = panoptic_quality(
        pred_panoptic, pred_segments, gt_panoptic, gt_segments, [{"id": c, "isthing": 1} for c in sorted(cats)]
    )["per_class"][int(category_id)]
    return (float(result["pq"]), float(result["sq"]), float(result["rq"]))


def _pq_variant(
    pred,
    pred_segments,
    gt,
    gt_segments,
    category_id,
    *,
    match_at_half=False,
    void_in_union=False,
    void_skip="more_than_half",
):
    """PQ, SQ, RQ of one category with one rule changed (the wrong answers of exercise 4.3)."""
    pcat = {int(s["id"]): int(s["category_id"]) for s in pred_segments}
    gcat = {int(s["id"]): int(s["category_id"]) for s in gt_segments}
    tp, iou_sum, pred_matched, gt_matched = 0, 0.0, set(), set()
    for g_id, g_c in gcat.items():
        for p_id, p_c in pcat.items():
            if g_c != category_id or p_c != category_id:
                continue
            p, g = pred == p_id, gt == g_id
            inter = int((p & g).sum())
            union = int((p | g).sum()) - (0 if void_in_union else int((p & (gt == 0)).sum()))
            iou = inter / union if union else 0.0
            if iou > 0.5 or (match_at_half and iou >= 0.5):
                tp, iou_sum = tp + 1, iou_sum + iou
                pred_matched.add(p_id)
                gt_matched.add(g_id)
    fn = sum(1 for g_id, g_c in gcat.items() if g_c == category_id and g_id not in gt_matched)
    fp = 0
    for p_id, p_c in pcat.items():
        if p_c != category_id or p_id in pred_matched:
            continue
        p = pred == p_id
        share = int((p & (gt == 0)).sum()) / max(int(p.sum()), 1)
        skip = {"more_than_half": share > 0.5, "half_or_more": share >= 0.5, "never": False}[void_skip]
        fp += 0 if skip else 1
    den = tp + fp / 2 + fn / 2
    sq = iou_sum / tp if tp else 0.0
    rq = tp / den if den else 0.0
    return (sq * rq, sq, rq)


PQ_MISTAKES = [
    Mistake(
        "a match at IoU >= 0.5",
        lambda *a: _pq_variant(*a, match_at_half=True),
        Hint(
            "A match needs IoU > 0.5, strictly: at exactly 0.5 two predictions could match the same segment, "
            "which the strict threshold rules out (Kirillov et al. prove the matching unique)."
        ),
    ),
    Mistake(
        "the prediction's pixels on void kept in the union",
        lambda *a: _pq_variant(*a, void_in_union=True),
        Hint(
            "Pixels of the prediction that fall on ground-truth void (id 0) are left out of the union.",
            "IoU = inter / (|pred| + |gt| - inter - |pred on gt void|).",
        ),
    ),
    Mistake(
        "every unmatched prediction counted as a false positive",
        lambda *a: _pq_variant(*a, void_skip="never"),
        Hint(
            "An unmatched prediction that lies mostly on void (more than half of its pixels) is not a false "
            "positive: void is unlabelled, so nobody can say the prediction is wrong."
        ),
    ),
    Mistake(
        "a prediction exactly half on void skipped",
        lambda *a: _pq_variant(*a, void_skip="half_or_more"),
        Hint(
            "Skip an unmatched prediction only when MORE than half of its pixels lie on void "
            "(void / area > 0.5, strictly): at exactly one half it still counts as a false positive."
        ),
    ),
]


def _segments(panoptic: Tensor, categories: dict[int, int]) -> list[dict[str, int]]:
    return [{"id": int(i), "category_id": categories[int(i)]} for i in panoptic.unique().tolist() if i != 0]


def check_category_pq(student: Callable[..., Any]) -> CheckReport:
    """Exercise 4.3: ``category_pq(pred_panoptic, pred_segments, gt_panoptic, gt_segments, category_id)
    -> (pq, sq, rq)`` for one image without crowd regions."""
    g = torch.Generator().manual_seed(43)
    # Hand-worked case: row 0 is void; gt 1 (cat 1) | gt 2 (cat 2); pred 5 (cat 1) is 4 wide
    gt = torch.zeros(4, 6, dtype=torch.int64)
    gt[1:, :3], gt[1:, 3:] = 1, 2
    pred = torch.full((4, 6), 6, dtype=torch.int64)
    pred[:, :4] = 5
    pred[3, 5] = 0
    gt_segs = [{"id": 1, "category_id": 1}, {"id": 2, "category_id": 2}]
    pred_segs = [{"id": 5, "category_id": 1}, {"id": 6, "category_id": 2}]
    half_gt = torch.tensor([[1, 1, 2, 2]])
    half_pred = torch.tensor([[7, 7, 7, 7]])
    void_gt = torch.tensor([[0, 0, 0, 1, 1, 1, 1, 1, 1, 1]])
    void_pred = torch.tensor([[3, 3, 3, 3, 3, 4, 4, 4, 4, 4]])
    two_gt = torch.tensor([[1, 1, 1, 0, 2, 2, 2, 2]])
    two_pred = torch.tensor([[4, 4, 4, 4, 5, 5, 6, 6]])
    cases = [
        Case(
            "the hand-worked 4x6 example, category 1 (IoU 9 / 12 once void is left out of the union)",
            (pred, pred_segs, gt, gt_segs, 1),
            hint="IoU = inter / (|pred| + |gt| - inter - |pred on gt void|): pred 5 has 4 pixels on "
            "the void row, so the union is 16 + 9 - 9 - 4 = 12.",
        ),
        Case("the hand-worked 4x6 example, category 2 (IoU 5 / 9)", (pred, pred_segs, gt, gt_segs, 2)),
        Case(
            "IoU exactly 0.5 is not a match (one FP and one FN)",
            (
                half_pred,
                [{"id": 7, "category_id": 0}],
                half_gt,
                [{"id": 1, "category_id": 0}, {"id": 2, "category_id": 1}],
                0,
            ),
            hint="A match needs IoU > 0.5, strictly. PQ = sum IoU / (TP + FP/2 + FN/2).",
        ),
        Case(
            "an unmatched prediction with 3 of its 5 pixels on void is not a false positive",
            (
                void_pred,
                [{"id": 3, "category_id": 0}, {"id": 4, "category_id": 0}],
                void_gt,
                [{"id": 1, "category_id": 0}],
                0,
            ),
            hint="Skip an unmatched prediction when more than half of its pixels lie on ground-truth void (id 0).",
        ),
        Case(
            "an unmatched prediction with exactly half of its 4 pixels on void IS a false positive",
            (
                torch.tensor([[3, 3, 3, 3, 4, 4, 4, 4]]),
                [{"id": 3, "category_id": 0}, {"id": 4, "category_id": 0}],
                torch.tensor([[0, 0, 1, 1, 1, 1, 1, 1]]),
                [{"id": 1, "category_id": 0}],
                0,
            ),
            hint="Skip an unmatched prediction only when MORE than half of its pixels lie on void "
            "(void / area > 0.5, strictly): at exactly one half it still counts as a false positive.",
        ),
        Case(
            "a category that appears in neither map gives (0.0, 0.0, 0.0)",
            (pred, pred_segs, gt, gt_segs, 9),
            hint="With TP + FP + FN = 0 return zeros (panopticapi's per-class value).",
        ),
        Case(
            "two ground-truth segments, one matched, one split into two predictions",
            (
                two_pred,
                [{"id": 4, "category_id": 0}, {"id": 5, "category_id": 0}, {"id": 6, "category_id": 0}],
                two_gt,
                [{"id": 1, "category_id": 0}, {"id": 2, "category_id": 0}],
                0,
            ),
            hint="SQ = sum IoU / TP (0 when TP = 0), RQ = TP / (TP + FP/2 + FN/2), PQ = SQ x RQ.",
        ),
    ]
    for _ in range(4):
        coarse = torch.randint(0, 5, (3, 4), generator=g)
        gt_r = coarse.repeat_interleave(3, 0).repeat_interleave(3, 1)  # (9, 12)
        pred_r = gt_r.clone()
        flip = torch.rand(gt_r.shape, generator=g) < 0.25
        pred_r[flip] = torch.randint(0, 6, (int(flip.sum()),), generator=g)
        pred_r = torch.where(pred_r > 0, pred_r + 10, pred_r)
        cat_gt = {i: i % 2 for i in range(1, 5)}
        cat_pred = {i + 10: i % 2 for i in range(1, 6)}
        cases.append(
            Case(
                "random blocky maps with noisy predictions, category 1",
                (pred_r, _segments(pred_r, cat_pred), gt_r, _segments(gt_r, cat_gt), 1),
            )
        )
    return check_function(
        student,
        _category_pq_reference,
        cases,
        exercise="4.3",
        name="category_pq",
        mistakes=PQ_MISTAKES,
        atol=1e-6,
        hint="Match same-category pairs with IoU > 0.5, count unmatched ground truth as FN and "
        "unmatched predictions as FP (unless mostly on void).",
    )

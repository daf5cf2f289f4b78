"""Exercise checks for notebook 03 (YOLACT prototypes): 3.1 ``assemble_masks``, 3.2 ``crop_masks``,
3.3 ``fast_nms``.

Each ``check_<name>(student_fn)`` runs the student's function against :mod:`lessons.yolact` on fixed
edge cases first (the hand-checkable ones of the notebook), then seeded random ones.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torchvision

from lessons.boxes import box_iou
from lessons.exercises import Case, CheckReport, Hint, Mistake, check_function
from lessons.yolact import assemble_masks, crop_masks, fast_nms

__all__ = ["check_assemble_masks", "check_crop_masks", "check_fast_nms"]


def _gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


ASSEMBLE_MISTAKES = [
    Mistake(
        "transposed masks (N, W, H)",
        lambda p, c: torch.sigmoid(torch.einsum("np,phw->nwh", c, p)),
        Hint(
            "Your masks are transposed: each is (W, H) instead of (H, W). The prototypes are laid out "
            "(P, H, W); the output keeps their row and column order, with the detections in front.",
            "torch.sigmoid(torch.einsum('np,phw->nhw', coefficients, prototypes)), or equivalently "
            "torch.sigmoid((coefficients @ prototypes.flatten(1)).view(N, H, W)).",
        ),
    ),
    Mistake(
        "logits returned (no sigmoid)",
        lambda p, c: torch.einsum("np,phw->nhw", c, p),
        Hint(
            "The mixed prototypes are logits; a mask is their sigmoid (values in (0, 1)).",
            "Apply torch.sigmoid to the (N, H, W) linear combination.",
        ),
    ),
    Mistake(
        "softmax over the detections instead of a sigmoid",
        lambda p, c: torch.softmax(torch.einsum("np,phw->nhw", c, p), dim=0),
        Hint(
            "Each detection's mask is independent of the others: a per-pixel sigmoid, not a softmax "
            "that makes the detections compete."
        ),
    ),
    Mistake(
        "sigmoid on the coefficients before mixing",
        lambda p, c: torch.einsum("np,phw->nhw", torch.sigmoid(c), p),
        Hint(
            "Mix first, squash second: the sigmoid goes on the linear combination of prototypes, not on "
            "the coefficients."
        ),
    ),
]


def check_assemble_masks(student: Callable) -> CheckReport:
    """Exercise 3.1: ``assemble_masks(prototypes (P, H, W), coefficients (N, P)) -> (N, H, W)``."""
    g = _gen(31)
    two = torch.tensor([[[1.0, 0.0]], [[0.0, 1.0]]])  # (P=2, H=1, W=2)
    cases = [
        Case(
            "two 1x2 prototypes [[1, 0]] and [[0, 1]], one detection with coefficients (2, -2)",
            (two, torch.tensor([[2.0, -2.0]])),
            hint="The logits are [[2, -2]]; the mask is their sigmoid, about [[0.881, 0.119]].",
        ),
        Case(
            "one prototype, two detections with coefficients +1 and -1",
            (torch.tensor([[[0.0, 1.0], [2.0, 3.0]]]), torch.tensor([[1.0], [-1.0]])),
            hint="Each detection n gets its own mask: sigmoid(sum_p C[n, p] * prototypes[p]).",
        ),
        Case(
            "no detections (N = 0)",
            (torch.rand(3, 4, 5, generator=g), torch.zeros(0, 3)),
            hint="With N = 0 the result has shape (0, H, W); einsum or matmul handle it without a special case.",
        ),
        Case(
            "P = 4 prototypes of 5x7 (H != W), N = 3 tanh coefficients",
            (torch.rand(4, 5, 7, generator=g), torch.rand(3, 4, generator=g) * 2 - 1),
            hint=Hint(
                "The output is (N, H, W): detections first, then rows, then columns; each detection "
                "mixes all P prototypes with its own P coefficients.",
                "torch.einsum('np,phw->nhw', coefficients, prototypes) says exactly that; then the sigmoid.",
            ),
        ),
        Case(
            "float64 inputs, P = 8, N = 6",
            (
                torch.rand(8, 6, 6, generator=g, dtype=torch.float64),
                torch.rand(6, 8, generator=g, dtype=torch.float64) * 2 - 1,
            ),
            hint="Keep the input dtype (no .float()).",
        ),
    ]
    return check_function(
        student,
        assemble_masks,
        cases,
        exercise="3.1",
        name="assemble_masks",
        hint=Hint(
            "Mask n is the sigmoid of a linear combination of the prototypes, weighted by detection n's "
            "coefficients; the result is (N, H, W).",
            "torch.sigmoid(torch.einsum('np,phw->nhw', coefficients, prototypes)).",
        ),
        mistakes=ASSEMBLE_MISTAKES,
    )


def _crop_variant(masks, boxes, padding=1, *, upper_le="", lower_gt="", pad=True, sort=True, bounds=None):
    """:func:`crop_masks` with one step changed (the wrong answers of exercise 3.2): ``upper_le`` and
    ``lower_gt`` name the axes (``"xy"``, ``"x"``, ``"y"``) whose upper bound uses ``<=`` / lower bound ``>``."""
    _, height, width = masks.shape
    if sort:
        lo, hi = torch.minimum(boxes[:, :2], boxes[:, 2:]), torch.maximum(boxes[:, :2], boxes[:, 2:])
    else:
        lo, hi = boxes[:, :2], boxes[:, 2:]
    p = padding if pad else 0
    lo, hi = lo - p, hi + p  # (N, 2) as (x, y)
    if bounds is not None:
        lo, hi = bounds(lo), bounds(hi)
    keep = masks.new_ones(masks.shape, dtype=torch.bool)  # (N, H, W)
    for axis, index in (
        ("x", torch.arange(width, dtype=masks.dtype)[None, None, :]),  # (1, 1, W)
        ("y", torch.arange(height, dtype=masks.dtype)[None, :, None]),
    ):  # (1, H, 1)
        low, high = lo[:, "xy".index(axis), None, None], hi[:, "xy".index(axis), None, None]
        keep = keep & ((index > low) if axis in lower_gt else (index >= low))
        keep = keep & ((index <= high) if axis in upper_le else (index < high))
    return masks * keep.to(masks.dtype)


_UPPER_BOUND = Hint(
    "A pixel exactly on the padded box's far edge is outside: the box is half-open, like a slice "
    "a[x1:x2], which stops before x2.",
    "keep = (c >= x1 - padding) & (c < x2 + padding) & (r >= y1 - padding) & (r < y2 + padding): <= on "
    "the low side, strict < on the high side.",
)

CROP_MISTAKES = [
    Mistake(
        "<= instead of < at the upper bound", lambda m, b, p=1: _crop_variant(m, b, p, upper_le="xy"), _UPPER_BOUND
    ),
    Mistake(
        "<= instead of < at the right edge (x)", lambda m, b, p=1: _crop_variant(m, b, p, upper_le="x"), _UPPER_BOUND
    ),
    Mistake(
        "<= instead of < at the bottom edge (y)", lambda m, b, p=1: _crop_variant(m, b, p, upper_le="y"), _UPPER_BOUND
    ),
    Mistake(
        "> instead of >= at the lower bound",
        lambda m, b, p=1: _crop_variant(m, b, p, lower_gt="xy"),
        Hint(
            "A pixel exactly on the padded box's near edge is inside: x1 - padding <= c, not <.",
            "keep = (c >= x1 - padding) & (c < x2 + padding), likewise for the rows.",
        ),
    ),
    Mistake(
        "no padding",
        lambda m, b, p=1: _crop_variant(m, b, p, pad=False),
        Hint(
            "The box is grown by `padding` pixels on every side before the comparison.",
            "Compare with x1 - padding and x2 + padding (and y1 - padding, y2 + padding).",
        ),
    ),
    Mistake(
        "the box rounded to whole pixels",
        lambda m, b, p=1: _crop_variant(m, b, p, bounds=torch.round),
        Hint(
            "Keep the bounds as floats: comparing the integer index c with 1.4 or 5.8 does the rounding "
            "that YOLACT does."
        ),
    ),
    Mistake(
        "the box's corners not sorted",
        lambda m, b, p=1: _crop_variant(m, b, p, sort=False),
        Hint(
            "A box can come with x2 < x1 (or y2 < y1); sort each pair first, like YOLACT's sanitize_coordinates.",
            "x1, x2 = torch.minimum(b[:, 0], b[:, 2]), torch.maximum(b[:, 0], b[:, 2]); likewise y1, y2.",
        ),
    ),
]


def check_crop_masks(student: Callable) -> CheckReport:
    """Exercise 3.2: ``crop_masks(masks (N, H, W), boxes (N, 4), padding=1) -> (N, H, W)``."""
    g = _gen(32)
    ones8 = torch.ones(1, 8, 8)
    cases = [
        Case(
            "8x8 ones, box (2.4, 2.0, 4.8, 4.0), padding 1: keeps rows 1-4 and cols 2-5",
            (ones8, torch.tensor([[2.4, 2.0, 4.8, 4.0]]), 1),
            hint="Compare the pixel *index* c with the padded box: keep x1 - padding <= c < x2 + padding "
            "(floats, no rounding), likewise for the row r.",
        ),
        Case(
            "the same box without padding: keeps rows 2-3 and cols 3-4",
            (ones8, torch.tensor([[2.4, 2.0, 4.8, 4.0]]), 0),
            hint="With padding 0 the column test is 2.4 <= c < 4.8, so c = 3, 4.",
        ),
        Case(
            "an integer box (2, 1, 5, 4), padding 1, on 7x8 ones: every bound falls exactly on a pixel "
            "index, so cols 1-5 and rows 0-4 are kept (1 <= c < 6, 0 <= r < 5)",
            (torch.ones(1, 7, 8), torch.tensor([[2.0, 1.0, 5.0, 4.0]]), 1),
            hint="The test is x1 - padding <= c < x2 + padding: inclusive at the low end, strict at the high end.",
        ),
        Case(
            "a box with swapped corners (x2 < x1, y2 < y1)",
            (torch.ones(1, 6, 6), torch.tensor([[4.0, 5.0, 1.0, 2.0]]), 1),
            hint="Sort each pair first: x1 = min(box x1, box x2), x2 = max(...), like YOLACT's sanitize_coordinates.",
        ),
        Case(
            "a box that reaches outside the image",
            (torch.ones(1, 5, 6), torch.tensor([[-3.0, 3.5, 9.0, 12.0]]), 1),
            hint="Clamp the padded box to [0, W] and [0, H]; the comparison with indices does the rest.",
        ),
        Case(
            "three random masks with random boxes, padding 1",
            (
                torch.rand(3, 9, 11, generator=g),
                torch.tensor([[1.2, 0.5, 6.3, 4.0], [0.0, 3.0, 11.0, 9.0], [5.5, 5.5, 7.0, 6.2]]),
                1,
            ),
            hint="Each mask n uses its own box n: build (N, 1, W) and (N, H, 1) boolean tests and broadcast.",
        ),
        Case(
            "fractional padding 2.5",
            (torch.rand(2, 10, 10, generator=g), torch.tensor([[3.0, 3.0, 5.0, 6.0], [0.5, 7.0, 2.0, 9.0]]), 2.5),
            hint="padding is a float: subtract it from x1, add it to x2 before comparing.",
        ),
        Case(
            "no masks (N = 0)",
            (torch.zeros(0, 4, 4), torch.zeros(0, 4), 1),
            hint="The result has shape (0, H, W).",
        ),
    ]
    return check_function(
        student,
        crop_masks,
        cases,
        exercise="3.2",
        name="crop_masks",
        atol=0.0,
        rtol=0.0,
        hint=Hint(
            "Zero every pixel (r, c) outside x1 - padding <= c < x2 + padding, y1 - padding <= r < y2 + padding; "
            "keep the others unchanged (multiply by a 0/1 mask).",
            "Sort each corner pair; cols = torch.arange(W)[None, None, :] and rows = torch.arange(H)[None, :, None]; "
            "keep = (cols >= x1[:, None, None] - padding) & (cols < x2[:, None, None] + padding) & (rows >= "
            "y1[:, None, None] - padding) & (rows < y2[:, None, None] + padding); return masks * keep.",
        ),
        mistakes=CROP_MISTAKES,
    )


def _nms_variant(boxes, scores, iou_threshold=0.5, *, strict=False, diagonal=1, keep_input_order=False):
    """:func:`fast_nms` with one step changed (the wrong answers of exercise 3.3)."""
    order = scores.argsort(descending=True)  # (N,)
    iou = box_iou(boxes[order], boxes[order]).triu(diagonal=diagonal)  # (N, N)
    iou_max = iou.max(dim=0).values if order.numel() else iou.new_zeros(0)  # (N,)
    kept = order[iou_max < iou_threshold] if strict else order[iou_max <= iou_threshold]
    return kept.sort().values if keep_input_order else kept


NMS_MISTAKES = [
    Mistake(
        "< instead of <= at the threshold",
        lambda b, s, t=0.5: _nms_variant(b, s, t, strict=True),
        Hint(
            "A box whose IoU with a better box equals the threshold exactly is kept: suppression needs "
            "IoU > threshold, strictly.",
            "keep order[iou_max <= iou_threshold], not order[iou_max < iou_threshold].",
        ),
    ),
    Mistake(
        "greedy NMS",
        lambda b, s, t=0.5: torchvision.ops.nms(b, s, t),
        Hint(
            "That is greedy NMS: an already suppressed box no longer suppresses others. FastNMS lets every "
            "higher-scored box vote, suppressed or not, with one max over a matrix and no loop.",
            "X = box_iou(boxes[order], boxes[order]).triu(diagonal=1); keep order[X.max(dim=0).values <= t].",
        ),
    ),
    Mistake(
        "the diagonal (a box's IoU 1 with itself) in the max",
        lambda b, s, t=0.5: _nms_variant(b, s, t, diagonal=0),
        Hint(
            "Every box overlaps itself with IoU 1; only boxes that score higher may suppress it.",
            "Keep the strict upper triangle: .triu(diagonal=1).",
        ),
    ),
    Mistake(
        "kept indices in input order",
        lambda b, s, t=0.5: _nms_variant(b, s, t, keep_input_order=True),
        Hint("Return the kept indices by decreasing score (like torchvision.ops.nms), not sorted by index."),
    ),
]


def check_fast_nms(student: Callable) -> CheckReport:
    """Exercise 3.3: ``fast_nms(boxes (N, 4), scores (N,), iou_threshold=0.5) -> kept indices (M,) int64``."""
    g = _gen(33)
    chain = torch.tensor([[0.0, 0.0, 10.0, 10.0], [3.0, 0.0, 13.0, 10.0], [6.0, 0.0, 16.0, 10.0]])
    xy = torch.rand(25, 2, generator=g) * 30
    random_boxes = torch.cat([xy, xy + torch.rand(25, 2, generator=g) * 12 + 2], dim=1)
    random_scores = torch.randperm(25, generator=g).float() / 25
    cases = [
        Case(
            "one box",
            (torch.tensor([[0.0, 0.0, 4.0, 4.0]]), torch.tensor([0.5]), 0.5),
            hint="A single box is always kept: tensor([0]) (int64). Empty? Then the diagonal (a box's IoU 1 "
            "with itself) is in your max: use triu(diagonal=1).",
        ),
        Case(
            "two disjoint boxes, the second scores higher",
            (torch.tensor([[0.0, 0.0, 4.0, 4.0], [10.0, 10.0, 14.0, 14.0]]), torch.tensor([0.3, 0.9]), 0.5),
            hint="Return indices into the input, sorted by decreasing score: tensor([1, 0]).",
        ),
        Case(
            "two boxes with IoU 0.81: the lower-scored one is suppressed",
            (torch.tensor([[0.0, 0.0, 10.0, 10.0], [1.0, 1.0, 10.0, 10.0]]), torch.tensor([0.6, 0.7]), 0.5),
            hint="Sort by score first; box j is dropped when max over higher-scored i of IoU(i, j) > threshold.",
        ),
        Case(
            "two boxes with IoU exactly 0.5 (8 / 16) at threshold 0.5: both are kept",
            (torch.tensor([[0.0, 0.0, 4.0, 4.0], [0.0, 0.0, 4.0, 2.0]]), torch.tensor([0.9, 0.8]), 0.5),
            hint="Suppression needs IoU > threshold: at exactly the threshold the box stays.",
        ),
        Case(
            "threshold 0.25: B overlaps A by exactly 0.25 (kept), C by 0.5 (suppressed)",
            (
                torch.tensor([[0.0, 0.0, 4.0, 4.0], [0.0, 0.0, 1.0, 4.0], [0.0, 0.0, 2.0, 4.0]]),
                torch.tensor([0.9, 0.8, 0.7]),
                0.25,
            ),
            hint="Compare with the threshold argument (not a fixed 0.5), and keep IoU == threshold.",
        ),
        Case(
            "the chain A-B-C (IoU(A,B) = IoU(B,C) = 0.54, IoU(A,C) = 0.25): FastNMS keeps only A",
            (chain, torch.tensor([0.9, 0.8, 0.7]), 0.5),
            hint=Hint(
                "Greedy NMS (torchvision.ops.nms) keeps [A, C]; FastNMS lets the suppressed B still suppress C: "
                "every higher-scored box votes, suppressed or not.",
                "Take the column max of the upper triangle of the IoU matrix (triu(diagonal=1)), no loop.",
            ),
        ),
        Case(
            "no boxes",
            (torch.zeros(0, 4), torch.zeros(0), 0.5),
            hint="Return an empty int64 tensor; guard the max over an empty matrix.",
        ),
        Case(
            "25 random boxes, threshold 0.5",
            (random_boxes, random_scores, 0.5),
            hint="Keep the diagonal out of the max (a box overlaps itself with IoU 1): triu(diagonal=1).",
        ),
        Case(
            "25 random boxes, threshold 0.3",
            (random_boxes, random_scores, 0.3),
            hint="Keep when iou_max <= threshold (not <).",
        ),
    ]
    return check_function(
        student,
        fast_nms,
        cases,
        exercise="3.3",
        name="fast_nms",
        hint=Hint(
            "Sort by score, build the IoU matrix of the sorted boxes, and keep a box when no higher-scored "
            "box overlaps it by more than the threshold, all with tensor operations.",
            "order = scores.argsort(descending=True); X = box_iou(boxes[order], boxes[order]).triu(1); "
            "keep order[X.max(dim=0).values <= iou_threshold] (guard N = 0).",
        ),
        mistakes=NMS_MISTAKES,
    )

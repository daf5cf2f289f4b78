"""Exercise checks for notebook 03 (YOLACT prototypes): 3.1 ``assemble_masks``, 3.2 ``crop_masks``,
3.3 ``fast_nms``.

Each ``check_<name>(student_fn)`` runs the student's function against :mod:`lessons.yolact` on fixed
edge cases first (the hand-checkable ones of the notebook), then seeded random ones.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from lessons.exercises import Case, CheckReport, check_function
from lessons.yolact import assemble_masks, crop_masks, fast_nms

__all__ = ["check_assemble_masks", "check_crop_masks", "check_fast_nms"]


def _gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


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
            hint="The output is (N, H, W): detections first, then rows, then columns. "
            "torch.einsum('np,phw->nhw', ...) says exactly that.",
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
        hint="M = sigmoid(sum over p of coefficients[n, p] * prototypes[p]), shape (N, H, W).",
    )


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
        hint="Zero every pixel (r, c) outside x1 - padding <= c < x2 + padding, y1 - padding <= r < y2 + padding; "
        "keep the others unchanged (multiply by a 0/1 mask).",
    )


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
            "the chain A-B-C (IoU(A,B) = IoU(B,C) = 0.54, IoU(A,C) = 0.25): FastNMS keeps only A",
            (chain, torch.tensor([0.9, 0.8, 0.7]), 0.5),
            hint="Greedy NMS (torchvision.ops.nms) keeps [A, C]; FastNMS lets the suppressed B still suppress C: "
            "take the column max of the upper triangle of the IoU matrix (triu(diagonal=1)), no loop.",
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
        hint="order = scores.argsort(descending=True); X = box_iou(boxes[order], boxes[order]).triu(1); "
        "keep order[X.max(dim=0).values <= iou_threshold].",
    )

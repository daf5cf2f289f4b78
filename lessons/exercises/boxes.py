"""Checks for notebook 00 (the warm-up): pairwise box IoU against :func:`lessons.boxes.box_iou`."""

from __future__ import annotations

import torch

from lessons.boxes import box_iou
from lessons.exercises import Case, CheckReport, check_function

__all__ = ["box_iou_cases", "check_box_iou"]


def _t(rows) -> torch.Tensor:
    return torch.tensor(rows, dtype=torch.float32).reshape(-1, 4)


def _random_boxes(n: int, generator: torch.Generator, dtype=torch.float32) -> torch.Tensor:
    xy = torch.rand(n, 2, generator=generator) * 20
    wh = torch.rand(n, 2, generator=generator) * 10
    return torch.cat([xy, xy + wh], dim=1).to(dtype)  # (n, 4)


def box_iou_cases(seed: int = 0) -> list[Case]:
    """Edge cases first (the simplest failure is reported first), then seeded random sets."""
    g = torch.Generator().manual_seed(seed)
    return [
        Case(
            "identical boxes (IoU 1)",
            (_t([[0, 0, 2, 2]]), _t([[0, 0, 2, 2]])),
            hint="For identical boxes the intersection is the whole box, so the union must be "
            "area1 + area2 - intersection = one box's area.",
        ),
        Case(
            "two 2x2 squares offset by (1, 1): IoU = 1 / 7",
            (_t([[0, 0, 2, 2]]), _t([[1, 1, 3, 3]])),
            hint="The union is area1 + area2 - intersection, not area1 + area2.",
        ),
        Case(
            "disjoint boxes (IoU 0)",
            (_t([[0, 0, 1, 1]]), _t([[5, 5, 6, 6]])),
            hint="Clamp the intersection's width and height at 0 before multiplying: two negative "
            "widths multiply to a positive 'area'.",
        ),
        Case(
            "boxes that touch along an edge (IoU 0)",
            (_t([[0, 0, 2, 2]]), _t([[2, 0, 4, 2]])),
            hint="Continuous coordinates: x2 - x1 is the width, no +1.",
        ),
        Case(
            "a box inside another (IoU = small area / big area)",
            (_t([[0, 0, 4, 4]]), _t([[1, 1, 2, 2]])),
        ),
        Case(
            "a degenerate (zero-width) box against a normal one (IoU 0)",
            (_t([[1, 0, 1, 3]]), _t([[0, 0, 2, 2]])),
        ),
        Case(
            "N = 3 against M = 2: the result must be (N, M)",
            (_t([[0, 0, 2, 2], [1, 1, 3, 3], [0, 0, 1, 4]]), _t([[0, 0, 2, 2], [1, 0, 3, 1]])),
            hint="Broadcast boxes1[:, None, :] against boxes2[None, :, :] to get every pair.",
        ),
        Case(
            "empty boxes1 (N = 0): an empty (0, M) result",
            (_t([]), _t([[0, 0, 1, 1], [1, 1, 2, 2]])),
            hint="Vectorized code handles N = 0 for free; a Python loop building a list may not.",
        ),
        Case("empty boxes2 (M = 0): an empty (N, 0) result", (_t([[0, 0, 1, 1]]), _t([]))),
        Case("random sets, float32", (_random_boxes(7, g), _random_boxes(5, g))),
        Case(
            "random sets, float64 (keep the input dtype)",
            (_random_boxes(6, g, torch.float64), _random_boxes(4, g, torch.float64)),
            hint="Build new tensors with the input's dtype (e.g. torch.zeros(..., dtype=boxes1.dtype)).",
        ),
    ]


def check_box_iou(student) -> CheckReport:
    """Exercise 0.1: ``box_iou(boxes1, boxes2) -> Tensor[N, M]`` against the library."""
    return check_function(
        student,
        box_iou,
        box_iou_cases(),
        exercise="0.1",
        name="box_iou",
        hint="IoU = intersection / (area1 + area2 - intersection), for every pair (i, j).",
    )

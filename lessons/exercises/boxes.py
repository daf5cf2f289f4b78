"""Checks for notebook 00 (the warm-up): pairwise box IoU against :func:`lessons.boxes.box_iou`."""

from __future__ import annotations

import torch

from lessons.boxes import box_iou
from lessons.exercises import Case, CheckReport, Hint, Mistake, check_function

__all__ = ["box_iou_cases", "box_iou_mistakes", "check_box_iou"]


def _t(rows) -> torch.Tensor:
    return torch.tensor(rows, dtype=torch.float32).reshape(-1, 4)


def _random_boxes(n: int, generator: torch.Generator, dtype=torch.float32) -> torch.Tensor:
    xy = torch.rand(n, 2, generator=generator) * 20
    wh = torch.rand(n, 2, generator=generator) * 10
    return torch.cat([xy, xy + wh], dim=1).to(dtype)  # (n, 4)


def _iou_variant(
    b1: torch.Tensor,
    b2: torch.Tensor,
    *,
    plus: float = 0.0,
    plus_inter: float = 0.0,
    clamp: bool = True,
    subtract: bool = True,
    over: str = "union",
) -> torch.Tensor:
    """:func:`box_iou` with one step changed (the wrong answers of exercise 0.1)."""
    area1 = (b1[:, 2] - b1[:, 0] + plus) * (b1[:, 3] - b1[:, 1] + plus)  # (N,)
    area2 = (b2[:, 2] - b2[:, 0] + plus) * (b2[:, 3] - b2[:, 1] + plus)  # (M,)
    wh = torch.minimum(b1[:, None, 2:], b2[None, :, 2:]) - torch.maximum(b1[:, None, :2], b2[None, :, :2]) + plus_inter
    wh = wh.clamp(min=0) if clamp else wh  # (N, M, 2)
    inter = wh[..., 0] * wh[..., 1]  # (N, M)
    if over == "min":
        return inter / torch.minimum(area1[:, None], area2[None, :])
    union = area1[:, None] + area2[None, :] - (inter if subtract else 0)
    return inter / union


def box_iou_mistakes() -> list[Mistake]:
    """The classic wrong answers of exercise 0.1, each with the hint that names it."""
    inclusive = Hint(
        "You added 1 to the widths and heights: that is the old pixel-index convention, where a box "
        "(x1, x2) covers the pixels x1 .. x2 inclusive. Here coordinates are continuous, and a box "
        "from x1 to x2 is exactly x2 - x1 wide.",
        "width = x2 - x1 and height = y2 - y1, for both areas and for the intersection; no + 1 anywhere.",
    )
    return [
        Mistake(
            "+1 in every width and height (inclusive pixel boxes)",
            lambda a, b: _iou_variant(a, b, plus=1.0, plus_inter=1.0),
            inclusive,
        ),
        Mistake("+1 in the areas (inclusive pixel boxes)", lambda a, b: _iou_variant(a, b, plus=1.0), inclusive),
        Mistake(
            "+1 in the intersection's width and height", lambda a, b: _iou_variant(a, b, plus_inter=1.0), inclusive
        ),
        Mistake(
            "the union counts the overlap twice",
            lambda a, b: _iou_variant(a, b, subtract=False),
            Hint(
                "area1 + area2 counts the overlapping part twice; the union counts it once.",
                "union = area1[:, None] + area2[None, :] - inter.",
            ),
        ),
        Mistake(
            "the intersection is not clamped at 0",
            lambda a, b: _iou_variant(a, b, clamp=False),
            Hint(
                "Clamp the intersection's sides at 0: for boxes that do not overlap, min(x2) - max(x1) is "
                "negative, and two negative sides multiply to a positive 'area'.",
                "wh = (bottom_right - top_left).clamp(min=0) before multiplying the width by the height.",
            ),
        ),
        Mistake(
            "intersection over the smaller box, not over the union",
            lambda a, b: _iou_variant(a, b, over="min"),
            Hint(
                "The denominator is the union of the two boxes, not the smaller box's area.",
                "union = area1[:, None] + area2[None, :] - inter; iou = inter / union.",
            ),
        ),
    ]


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
        hint=Hint(
            "IoU = intersection / (area1 + area2 - intersection), for every pair (i, j).",
            "area1 = (x2 - x1) * (y2 - y1) of boxes1, shape (N,), likewise area2 (M,); "
            "top_left = torch.maximum(boxes1[:, None, :2], boxes2[None, :, :2]) and bottom_right = "
            "torch.minimum(boxes1[:, None, 2:], boxes2[None, :, 2:]), both (N, M, 2); wh = (bottom_right - "
            "top_left).clamp(min=0); inter = wh[..., 0] * wh[..., 1]; return inter / (area1[:, None] + "
            "area2[None, :] - inter).",
        ),
        mistakes=box_iou_mistakes(),
    )

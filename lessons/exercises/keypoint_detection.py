"""Checks for the exercises of notebook 09 (CornerNet and CenterNet).

* 9.1 :func:`check_top_pool` — CornerNet's TopPool: the max of everything below, vectorized.
* 9.2 :func:`check_cornernet_radius` — CornerNet's ``gaussian_radius``: three quadratics, the right
  root of each, the smallest of the three.
* 9.3 :func:`check_cornernet_focal_loss` — CornerNet's focal loss on corner heatmaps.

Each builds a battery (edge cases first, then seeded random ones) and compares the student's function
with :mod:`lessons.keypoint_detection`. When an answer is wrong, the check also compares it with the
classic wrong answers (the scan in the wrong direction, the copied CenterNet radius, the mean instead
of the division by the positives ...) and shows the hint of the one it matches.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor

from lessons.exercises import Case, CheckReport, ExerciseFailure, Mistake, check_function
from lessons.keypoint_detection import corner_pool, focal_loss, gaussian_radius

__all__ = ["check_top_pool", "check_cornernet_radius", "check_cornernet_focal_loss"]


def _check_with_diagnosis(
    student: Callable,
    reference: Callable,
    cases: list[Case],
    variants: list[tuple[str, Callable, str]],
    *,
    kind_hints: tuple[tuple[Callable[[object], bool], str], ...] = (),
    **kwargs,
) -> CheckReport:
    """:func:`check_function` with the known wrong ``variants`` (name, function, hint) as its mistakes,
    and on a wrong output of the wrong kind the hint of the first ``kind_hints`` predicate it satisfies
    (a tuple where a tensor is due ...)."""
    seen: dict = {}

    def spy(*args, **kw):
        seen["output"] = student(*args, **kw)
        return seen["output"]

    mistakes = [Mistake(name, wrong, hint) for name, wrong, hint in variants]
    try:
        return check_function(spy if callable(student) else student, reference, cases, mistakes=mistakes, **kwargs)
    except ExerciseFailure as failure:
        if "output" not in seen:
            raise
        for is_kind, hint in kind_hints:
            if is_kind(seen["output"]):
                tiers = ("likely mistake: ", "hint: ", "more help: ", "recipe")
                lines = [line for line in str(failure).split("\n") if not line.startswith(tiers)]
                raise ExerciseFailure("\n".join(lines + [f"hint: {hint}"])) from None
        raise


# ----------------------------------------------------------------------------- 9.1


def reference_top_pool(x: Tensor) -> Tensor:
    """``out[..., i, j] = max_{k >= i} x[..., k, j]``."""
    return corner_pool(x, "top")


def check_top_pool(student: Callable[[Tensor], Tensor]) -> CheckReport:
    """Exercise 9.1: ``top_pool(x: Tensor[..., H, W]) -> Tensor[..., H, W]``."""
    g = torch.Generator().manual_seed(91)
    column = torch.tensor([[1.0], [3.0], [2.0]])
    negative = -torch.arange(1.0, 13.0).reshape(3, 4)  # every value < 0, growing upwards
    ties = torch.tensor([[2.0, 0.0], [2.0, 1.0], [0.0, 1.0]])
    cases = [
        Case(
            "one column [1, 3, 2]: the answer is [3, 3, 2]",
            (column,),
            hint="out[i] is the largest value at row i or below it (rows i, i+1, ..., H-1).",
        ),
        Case(
            "a single row (H = 1): nothing below, the map is unchanged",
            (torch.tensor([[4.0, 1.0, 2.0]]),),
            hint="With one row, each value is its own maximum.",
        ),
        Case(
            "negative features: the running max must not start at 0",
            (negative,),
            hint="Features can be negative; start from the values themselves, not from zeros.",
        ),
        Case("equal values in a column", (ties,)),
        Case("a batch (2, 3, 5, 4) of random features", (torch.randn(2, 3, 5, 4, generator=g),)),
        Case("a non-square map (1, 7, 3)", (torch.randn(1, 7, 3, generator=g),)),
    ]
    variants = [
        (
            "the scan runs downwards (BottomPool)",
            lambda x: torch.cummax(x, dim=-2).values,
            "Your scan runs downwards, so row i gets the max of the rows *above* it (that is BottomPool). "
            "TopPool needs the rows below: run the scan from the bottom up.",
        ),
        (
            "the scan along the columns",
            lambda x: torch.cummax(x.flip(-1), dim=-1).values.flip(-1),
            "You scanned along the columns (the last dimension, W); TopPool runs along H (dim=-2).",
        ),
        (
            "the scanned map not flipped back",
            lambda x: torch.cummax(x.flip(-2), dim=-2).values,
            "The right values in the wrong rows: after scanning the flipped map, flip the result back.",
        ),
        (
            "the whole column's max",
            lambda x: x.amax(dim=-2, keepdim=True).expand_as(x),
            "Every row got the max of the whole column; row i may only look at rows i and below.",
        ),
    ]
    return _check_with_diagnosis(
        student,
        reference_top_pool,
        cases,
        variants,
        exercise="9.1",
        name="top_pool",
        atol=0.0,
        rtol=0.0,
        kind_hints=((lambda out: isinstance(out, tuple), "torch.cummax returns (values, indices): keep the values."),),
        hint="Return a tensor of x's shape and dtype.",
    )


# ----------------------------------------------------------------------------- 9.2


def reference_cornernet_radius(height: Tensor, width: Tensor, min_overlap: float) -> Tensor:
    """CornerNet's radius: the smallest of the three roots (``gaussian_radius(..., variant="cornernet")``)."""
    return gaussian_radius(height, width, min_overlap)


def _roots(height: Tensor, width: Tensor, o: float, plus: tuple[bool, bool, bool], halve: bool) -> list[Tensor]:
    h, w = height, width
    abc = [
        (1.0, h + w, w * h * (1 - o) / (1 + o)),
        (4.0, 2 * (h + w), (1 - o) * w * h),
        (4 * o, -2 * o * (h + w), (o - 1) * w * h),
    ]
    out = []
    for (a, b, c), p in zip(abc, plus):
        sq = torch.sqrt(b**2 - 4 * a * c)
        out.append(((b + sq) if p else (b - sq)) / (2 if halve else 2 * a))
    return out


def check_cornernet_radius(student: Callable[..., Tensor]) -> CheckReport:
    """Exercise 9.2: ``cornernet_radius(height, width, min_overlap) -> Tensor``."""
    g = torch.Generator().manual_seed(92)

    def t(*values: float) -> Tensor:
        return torch.tensor(values, dtype=torch.float64)

    cases = [
        Case(
            "a 10 x 10 box, overlap 0.7: radius 0.817",
            (t(10.0), t(10.0), 0.7),
            hint="Solve a r^2 - b r + c = 0 for each case; the radius is the smallest of the three roots.",
        ),
        Case(
            "boxes 10 x 20, 32 x 32, 100 x 50 and 3 x 3 at once",
            (t(10.0, 32.0, 100.0, 3.0), t(20.0, 32.0, 50.0, 3.0), 0.7),
        ),
        Case(
            "overlap 0.5 instead of 0.7",
            (t(16.0, 40.0), t(24.0, 12.0), 0.5),
            hint="Use min_overlap wherever o appears, also in case 3's a = 4o and b = -2o(h + w).",
        ),
    ]
    for _ in range(2):
        cases.append(
            Case(
                "random box sizes",
                (
                    torch.rand(6, generator=g, dtype=torch.float64) * 120 + 2,
                    torch.rand(6, generator=g, dtype=torch.float64) * 120 + 2,
                    0.7,
                ),
            )
        )

    def smallest(plus, halve):
        return lambda h, w, o: torch.minimum(
            torch.minimum(*_roots(h, w, o, plus, halve)[:2]), _roots(h, w, o, plus, halve)[2]
        )

    variants = [
        (
            "CenterNet's copied radius",
            smallest((True, True, True), True),
            "This is the radius of the widely copied CenterNet code, several times too large. Check two things "
            "in each case: which of the two roots is the boundary, and what the quadratic formula divides by.",
        ),
        (
            "the denominator 2 instead of 2a",
            smallest((False, False, True), True),
            "Right roots, wrong denominator: the quadratic formula divides by 2a, and a is 1, 4 and 4o.",
        ),
        (
            "the larger root in cases 1 and 2",
            smallest((True, True, True), False),
            "Your radius only satisfies case 3 (it is the largest of the three radii): in cases 1 and 2 the "
            "boundary is the smaller root, and the answer is the smallest radius of the three.",
        ),
        (
            "case 1 only",
            lambda h, w, o: _roots(h, w, o, (False, False, True), False)[0],
            "You returned case 1 only; the radius must satisfy all three cases, so take the smallest.",
        ),
        (
            "a rounded radius",
            lambda h, w, o: gaussian_radius(h, w, o).floor(),
            "Return the real-valued radius: no int(), no rounding (whoever draws the bump truncates it later).",
        ),
    ]
    return _check_with_diagnosis(
        student,
        reference_cornernet_radius,
        cases,
        variants,
        exercise="9.2",
        name="cornernet_radius",
        atol=1e-9,
        rtol=1e-9,
        hint="Return a float64 tensor of the same shape as height (no int(), no rounding).",
    )


# ----------------------------------------------------------------------------- 9.3


def reference_cornernet_focal_loss(pred_logits: Tensor, gt: Tensor) -> Tensor:
    """CornerNet's ``_neg_loss`` on the clamped sigmoid of ``pred_logits``."""
    return focal_loss(pred_logits, gt)


def check_cornernet_focal_loss(student: Callable[[Tensor, Tensor], Tensor]) -> CheckReport:
    """Exercise 9.3: ``cornernet_focal_loss(pred_logits, gt) -> Tensor[]``."""
    g = torch.Generator().manual_seed(93)
    p = torch.tensor([[0.8, 0.3], [0.1, 0.6]], dtype=torch.float64)
    example_gt = torch.tensor([[1.0, 0.5], [0.0, 0.0]], dtype=torch.float64)
    near_one = torch.tensor([[1.0, 0.999], [0.0, 0.2]], dtype=torch.float64)
    confident = torch.tensor([[30.0, -30.0], [30.0, 0.0]], dtype=torch.float64)
    cases = [
        Case(
            "the 2 x 2 example: 0.341850",
            (torch.logit(p), example_gt),
            hint="p = sigmoid(logits); positives (gt == 1) add (1-p)^2 log p, the others (1-gt)^4 p^2 log(1-p).",
        ),
        Case(
            "a target of 0.999 is a negative, only exactly 1 is a positive",
            (torch.logit(p), near_one),
            hint="A pixel is positive only where gt == 1 exactly; a value just below 1 is a (lightly weighted) negative.",
        ),
        Case(
            "no positive at all: the negative sum alone",
            (torch.logit(p), example_gt * 0.5),
            hint="With no positive there is nothing to divide by: return minus the negative sum.",
        ),
        Case(
            "saturated logits (+-30): the clamp keeps the loss finite",
            (confident, example_gt),
            hint="Clamp the probabilities to [1e-4, 1 - 1e-4] before taking logs.",
        ),
    ]
    for shape in ((2, 3, 6, 6), (1, 1, 9, 7)):
        logits = torch.randn(shape, generator=g, dtype=torch.float64) * 2
        gt = torch.rand(shape, generator=g, dtype=torch.float64) * 0.95
        gt.view(-1)[torch.randint(gt.numel(), (3,), generator=g)] = 1.0
        cases.append(Case(f"random logits and targets {shape} with 3 positives", (logits, gt)))

    def variant(prob="sigmoid", positive="eq", weight=True, norm="pos", clamp=True):
        def loss(x, gt):
            q = torch.softmax(x.flatten(), 0).view_as(x) if prob == "softmax" else torch.sigmoid(x)
            q = q.clamp(1e-4, 1 - 1e-4) if clamp else q
            pos = gt.eq(1) if positive == "eq" else gt.ge(0.5)
            w = (1 - gt) ** 4 if weight else torch.ones_like(gt)
            total = (torch.log(q) * (1 - q) ** 2)[pos].sum() + (torch.log(1 - q) * q**2 * w)[~pos].sum()
            n = pos.sum() if norm == "pos" else torch.tensor(gt.numel())
            return -total / n if norm != "pos" or n > 0 else -total

        return loss

    variants = [
        (
            "divided by the number of pixels",
            variant(norm="mean"),
            "You divided by the number of pixels; CornerNet divides by the number of positives N.",
        ),
        (
            "no (1 - gt)^4 weight",
            variant(weight=False),
            "The negatives need the (1 - gt)^4 factor: pixels close to a corner are penalized less.",
        ),
        (
            "gt >= 0.5 counted as positive",
            variant(positive="ge"),
            "Only gt == 1 is a positive; pixels on the bump's slope are negatives.",
        ),
        (
            "softmax instead of sigmoid",
            variant(prob="softmax"),
            "Each pixel is its own binary classifier: use a sigmoid, not a softmax over the map.",
        ),
        ("no clamp", variant(clamp=False), "Clamp the probabilities to [1e-4, 1 - 1e-4] first, as CornerNet does."),
    ]
    return _check_with_diagnosis(
        student,
        reference_cornernet_focal_loss,
        cases,
        variants,
        exercise="9.3",
        name="cornernet_focal_loss",
        atol=1e-8,
        rtol=1e-6,
        hint="Return a 0-d tensor (the loss), in the logits' dtype.",
    )

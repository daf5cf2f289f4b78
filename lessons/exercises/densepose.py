"""Checks for the exercises of notebook 08 (DensePose and RetinaFace).

* 8.1 :func:`check_uv_point_loss` — DensePose's U, V loss at annotated points, on the ground-truth
  part's channel only.
* 8.2 :func:`check_iuv_from_head` — from one RoI's part logits and U, V maps to an IUV image.
* 8.3 :func:`check_multitask_loss` — RetinaFace's multi-task loss with positive-only box and
  landmark terms and the paper's weights.

Each builds a seeded battery (edge cases first) and compares the student's function with
:mod:`lessons.densepose` and :mod:`lessons.multitask`.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import Tensor

from lessons.densepose import DensePoseOutput, densepose_inference, uv_point_loss
from lessons.exercises import Case, CheckReport, Hint, Mistake, check_function
from lessons.multitask import PORT_WEIGHTS, retinaface_loss

__all__ = ["check_uv_point_loss", "check_iuv_from_head", "check_multitask_loss"]


# ----------------------------------------------------------------------------- references


def reference_uv_point_loss(u_points: Tensor, v_points: Tensor, gt_i: Tensor, gt_u: Tensor, gt_v: Tensor) -> Tensor:
    """``0.01 * sum`` of smooth-L1 on the ground-truth part's U and V channel, foreground points only."""
    return uv_point_loss(u_points, v_points, gt_i, gt_u, gt_v)


def reference_multitask_loss(
    cls_logits: Tensor,
    box_deltas: Tensor,
    landmark_deltas: Tensor,
    labels: Tensor,
    box_targets: Tensor,
    landmark_targets: Tensor,
) -> Tensor:
    """RetinaFace's ``L_cls + 0.25 p* L_box + 0.1 p* L_pts`` (the total only)."""
    return retinaface_loss(cls_logits, box_deltas, landmark_deltas, labels, box_targets, landmark_targets).total


def reference_iuv_from_head(fine_segm: Tensor, u: Tensor, v: Tensor) -> Tensor:
    """``(I, U, V)`` of one RoI: ``(P+1, S, S)`` x 3 -> ``(3, S, S)``."""
    return densepose_inference(DensePoseOutput(fine_segm[None], u[None], v[None]))[0]


# ----------------------------------------------------------------------------- mistakes


def _uv_variant(u, v, gt_i, gt_u, gt_v, *, reduce="sum", weight=0.01, channels="gt", loss="smooth_l1", keep="body"):
    """DensePose's U, V point loss with one step changed (the wrong answers of exercise 8.1)."""
    fg = gt_i > 0 if keep == "body" else gt_i >= 0  # (M,)
    idx = torch.arange(len(gt_i))[fg]
    if channels == "gt":
        pu, pv = u[idx, gt_i[fg]], v[idx, gt_i[fg]]  # (M_fg,)
        tu, tv = gt_u[fg], gt_v[fg]
    else:  # every channel against the target
        pu, pv = u[fg], v[fg]  # (M_fg, P+1)
        tu, tv = gt_u[fg, None].expand_as(pu), gt_v[fg, None].expand_as(pv)
    if loss == "smooth_l1":
        terms = F.smooth_l1_loss(pu, tu, reduction="none", beta=1.0) + F.smooth_l1_loss(
            pv, tv, reduction="none", beta=1.0
        )
    else:
        terms = 0.5 * (pu - tu) ** 2 + 0.5 * (pv - tv) ** 2
    return weight * (terms.sum() if reduce == "sum" else terms.mean())


UV_MISTAKES = [
    Mistake(
        "every part's channel in the loss",
        lambda *a: _uv_variant(*a, channels="all"),
        Hint("Only the channel of the ground-truth part counts: pick u_points[m, gt_i[m]], not every channel."),
    ),
    Mistake(
        "a mean instead of a sum",
        lambda *a: _uv_variant(*a, reduce="mean"),
        Hint(
            "The reference uses reduction='sum': add the smooth-L1 of every foreground point, do not divide by "
            "the number of points."
        ),
    ),
    Mistake(
        "the weight 0.01 left out",
        lambda *a: _uv_variant(*a, weight=1.0),
        Hint("Multiply the sum by the point-regression weight 0.01."),
    ),
    Mistake(
        "a squared error instead of smooth-L1",
        lambda *a: _uv_variant(*a, loss="l2"),
        Hint(
            "smooth_l1(d) = 0.5 * d**2 only while |d| < 1; from |d| = 1 on it is |d| - 0.5 (linear), so a "
            "prediction far off costs |d| - 0.5, not d**2."
        ),
    ),
    Mistake(
        "background points counted",
        lambda *a: _uv_variant(*a, keep="annotated"),
        Hint(
            "U and V are only defined on the body: keep the points with gt_i > 0 (the background, I* = 0, has no U, V)."
        ),
    ),
]


def _multitask_variant(
    cls, box, lm, labels, box_t, lm_t, *, weights=(0.25, 0.1), cls_loss="softmax", normalize="positives", ignore=True
):
    """RetinaFace's multi-task loss with one step changed (the wrong answers of exercise 8.3)."""
    cls, box, lm = cls.reshape(-1, 2), box.reshape(-1, 4), lm.reshape(-1, 10)  # (A, .)
    labels, box_t, lm_t = labels.reshape(-1), box_t.reshape(-1, 4), lm_t.reshape(-1, 10)
    used = labels >= 0 if ignore else torch.ones_like(labels, dtype=torch.bool)
    target = labels.clamp(min=0)[used]
    if cls_loss == "softmax":
        l_cls = F.cross_entropy(cls[used], target)
    else:
        l_cls = F.binary_cross_entropy_with_logits(cls[used, 1], target.to(cls.dtype))
    pos = labels == 1
    n = int(pos.sum()) if normalize == "positives" else len(labels)
    if n == 0 or int(pos.sum()) == 0:
        return l_cls
    l_box = F.smooth_l1_loss(box[pos], box_t[pos], reduction="sum", beta=1.0) / n
    l_lm = F.smooth_l1_loss(lm[pos], lm_t[pos], reduction="sum", beta=1.0) / n
    return l_cls + weights[0] * l_box + weights[1] * l_lm


MULTITASK_MISTAKES = [
    Mistake(
        "a sigmoid on the face logit instead of the softmax cross-entropy",
        lambda *a: _multitask_variant(*a, cls_loss="sigmoid"),
        Hint(
            "L_cls is the softmax cross-entropy over the two logits (not-face, face) — F.cross_entropy, "
            "not a sigmoid on the face logit."
        ),
    ),
    Mistake(
        "the port's weights (2.0, 1.0)",
        lambda *a: _multitask_variant(*a, weights=PORT_WEIGHTS),
        Hint(
            "Use the paper's weights, lambda_1 = 0.25 for the boxes and lambda_2 = 0.1 for the landmarks, "
            "not the port's 2.0 and 1.0."
        ),
    ),
    Mistake(
        "the box and landmark sums divided by all anchors",
        lambda *a: _multitask_variant(*a, normalize="all"),
        Hint(
            "The box and landmark sums are divided by the number of positives (anchors with label 1), "
            "not by the number of all anchors."
        ),
    ),
    Mistake(
        "ignored anchors (label -1) in the cross-entropy",
        lambda *a: _multitask_variant(*a, ignore=False),
        Hint("Label -1 means 'ignore': leave it out of the cross-entropy entirely (it is not a class)."),
    ),
]


# ----------------------------------------------------------------------------- 8.1


def check_uv_point_loss(student: Callable[..., Tensor]) -> CheckReport:
    """Exercise 8.1: ``uv_point_loss(u_points, v_points, gt_i, gt_u, gt_v) -> Tensor[]``."""
    g = torch.Generator().manual_seed(81)
    t = torch.tensor
    cases = [
        Case(
            "one body point on part 1 (P = 1), U off by 0.2, V exact",
            (t([[0.4, 0.6]]), t([[0.3, 0.3]]), t([1]), t([0.4]), t([0.3])),
            hint="For one point: 0.01 * (smooth_l1(u - U) + smooth_l1(v - V)), and smooth_l1(d) = 0.5 * d**2 "
            "when |d| < 1 (F.smooth_l1_loss with beta=1.0). Check the factor 0.5 and the weight 0.01.",
        ),
        Case(
            "one point on part 2 of P = 3: the other parts' channels hold wrong values",
            (t([[0.9, 0.1, 0.5, 0.7]]), t([[0.2, 0.8, 0.25, 0.0]]), t([2]), t([0.5]), t([0.5])),
            hint="Only the channel of the ground-truth part counts: pick u_points[m, gt_i[m]] "
            "(torch.gather or advanced indexing), not every channel and not the largest one.",
        ),
        Case(
            "a body point and a background point (I* = 0): the background point adds nothing",
            (t([[0.0, 0.5], [0.9, 0.9]]), t([[0.0, 0.5], [0.9, 0.9]]), t([1, 0]), t([0.3, 0.0]), t([0.5, 0.0])),
            hint="U and V are only defined on the body: keep the points with gt_i > 0.",
        ),
        Case(
            "a body point and an unannotated point (I* = -1)",
            (t([[0.0, 0.5], [0.9, 0.9]]), t([[0.0, 0.5], [0.9, 0.9]]), t([1, -1]), t([0.3, 0.7]), t([0.5, 0.2])),
            hint="-1 marks padding (no annotation): like the background, it must not count, and it is not a "
            "valid channel index either.",
        ),
        Case(
            "one point with a U error of exactly 1 and a V error of 2: smooth-L1 is linear from |d| = 1 on",
            (t([[0.0, 1.5]]), t([[0.0, 2.5]]), t([1]), t([0.5]), t([0.5])),
            hint="smooth_l1(d) = 0.5 * d**2 if |d| < 1 else |d| - 0.5: a prediction far off costs |d| - 0.5, not d**2.",
        ),
        Case(
            "three body points: the losses are summed, not averaged",
            (
                t([[0.0, 0.1, 0.2], [0.0, 0.9, 0.4], [0.0, 0.3, 0.3]]),
                t([[0.0, 0.5, 0.6], [0.0, 0.5, 0.5], [0.0, 0.2, 0.8]]),
                t([1, 1, 2]),
                t([0.3, 0.6, 0.1]),
                t([0.5, 0.4, 0.9]),
            ),
            hint="The reference uses reduction='sum': add the smooth-L1 of every foreground point, do not divide by "
            "the number of points.",
        ),
    ]
    for m, p in ((8, 3), (20, 10)):
        u = torch.rand(m, p + 1, generator=g) * 1.4 - 0.2
        v = torch.rand(m, p + 1, generator=g) * 1.4 - 0.2
        gt_i = torch.randint(-1, p + 1, (m,), generator=g)
        gt_i[0] = 1
        cases.append(
            Case(
                f"{m} random points, P = {p}",
                (u, v, gt_i, torch.rand(m, generator=g), torch.rand(m, generator=g)),
            )
        )
    return check_function(
        student,
        reference_uv_point_loss,
        cases,
        exercise="8.1",
        name="uv_point_loss",
        atol=1e-6,
        rtol=1e-4,
        mistakes=UV_MISTAKES,
        hint="Return a 0-d tensor: the weighted sum of the U and V terms.",
    )


# ----------------------------------------------------------------------------- 8.3


def _anchors_case(
    labels: list[int], *, cls: Tensor | None = None, box_err: float = 0.0, lm_err: float = 0.0, neg_err: float = 0.0
) -> tuple:
    """Predictions and targets for A anchors: positives off by ``box_err``/``lm_err``, others by ``neg_err``."""
    a = len(labels)
    lab = torch.tensor(labels)
    pos = (lab == 1).float()[:, None]
    box_t = torch.linspace(-0.5, 0.5, a * 4).reshape(a, 4)
    lm_t = torch.linspace(-1.0, 1.0, a * 10).reshape(a, 10)
    box = box_t + box_err * pos + neg_err * (1 - pos)
    lm = lm_t + lm_err * pos + neg_err * (1 - pos)
    logits = torch.zeros(a, 2) if cls is None else cls
    return (logits, box, lm, lab, box_t, lm_t)


def check_multitask_loss(student: Callable[..., Tensor]) -> CheckReport:
    """Exercise 8.3: ``multitask_loss(cls_logits, box_deltas, landmark_deltas, labels, box_targets, landmark_targets)``."""
    g = torch.Generator().manual_seed(82)
    cases = [
        Case(
            "one positive anchor, logits (1, 2), perfect box and landmarks: only L_cls",
            _anchors_case([1], cls=torch.tensor([[1.0, 2.0]])),
            hint="L_cls is the softmax cross-entropy over the two logits (not-face, face) — F.cross_entropy, "
            "not a sigmoid on the face logit.",
        ),
        Case(
            "one positive anchor with every box offset 0.4 off",
            _anchors_case([1], box_err=0.4),
            hint="lambda_1 = 0.25 times smooth-L1 (beta = 1) summed over the 4 box offsets.",
        ),
        Case(
            "one positive anchor with every landmark offset 0.4 off",
            _anchors_case([1], lm_err=0.4),
            hint="lambda_2 = 0.1 times smooth-L1 summed over the 10 landmark offsets (the paper's weights, "
            "not the port's 2.0 and 1.0).",
        ),
        Case(
            "a positive and a negative anchor; the negative's box and landmarks are far off",
            _anchors_case([1, 0], box_err=0.2, lm_err=0.2, neg_err=3.0),
            hint="p_i* multiplies the box and landmark terms: only positive anchors (label 1) count there, "
            "and their sum is divided by the number of positives, not of all anchors.",
        ),
        Case(
            "an ignored anchor (label -1) with confident wrong logits",
            _anchors_case([1, -1, 0], cls=torch.tensor([[0.0, 1.0], [5.0, -5.0], [1.0, 0.0]])),
            hint="Label -1 means 'ignore': leave it out of the cross-entropy entirely (it is not a class).",
        ),
        Case(
            "two positives: the box and landmark sums are averaged over the positives",
            _anchors_case([1, 1, 0], box_err=0.3, lm_err=0.1),
            hint="Divide the box and landmark sums by the number of positive anchors (2 here).",
        ),
        Case(
            "no positive anchor at all: only L_cls, no NaN",
            _anchors_case([0, 0, -1], cls=torch.tensor([[1.0, 0.0], [0.0, 0.5], [0.0, 0.0]]), neg_err=1.0),
            hint="With no positive, the box and landmark terms are 0: guard the division by the number of positives.",
        ),
        Case(
            "box offsets off by exactly 1 on a positive anchor (the smooth-L1 boundary, |d| = 1)",
            _anchors_case([1], box_err=1.0),
            hint="smooth_l1(d) = 0.5 * d**2 if |d| < 1 else |d| - 0.5: both give 0.5 at |d| = 1, not 1.",
        ),
    ]
    for b, a in ((2, 6), (3, 16)):
        labels = torch.randint(-1, 2, (b, a), generator=g)
        labels[0, 0] = 1
        cases.append(
            Case(
                f"a batch of {b} images x {a} anchors (shapes (B, A, .))",
                (
                    torch.randn(b, a, 2, generator=g),
                    torch.randn(b, a, 4, generator=g),
                    torch.randn(b, a, 10, generator=g) * 2,
                    labels,
                    torch.randn(b, a, 4, generator=g),
                    torch.randn(b, a, 10, generator=g) * 2,
                ),
                hint="Pool the anchors of every image: flatten the batch, or use boolean masks of shape (B, A).",
            )
        )
    return check_function(
        student,
        reference_multitask_loss,
        cases,
        exercise="8.3",
        name="multitask_loss",
        atol=1e-5,
        rtol=1e-4,
        mistakes=MULTITASK_MISTAKES,
        hint="Return the total loss as a 0-d tensor.",
    )


# ----------------------------------------------------------------------------- 8.2


def check_iuv_from_head(student: Callable[..., Tensor]) -> CheckReport:
    """Exercise 8.2: ``iuv_from_head(fine_segm, u, v) -> Tensor[3, S, S]``."""
    g = torch.Generator().manual_seed(83)
    # 1 x 2 grid, P = 2: pixel 0 is part 2, pixel 1 is background
    logits = torch.tensor([[[0.0, 3.0]], [[1.0, 0.0]], [[2.0, 0.0]]])
    u = torch.tensor([[[0.9, 0.9]], [[0.1, 0.8]], [[0.6, 0.7]]])
    v = torch.tensor([[[0.2, 0.2]], [[0.3, 0.3]], [[0.4, 0.5]]])
    far = torch.tensor([[[-0.5, 0.5]], [[1.7, 0.5]], [[0.5, -0.3]]])
    cases = [
        Case(
            "a 1 x 2 RoI, P = 2: a part-2 pixel and a background pixel",
            (logits, u, v),
            hint="I is the argmax over the P+1 part channels; U and V are read from channel I (not from the "
            "channel where u itself is largest). On the background (I = 0), U = V = 0.",
        ),
        Case(
            "predicted U and V outside [0, 1] are clamped",
            (torch.tensor([[[0.0, 0.0]], [[1.0, 0.0]], [[0.0, 1.0]]]), far, far.flip(0)),
            hint="Clamp U and V to [0, 1] after reading them: .clamp(0, 1).",
        ),
        Case(
            "the output is float, (3, S, S), with I as a float in channel 0",
            (logits.repeat(1, 2, 1), u.repeat(1, 2, 1), v.repeat(1, 2, 1)),
            hint="Stack (I, U, V) along a new first dimension; convert I with .to(fine_segm.dtype).",
        ),
    ]
    for p, s in ((3, 4), (10, 7)):
        cases.append(
            Case(
                f"random maps, P = {p}, {s} x {s}",
                (
                    torch.randn(p + 1, s, s, generator=g),
                    torch.rand(p + 1, s, s, generator=g) * 1.2 - 0.1,
                    torch.rand(p + 1, s, s, generator=g) * 1.2 - 0.1,
                ),
            )
        )
    return check_function(
        student,
        reference_iuv_from_head,
        cases,
        exercise="8.2",
        name="iuv_from_head",
        atol=1e-6,
        rtol=1e-5,
        hint="Return Tensor[3, S, S]: (I, U, V).",
    )

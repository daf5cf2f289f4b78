"""Checks for the exercises of notebook 02 (the Mask R-CNN mask branch).

- Exercise 2.1 :func:`check_gt_class_mask_loss` — the mask loss: per-pixel sigmoid BCE on the
  channel of each RoI's ground-truth class, averaged over all pixels of all RoIs.
- Exercise 2.2 :func:`check_select_mask` — at inference, the sigmoid mask of the class the box
  branch predicts.
- Exercise 2.3 :func:`check_paste_mask` — paste one ``M x M`` mask into its box (torchvision's rule).

Each check runs fixed edge cases first, then seeded random ones, and compares with
:mod:`lessons.mask_head`. When an answer is wrong, the check also runs the classic wrong answers
(softmax instead of sigmoid, every channel instead of one, no ``+1`` for the inclusive box,
thresholding before resizing ...) on the failing case; if the student's output equals one of them,
the hint names that mistake.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import Tensor

from lessons.exercises import Case, CheckReport, Hint, Mistake, check_function
from lessons.mask_head import mask_loss, paste_mask_in_image, select_class_masks

__all__ = ["check_gt_class_mask_loss", "check_select_mask", "check_paste_mask"]

# ----------------------------------------------------------------------------- 2.1 the loss


def reference_gt_class_mask_loss(mask_logits: Tensor, labels: Tensor, mask_targets: Tensor) -> Tensor:
    """:func:`lessons.mask_head.mask_loss`: BCE with logits on ``mask_logits[r, labels[r]]``, mean."""
    return mask_loss(mask_logits, labels, mask_targets)


def _gt_channel(logits: Tensor, labels: Tensor) -> Tensor:
    return logits[torch.arange(len(labels)), labels]  # (R, M, M)


LOSS_MISTAKES: list[Mistake] = [
    Mistake(
        "every channel in the loss",
        lambda z, c, t: F.binary_cross_entropy_with_logits(z, t[:, None].expand_as(z)),
        "Only the ground-truth class's channel enters the loss: take mask_logits[r, labels[r]] for each RoI; "
        "the other K - 1 channels get no gradient from this RoI.",
    ),
    Mistake(
        "softmax over the classes instead of a sigmoid",
        lambda z, c, t: F.binary_cross_entropy(_gt_channel(z.softmax(dim=1), c), t),
        "That is a softmax over the class channels: it makes the classes compete. Mask R-CNN uses an "
        "independent sigmoid per pixel on one channel (binary_cross_entropy_with_logits).",
    ),
    Mistake(
        "a sum instead of a mean",
        lambda z, c, t: F.binary_cross_entropy_with_logits(_gt_channel(z, c), t, reduction="sum"),
        "Average over all pixels of all RoIs (reduction='mean'), not a sum.",
    ),
    Mistake(
        "thresholded targets",
        lambda z, c, t: F.binary_cross_entropy_with_logits(_gt_channel(z, c), (t >= 0.5).to(t.dtype)),
        "Use the soft targets as they are (fractions at the border); do not threshold them.",
    ),
    Mistake(
        "channel labels - 1",
        lambda z, c, t: F.binary_cross_entropy_with_logits(_gt_channel(z, c - 1), t),
        "Channel 0 is the background: class c uses channel c, no -1.",
    ),
    Mistake(
        "sigmoid applied before BCE with logits",
        lambda z, c, t: F.binary_cross_entropy_with_logits(_gt_channel(z.sigmoid(), c), t),
        "binary_cross_entropy_with_logits applies the sigmoid itself: pass the logits, not sigmoid(logits).",
    ),
]


def check_gt_class_mask_loss(student: Callable[..., Tensor]) -> CheckReport:
    """Exercise 2.1: ``gt_class_mask_loss(mask_logits[R, K, M, M], labels[R], mask_targets[R, M, M]) -> Tensor[]``."""
    g = torch.Generator().manual_seed(21)
    one = torch.zeros(1, 3, 2, 2)
    one[0, 2] = torch.tensor([[2.0, -1.0], [0.5, 3.0]])  # the GT channel
    one[0, 0] = 5.0  # a confident background channel that must be ignored
    cases = [
        Case(
            "one RoI, class 2 of K = 3; only channel 2 counts",
            (one, torch.tensor([2]), torch.tensor([[[1.0, 0.0], [1.0, 1.0]]])),
            hint=Hint(
                "Each RoI's loss uses one channel only, its ground-truth class's, compared with the target "
                "pixel by pixel through a sigmoid (a binary cross-entropy).",
                "F.binary_cross_entropy_with_logits(mask_logits[torch.arange(R), labels], mask_targets).",
            ),
        ),
        Case(
            "two RoIs of different classes, K = 4",
            (
                torch.randn(2, 4, 3, 3, generator=g),
                torch.tensor([1, 3]),
                (torch.rand(2, 3, 3, generator=g) > 0.5).float(),
            ),
            hint="Each RoI uses its own class's channel: index with torch.arange(R) and labels together.",
        ),
        Case(
            "soft targets (0.25, 0.5, 0.75 at the border)",
            (torch.randn(1, 2, 2, 2, generator=g), torch.tensor([1]), torch.tensor([[[0.25, 0.5], [0.75, 1.0]]])),
        ),
        Case(
            "no RoIs at all: the loss is 0 (not NaN)",
            (torch.zeros(0, 3, 4, 4), torch.zeros(0, dtype=torch.long), torch.zeros(0, 4, 4)),
            hint="The mean of an empty tensor is NaN: with R = 0 return mask_logits.sum() * 0.",
        ),
    ]
    for r, k, m in ((3, 5, 6), (6, 3, 7)):
        logits = 2 * torch.randn(r, k, m, m, generator=g)
        labels = torch.randint(1, k, (r,), generator=g)
        targets = torch.rand(r, m, m, generator=g).round() * 0.75 + 0.125 * torch.rand(r, m, m, generator=g)
        cases.append(Case(f"{r} random RoIs, K = {k}, {m} x {m} masks", (logits, labels, targets)))
    atol, rtol = 1e-5, 1e-4
    return check_function(
        student,
        reference_gt_class_mask_loss,
        cases,
        mistakes=LOSS_MISTAKES,
        exercise="2.1",
        name="gt_class_mask_loss",
        atol=atol,
        rtol=rtol,
        hint="Return a 0-d tensor: F.binary_cross_entropy_with_logits on the GT-class channels.",
    )


# ----------------------------------------------------------------------------- 2.2 inference


def reference_select_mask(mask_logits: Tensor, class_logits: Tensor) -> Tensor:
    """The sigmoid mask of each detection's predicted class: ``(N, K, M, M), (N, K) -> (N, M, M)``."""
    return select_class_masks(mask_logits, class_logits.argmax(dim=1))


SELECT_MISTAKES: list[Mistake] = [
    Mistake(
        "softmax over the channels instead of a sigmoid",
        lambda z, s: _gt_channel(z.softmax(dim=1), s.argmax(dim=1)),
        "Mask R-CNN's masks are independent sigmoids, one per class: use torch.sigmoid, not a softmax over channels.",
    ),
    Mistake(
        "logits returned (no sigmoid)",
        lambda z, s: _gt_channel(z, s.argmax(dim=1)),
        "Return probabilities in [0, 1]: apply the sigmoid to the chosen channel.",
    ),
    Mistake(
        "thresholded mask",
        lambda z, s: (_gt_channel(z.sigmoid(), s.argmax(dim=1)) >= 0.5).to(z.dtype),
        "Keep the soft probabilities; threshold only after pasting into the image (thresholding before "
        "resizing gives blocky, shifted borders).",
    ),
    Mistake(
        "the most confident channel instead of the predicted class",
        lambda z, s: _gt_channel(z.sigmoid(), z.sigmoid().mean(dim=(2, 3)).argmax(dim=1)),
        "The box branch decides the class: use the argmax of class_logits (the predicted class), not the "
        "mask channel that looks most confident.",
    ),
    Mistake(
        "argmin instead of argmax",
        lambda z, s: _gt_channel(z.sigmoid(), s.argmin(dim=1)),
        "The predicted class is the one with the largest class logit: argmax, not argmin.",
    ),
    Mistake(
        "an extra channel dimension",
        lambda z, s: z.sigmoid()[torch.arange(len(s)), s.argmax(dim=1)][:, None],
        "Return (N, M, M): one mask per detection, without a channel dimension.",
    ),
]


def check_select_mask(student: Callable[..., Tensor]) -> CheckReport:
    """Exercise 2.2: ``select_mask(mask_logits[N, K, M, M], class_logits[N, K]) -> Tensor[N, M, M]``."""
    g = torch.Generator().manual_seed(22)
    # the most confident mask (channel 1) is not the predicted class (channel 2)
    trap = torch.zeros(1, 3, 2, 2)
    trap[0, 1] = 4.0
    trap[0, 2] = torch.tensor([[1.0, -1.0], [0.2, 2.0]])
    cases = [
        Case(
            "one detection predicted as class 2; its channel is not the most confident one",
            (trap, torch.tensor([[0.1, 0.3, 2.0]])),
            hint=Hint(
                "The box branch decides the class; the mask branch only supplies that class's mask, as a probability.",
                "classes = class_logits.argmax(dim=1); torch.sigmoid(mask_logits[torch.arange(N), classes]).",
            ),
        ),
        Case(
            "values near 0.5 (logits near 0): keep them soft",
            (torch.tensor([[[[0.1, -0.1], [0.0, 0.3]], [[0.0, 0.0], [0.0, 0.0]]]]), torch.tensor([[2.0, -1.0]])),
            hint="Return sigmoid probabilities, not a thresholded mask.",
        ),
        Case(
            "three detections of different predicted classes, K = 4",
            (
                torch.randn(3, 4, 3, 3, generator=g),
                torch.tensor([[0.0, 3.0, 1.0, 0.0], [5.0, 0.0, 0.0, 1.0], [0.0, 0.0, 0.0, 2.0]]),
            ),
            hint="Index with torch.arange(N) and the N predicted classes together.",
        ),
        Case(
            "no detections: an empty (0, M, M) result",
            (torch.zeros(0, 3, 4, 4), torch.zeros(0, 3)),
            hint="Work with whole tensors (no Python loop that assumes N > 0).",
        ),
    ]
    for n, k, m in ((4, 5, 6), (5, 3, 28)):
        cases.append(
            Case(
                f"{n} random detections, K = {k}, {m} x {m} masks",
                (2 * torch.randn(n, k, m, m, generator=g), torch.randn(n, k, generator=g)),
            )
        )
    atol, rtol = 1e-6, 1e-5
    return check_function(
        student,
        reference_select_mask,
        cases,
        mistakes=SELECT_MISTAKES,
        exercise="2.2",
        name="select_mask",
        atol=atol,
        rtol=rtol,
        hint="Return a float tensor (N, M, M) of probabilities.",
    )


# ----------------------------------------------------------------------------- 2.3 pasting


def reference_paste_mask(mask: Tensor, box: Tensor, image_shape: tuple[int, int]) -> Tensor:
    """:func:`lessons.mask_head.paste_mask_in_image` with ``padding=1``."""
    return paste_mask_in_image(mask, box, image_shape)


def _paste_variant(
    mask: Tensor,
    box: Tensor,
    image_shape: tuple[int, int],
    *,
    plus_one: int = 1,
    to_int: Callable[[Tensor], Tensor] = lambda b: b.to(torch.int64),
    pad: bool = True,
    threshold_first: bool = False,
    align_corners: bool = False,
) -> Tensor:
    """torchvision's paste with one step changed (the wrong answers of exercise 2.3)."""
    height, width = image_shape
    side = mask.shape[-1]
    if threshold_first:
        mask = (mask >= 0.5).to(mask.dtype)
    if pad:
        mask = F.pad(mask, (1, 1, 1, 1))
        half = (box[2:] - box[:2]) * 0.5 * ((side + 2) / side)
        centre = (box[2:] + box[:2]) * 0.5
        box = torch.cat([centre - half, centre + half])
    x1, y1, x2, y2 = to_int(box).tolist()
    w, h = max(x2 - x1 + plus_one, 1), max(y2 - y1 + plus_one, 1)
    resized = F.interpolate(mask[None, None], size=(h, w), mode="bilinear", align_corners=align_corners)[0, 0]
    out = mask.new_zeros(height, width)
    x_0, x_1, y_0, y_1 = max(x1, 0), min(x1 + w, width), max(y1, 0), min(y1 + h, height)
    if x_1 > x_0 and y_1 > y_0:
        out[y_0:y_1, x_0:x_1] = resized[y_0 - y1 : y_1 - y1, x_0 - x1 : x_1 - x1]
    return out


PASTE_MISTAKES: list[Mistake] = [
    Mistake(
        "the integer box taken as exclusive (no + 1)",
        lambda m, b, s: _paste_variant(m, b, s, plus_one=0),
        "The integer box is inclusive: it covers x2 - x1 + 1 columns and y2 - y1 + 1 rows.",
    ),
    Mistake(
        "thresholded before resizing",
        lambda m, b, s: _paste_variant(m, b, s, threshold_first=True),
        "Resize the soft mask first; threshold (if at all) only after pasting. Thresholding before "
        "resizing turns the interpolation into blocks.",
    ),
    Mistake(
        "no padding",
        lambda m, b, s: _paste_variant(m, b, s, pad=False),
        "Pad the mask with one cell of zeros on every side and grow the box by (M + 2) / M about its "
        "centre before resizing, so the padding lands just outside the box.",
    ),
    Mistake(
        "floor instead of truncation",
        lambda m, b, s: _paste_variant(m, b, s, to_int=lambda v: v.floor().to(torch.int64)),
        "Truncate the grown box toward zero (.to(torch.int64) or int()); floor differs for negative coordinates.",
    ),
    Mistake(
        "rounding instead of truncation",
        lambda m, b, s: _paste_variant(m, b, s, to_int=lambda v: v.round().to(torch.int64)),
        "Truncate the grown box (.to(torch.int64)), do not round it.",
    ),
    Mistake(
        "align_corners=True",
        lambda m, b, s: _paste_variant(m, b, s, align_corners=True),
        "Resize with F.interpolate(..., mode='bilinear', align_corners=False).",
    ),
]


def check_paste_mask(student: Callable[..., Tensor]) -> CheckReport:
    """Exercise 2.3: ``paste_mask(mask[M, M], box[4], (H, W)) -> Tensor[H, W]``."""
    g = torch.Generator().manual_seed(23)
    cases = [
        Case(
            "a 4 x 4 mask of 0.9 in box (2, 3, 6, 5) of a 10 x 10 image",
            (torch.full((4, 4), 0.9), torch.tensor([2.0, 3.0, 6.0, 5.0]), (10, 10)),
            hint="Pad by one cell, grow the box by (M + 2) / M, truncate, resize to the inclusive size, copy.",
        ),
        Case(
            "a soft 3 x 3 mask with values around 0.5",
            (
                torch.tensor([[0.2, 0.45, 0.55], [0.6, 0.9, 0.4], [0.3, 0.52, 0.48]]),
                torch.tensor([1.3, 2.6, 8.2, 7.9]),
                (11, 12),
            ),
            hint="Keep the mask soft while resizing.",
        ),
        Case(
            "a box with a negative corner (-2.6, -1.4, 4.2, 5.5)",
            (torch.rand(5, 5, generator=g), torch.tensor([-2.6, -1.4, 4.2, 5.5]), (8, 9)),
            hint="Only the part of the resized mask inside the image is copied: clip the region to [0, W) x [0, H) "
            "and shift the slice of the resized mask by the same amount.",
        ),
        Case(
            "a box past the bottom-right corner",
            (torch.rand(6, 6, generator=g), torch.tensor([5.5, 4.2, 14.0, 12.5]), (9, 10)),
            hint="Clip the region at W and H.",
        ),
        Case(
            "a zero-size box (3, 3, 3, 3): resized to at least 1 x 1",
            (torch.rand(4, 4, generator=g), torch.tensor([3.0, 3.0, 3.0, 3.0]), (7, 7)),
            hint="w = max(x2 - x1 + 1, 1) and h = max(y2 - y1 + 1, 1).",
        ),
    ]
    for m, (h, w) in ((7, (20, 24)), (28, (30, 30))):
        corner = torch.rand(2, generator=g) * torch.tensor([w * 0.6, h * 0.6]) - 2
        size = torch.rand(2, generator=g) * torch.tensor([w * 0.5, h * 0.5]) + 2
        box = torch.cat([corner, corner + size])
        cases.append(
            Case(
                f"a random {m} x {m} mask in a random box of a {h} x {w} image",
                (torch.rand(m, m, generator=g), box, (h, w)),
            )
        )
    atol, rtol = 1e-5, 1e-4
    return check_function(
        student,
        reference_paste_mask,
        cases,
        mistakes=PASTE_MISTAKES,
        exercise="2.3",
        name="paste_mask",
        atol=atol,
        rtol=rtol,
        hint="Return a float tensor (H, W), zero outside the pasted box.",
    )

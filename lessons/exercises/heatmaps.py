"""Checks for the exercises of notebook 06 (landmark heatmaps).

* 6.1 :func:`check_gaussian_label_map` — a sub-pixel Gaussian label map for one point, vectorized
  over the grid (no Python loop over pixels).
* 6.2 :func:`check_argmax_decode` — argmax decoding of K heatmaps to ``(x, y)``.
* 6.3 :func:`check_pck_score` — the Percentage of Correct Keypoints.

Each builds a seeded battery (edge cases first) and compares the student's function with
:mod:`lessons.heatmaps`.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor

from lessons.exercises import Case, CheckReport, Hint, Mistake, check_function
from lessons.heatmaps import decode_heatmaps, pck, render_heatmaps

__all__ = ["check_gaussian_label_map", "check_argmax_decode", "check_pck_score"]


# ----------------------------------------------------------------------------- references


def _reference_gaussian_label_map(point: Tensor, size: tuple[int, int], sigma: float) -> Tensor:
    """``exp(-((j - x)^2 + (i - y)^2) / (2 sigma^2))`` on an ``(H, W)`` grid: one sub-pixel label map."""
    return render_heatmaps(point[None], size, sigma, subpixel=True)[0]  # (H, W)


def _reference_argmax_decode(heatmaps: Tensor) -> Tensor:
    """``(x, y)`` of each map's first maximum, as floats: ``Tensor[K, H, W] -> Tensor[K, 2]``."""
    return decode_heatmaps(heatmaps, "argmax")[0]


def _reference_pck_score(pred: Tensor, target: Tensor, visible: Tensor, threshold: float, normalize: float) -> Tensor:
    """The fraction of visible keypoints with ``||pred - target|| / normalize <= threshold``."""
    return pck(pred, target, threshold=threshold, normalize=normalize, visible=visible)


# ----------------------------------------------------------------------------- mistakes


def _gaussian_variant(
    point: Tensor,
    size: tuple[int, int],
    sigma: float,
    *,
    swap: bool = False,
    denominator: str = "2s2",
    rounded: bool = False,
) -> Tensor:
    x, y = (point[1], point[0]) if swap else (point[0], point[1])
    if rounded:
        x, y = x.round(), y.round()
    ys = torch.arange(size[0], dtype=point.dtype)[:, None]  # (H, 1)
    xs = torch.arange(size[1], dtype=point.dtype)[None, :]  # (1, W)
    d2 = (xs - x) ** 2 + (ys - y) ** 2  # (H, W)
    scale = {"2s2": 2 * sigma**2, "s2": sigma**2, "2s": 2 * sigma}[denominator]
    return torch.exp(-d2 / scale)


GAUSSIAN_MISTAKES = [
    Mistake(
        "x and y swapped",
        lambda p, s, sg: _gaussian_variant(p, s, sg, swap=True),
        Hint(
            "point is (x, y), and x goes with the columns (W), y with the rows (H): your bump sits at row x, column y."
        ),
    ),
    Mistake(
        "sigma not squared",
        lambda p, s, sg: _gaussian_variant(p, s, sg, denominator="2s"),
        Hint("The denominator is 2 * sigma**2: sigma is a length, the exponent compares squared lengths."),
    ),
    Mistake(
        "no factor 2 in the denominator",
        lambda p, s, sg: _gaussian_variant(p, s, sg, denominator="s2"),
        Hint("The Gaussian's exponent is -d**2 / (2 * sigma**2): the 2 matters."),
    ),
    Mistake(
        "the point rounded to a pixel",
        lambda p, s, sg: _gaussian_variant(p, s, sg, rounded=True),
        Hint("Keep the sub-pixel point: the bump's centre is the exact (x, y), between pixels."),
    ),
]


def _decode_variant(heatmaps: Tensor, *, swap: bool = False, by_height: bool = False, as_int: bool = False) -> Tensor:
    k, h, w = heatmaps.shape
    idx = heatmaps.reshape(k, -1).argmax(dim=1)  # (K,)
    div = h if by_height else w
    x, y = idx % div, idx // div
    xy = torch.stack([y, x] if swap else [x, y], dim=1)  # (K, 2)
    return xy if as_int else xy.to(heatmaps.dtype)


DECODE_MISTAKES = [
    Mistake(
        "(y, x) instead of (x, y)",
        lambda m: _decode_variant(m, swap=True),
        Hint("Return (x, y) per map: the column first, then the row."),
    ),
    Mistake(
        "the flat index split by the height",
        lambda m: _decode_variant(m, by_height=True),
        Hint(
            "A row-major flat index counts W pixels per row, so the split of the flat index uses the "
            "width (the last dimension), not the height.",
            "idx = heatmaps.flatten(1).argmax(dim=1); x = idx % W; y = idx // W.",
        ),
    ),
    Mistake(
        "integer coordinates",
        lambda m: _decode_variant(m, as_int=True),
        Hint("Return floats in the heatmaps' dtype: .to(heatmaps.dtype)."),
    ),
]


def _pck_variant(
    pred,
    target,
    visible,
    threshold,
    normalize,
    *,
    strict=False,
    all_points=False,
    squared=False,
    l1=False,
    no_normalize=False,
):
    diff = pred - target
    err = diff.abs().sum(-1) if l1 else (diff**2).sum(-1) if squared else diff.norm(dim=-1)  # (N, K)
    err = err if no_normalize else err / normalize
    ok = err < threshold if strict else err <= threshold
    if all_points:
        return ok.to(pred.dtype).mean()
    vis = visible.bool()
    return (ok & vis).sum().to(pred.dtype) / vis.sum().clamp(min=1).to(pred.dtype)


PCK_MISTAKES = [
    Mistake(
        "< instead of <= at the threshold",
        lambda *a: _pck_variant(*a, strict=True),
        Hint(
            "Use <= (HRNet's MPII evaluation), not <: a keypoint exactly on the threshold counts as correct.",
            "correct = (error / normalize) <= threshold.",
        ),
    ),
    Mistake(
        "invisible keypoints counted",
        lambda *a: _pck_variant(*a, all_points=True),
        Hint(
            "Average only over the visible keypoints: one that is not visible has no ground truth, so "
            "it is left out of both the count of correct ones and the total.",
            "((error / normalize <= threshold) & visible).sum() / visible.sum(), as a float tensor.",
        ),
    ),
    Mistake(
        "squared distance",
        lambda *a: _pck_variant(*a, squared=True),
        Hint("The error is the Euclidean distance (its square root), not the squared distance."),
    ),
    Mistake(
        "L1 distance",
        lambda *a: _pck_variant(*a, l1=True),
        Hint("The error is the Euclidean distance ||pred - target||, not |dx| + |dy|."),
    ),
    Mistake(
        "not normalized",
        lambda *a: _pck_variant(*a, no_normalize=True),
        Hint("Divide the distance by normalize (the reference size) before comparing with the threshold."),
    ),
]


# ----------------------------------------------------------------------------- 6.1


def check_gaussian_label_map(student: Callable[..., Tensor]) -> CheckReport:
    """Exercise 6.1: ``gaussian_label_map(point, size, sigma) -> Tensor[H, W]``."""
    g = torch.Generator().manual_seed(61)
    cases = [
        Case(
            "an integer point in the middle of a 5x5 map, sigma 1: the peak is exactly 1 at (row 2, col 2)",
            (torch.tensor([2.0, 2.0]), (5, 5), 1.0),
            hint="The formula is exp(-((j - x)**2 + (i - y)**2) / (2 * sigma**2)), with j the column and i the row.",
        ),
        Case(
            "a non-square map (H=4, W=6) with the point at x=4, y=1",
            (torch.tensor([4.0, 1.0]), (4, 6), 1.0),
            hint=Hint(
                "x goes with the columns (W) and y with the rows (H); size is (H, W).",
                "Build ys = torch.arange(H)[:, None] (a column) and xs = torch.arange(W)[None, :] (a row) "
                "and let them broadcast to (H, W).",
            ),
        ),
        Case(
            "a sub-pixel point (2.3, 1.7) on a 6x7 map, sigma 1.5",
            (torch.tensor([2.3, 1.7]), (6, 7), 1.5),
            hint="Do not round the point: the centre of the bump is the exact (x, y).",
        ),
        Case(
            "a point just outside the map (-1.0, 2.5), sigma 2: only the bump's tail is inside",
            (torch.tensor([-1.0, 2.5]), (5, 5), 2.0),
            hint="Evaluate the formula on every pixel; there is no window and no early return in this version.",
        ),
    ]
    for _ in range(3):
        h, w = (int(v) for v in torch.randint(3, 12, (2,), generator=g))
        point = torch.rand(2, generator=g) * torch.tensor([w - 1.0, h - 1.0])
        sigma = float(0.5 + 2.5 * torch.rand((), generator=g))
        cases.append(Case(f"a random point on a {h}x{w} map, sigma {sigma:.2f}", (point, (h, w), sigma)))
    return check_function(
        student,
        _reference_gaussian_label_map,
        cases,
        exercise="6.1",
        name="gaussian_label_map",
        atol=1e-5,
        rtol=1e-4,
        hint=Hint(
            "Return a float tensor of shape (H, W) in the point's dtype.",
            "ys = torch.arange(H, dtype=point.dtype)[:, None]; xs = torch.arange(W, dtype=point.dtype)[None, :]; "
            "return torch.exp(-((xs - point[0]) ** 2 + (ys - point[1]) ** 2) / (2 * sigma**2)).",
        ),
        mistakes=GAUSSIAN_MISTAKES,
    )


# ----------------------------------------------------------------------------- 6.2


def check_argmax_decode(student: Callable[..., Tensor]) -> CheckReport:
    """Exercise 6.2: ``argmax_decode(heatmaps) -> Tensor[K, 2]``."""
    g = torch.Generator().manual_seed(62)
    one = torch.zeros(1, 4, 6)
    one[0, 1, 4] = 1.0  # x = 4, y = 1
    corner = torch.zeros(1, 3, 5)
    corner[0, 2, 4] = 0.7  # the last pixel
    ties = torch.zeros(1, 4, 4)
    ties[0, 2, 1] = ties[0, 1, 3] = 0.9  # (x=3, y=1) comes first in row-major order
    cases = [
        Case(
            "one map 4x6 with its peak at row 1, column 4",
            (one,),
            hint=Hint(
                "Find each map's maximum in its flattened (row-major) version, then turn that one flat "
                "index back into a column and a row.",
                "idx = heatmaps.flatten(1).argmax(dim=1); x = idx % W (the column) and y = idx // W (the row); "
                "torch.stack([x, y], dim=1).to(heatmaps.dtype).",
            ),
        ),
        Case(
            "a peak on the last pixel of a 3x5 map",
            (corner,),
            hint=Hint(
                "Which dimension does a row-major flat index count first: how many pixels per row?",
                "Divide the flat index by the width W (the last dimension), not by the height: "
                "x = idx % W, y = idx // W.",
            ),
        ),
        Case(
            "two equal maxima: the first one in row-major order wins",
            (ties,),
            hint="torch.argmax returns the first maximum of the flattened map; keep that.",
        ),
        Case("an all-zero map: (0, 0)", (torch.zeros(1, 3, 3),)),
    ]
    for k in (2, 5):
        maps = torch.rand(k, 7, 9, generator=g)
        cases.append(Case(f"{k} random positive maps 7x9", (maps,)))
    peaks = torch.tensor([[1.5, 6.2], [8.0, 0.3], [4.7, 3.3]])
    cases.append(Case("three Gaussian label maps 7x9", (render_heatmaps(peaks, (7, 9), 1.0, subpixel=True),)))
    return check_function(
        student,
        _reference_argmax_decode,
        cases,
        exercise="6.2",
        name="argmax_decode",
        atol=0.0,
        rtol=0.0,
        hint=Hint(
            "Return a float tensor of shape (K, 2) with (x, y) per map: .to(heatmaps.dtype).",
            "idx = heatmaps.flatten(1).argmax(dim=1); torch.stack([idx % W, idx // W], dim=1).to(heatmaps.dtype).",
        ),
        mistakes=DECODE_MISTAKES,
    )


# ----------------------------------------------------------------------------- 6.3


def check_pck_score(student: Callable[..., Tensor]) -> CheckReport:
    """Exercise 6.3: ``pck_score(pred, target, visible, threshold, normalize) -> Tensor[]``."""
    g = torch.Generator().manual_seed(63)
    target = torch.zeros(1, 4, 2)
    pred = torch.tensor([[[0.0, 0.0], [3.0, 4.0], [6.0, 8.0], [0.0, 20.0]]])  # errors 0, 5, 10, 20
    all_vis = torch.ones(1, 4, dtype=torch.bool)
    cases = [
        Case(
            "errors 0, 5, 10, 20 px, size 10, threshold 1.5: three of four are correct",
            (pred, target, all_vis, 1.5, 10.0),
            hint="The error is the Euclidean distance ||pred - target|| over the last dimension, divided by normalize.",
        ),
        Case(
            "an error exactly on the threshold (5 px = 0.5 x 10) counts as correct",
            (pred, target, all_vis, 0.5, 10.0),
            hint="Use <= (HRNet's MPII evaluation), not <.",
        ),
        Case(
            "invisible keypoints are left out of both the count and the total",
            (pred, target, torch.tensor([[True, False, True, False]]), 1.0, 10.0),
            hint=Hint(
                "Average only over the visible keypoints: an invisible one is neither right nor wrong.",
                "(correct & visible).sum() / visible.sum(), as a float tensor.",
            ),
        ),
    ]
    for n, k, thr in ((3, 5, 0.1), (6, 4, 0.05)):
        t = torch.rand(n, k, 2, generator=g) * 32
        p = t + torch.randn(n, k, 2, generator=g) * 2.5
        vis = torch.rand(n, k, generator=g) > 0.25
        vis[0, 0] = True
        cases.append(Case(f"{n} images x {k} keypoints, PCK@{thr} of a 32 px image", (p, t, vis, thr, 32.0)))
    return check_function(
        student,
        _reference_pck_score,
        cases,
        exercise="6.3",
        name="pck_score",
        atol=1e-6,
        rtol=1e-5,
        hint=Hint(
            "Return a 0-d float tensor (the fraction in [0, 1]), not a Python float.",
            "error = (pred - target).norm(dim=-1) / normalize; correct = error <= threshold; "
            "return (correct & visible).sum().to(pred.dtype) / visible.sum().",
        ),
        mistakes=PCK_MISTAKES,
    )

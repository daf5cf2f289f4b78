"""Checks for the exercises of notebook 05 (video panoptic segmentation).

* 5.1 :func:`check_backward_warp` — warp features by a pixel-unit flow, ``out(p) = in(p + flow(p))``.
* 5.2 :func:`check_track_score_row` — the track head's scores with the dummy "new object" column.
* 5.3 :func:`check_tube_iou` — the IoU of two tubes over a window of frames, one step of VPQ.

Each builds a seeded battery (edge cases first) and compares the student's function with
:mod:`lessons.video`. When an answer is wrong, the check also runs the classic wrong versions
(the flow's sign flipped, ``align_corners=False``, a cosine instead of a dot product, a mean of
per-frame IoUs ...) and, if one of them reproduces the student's output, names that mistake.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor

from lessons.exercises import Case, CheckReport, Mistake, check_function
from lessons.video import track_scores, tube_iou, warp

__all__ = ["check_backward_warp", "check_track_score_row", "check_tube_iou"]


def _check_with_variants(
    student: Callable[..., object],
    reference: Callable[..., object],
    cases: Sequence[Case],
    variants: Sequence[tuple[str, Callable[..., object], str]],
    **kwargs,
) -> CheckReport:
    """:func:`check_function` with the known wrong ``variants`` (name, function, hint) as its mistakes;
    they are compared with a looser tolerance (1e-4 + 1e-3 |x|), since ``grid_sample`` and a
    hand-written interpolation round differently."""
    mistakes = [Mistake(name, wrong, hint, atol=1e-4, rtol=1e-3) for name, wrong, hint in variants]
    return check_function(student, reference, cases, mistakes=mistakes, **kwargs)


# ----------------------------------------------------------------------------- 5.1


def _grid_sample_warp(
    features: Tensor,
    flow: Tensor,
    *,
    sign: float = 1.0,
    align_corners: bool = True,
    padding_mode: str = "zeros",
    mode: str = "bilinear",
    swap: bool = False,
) -> Tensor:
    """The warp through ``grid_sample``, with switches that reproduce the classic mistakes."""
    _, _, height, width = features.shape
    dx, dy = (flow[:, 1], flow[:, 0]) if swap else (flow[:, 0], flow[:, 1])
    ys, xs = torch.meshgrid(
        torch.arange(height, dtype=flow.dtype), torch.arange(width, dtype=flow.dtype), indexing="ij"
    )
    x, y = xs + sign * dx, ys + sign * dy  # (B, H, W)
    # pixel index -> [-1, 1] for align_corners=True; sampled with False it is the classic mistake
    gx, gy = 2 * x / max(width - 1, 1) - 1, 2 * y / max(height - 1, 1) - 1
    grid = torch.stack([gx, gy], dim=-1).to(features.dtype)  # (B, H, W, 2)
    return F.grid_sample(features, grid, mode=mode, padding_mode=padding_mode, align_corners=align_corners)


_WARP_VARIANTS: list[tuple[str, Callable[..., object], str]] = [
    (
        "p - flow(p) instead of p + flow(p)",
        lambda f, fl: _grid_sample_warp(f, fl, sign=-1.0),
        "you sample at p - flow(p). Backward warping reads the earlier frame where the pixel CAME FROM: p + flow(p).",
    ),
    (
        "align_corners=False",
        lambda f, fl: _grid_sample_warp(f, fl, align_corners=False),
        "with align_corners=False, grid_sample reads -1 and +1 as the outer EDGES of the border pixels, so a grid "
        "normalized by (size - 1) is off by up to half a pixel and a zero flow is not the identity. Which "
        "align_corners setting puts -1 and +1 on the border pixels' CENTRES?",
    ),
    (
        "x and y displacements swapped",
        lambda f, fl: _grid_sample_warp(f, fl, swap=True),
        "flow[:, 0] is the x (column) displacement and flow[:, 1] the y (row) one; you swapped them.",
    ),
    (
        "border padding instead of zeros",
        lambda f, fl: _grid_sample_warp(f, fl, padding_mode="border"),
        "outside the map the warped value is 0 (zero padding), not the nearest border pixel.",
    ),
    (
        "nearest instead of bilinear",
        lambda f, fl: _grid_sample_warp(f, fl, mode="nearest"),
        "interpolate bilinearly between the four neighbours; rounding to the nearest pixel loses sub-pixel motion.",
    ),
]


def check_backward_warp(student: Callable[..., Tensor]) -> CheckReport:
    """Exercise 5.1: ``backward_warp(features, flow) -> Tensor[B, C, H, W]``."""
    g = torch.Generator().manual_seed(51)
    grid = torch.arange(12.0).view(1, 1, 3, 4)

    def flow_of(dx: float, dy: float, shape=(1, 2, 3, 4)) -> Tensor:
        flow = torch.zeros(shape)
        flow[:, 0], flow[:, 1] = dx, dy
        return flow

    cases = [
        Case(
            "a zero flow on a 3x4 map: the output is the input, exactly",
            (grid, flow_of(0, 0)),
            hint="With a zero flow every pixel samples itself; check how you map pixel indices to sampling positions.",
        ),
        Case(
            "flow (dx=+1, dy=0): out[y, x] = in[y, x + 1] and the last column is 0",
            (grid, flow_of(1, 0)),
            hint="out(p) = in(p + flow(p)): a positive dx reads the pixel to the RIGHT.",
        ),
        Case(
            "flow (dx=0, dy=+1): out[y, x] = in[y + 1, x] and the last row is 0",
            (grid, flow_of(0, 1)),
            hint="flow[:, 1] moves along the rows (y).",
        ),
        Case(
            "flow (dx=+0.5, dy=0): the mean of two horizontal neighbours",
            (grid, flow_of(0.5, 0)),
            hint="Bilinear interpolation: a half-pixel shift averages the two neighbours.",
        ),
        Case(
            "flow (dx=-6, dy=0): every sample falls off the map, so the output is all 0",
            (grid, flow_of(-6, 0)),
            hint="Samples outside the map count as 0 (zero padding).",
        ),
    ]
    for b, c, h, w in ((2, 3, 5, 6), (1, 4, 7, 3)):
        feats = torch.randn(b, c, h, w, generator=g)
        flow = torch.randn(b, 2, h, w, generator=g) * 1.5
        cases.append(Case(f"random features {b}x{c}x{h}x{w} and a random flow (std 1.5 px)", (feats, flow)))
    return _check_with_variants(
        student,
        warp,
        cases,
        _WARP_VARIANTS,
        exercise="5.1",
        name="backward_warp",
        atol=1e-5,
        rtol=1e-4,
        hint="Return a tensor shaped like features.",
    )


# ----------------------------------------------------------------------------- 5.2


_SCORE_VARIANTS: list[tuple[str, Callable[..., object], str]] = [
    (
        "no dummy column",
        lambda e, r: e @ r.T,
        "the row needs the dummy 'new object' column: a column of zeros IN FRONT (column 0), then the dot products.",
    ),
    (
        "the dummy column last",
        lambda e, r: torch.cat([e @ r.T, e.new_zeros(len(e), 1)], 1),
        "the dummy column comes first: column 0 is 'new object', column 1 + j is reference j.",
    ),
    (
        "cosine instead of dot product",
        lambda e, r: torch.cat([e.new_zeros(len(e), 1), F.normalize(e, dim=1) @ F.normalize(r, dim=1).T], 1),
        "use the raw dot product <e_i, e_ref_j>; MaskTrack R-CNN does not normalize (no cosine).",
    ),
    (
        "a softmax over the row",
        lambda e, r: torch.softmax(torch.cat([e.new_zeros(len(e), 1), e @ r.T], 1), dim=1),
        "return the raw scores; the softmax belongs to the loss (cross-entropy) and to the log_softmax at inference.",
    ),
    (
        "the dummy column at 1",
        lambda e, r: torch.cat([e.new_ones(len(e), 1), e @ r.T], 1),
        "the dummy column is fixed at 0, not 1.",
    ),
]


def check_track_score_row(student: Callable[..., Tensor]) -> CheckReport:
    """Exercise 5.2: ``track_score_row(embeddings, ref_embeddings) -> Tensor[N, M + 1]``."""
    g = torch.Generator().manual_seed(52)
    cases = [
        Case(
            "the first frame: no reference objects yet (M = 0), so every row is just the dummy 0",
            (torch.tensor([[1.0, 2.0], [3.0, -1.0]]), torch.zeros(0, 2)),
            hint="Even with no references the row has the dummy column: shape (N, 1).",
        ),
        Case(
            "one detection, two references: [0, <e, r0>, <e, r1>]",
            (torch.tensor([[1.0, 2.0]]), torch.tensor([[3.0, 0.0], [0.0, -1.0]])),
            hint="Row i is [0, e_i . r_0, e_i . r_1, ...].",
        ),
        Case(
            "two detections, three references: raw dot products, not cosines",
            (torch.tensor([[2.0, 0.0], [0.0, 0.5]]), torch.tensor([[4.0, 0.0], [0.0, 3.0], [1.0, 1.0]])),
        ),
    ]
    for n, m, d in ((3, 4, 5), (5, 2, 8)):
        cases.append(
            Case(
                f"{n} detections, {m} references, embeddings of size {d}",
                (torch.randn(n, d, generator=g), torch.randn(m, d, generator=g)),
            )
        )
    return _check_with_variants(
        student,
        track_scores,
        cases,
        _SCORE_VARIANTS,
        exercise="5.2",
        name="track_score_row",
        atol=1e-5,
        rtol=1e-4,
        hint="Return a float tensor of shape (N, M + 1).",
    )


# ----------------------------------------------------------------------------- 5.3


def _mean_of_frames(pred: Tensor, gt: Tensor, pred_id: int, gt_id: int) -> float:
    ious = [tube_iou(p[None], g[None], pred_id, gt_id) for p, g in zip(pred, gt)]
    return sum(ious) / len(ious)


def _no_void(pred: Tensor, gt: Tensor, pred_id: int, gt_id: int) -> float:
    p, g = pred == pred_id, gt == gt_id
    inter, union = int((p & g).sum()), int((p | g).sum())
    return inter / union if union else 0.0


def _all_void(pred: Tensor, gt: Tensor, pred_id: int, gt_id: int) -> float:
    p, g = pred == pred_id, gt == gt_id
    inter = int((p & g).sum())
    union = int(p.sum()) + int(g.sum()) - inter - int((gt == 0).sum())
    return inter / union if union > 0 else 0.0


_TUBE_VARIANTS: list[tuple[str, Callable[..., object], str]] = [
    (
        "the mean of per-frame IoUs",
        _mean_of_frames,
        "count the pixels of the whole window first and divide once: a tube's IoU is not the mean "
        "of its per-frame IoUs.",
    ),
    (
        "void pixels left in the union",
        _no_void,
        "leave the prediction's pixels that lie on ground-truth void (gt == 0) out of the union.",
    ),
    (
        "every void pixel subtracted",
        _all_void,
        "subtract only the void pixels covered by the PREDICTED tube, |p & void|, not every void pixel.",
    ),
]


def check_tube_iou(student: Callable[..., float]) -> CheckReport:
    """Exercise 5.3: ``tube_iou(pred, gt, pred_id, gt_id) -> float``."""
    g = torch.Generator().manual_seed(53)
    cases = [
        Case(
            "two frames of 1x3: inter 3, |p| 4, |g| 4, one predicted pixel on void -> 3 / (4 + 4 - 3 - 1)",
            (torch.tensor([[[5, 5, 5]], [[5, 0, 0]]]), torch.tensor([[[1, 1, 0]], [[1, 1, 0]]]), 5, 1),
            hint="IoU = inter / (|p| + |g| - inter - |p & void|), with void = (gt == 0).",
        ),
        Case(
            "right in frame 0 (IoU 1), half right in frame 1 (IoU 0.5): the tube's IoU is 5/6, not 0.75",
            (torch.tensor([[[7, 7, 7, 7]], [[7, 0, 0, 0]]]), torch.tensor([[[1, 1, 1, 1]], [[1, 1, 2, 2]]]), 7, 1),
            hint="Count over all frames of the window at once.",
        ),
        Case(
            "void pixels that the prediction does not touch change nothing",
            (torch.tensor([[[3, 3, 2, 2]], [[3, 3, 2, 2]]]), torch.tensor([[[4, 4, 0, 0]], [[4, 4, 4, 0]]]), 3, 4),
            hint="Only |p & void| is removed from the union.",
        ),
        Case(
            "a predicted id that is absent from the window: IoU 0",
            (torch.tensor([[[1, 1]], [[1, 1]]]), torch.tensor([[[1, 1]], [[1, 1]]]), 9, 1),
            hint="When the tubes do not overlap the IoU is 0 (and when both are empty, return 0.0).",
        ),
    ]
    for t, h, w in ((3, 4, 5), (4, 6, 6)):
        gt = torch.randint(0, 3, (t, h, w), generator=g)
        pred = torch.where(
            torch.rand(t, h, w, generator=g) < 0.8, gt + 10, torch.randint(10, 13, (t, h, w), generator=g)
        )
        pred[pred == 10] = 0
        cases.append(Case(f"random ids over {t} frames of {h}x{w}, tubes 11 and 1", (pred, gt, 11, 1)))
    return _check_with_variants(
        student,
        tube_iou,
        cases,
        _TUBE_VARIANTS,
        exercise="5.3",
        name="tube_iou",
        atol=1e-9,
        rtol=1e-9,
        hint="Return a Python float (use int(...) on the counts).",
    )

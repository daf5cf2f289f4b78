"""Video Panoptic Quality (VPQ): panoptic quality of tubes through a window of frames.

Paper. D. Kim, S. Woo, J.-Y. Lee, I. S. Kweon, "Video Panoptic Segmentation", CVPR 2020,
arXiv:2006.11339 (VPQ, Eq. 1); code ``mcahny/vps`` (``eval_vpq.py``).

Summary. For every run of ``k`` consecutive frames the maps are stacked into one volume, so a
segment id is a *tube* through the window; tubes are matched with panopticapi's rules
(:func:`lessons.panoptic_quality.panoptic_quality`) and the counts are accumulated over all
windows. A tube only matches when its ids are right in every frame of the window, so VPQ falls
with ``k`` when a tracker switches ids. :func:`tube_iou` is the IoU of one pair of tubes.

Deviations from the reference code.
- Every area is counted from the maps; VPSNet's ``eval_vpq.py`` reads ground-truth areas from the
  segment dicts and adds up areas in those dicts in place, so they grow from one window to the next.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch
from torch import Tensor

from lessons._checks import check_int, check_int_tensor, check_ndim, check_shape, describe
from lessons.panoptic_quality import VOID, panoptic_quality

__all__ = ["tube_iou", "video_panoptic_quality"]


def tube_iou(pred: Tensor, gt: Tensor, pred_id: int, gt_id: int) -> float:
    """IoU of two tubes over a window of frames, with the prediction's void pixels left out.

    .. math::  IoU = \\frac{|p \\cap g|}{|p| + |g| - |p \\cap g| - |p \\cap void|}

    counted over all the window's pixels at once (panopticapi's rule, with ``void = gt == 0``).
    It is not the mean of per-frame IoUs: a tube that is right in one frame and wrong in the other
    has one IoU for the whole window.

    Args:
        pred (Tensor[T, H, W]): predicted segment ids (int).
        gt (Tensor[T, H, W]): ground-truth segment ids (int), 0 = void.
        pred_id (int): the predicted tube.
        gt_id (int): the ground-truth tube.

    Returns:
        float: in ``[0, 1]``; 0 when both tubes are empty.

    Example:
        >>> gt = torch.tensor([[[1, 1, 0]], [[1, 1, 0]]]); pred = torch.tensor([[[5, 5, 5]], [[5, 0, 0]]])
        >>> tube_iou(pred, gt, 5, 1)  # inter 3, |p| 4, |g| 4, p on void 1
        0.75
    """
    check_int_tensor("pred", pred)
    check_int_tensor("gt", gt)
    check_ndim("pred", pred, 3, "(T, H, W)")
    check_shape("gt", gt, tuple(pred.shape), f"{tuple(pred.shape)} like pred")
    pred_id, gt_id = check_int("pred_id", pred_id), check_int("gt_id", gt_id)
    p, g = pred == pred_id, gt == gt_id
    inter = int((p & g).sum())
    union = int(p.sum()) + int(g.sum()) - inter - int((p & (gt == VOID)).sum())
    return inter / union if union > 0 else 0.0


def _clip_segments(name: str, segments: object, n_frames: int) -> list[dict[int, dict[str, Any]]]:
    """Per-frame ``{id: segment}`` from one clip-wide list or from ``T`` per-frame lists."""
    if not isinstance(segments, (list, tuple)):
        raise TypeError(
            f"{name}: expected a list of segment dicts or a list of {n_frames} lists, got {describe(segments)}"
        )
    per_frame = all(isinstance(s, (list, tuple)) for s in segments) and len(segments) > 0
    lists = list(segments) if per_frame else [segments] * n_frames
    if len(lists) != n_frames:
        raise ValueError(f"{name}: expected one segment list per frame ({n_frames}), got {len(lists)}")
    out = []
    for t, items in enumerate(lists):
        by_id: dict[int, dict[str, Any]] = {}
        for seg in items:
            if not isinstance(seg, Mapping) or "id" not in seg or "category_id" not in seg:
                raise ValueError(f"{name}: every segment needs keys 'id' and 'category_id', got {seg!r}")
            # areas are always counted from the maps: drop any 'area' the caller passed
            by_id[int(seg["id"])] = {k: v for k, v in seg.items() if k != "area"}
        out.append(by_id)
    return out


def _window_segments(frames: list[dict[int, dict[str, Any]]], present: set[int]) -> list[dict[str, Any]]:
    """The segments of a window: those present in its maps, one dict per id, described by the
    window's first frame that lists the id (``eval_vpq.py`` keeps the first frame's dict too)."""
    merged: dict[int, dict[str, Any]] = {}
    for by_id in frames:
        for seg_id, seg in by_id.items():
            if seg_id in present:
                merged.setdefault(seg_id, seg)
    return [dict(seg) for seg in merged.values()]


def video_panoptic_quality(
    pred: Tensor,
    pred_segments: Sequence[Mapping[str, Any]] | Sequence[Sequence[Mapping[str, Any]]],
    gt: Tensor,
    gt_segments: Sequence[Mapping[str, Any]] | Sequence[Sequence[Mapping[str, Any]]],
    categories: Sequence[Mapping[str, Any]] | Mapping[int, Mapping[str, Any]],
    window: int,
) -> dict[str, Any]:
    """Video Panoptic Quality ``VPQ^k`` with ``k = window`` (VPSNet's ``eval_vpq.py``).

    For every run of ``k`` consecutive frames ``t .. t + k - 1`` the ``k`` maps are stacked into one
    volume, so a segment id is a tube through the window; tubes are matched with panopticapi's rules
    (same category, IoU > 0.5 with the prediction's void pixels left out of the union, crowd and
    void handling: :func:`lessons.panoptic.panoptic_quality`, which this calls on the stacked
    windows), and the TP / FP / FN counts and IoU sums are accumulated over all ``T - k + 1``
    windows before the per-category PQ (Kirillov et al. 2019, Eq. 1) and the means:

    .. math::  VPQ^k = \\frac{1}{|C|} \\sum_c
               \\frac{\\sum_{windows} \\sum_{(u, \\hat u) \\in TP_c} IoU(u, \\hat u)}
                     {\\sum_{windows} |TP_c| + \\frac12 |FP_c| + \\frac12 |FN_c|}

    (Kim et al. 2020, Eq. 1). ``k = 1`` is per-frame PQ over all frames. An id switch inside a
    window splits a tube, so the window's IoU falls and the match can be lost: VPQ falls with
    ``k`` when ids are not kept. The paper reports the mean of ``VPQ^k`` over several ``k``.

    Args:
        pred (Tensor[T, H, W]): predicted segment ids (int), 0 = void; the same id in two frames is
            the same tube.
        pred_segments (list[dict] or list of T lists): ``id`` and ``category_id`` of every
            predicted segment, for the whole clip or per frame. With per-frame lists a tube takes
            the category its id has in the window's first frame that lists it (as ``eval_vpq.py``),
            so an id handed to a thing of another class stays one tube of one class. Any ``area``
            key is ignored: areas are counted in the maps.
        gt (Tensor[T, H, W]): ground-truth segment ids, 0 = void.
        gt_segments (same as ``pred_segments``): also ``iscrowd`` (default 0).
        categories (list[dict] or dict): panopticapi's categories, each with ``id`` and ``isthing``.
        window (int): ``k``, in ``[1, T]``.

    Returns:
        dict: :func:`lessons.panoptic.panoptic_quality`'s result (``All``, ``Things``, ``Stuff``,
        ``per_class``) plus ``window`` (k) and ``n_windows`` (T - k + 1).

    Note:
        VPSNet's script sums ground-truth areas from the segment dicts and, by mutating the first
        frame's dicts, carries those sums into later windows; here every area is counted in the
        stacked maps, so each window is scored on its own pixels.

    Example:
        >>> gt = torch.ones(2, 2, 2, dtype=torch.long); gt[:, :, 1] = 2   # two tubes, 2 frames
        >>> pred = gt.clone(); pred[1][pred[1] == 2] = 3                 # thing id switches in frame 1
        >>> cats = [{"id": 0, "isthing": 0}, {"id": 1, "isthing": 1}]
        >>> segs = [{"id": 1, "category_id": 0}, {"id": 2, "category_id": 1}, {"id": 3, "category_id": 1}]
        >>> gsegs = segs[:2]
        >>> [round(video_panoptic_quality(pred, segs, gt, gsegs, cats, k)["Things"]["pq"], 3) for k in (1, 2)]
        [1.0, 0.0]
    """
    check_int_tensor("pred", pred)
    check_int_tensor("gt", gt)
    check_ndim("pred", pred, 3, "(T, H, W)")
    check_shape("gt", gt, tuple(pred.shape), f"{tuple(pred.shape)} like pred")
    if bool((pred < 0).any()) or bool((gt < 0).any()):
        raise ValueError("pred/gt: segment ids must be >= 0 (0 = void)")
    n_frames, height, width = pred.shape
    window = check_int("window", window, minimum=1)
    if window > n_frames:
        raise ValueError(f"window: expected an int in [1, T] = [1, {n_frames}], got {window}")
    pred_frames = _clip_segments("pred_segments", pred_segments, n_frames)
    gt_frames = _clip_segments("gt_segments", gt_segments, n_frames)
    for name, maps, frames in (("pred", pred, pred_frames), ("gt", gt, gt_frames)):
        for t in range(n_frames):
            unknown = sorted(set(torch.unique(maps[t]).tolist()) - set(frames[t]) - {VOID})
            if unknown:
                raise ValueError(f"{name}: frame {t} has segment ids {unknown} that {name}_segments does not list")

    preds, pred_lists, gts, gt_lists = [], [], [], []
    for start in range(n_frames - window + 1):
        span = slice(start, start + window)
        p = pred[span].reshape(window * height, width)  # (k*H, W) the window as one image
        g = gt[span].reshape(window * height, width).to(pred.device)
        preds.append(p)
        gts.append(g)
        pred_lists.append(_window_segments(pred_frames[span], set(torch.unique(p).tolist())))
        gt_lists.append(_window_segments(gt_frames[span], set(torch.unique(g).tolist())))
    result = panoptic_quality(preds, pred_lists, gts, gt_lists, categories)
    return {**result, "window": window, "n_windows": n_frames - window + 1}

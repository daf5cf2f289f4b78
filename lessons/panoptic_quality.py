"""Panoptic Quality (PQ): how well a panoptic map matches the ground truth, with panopticapi's rules.

Paper. A. Kirillov, K. He, R. Girshick, C. Rother, P. Dollar, "Panoptic Segmentation", CVPR 2019,
arXiv:1801.00868 (the task, Panoptic Quality Eq. 1 and the SQ x RQ split Eq. 2). Reference code:
``cocodataset/panopticapi`` (``pq_compute``, ``pq_compute_single_core``).

Summary. A predicted and a ground-truth segment of the same category match when their IoU is above
0.5; the threshold makes every match unique. Per category, matched pairs are true positives,
unmatched predictions false positives and unmatched ground truth false negatives, and

    PQ = sum_TP IoU / (|TP| + |FP| / 2 + |FN| / 2) = SQ x RQ.

The All / Things / Stuff scores are unweighted means over the categories that occur. The panoptic
maps are produced by :mod:`lessons.panoptic` (UPSNet's head, the heuristic merge).

Deviations from panopticapi (each is a ``Note:`` at the function).
- Errors are ``ValueError``/``TypeError`` (panopticapi raises ``KeyError``), and unknown ground-truth
  segment ids raise instead of being skipped. A mean over zero categories is NaN, not a
  ``ZeroDivisionError``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch
from torch import Tensor

from lessons._checks import check_int_tensor, check_ndim, describe

__all__ = ["VOID", "panoptic_quality"]

#: The id of unlabelled pixels in a panoptic map (panopticapi's ``VOID``).
VOID = 0


def _categories_by_id(categories: object) -> dict[int, bool]:
    """``{category_id: isthing}`` from panopticapi's list of dicts (or a dict keyed by id)."""
    items: Sequence[Any]
    if isinstance(categories, Mapping):
        items = [dict(v, id=k) for k, v in categories.items()]
    elif isinstance(categories, (list, tuple)):
        items = categories
    else:
        raise TypeError(
            "categories: expected a list of dicts with keys 'id' and 'isthing' (panopticapi's "
            f"format), got {describe(categories)}"
        )
    table: dict[int, bool] = {}
    for cat in items:
        if not isinstance(cat, Mapping) or "id" not in cat or "isthing" not in cat:
            raise ValueError(f"categories: every entry needs keys 'id' and 'isthing', got {cat!r}")
        table[int(cat["id"])] = bool(cat["isthing"])
    if not table:
        raise ValueError("categories: expected at least one category, got none")
    return table


def _segments_by_id(name: str, segments: object, table: Mapping[int, bool]) -> dict[int, Mapping[str, Any]]:
    if not isinstance(segments, (list, tuple)):
        raise TypeError(f"{name}: expected a list of segment dicts, got {describe(segments)}")
    by_id: dict[int, Mapping[str, Any]] = {}
    for seg in segments:
        if not isinstance(seg, Mapping) or "id" not in seg or "category_id" not in seg:
            raise ValueError(f"{name}: every segment needs keys 'id' and 'category_id', got {seg!r}")
        seg_id = int(seg["id"])
        if seg_id == VOID:
            raise ValueError(f"{name}: segment id 0 is reserved for void, got a segment with id 0")
        if seg_id in by_id:
            raise ValueError(f"{name}: segment ids must be unique, got id {seg_id} twice")
        if int(seg["category_id"]) not in table:
            raise ValueError(
                f"{name}: segment {seg_id} has category_id {seg['category_id']}, which is not in "
                f"categories (ids {sorted(table)})"
            )
        by_id[seg_id] = seg
    return by_id


def _as_image_list(name: str, maps: object, segments: object) -> tuple[list[Tensor], list[Any]]:
    if isinstance(maps, Tensor) and maps.ndim == 2:
        return [maps], [segments]
    if isinstance(maps, Tensor) and maps.ndim == 3:
        maps = list(maps)
    if not isinstance(maps, (list, tuple)) or not isinstance(segments, (list, tuple)):
        raise TypeError(
            f"{name}: expected a Tensor[H, W] with a list of segments, or a list of maps with a "
            f"list of segment lists, got {describe(maps)}"
        )
    if len(maps) != len(segments):
        raise ValueError(f"{name}: got {len(maps)} maps but {len(segments)} segment lists")
    return list(maps), list(segments)


def _pq_stats_single(
    where: str,
    pred: Tensor,
    pred_segs: Mapping[int, Mapping[str, Any]],
    gt: Tensor,
    gt_segs: Mapping[int, Mapping[str, Any]],
    stats: dict[int, list[float]],
) -> None:
    """panopticapi's ``pq_compute_single_core`` for one image; adds into ``stats[cat] = [tp, fp, fn, iou]``."""
    pred_ids, pred_counts = torch.unique(pred, return_counts=True)
    pred_area = {}
    for seg_id, count in zip(pred_ids.tolist(), pred_counts.tolist()):
        if seg_id == VOID:
            continue
        if seg_id not in pred_segs:
            raise ValueError(f"pred_panoptic{where}: segment id {seg_id} appears in the map but not in pred_segments")
        pred_area[seg_id] = count
    missing = sorted(set(pred_segs) - set(pred_area))
    if missing:
        raise ValueError(f"pred_segments{where}: segment ids {missing} are listed but absent from pred_panoptic{where}")
    gt_ids, gt_counts = torch.unique(gt, return_counts=True)
    gt_area = {}
    for seg_id, count in zip(gt_ids.tolist(), gt_counts.tolist()):
        if seg_id != VOID and seg_id not in gt_segs:
            raise ValueError(
                f"gt_panoptic{where}: segment id {seg_id} appears in the map but not in gt_segments{where}"
            )
        gt_area[seg_id] = count
    # like panopticapi: ground-truth areas come from the segment list when it has them
    gt_area = {k: int(v.get("area", gt_area.get(k, 0))) for k, v in gt_segs.items()}

    offset = int(pred.max()) + 1 if pred.numel() else 1
    pairs, inter = torch.unique(gt.reshape(-1) * offset + pred.reshape(-1), return_counts=True)
    intersections = {
        (p // offset, p % offset): c for p, c in zip(pairs.tolist(), inter.tolist())
    }  # (gt_id, pred_id) -> pixels

    gt_matched, pred_matched = set(), set()
    for (gt_id, pred_id), intersection in intersections.items():
        if gt_id not in gt_segs or pred_id not in pred_segs:
            continue  # void on either side
        g, p = gt_segs[gt_id], pred_segs[pred_id]
        if int(g.get("iscrowd", 0)) == 1 or int(g["category_id"]) != int(p["category_id"]):
            continue
        # IoU with the prediction's void pixels removed from the union
        union = pred_area[pred_id] + gt_area[gt_id] - intersection - intersections.get((VOID, pred_id), 0)
        iou = intersection / union
        if iou > 0.5:  # strictly: at most one match per segment
            stat = stats[int(g["category_id"])]
            stat[0] += 1
            stat[3] += iou
            gt_matched.add(gt_id)
            pred_matched.add(pred_id)

    crowd_by_cat: dict[int, int] = {}
    for gt_id, g in gt_segs.items():
        if gt_id in gt_matched:
            continue
        if int(g.get("iscrowd", 0)) == 1:
            crowd_by_cat[int(g["category_id"])] = gt_id  # panopticapi keeps the last one per category
            continue
        stats[int(g["category_id"])][2] += 1  # FN
    for pred_id, p in pred_segs.items():
        if pred_id in pred_matched:
            continue
        ignored = intersections.get((VOID, pred_id), 0)
        cat = int(p["category_id"])
        if cat in crowd_by_cat:
            ignored += intersections.get((crowd_by_cat[cat], pred_id), 0)
        if ignored / pred_area[pred_id] > 0.5:
            continue  # mostly on void or on a crowd region of its class: not a false positive
        stats[cat][1] += 1  # FP


def panoptic_quality(
    pred_panoptic: Tensor | Sequence[Tensor],
    pred_segments: Sequence[Mapping[str, Any]] | Sequence[Sequence[Mapping[str, Any]]],
    gt_panoptic: Tensor | Sequence[Tensor],
    gt_segments: Sequence[Mapping[str, Any]] | Sequence[Sequence[Mapping[str, Any]]],
    categories: Sequence[Mapping[str, Any]] | Mapping[int, Mapping[str, Any]],
) -> dict[str, Any]:
    """Panoptic Quality with panopticapi's rules, over one image or a list of images.

    Per category, summed over all images:

    .. math::
        PQ = \\frac{\\sum_{(p, g) \\in TP} IoU(p, g)}{|TP| + \\frac12 |FP| + \\frac12 |FN|}
           = \\underbrace{\\frac{\\sum_{TP} IoU}{|TP|}}_{SQ}
             \\times \\underbrace{\\frac{|TP|}{|TP| + \\frac12 |FP| + \\frac12 |FN|}}_{RQ}

    (Kirillov et al. 2019, Eq. 1 and 2.) A prediction and a ground-truth segment of the same
    category match when ``IoU > 0.5`` (strictly), where the union leaves out the prediction's
    pixels on ground-truth void: ``IoU = inter / (|p| + |g| - inter - |p & void|)``. Unmatched
    ground truth counts as FN unless it is crowd; an unmatched prediction counts as FP unless more
    than half of it lies on void or on a crowd region of its category. The All / Things / Stuff
    scores are unweighted means over the categories with ``TP + FP + FN > 0``.

    Args:
        pred_panoptic (Tensor[H, W] or list of them, or Tensor[B, H, W]): predicted segment ids,
            0 = void.
        pred_segments (list[dict] or list of lists): one dict per predicted segment with ``id``
            and ``category_id``; every id in the map must be listed and every listed id present.
        gt_panoptic (same as ``pred_panoptic``): ground-truth segment ids, 0 = void.
        gt_segments (list[dict] or list of lists): ``id``, ``category_id``, optional ``iscrowd``
            (default 0) and ``area`` (default: counted in the map; panopticapi reads it from here).
        categories (list[dict] or dict): panopticapi's categories, each with ``id`` and ``isthing``.

    Returns:
        dict: ``{"All": {"pq", "sq", "rq", "n"}, "Things": {...}, "Stuff": {...}, "per_class":
        {category_id: {"pq", "sq", "rq", "tp", "fp", "fn", "iou"}}}``. Scores are in [0, 1]; a
        group with ``n = 0`` categories has NaN scores. Categories without segments get zeros in
        ``per_class`` and are left out of the means.

    Note:
        panopticapi raises ``ZeroDivisionError`` for an empty group and ``KeyError`` for
        inconsistent ids; we return NaN and raise ``ValueError``. panopticapi skips ground-truth
        ids missing from the segment list; we raise.

    Example (a 4 x 6 case worked by hand; row 0 of the ground truth is void):
        >>> gt = torch.zeros(4, 6, dtype=torch.long); gt[1:, :3] = 1; gt[1:, 3:] = 2
        >>> pred = torch.full((4, 6), 6); pred[:, :4] = 5; pred[3, 5] = 0
        >>> cats = [{"id": 1, "isthing": 1}, {"id": 2, "isthing": 0}]
        >>> r = panoptic_quality(pred, [{"id": 5, "category_id": 1}, {"id": 6, "category_id": 2}],
        ...                      gt, [{"id": 1, "category_id": 1}, {"id": 2, "category_id": 2}], cats)
        >>> round(r["per_class"][1]["pq"], 4), round(r["per_class"][2]["pq"], 4)
        (0.75, 0.5556)
    """
    table = _categories_by_id(categories)
    preds, pred_lists = _as_image_list("pred_panoptic", pred_panoptic, pred_segments)
    gts, gt_lists = _as_image_list("gt_panoptic", gt_panoptic, gt_segments)
    if len(preds) != len(gts):
        raise ValueError(f"gt_panoptic: expected {len(preds)} images like pred_panoptic, got {len(gts)}")
    stats = {cat: [0, 0, 0, 0.0] for cat in table}  # tp, fp, fn, iou_sum
    for index, (pred, pred_list, gt, gt_list) in enumerate(zip(preds, pred_lists, gts, gt_lists)):
        where = "" if len(preds) == 1 else f"[{index}]"
        check_int_tensor(f"pred_panoptic{where}", pred)
        check_int_tensor(f"gt_panoptic{where}", gt)
        check_ndim(f"pred_panoptic{where}", pred, 2, "(H, W)")
        if gt.shape != pred.shape:
            raise ValueError(
                f"gt_panoptic{where}: expected the same shape as pred_panoptic ({tuple(pred.shape)}), "
                f"got {tuple(gt.shape)}"
            )
        if bool((pred < 0).any()) or bool((gt < 0).any()):
            raise ValueError(f"pred_panoptic{where}/gt_panoptic{where}: segment ids must be >= 0")
        _pq_stats_single(
            where,
            pred.long(),
            _segments_by_id(f"pred_segments{where}", pred_list, table),
            gt.long().to(pred.device),
            _segments_by_id(f"gt_segments{where}", gt_list, table),
            stats,
        )

    per_class: dict[int, dict[str, float]] = {}
    for cat, (tp, fp, fn, iou) in stats.items():
        denominator = tp + 0.5 * fp + 0.5 * fn
        per_class[cat] = {
            "pq": iou / denominator if denominator else 0.0,
            "sq": iou / tp if tp else 0.0,
            "rq": tp / denominator if denominator else 0.0,
            "tp": tp,
            "fp": fp,
            "fn": fn,
            "iou": iou,
        }

    def average(isthing: bool | None) -> dict[str, float]:
        counted = [c for c, s in stats.items() if (isthing is None or table[c] == isthing) and s[0] + s[1] + s[2] > 0]
        n = len(counted)
        mean = {key: sum(per_class[c][key] for c in counted) / n if n else float("nan") for key in ("pq", "sq", "rq")}
        return {**mean, "n": n}

    return {"All": average(None), "Things": average(True), "Stuff": average(False), "per_class": per_class}

"""The claims of notebook 02 (the Mask R-CNN mask branch), one function per asserted sentence.

Each runs the library experiment the notebook runs, for the given seed, and returns
``(margin, detail)`` with the notebook's own threshold: positive when the claim holds.
"""

from __future__ import annotations

from functools import cache

from lessons.experiments.mask_head import (
    experiment_drop_in,
    experiment_mask_losses,
    experiment_pasting,
    experiment_resolution,
)

# The thresholds the notebook asserts.
DROP_IN_TOLERANCE = 1e-3  # boxes (px), scores and mask probabilities
SIGMOID_OVER_SOFTMAX = 0.2  # mask IoU
AGNOSTIC_WITHIN = 0.05  # |IoU(class-specific) - IoU(class-agnostic)|
LARGE_14_VS_28 = 2.0  # boundary error at 14 x 14 over boundary error at 28 x 28, large objects
SMALL_ENOUGH_AT_14 = 0.99  # mask IoU of small objects with a 14 x 14 mask
GRID_VS_TORCHVISION = 0.05  # boundary error, torchvision paste minus grid-sample paste


@cache
def _losses(seed: int):
    return experiment_mask_losses(seed=seed)


def claim_drop_in_same_detections(seed: int):
    """Torchvision's Mask R-CNN gives the same labels, boxes, scores and masks with the course's pieces."""
    r = experiment_drop_in(seed=seed)
    worst = max(r.box_error, r.score_error, r.mask_error)
    margin = (DROP_IN_TOLERANCE - worst) if r.same_labels else -1.0
    return (
        margin,
        f"{r.detections} detections, max errors box {r.box_error:.1e} score {r.score_error:.1e} mask {r.mask_error:.1e}",
    )


def claim_sigmoid_beats_softmax(seed: int):
    """Per-class sigmoid masks beat a softmax over classes by at least 0.2 mask IoU."""
    iou = _losses(seed).iou
    return iou["sigmoid"] - iou[
        "softmax"
    ] - SIGMOID_OVER_SOFTMAX, f"sigmoid {iou['sigmoid']:.3f} softmax {iou['softmax']:.3f}"


def claim_agnostic_nearly_equal(seed: int):
    """Class-specific and class-agnostic masks are within 0.05 mask IoU of each other."""
    iou = _losses(seed).iou
    return AGNOSTIC_WITHIN - abs(
        iou["sigmoid"] - iou["agnostic"]
    ), f"specific {iou['sigmoid']:.3f} agnostic {iou['agnostic']:.3f}"


def claim_resolution_limits_large_objects(seed: int):
    """Large objects: a 14 x 14 mask has at least twice the boundary error of a 28 x 28 mask."""
    r = experiment_resolution(seed=seed)["large"]
    e14, e28 = r[14]["boundary_error"], r[28]["boundary_error"]
    return e14 - LARGE_14_VS_28 * e28, f"boundary error 14: {e14:.3f}, 28: {e28:.3f}"


def claim_small_objects_fine_at_14(seed: int):
    """Small objects: a 14 x 14 mask already reaches a mask IoU of 0.99."""
    iou = experiment_resolution(seed=seed)["small"][14]["iou"]
    return iou - SMALL_ENOUGH_AT_14, f"IoU at 14: {iou:.4f}"


def claim_grid_sample_paste_has_cleaner_borders(seed: int):
    """Pasting the same masks, grid sampling has a boundary error at least 0.05 lower than torchvision's paste."""
    r = experiment_pasting(seed=seed)
    tv, gs = r["torchvision"]["boundary_error"], r["grid_sample"]["boundary_error"]
    return tv - gs - GRID_VS_TORCHVISION, f"torchvision {tv:.3f} grid sample {gs:.4f}"

"""Claims of notebook 08 (DensePose UV maps and RetinaFace multi-task learning).

Each claim runs the experiment the notebook runs, with the given seed, and returns its margin with
the same threshold as the notebook's assert.
"""

from __future__ import annotations

from functools import cache

from lessons.experiments.densepose import experiment_densepose
from lessons.experiments.multitask import experiment_multitask


@cache
def _densepose(seed: int) -> dict:
    return experiment_densepose(seed=seed)


@cache
def _multitask(seed: int) -> dict:
    return experiment_multitask(seed=seed)


def claim_part_accuracy(seed: int):
    """A briefly trained DensePose head gets the part of more than 60 % of held-out body pixels right."""
    r = _densepose(seed)
    return r["part_accuracy"] - 0.6, f"part accuracy {r['part_accuracy']:.3f}"


def claim_uv_error_below_centre_guess(seed: int):
    """Its UV error is below 3/4 of the error of always guessing the chart's centre."""
    r = _densepose(seed)
    ratio = r["uv_error"] / r["uv_error_centre"]
    return 0.75 - ratio, f"UV error {r['uv_error']:.2f} vs centre {r['uv_error_centre']:.2f} texels (ratio {ratio:.2f})"


def claim_landmarks_hurt_boxes_with_16_faces(seed: int):
    """With 16 training faces, adding the landmark task (lambda_2 = 0.1) lowers the test box IoU."""
    r = _multitask(seed)
    small = min(r)
    box, multi = r[small]["box only"]["iou"], r[small]["box + landmarks"]["iou"]
    return box - multi, f"IoU box only {box:.3f}, box + landmarks {multi:.3f}"


def claim_landmark_head_learns(seed: int):
    """With 256 faces, the multi-task model's landmark NME is below 0.8 x the untrained head's."""
    r = _multitask(seed)
    large = max(r)
    box, multi = r[large]["box only"]["nme"], r[large]["box + landmarks"]["nme"]
    return 0.8 - multi / box, f"NME untrained {box:.3f}, trained {multi:.3f}"

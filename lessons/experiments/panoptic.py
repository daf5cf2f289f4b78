"""Notebook 04's measurement: three panoptic merges of the same simulated head outputs, scored by PQ.

For ``n`` random panoptic scenes and every combination of semantic noise and detector miss rate
(with 20 % spurious detections), the same simulated head outputs are merged three ways:

* ``"UPSNet + unknown"``: scores > 0.5, UPSNet's mask removal, ``argmax Z`` with the unknown channel;
* ``"UPSNet, no unknown"``: the same ``Z`` without its last channel;
* ``"heuristic"``: detectron2's merge (score threshold 0.5, stuff area 16 px on 64 x 64 images).

PQ is accumulated over all scenes, as panopticapi does over a data set. Nothing is trained; the seed
draws the scenes and the simulated errors.
"""

from __future__ import annotations

import torch

from lessons._checks import as_generator, check_int
from lessons.data import NUM_STUFF, PANOPTIC_CATEGORIES, make_panoptic_scene, simulate_head_outputs
from lessons.panoptic import (
    _seg_term_bounds,
    heuristic_merge,
    mask_removal,
    panoptic_from_logits,
    panoptic_quality,
    paste_mask_logits,
    upsnet_panoptic_logits,
)

__all__ = [
    "METHODS",
    "NOISES",
    "MISSES",
    "merge_upsnet",
    "merge_heuristic",
    "merge_comparison",
    "thing_false_positives",
    "outside_box_share",
]

METHODS = ("UPSNet + unknown", "UPSNet, no unknown", "heuristic")
NOISES = (0.5, 1.0, 2.0)
MISSES = (0.0, 0.25, 0.5)


def merge_upsnet(h, stuff_area: int = 16):
    """UPSNet's merge with and without the unknown channel; also returns the detections kept in ``Z``."""
    h = h.subset(h.scores > 0.5)
    h = h.subset(mask_removal(h.mask_logits, h.boxes, h.labels, h.scores, h.semantic_logits.shape[1:]))
    z = upsnet_panoptic_logits(h.semantic_logits, h.mask_logits, h.boxes, h.labels, num_stuff=NUM_STUFF)
    merged = {
        "UPSNet + unknown": panoptic_from_logits(z, h.labels, num_stuff=NUM_STUFF, stuff_area_thresh=stuff_area),
        "UPSNet, no unknown": panoptic_from_logits(
            z[:-1], h.labels, num_stuff=NUM_STUFF, void=False, stuff_area_thresh=stuff_area
        ),
    }
    return merged, h  # h: the detections that made it into Z (segments' instance_id indexes these)


def merge_heuristic(h, stuff_area: int = 16):
    """detectron2's heuristic merge on binary masks (mask logit > 0, i.e. probability > 0.5)."""
    masks = paste_mask_logits(h.mask_logits, h.boxes, h.semantic_logits.shape[1:]) > 0
    return heuristic_merge(
        h.semantic_logits.argmax(0), masks, h.labels, h.scores, num_stuff=NUM_STUFF, stuff_area_thresh=stuff_area
    )


def merge_comparison(*, seed: int | torch.Generator = 0, n: int = 24, size: int = 64) -> dict:
    """PQ results (``panoptic_quality`` dicts) keyed ``(noise, miss_rate, method)`` over ``n`` scenes."""
    g = as_generator("seed", seed)
    check_int("n", n, minimum=1)
    scenes = [make_panoptic_scene(size, seed=g) for _ in range(n)]
    table = {}
    for noise in NOISES:
        for miss in MISSES:
            preds = {m: ([], []) for m in METHODS}
            for s in scenes:
                h = simulate_head_outputs(s, noise=noise, miss_rate=miss, spurious_rate=0.2, seed=g)
                merged, _ = merge_upsnet(h)
                merged["heuristic"] = merge_heuristic(h)
                for m in METHODS:
                    preds[m][0].append(merged[m][0])
                    preds[m][1].append(merged[m][1])
            for m in METHODS:
                table[noise, miss, m] = panoptic_quality(
                    preds[m][0],
                    preds[m][1],
                    [s.panoptic for s in scenes],
                    [s.segments for s in scenes],
                    PANOPTIC_CATEGORIES,
                )
    return table


def thing_false_positives(result: dict) -> int:
    """The number of false-positive *thing* segments in a ``panoptic_quality`` result."""
    return sum(v["fp"] for c, v in result["per_class"].items() if c >= NUM_STUFF)


def outside_box_share(
    *, seed: int | torch.Generator = 0, n: int = 12, noise: float = 1.0, miss: float = 0.25, size: int = 64
) -> dict:
    """Share of each UPSNet variant's instance pixels that lie outside that instance's own box."""
    g = as_generator("seed", seed)
    out = {m: [0, 0] for m in METHODS[:2]}
    for _ in range(n):
        s = make_panoptic_scene(size, seed=g)
        h = simulate_head_outputs(s, noise=noise, miss_rate=miss, spurious_rate=0.2, seed=g)
        merged, kept = merge_upsnet(h)
        for m, (p, segs) in merged.items():
            for seg in segs:
                if seg["isthing"]:
                    x0, y0, x1, y1 = _seg_term_bounds(kept.boxes[seg["instance_id"]], size, size)
                    inside = torch.zeros(size, size, dtype=torch.bool)
                    inside[y0:y1, x0:x1] = True  # the box UPSNet crops Yc_i to
                    out[m][0] += int(((p == seg["id"]) & ~inside).sum())
                    out[m][1] += seg["area"]
    return {m: a / max(t, 1) for m, (a, t) in out.items()}

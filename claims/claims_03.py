"""Claims of notebook 03 (YOLACT): the same training, measurements and thresholds as its asserts."""

from functools import cache

from lessons.experiments.yolact import held_out_iou, nms_comparison, train_tiny_yolact


@cache
def _iou(seed):  # one training per seed serves every claim (the process keeps one thread count)
    trained = train_tiny_yolact(seed=seed)
    return held_out_iou(trained.model, trained.test_scenes)


def claim_trained_masks_reach_iou_07(seed):
    """The tiny YOLACT reaches a held-out mask IoU >= 0.7, below the 32x32 resolution limit."""
    iou = _iou(seed)
    return min(
        iou["model"]["all"] - 0.7, iou["resolution limit"]["all"] - iou["model"]["all"]
    ), f"IoU {iou['model']['all']:.3f}"


def claim_prototypes_separate_overlapping_instances(seed):
    """On overlapping instances the model beats the oracle foreground + crop by > 0.03 IoU."""
    iou = _iou(seed)
    gap = iou["model"]["overlapping"] - iou["foreground + crop"]["overlapping"]
    return gap - 0.03, f"{iou['model']['overlapping']:.3f} vs {iou['foreground + crop']['overlapping']:.3f}"


def claim_prototypes_help_most_where_boxes_overlap(seed):
    """The model's gain over the oracle foreground + crop is >= 0.03 IoU larger on overlapping instances than on isolated ones."""
    iou = _iou(seed)
    isolated = iou["model"]["isolated"] - iou["foreground + crop"]["isolated"]
    overlapping = iou["model"]["overlapping"] - iou["foreground + crop"]["overlapping"]
    return (
        overlapping - isolated - 0.03,
        f"gain over the oracle: isolated {isolated:+.3f}, overlapping {overlapping:+.3f}",
    )


def claim_fastnms_drops_duplicates_and_a_few_objects(seed):
    """FastNMS keeps > 5 fewer duplicates than greedy NMS and finds at most 4 objects fewer."""
    r = nms_comparison(seed=seed + 3)
    fast, greedy = r["FastNMS"], r["greedy"]
    dup = greedy["duplicates"] - fast["duplicates"]
    lost = greedy["found"] - fast["found"]
    return min(
        dup - 5, 4.5 - lost
    ), f"duplicates {greedy['duplicates']}->{fast['duplicates']}, found {greedy['found']}->{fast['found']}"

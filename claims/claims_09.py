"""Claims of notebook 09 (CornerNet and CenterNet): each reruns the notebook's experiment for one seed.

The margins use the thresholds of the notebook's asserts.
"""

from lessons.experiments.keypoint_detection import experiment_corner_pooling, experiment_grouping, experiment_speed


def _pooling(seed):
    r = experiment_corner_pooling(seed=seed)
    return (
        r,
        f"AP50 plain {r.ap50['plain']:.3f} pooling {r.ap50['pooling']:.3f}; error plain {r.corner_error['plain']:.2f} px pooling {r.corner_error['pooling']:.2f} px",
    )


_CACHE = {}


def _cached(fn, seed):
    key = (fn.__name__, seed)
    if key not in _CACHE:
        _CACHE[key] = fn(seed)
    return _CACHE[key]


def claim_corner_pooling_raises_ap50(seed):
    """Corner pooling raises AP@0.5 of the tiny corner detector by at least 0.3 over the same layers without it."""
    r, detail = _cached(_pooling, seed)
    return r.ap50["pooling"] - r.ap50["plain"] - 0.3, detail


def claim_corner_pooling_cuts_corner_error(seed):
    """Corner pooling cuts the mean corner error by at least 2 px."""
    r, detail = _cached(_pooling, seed)
    return r.corner_error["plain"] - r.corner_error["pooling"] - 2.0, detail


def _grouping(seed):
    r = experiment_grouping(seed=seed)
    detail = " ".join(f"{k}: fp {r.false_pairs[k]} P {r.precision[k]:.3f} R {r.recall[k]:.3f};" for k in r.precision)
    return r, detail


def claim_embeddings_beat_nearest_pairing(seed):
    """Embedding pairing is at least 0.05 more precise than nearest-corner pairing on crowded scenes."""
    r, detail = _cached(_grouping, seed)
    return r.precision["embedding"] - r.precision["nearest"] - 0.05, detail


def claim_centre_check_halves_false_pairs(seed):
    """The centre-keypoint check removes at least half of the false pairs the embeddings let through."""
    r, detail = _cached(_grouping, seed)
    return 0.5 * r.false_pairs["embedding"] - r.false_pairs["embedding + centre"], detail


def claim_centre_check_keeps_recall(seed):
    """The centre-keypoint check costs at most 0.02 recall."""
    r, detail = _cached(_grouping, seed)
    return 0.02 - (r.recall["embedding"] - r.recall["embedding + centre"]), detail


def claim_corner_decoding_faster(seed):
    """Decoding the corner head is at least 2x faster than decoding the anchor head (same run)."""
    r = experiment_speed(seed=seed)
    detail = f"anchor {r.decode_ms['anchor']:.2f} ms, corner {r.decode_ms['corner']:.2f} ms, ratio {r.ratio:.2f}"
    return r.ratio - 2.0, detail

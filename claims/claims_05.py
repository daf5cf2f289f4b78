"""Claims of notebook 05 (video panoptic segmentation): fusion, tracking terms, VPQ."""

from functools import cache

from lessons.experiments.video import experiment_fusion, experiment_tracking, experiment_warping


@cache
def _fusion(seed):
    return experiment_fusion(seed=seed)


@cache
def _tracking(seed):
    return experiment_tracking(seed=seed)


def claim_fusion_helps_on_veiled_frames(seed):
    """Fusing warped features from t-1 raises mask IoU on veiled frames by at least 0.1."""
    r = _fusion(seed)
    gain = r.iou_veiled_fused - r.iou_veiled_single
    return gain - 0.1, f"veiled IoU {r.iou_veiled_single:.3f} -> {r.iou_veiled_fused:.3f}"


def claim_fusion_neutral_on_clear_frames(seed):
    """On clear frames the fused and per-frame IoU differ by less than 0.06."""
    r = _fusion(seed)
    diff = r.iou_clear_fused - r.iou_clear_single
    return 0.06 - abs(diff), f"clear IoU {r.iou_clear_single:.3f} vs {r.iou_clear_fused:.3f}"


def claim_fusion_is_more_consistent(seed):
    """Fused masks are more consistent in time (warped IoU of consecutive masks) by at least 0.1."""
    r = _fusion(seed)
    gain = r.consistency_fused - r.consistency_single
    return (
        gain - 0.1,
        f"consistency {r.consistency_single:.3f} -> {r.consistency_fused:.3f} (truth {r.consistency_truth:.3f})",
    )


def claim_embedding_saves_crossing(seed):
    """Crossing things of one kind: IoU alone switches ids more often than all terms."""
    r = _tracking(seed)
    s = r.switches["crossing, same kind"]
    return s["IoU only"] - s["all terms"] - 0.5, f"switches IoU only {s['IoU only']}, all terms {s['all terms']}"


def _errors(r, case, name):
    return r.switches[case][name] + r.lost[case][name]


def claim_iou_saves_twins(seed):
    """Twins side by side: embedding only makes more id errors than IoU only."""
    r = _tracking(seed)
    a, b = _errors(r, "twins side by side", "embedding only"), _errors(r, "twins side by side", "IoU only")
    return a - b - 0.5, f"errors embedding only {a}, IoU only {b}"


def claim_label_saves_same_colour_crossing(seed):
    """Crossing things of one colour: adding the label term removes id errors of embedding + IoU."""
    r = _tracking(seed)
    a, b = _errors(r, "crossing, same colour", "embedding + IoU"), _errors(r, "crossing, same colour", "all terms")
    return a - b - 0.5, f"errors embedding + IoU {a}, all terms {b}"


def claim_vpq_falls_without_tracking(seed):
    """VPQ^4 of tracked ids beats fresh ids per frame by at least 0.3."""
    r = _tracking(seed)
    return r.vpq["all terms"][3] - r.vpq["none"][3] - 0.3, (
        f"VPQ^4 all terms {r.vpq['all terms'][3]:.3f}, none {r.vpq['none'][3]:.3f}"
    )


def claim_exact_flow_warps_best(seed):
    """Warping with the exact flow reproduces frame t better than any noisy or zero flow."""
    r = experiment_warping(seed=seed)
    others = min(v for k, v in r.items() if k != "exact")
    return others - r["exact"] - 0.005, " ".join(f"{k} {v:.3f}" for k, v in r.items())


def claim_bad_flow_is_worse_than_none(seed):
    """A flow with 2 px of noise is worse than no warping at all."""
    r = experiment_warping(seed=seed)
    return r["noisy 2 px"] - r["zero"] - 0.01, f"noisy 2 px {r['noisy 2 px']:.3f}, zero {r['zero']:.3f}"


def claim_all_terms_still_lose_detections_at_crossings(seed):
    """The full combination still leaves some detections without an id where things cross."""
    r = _tracking(seed)
    lost = r.lost["crossing, same kind"]["all terms"]
    return lost - 0.5, f"lost {lost} of {r.detections['crossing, same kind']} detections"

"""Claims of notebook 01 (RoIPool vs RoIAlign): the same measurements and thresholds as its asserts."""

from lessons.experiments.roi import STRIDES, pasted_mask_iou, shift_misalignment


def _ratios(seed):
    errors = shift_misalignment(seed=seed).errors
    return {s: (errors["RoIPool", s].mean() / errors["RoIAlign", s].mean()).item() for s in STRIDES}


def _masks(seed):
    ious = pasted_mask_iou(seed=seed).ious
    ops = ("RoIPool", "RoIAlign", "RoIAlign aligned=False")
    mean = {(n, s): ious[n, s].mean().item() for n in ops for s in STRIDES}
    strict = {(n, s): (ious[n, s] >= 0.75).float().mean().item() for n in ops for s in STRIDES}
    loose = {s: (ious["RoIPool", s] >= 0.5).float().mean().item() for s in STRIDES}
    return mean, strict, loose


def claim_roialign_changes_features_less(seed):
    """RoIPool's features change > 4x more than RoIAlign's at strides 4-16, > 1.5x at stride 32."""
    r = _ratios(seed)
    margin = min(min(r[s] for s in (4, 8, 16)) - 4, r[32] - 1.5)
    return margin, " ".join(f"s{s}:{r[s]:.1f}x" for s in STRIDES)


def claim_roialign_masks_better_at_every_stride(seed):
    """RoIAlign's mean pasted-mask IoU beats RoIPool's by > 0.05 at every stride."""
    mean, _, _ = _masks(seed)
    gaps = [mean["RoIAlign", s] - mean["RoIPool", s] for s in STRIDES]
    return min(gaps) - 0.05, " ".join(f"{g:+.2f}" for g in gaps)


def claim_strict_criterion_separates(seed):
    """At IoU >= 0.75, RoIAlign passes > 20 points more masks than RoIPool at strides 8 and 16."""
    _, strict, _ = _masks(seed)
    gaps = [strict["RoIAlign", s] - strict["RoIPool", s] for s in (8, 16)]
    return min(gaps) - 0.2, " ".join(f"{g:+.2f}" for g in gaps)


def claim_loose_criterion_hides_roipool_error(seed):
    """At IoU >= 0.5, RoIPool still passes >= 90 % of masks at strides 4 and 8."""
    _, _, loose = _masks(seed)
    return min(loose[4], loose[8]) - 0.9, f"s4 {loose[4]:.2f} s8 {loose[8]:.2f}"


def claim_aligned_false_is_closer_to_roipool(seed):
    """aligned=False is closer to RoIPool than to RoIAlign (mean IoU) at every stride."""
    mean, _, _ = _masks(seed)
    gaps = [
        (mean["RoIAlign", s] - mean["RoIAlign aligned=False", s])
        - (mean["RoIAlign aligned=False", s] - mean["RoIPool", s])
        for s in STRIDES
    ]
    return min(gaps), " ".join(f"{g:+.2f}" for g in gaps)


def claim_stride_32_loses_accuracy(seed):
    """At stride 32 RoIAlign's IoU drops > 0.05 below stride 16 and RoIPool passes <= 10 % at IoU 0.75."""
    mean, strict, _ = _masks(seed)
    drop = mean["RoIAlign", 16] - mean["RoIAlign", 32]
    return min(drop - 0.05, 0.1 - strict["RoIPool", 32]), f"drop {drop:.2f}, RoIPool strict {strict['RoIPool', 32]:.2f}"

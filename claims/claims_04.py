"""Claims of notebook 04 (UPSNet's unknown class vs the heuristic merge): same experiment, same thresholds."""

from functools import cache

from lessons.experiments.panoptic import MISSES, NOISES, merge_comparison, outside_box_share, thing_false_positives


@cache
def _table(seed):  # one run per seed serves every claim (the process keeps one thread count)
    return merge_comparison(seed=seed)


def claim_unknown_helps_with_misses(seed):
    """With misses (noise 0.5, 1.0), the unknown channel raises things-PQ by > 0.02 and cuts thing FPs."""
    t = _table(seed)
    gains, fps = [], []
    for noise in (0.5, 1.0):
        for miss in (0.25, 0.5):
            gains.append(
                t[noise, miss, "UPSNet + unknown"]["Things"]["pq"]
                - t[noise, miss, "UPSNet, no unknown"]["Things"]["pq"]
            )
            fps.append(
                thing_false_positives(t[noise, miss, "UPSNet, no unknown"])
                - thing_false_positives(t[noise, miss, "UPSNet + unknown"])
            )
    return min(min(gains) - 0.02, min(fps) - 0.5), f"PQ_th gains {min(gains):+.3f}.., fewer FPs {min(fps)}.."


def claim_upsnet_sq_higher_at_low_noise(seed):
    """At noise 0.5 without misses, UPSNet + unknown's SQ beats the heuristic's by > 0.01."""
    t = _table(seed)
    gap = t[0.5, 0.0, "UPSNet + unknown"]["All"]["sq"] - t[0.5, 0.0, "heuristic"]["All"]["sq"]
    return gap - 0.01, f"SQ gap {gap:+.4f}"


def claim_upsnet_pq_higher_at_low_noise(seed):
    """At noise 0.5, UPSNet + unknown's PQ beats the heuristic's by > 0.005 on average over miss rates."""
    t = _table(seed)
    gap = sum(t[0.5, m, "UPSNet + unknown"]["All"]["pq"] - t[0.5, m, "heuristic"]["All"]["pq"] for m in MISSES) / 3
    return gap - 0.005, f"mean PQ gap {gap:+.4f}"


def claim_heuristic_wins_from_noise_1(seed):
    """From noise 1.0 on, the heuristic's PQ beats UPSNet + unknown's by > 0.01 in all 6 settings."""
    t = _table(seed)
    gaps = [
        t[n, m, "heuristic"]["All"]["pq"] - t[n, m, "UPSNet + unknown"]["All"]["pq"] for n in (1.0, 2.0) for m in MISSES
    ]
    fps = [
        thing_false_positives(t[2.0, m, "UPSNet + unknown"]) - thing_false_positives(t[2.0, m, "heuristic"])
        for m in MISSES
    ]
    return min(min(gaps) - 0.01, min(fps) - 0.5), f"min PQ gap {min(gaps):+.3f}, fewer FPs at noise 2: {min(fps)}"


def claim_instances_escape_their_box_without_unknown(seed):
    """Without unknown, > 5 points more instance pixels lie outside their own box (every noise level)."""
    gaps = []
    for noise in NOISES:
        s = outside_box_share(seed=seed, noise=noise, miss=0.25)
        gaps.append(s["UPSNet, no unknown"] - s["UPSNet + unknown"])
    return min(gaps) - 0.05, " ".join(f"{g:+.2f}" for g in gaps)

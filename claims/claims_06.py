"""Claims of notebook 06 (regression vs heatmaps): the same training and the same thresholds as its asserts."""

from functools import cache

from lessons.experiments.heatmaps import regression_vs_heatmaps, unseen_positions


@cache
def _results(seed):  # one training per seed serves every claim (the process keeps one thread count)
    return regression_vs_heatmaps(seed=seed).results


def claim_heatmaps_more_precise(seed):
    """Heatmaps + DARK beat regression by > 0.05 PCK@0.05, with a smaller mean error."""
    r = _results(seed)
    reg, dark = r["coordinate regression"], r["heatmaps + DARK"]
    gap = dark["p05"] - reg["p05"]
    return min(
        gap - 0.05, reg["err"] - dark["err"]
    ), f"PCK {dark['p05']:.3f} vs {reg['p05']:.3f}, err {dark['err']:.2f} vs {reg['err']:.2f}"


def claim_regression_fails_on_unseen_positions(seed):
    """Trained on the left, tested on the right: heatmaps beat regression by > 0.5 PCK@0.1."""
    r = unseen_positions(seed=seed).results
    reg, dark = r["coordinate regression"], r["heatmaps + DARK"]
    return min(
        dark["p10"] - reg["p10"] - 0.5, reg["train"] - 0.8
    ), f"PCK@0.1 {dark['p10']:.3f} vs {reg['p10']:.3f}, reg train {reg['train']:.3f}"


def claim_decoding_is_part_of_the_win(seed):
    """DARK decoding beats argmax decoding of the same heatmaps by > 0.05 PCK@0.05."""
    r = _results(seed)
    gap = r["heatmaps + DARK"]["p05"] - r["heatmaps + argmax"]["p05"]
    return gap - 0.05, f"DARK {r['heatmaps + DARK']['p05']:.3f} vs argmax {r['heatmaps + argmax']['p05']:.3f}"

"""Claims of notebook 12 (perceptual loss): the same measurements and thresholds as its asserts."""

from functools import cache

from lessons.experiments.style import (
    experiment_linear_probe,
    experiment_super_resolution,
    experiment_texture_networks,
)


@cache
def _textures(seed):
    return experiment_texture_networks(seed=seed)


@cache
def _sr(seed):
    return experiment_super_resolution(seed=seed)


def claim_deep_layers_capture_the_long_range_arrangement(seed):
    """Matching relu1_2..relu4_3 instead of relu1_2 only lowers the long-lag autocorrelation error by > 0.05."""
    r = _textures(seed)["random"]
    return r.shallow_long - r.deep_long - 0.05, f"long: relu1_2 only {r.shallow_long:.3f}, all four {r.deep_long:.3f}"


def claim_shallow_layer_alone_gets_the_local_structure(seed):
    """relu1_2 alone matches the short-lag autocorrelation better than all four layers (error lower by > 0.02)."""
    r = _textures(seed)["random"]
    return (
        r.deep_short - r.shallow_short - 0.02,
        f"short: relu1_2 only {r.shallow_short:.3f}, all four {r.deep_short:.3f}",
    )


def claim_feature_loss_restores_more_detail_than_pixel_loss(seed):
    """The random-filter feature loss restores > 0.1 more band energy (ratio to the truth) than the pixel loss."""
    r = _sr(seed)
    gap = r["random"]["energy_ratio"] - r["pixel"]["energy_ratio"]
    return gap - 0.1, f"energy ratio: pixel {r['pixel']['energy_ratio']:.2f}, feature {r['random']['energy_ratio']:.2f}"


def claim_feature_loss_detail_is_not_all_right(seed):
    """The random-filter feature loss's band error is higher than the pixel loss's by > 0.03 (mixed result)."""
    r = _sr(seed)
    gap = r["random"]["band_error"] - r["pixel"]["band_error"]
    return gap - 0.03, f"band error: pixel {r['pixel']['band_error']:.2f}, feature {r['random']['band_error']:.2f}"


def claim_pixel_loss_has_the_best_psnr(seed):
    """The pixel loss has the highest PSNR of bicubic / pixel / feature losses, by > 0.3 dB."""
    r = _sr(seed)
    best_other = max(r[k]["psnr"] for k in r if k != "pixel")
    return r["pixel"]["psnr"] - best_other - 0.3, f"pixel {r['pixel']['psnr']:.2f} dB, next {best_other:.2f} dB"


def claim_trained_filters_know_the_textures(seed):
    """A linear probe on the trained network's relu4_3 beats the random network's by > 0.3 accuracy."""
    r = experiment_linear_probe(seed=seed)
    return r["course"] - r["random"] - 0.3, f"probe accuracy: random {r['random']:.2f}, trained {r['course']:.2f}"


def claim_random_filters_synthesize_textures_better(seed):
    """With all four layers, random filters' long-lag error is lower than the trained network's by > 0.1."""
    r = _textures(seed)
    gap = r["course"].deep_long - r["random"].deep_long
    return gap - 0.1, f"long: random {r['random'].deep_long:.3f}, trained {r['course'].deep_long:.3f}"


def claim_random_filters_super_resolve_better(seed):
    """The random-filter feature loss has a band error lower than the trained network's by > 0.15."""
    r = _sr(seed)
    gap = r["course"]["band_error"] - r["random"]["band_error"]
    return gap - 0.15, f"band error: random {r['random']['band_error']:.2f}, trained {r['course']['band_error']:.2f}"

"""The claims of notebook 11 (CycleGAN), each rerun for a given seed of the notebook's experiments.

Each ``claim_*`` runs the same library experiment the notebook runs
(:mod:`lessons.experiments.cycle`) and returns ``(margin, detail)``, with the same threshold as the
notebook's ``assert``: the margin is positive when the claim holds.
"""

from __future__ import annotations

from functools import cache

from lessons.experiments.cycle import experiment_cycle_losses, experiment_hidden_information, experiment_image_pool

# The thresholds the notebook asserts (kept in one place for the notebook's cells and these claims).
COLLAPSE_RECOVERABLE = 0.6  # GAN only: the output colour tells the input colour at most this often
CYCLE_F_COLOUR = 0.9  # with the cycle loss F(G(x)) has the input's colour at least this often
GAN_F_COLOUR = 0.6  # without it at most this often
IDENTITY_COLOUR = 0.7  # with the identity loss G(x) has the true colour at least this often
HIDDEN_RATIO = 1.25  # keeping only the visible part of G(x) raises F's cycle error at least this much
CYCLE_FALL = 0.5  # the cycle error of the last 20 steps is below this fraction of the first 20


@cache
def _losses(seed: int):
    return experiment_cycle_losses(seed=seed)


@cache
def _hidden(seed: int):
    return experiment_hidden_information(seed=seed)


def claim_gan_only_cannot_go_back(seed: int):
    """GAN only: F(G(x)) has the input's colour for at most 60 % of held-out images."""
    s = _losses(seed).scores
    v = s["GAN only"]["F colour ok"]
    return GAN_F_COLOUR - v, f"GAN only F colour ok {v:.3f}"


def claim_cycle_loss_goes_back(seed: int):
    """With the cycle loss (both runs) F(G(x)) has the input's colour for at least 90 % of images."""
    s = _losses(seed).scores
    v = min(s["GAN + cycle"]["F colour ok"], s["GAN + cycle + identity"]["F colour ok"])
    return v - CYCLE_F_COLOUR, f"worst cycle run F colour ok {v:.3f}"


def claim_cycle_error_lower_than_gan_only(seed: int):
    """Both cycle runs have a lower |F(G(x)) - x| than GAN only."""
    s = _losses(seed).scores
    worst = max(s["GAN + cycle"]["|F(G(x))-x|"], s["GAN + cycle + identity"]["|F(G(x))-x|"])
    gan = s["GAN only"]["|F(G(x))-x|"]
    return gan - worst, f"GAN only {gan:.3f}, worst cycle run {worst:.3f}"


def claim_gan_only_colour_collapses(seed: int):
    """GAN only: the output colour tells the input colour at most 60 % of the time (chance ~0.39)."""
    v = _losses(seed).scores["GAN only"]["recoverable"]
    return COLLAPSE_RECOVERABLE - v, f"GAN only recoverable {v:.3f}"


def claim_identity_gets_colours_right(seed: int):
    """GAN + cycle + identity: G(x) has the true colour for at least 70 % of held-out images."""
    v = _losses(seed).scores["GAN + cycle + identity"]["colour ok"]
    return v - IDENTITY_COLOUR, f"identity colour ok {v:.3f}"


def claim_cycle_error_falls(seed: int):
    """In both cycle runs the cycle error of the last 20 steps is below half that of the first 20."""
    c = _losses(seed).curves
    worst = max(c[n]["cycle last"] / c[n]["cycle first"] for n in ("GAN + cycle", "GAN + cycle + identity"))
    return CYCLE_FALL - worst, f"worst last/first {worst:.3f}"


def claim_hidden_information(seed: int):
    """X -> grey: keeping only the visible part of G(x) raises F's cycle error by at least 25 %."""
    h = _hidden(seed)
    ratio = h.cycle_error_visible / h.cycle_error
    return ratio - HIDDEN_RATIO, (
        f"|F(G(x))-x| {h.cycle_error:.3f}, visible only {h.cycle_error_visible:.3f}, "
        f"F colour {h.colour_from_output:.2f} vs {h.colour_from_visible:.2f}"
    )


def claim_image_pool_half_old(seed: int):
    """ImagePool(50), batches of 8: between 45 % and 55 % of the fakes shown are old, 10-15 steps old on average."""
    r = experiment_image_pool(seed=seed)
    margin = min(r["old share"] - 0.45, 0.55 - r["old share"], r["mean age"] - 10, 15 - r["mean age"])
    return margin, f"old share {r['old share']:.3f}, mean age {r['mean age']:.1f}"

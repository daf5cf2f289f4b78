"""Claims of notebook 10 (conditional GANs, pix2pix): each reruns the notebook's experiment for a seed.

The margins use the same thresholds as the notebook's asserts. Each experiment runs once per seed
(cached), however many claims read it.
"""

from __future__ import annotations

from functools import lru_cache

from lessons.experiments.gan import (
    experiment_conditional_gan,
    experiment_one_to_many,
    experiment_pix2pix,
    experiment_super_resolution,
)

one_to_many = lru_cache(maxsize=None)(lambda seed: experiment_one_to_many(seed=seed))
conditional = lru_cache(maxsize=None)(lambda seed: experiment_conditional_gan(seed=seed))
super_resolution = lru_cache(maxsize=None)(lambda seed: experiment_super_resolution(seed=seed))
pix2pix = lru_cache(maxsize=None)(lambda seed: experiment_pix2pix(seed=seed))


def claim_gan_picks_an_answer(seed: int):
    """One input, nine answers: GAN outputs land on an answer (< 0.1), L2's and L1's stay >= 0.3 away."""
    r = one_to_many(seed)
    gan, l2, l1 = r["gan"]["to_nearest"], r["l2"]["to_nearest"], r["l1"]["to_nearest"]
    return min(0.1 - gan, l2 - 0.3, l1 - 0.3), f"to nearest answer: gan {gan:.3f}, l2 {l2:.3f}, l1 {l1:.3f}"


def claim_l2_mean_l1_median(seed: int):
    """L2's output is the mean of the answers and L1's their per-pixel median (both within 0.1)."""
    r = one_to_many(seed)
    to_mean, to_median = r["l2"]["to_mean"], r["l1"]["to_median"]
    return min(0.1 - to_mean, 0.1 - to_median), f"l2 to mean {to_mean:.3f}, l1 to median {to_median:.3f}"


def claim_condition_selects_the_mode(seed: int):
    """The cGAN produces the requested mode (accuracy >= 0.9); the plain GAN cannot (<= 0.4)."""
    r = conditional(seed)
    cond, uncond = r["conditional"]["accuracy"], r["unconditional"]["accuracy"]
    return min(cond - 0.9, 0.4 - uncond), f"accuracy: conditional {cond:.3f}, unconditional {uncond:.3f}"


def claim_l1_super_resolution_beats_bilinear_but_stays_blurry(seed: int):
    """×4 SR trained with L1: >= 0.1 dB more PSNR than bilinear, yet < 0.1 of the ground truth's fine detail."""
    r = super_resolution(seed)
    gain, sharp = r["L1"]["psnr"] - r["bilinear"]["psnr"], r["L1"]["sharpness"]
    return min(gain - 0.1, 0.1 - sharp), f"PSNR gain {gain:.3f} dB, sharpness {sharp:.3f}"


def claim_adversarial_super_resolution_restores_fine_detail(seed: int):
    """×4 SR: L1 + adversarial has a spectral gap >= 0.1 decades smaller than L1 alone."""
    r = super_resolution(seed)
    l1, adv = r["L1"]["spectral_gap"], r["L1 + adversarial"]["spectral_gap"]
    return l1 - adv - 0.1, f"spectral gap: L1 {l1:.3f}, L1 + adversarial {adv:.3f} decades"


def claim_l1_super_resolution_wins_psnr(seed: int):
    """×4 SR: L1 alone has >= 0.3 dB more PSNR than L1 + adversarial."""
    r = super_resolution(seed)
    l1, adv = r["L1"]["psnr"], r["L1 + adversarial"]["psnr"]
    return l1 - adv - 0.3, f"PSNR: L1 {l1:.2f} dB, L1 + adversarial {adv:.2f} dB"


def claim_pix2pix_l1_only_is_blurry(seed: int):
    """pix2pix, L1 only: less than half the ground truth's fine detail (sharpness < 0.5), and cGAN only has >= 0.1 more."""
    r = pix2pix(seed)
    s_l1, s_gan = r["L1 only"]["sharpness"], r["cGAN only"]["sharpness"]
    return min(0.5 - s_l1, s_gan - s_l1 - 0.1), f"sharpness: L1 only {s_l1:.3f}, cGAN only {s_gan:.3f}"


def claim_pix2pix_gan_only_is_unfaithful(seed: int):
    """pix2pix, cGAN only: at least 0.03 further from the ground truth (mean L1) than L1 only and L1 + cGAN."""
    r = pix2pix(seed)
    l1, gan, both = r["L1 only"]["l1"], r["cGAN only"]["l1"], r["L1 + cGAN"]["l1"]
    return min(gan - l1, gan - both) - 0.03, f"L1 error: L1 only {l1:.3f}, cGAN only {gan:.3f}, both {both:.3f}"

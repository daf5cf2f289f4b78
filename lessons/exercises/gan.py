"""Checks for the exercises of notebook 10 (conditional GANs, pix2pix).

* 10.1 :func:`check_conditional_input` — what the conditional discriminator sees: ``cat(A, B)``.
* 10.2 :func:`check_pix2pix_generator_loss` — the generator's loss ``GAN(D(A, G(A)), real) + λ L1``.
* 10.3 :func:`check_receptive_field_size` — the receptive field of a chain of convolutions.

Each builds a seeded battery (edge cases first) and compares the student's function with
:mod:`lessons.gan`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from lessons.exercises import Case, CheckReport, Hint, Mistake, check_function
from lessons.gan import discriminator_input, pix2pix_generator_loss, receptive_field

__all__ = ["check_pix2pix_generator_loss", "check_conditional_input", "check_receptive_field_size"]


# ----------------------------------------------------------------------------- references


def reference_pix2pix_generator_loss(pred_fake: Tensor, fake_b: Tensor, real_b: Tensor, lambda_l1: float) -> Tensor:
    """``BCEWithLogits(pred_fake, 1) + lambda_l1 * mean|fake_b - real_b|``."""
    return pix2pix_generator_loss(pred_fake, fake_b, real_b, lambda_l1=lambda_l1, gan_mode="vanilla")


def reference_conditional_input(a: Tensor, b: Tensor) -> Tensor:
    """``cat(A, B)`` along the channels: ``(B, Ca, H, W), (B, Cb, H, W) -> (B, Ca + Cb, H, W)``."""
    return discriminator_input(a, b)


def reference_receptive_field_size(layers: Sequence[tuple[int, int]]) -> int:
    """Receptive field of convolutions given as ``(kernel, stride)`` pairs, first layer first."""
    return receptive_field(nn.Sequential(*(nn.Conv2d(1, 1, k, stride=s) for k, s in layers)))


# ----------------------------------------------------------------------------- 10.2


def _bce_real(pred_fake: Tensor) -> Tensor:
    return F.binary_cross_entropy_with_logits(pred_fake, torch.ones_like(pred_fake))


LOSS_MISTAKES = [
    Mistake(
        "the label 0 (fake) instead of 1",
        lambda p, f, r, lam: F.binary_cross_entropy_with_logits(p, torch.zeros_like(p)) + lam * (f - r).abs().mean(),
        Hint("The label for the generator's loss is 1 (real), not 0: G is rewarded when D is fooled."),
    ),
    Mistake(
        "a squared error instead of L1",
        lambda p, f, r, lam: _bce_real(p) + lam * ((f - r) ** 2).mean(),
        Hint("pix2pix's reconstruction term is L1: absolute differences, not squared (L1 blurs less)."),
    ),
    Mistake(
        "λ on the adversarial term",
        lambda p, f, r, lam: lam * _bce_real(p) + (f - r).abs().mean(),
        Hint("L_G = GAN + λ · L1: λ weighs the L1 term, not the adversarial one."),
    ),
    Mistake(
        "λ on both terms",
        lambda p, f, r, lam: lam * (_bce_real(p) + (f - r).abs().mean()),
        Hint("L_G = GAN + λ · L1: λ weighs the L1 term only, not both."),
    ),
    Mistake(
        "an L1 sum instead of a mean",
        lambda p, f, r, lam: _bce_real(p) + lam * (f - r).abs().sum(),
        Hint("Average over every element (a mean, like nn.L1Loss), not a sum."),
    ),
    Mistake(
        "the critic's score -D instead of a cross-entropy",
        lambda p, f, r, lam: -p.mean() + lam * (f - r).abs().mean(),
        Hint(
            "pix2pix's vanilla GAN loss is the binary cross-entropy on logits against the label 'real' "
            "(F.binary_cross_entropy_with_logits); -mean(D) is the Wasserstein critic's loss."
        ),
    ),
]


def check_pix2pix_generator_loss(student: Callable[..., Tensor]) -> CheckReport:
    """Exercise 10.2: ``pix2pix_generator_loss(pred_fake, fake_b, real_b, lambda_l1) -> Tensor[]``."""
    g = torch.Generator().manual_seed(101)
    zeros = torch.zeros(1, 1, 2, 2)
    b = torch.zeros(1, 1, 2, 2)
    off = torch.tensor([[[[0.5, -0.5], [0.0, 0.0]]]])  # mean |diff| = 0.25, mean diff^2 = 0.125, mean diff = 0
    cases = [
        Case(
            "logits 0 everywhere, G(A) = B, λ = 1: only the adversarial term, ln 2",
            (zeros, b.clone(), b.clone(), 1.0),
            hint="The generator wants D to say 'real': compare D's logits with the label 1, through "
            "binary cross-entropy on logits (F.binary_cross_entropy_with_logits), averaged over patches.",
        ),
        Case(
            "confident 'real' logits (+4), G(A) = B, λ = 1: the adversarial term is small, log(1 + e^-4)",
            (torch.full((1, 1, 2, 2), 4.0), b.clone(), b.clone(), 1.0),
            hint="The label for the generator's loss is 1 (real), not 0: G is rewarded when D is fooled.",
        ),
        Case(
            "logits 0, G(A) - B = (0.5, -0.5, 0, 0), λ = 1: ln 2 + mean|G(A) - B| = ln 2 + 0.25",
            (zeros, off.clone(), b.clone(), 1.0),
            hint=Hint(
                "L1 is the mean of the absolute differences — not squared, not a sum, and not the "
                "difference's mean (which is 0 here).",
                "(fake_b - real_b).abs().mean().",
            ),
        ),
        Case(
            "logits 0, the same difference, λ = 100: λ multiplies the L1 term only",
            (zeros, off.clone(), b.clone(), 100.0),
            hint="L_G = GAN + λ · L1: λ weighs the L1 term, not the adversarial one, and not both.",
        ),
        Case("logits 0, G(A) = B, λ = 100: still ln 2", (zeros, b.clone(), b.clone(), 100.0)),
        Case(
            "λ = 0: cGAN only",
            (torch.full((1, 1, 2, 2), -1.0), off.clone(), b.clone(), 0.0),
        ),
    ]
    for shape, lam in (((2, 1, 4, 4), 100.0), ((3, 1, 3, 3), 10.0)):
        pred = torch.randn(shape[0], 1, 2, 2, generator=g)
        fake, real = torch.randn(shape, generator=g), torch.randn(shape, generator=g)
        cases.append(
            Case(
                f"a random batch of {shape[0]}, λ = {lam:g}",
                (pred, fake, real, lam),
                hint="Average over every element (a mean, like nn.L1Loss), not a sum.",
            )
        )
    return check_function(
        student,
        reference_pix2pix_generator_loss,
        cases,
        exercise="10.2",
        name="pix2pix_generator_loss",
        atol=1e-5,
        rtol=1e-5,
        hint=Hint(
            "Return a 0-d tensor: the adversarial term (the generator wants D to say 'real') plus λ times the L1 term.",
            "F.binary_cross_entropy_with_logits(pred_fake, torch.ones_like(pred_fake)) + lambda_l1 * "
            "(fake_b - real_b).abs().mean().",
        ),
        mistakes=LOSS_MISTAKES,
    )


# ----------------------------------------------------------------------------- 10.1


def check_conditional_input(student: Callable[..., Tensor]) -> CheckReport:
    """Exercise 10.1: ``conditional_input(a, b) -> Tensor[B, Ca + Cb, H, W]``."""
    g = torch.Generator().manual_seed(102)
    a1 = torch.arange(4.0).view(1, 1, 2, 2)
    b3 = -torch.arange(1.0, 13.0).view(1, 3, 2, 2)
    cases = [
        Case("A with 1 channel, B with 3: the result has 4 channels", (a1, b3)),
        Case("A with 3 channels, B with 1: A's channels come first", (b3.clone(), a1.clone())),
        Case(
            "a batch of two: each image keeps its own condition",
            (torch.randn(2, 2, 3, 3, generator=g), torch.randn(2, 1, 3, 3, generator=g)),
        ),
        Case(
            "a random batch of 4, 3 + 3 channels, 8x8",
            (torch.randn(4, 3, 8, 8, generator=g), torch.randn(4, 3, 8, 8, generator=g)),
        ),
    ]
    return check_function(
        student,
        reference_conditional_input,
        cases,
        exercise="10.1",
        name="conditional_input",
        atol=0.0,
        rtol=0.0,
        hint=_diagnose_conditional_input(student),
    )


def _diagnose_conditional_input(student: Callable[..., Tensor]) -> str:
    """The hint for the classic mistake the student's output matches, found on one probe pair."""
    a, b = torch.full((2, 1, 2, 2), 1.0), torch.full((2, 3, 2, 2), 2.0)
    try:
        got = student(a.clone(), b.clone())
    except Exception:  # the stub or a crash: check_function reports it with its case
        return "Stack A and B along the channel dimension of (B, C, H, W)."
    if not isinstance(got, Tensor):
        return "Return a tensor."
    if got.shape == (2, 4, 2, 2) and torch.equal(got, torch.cat([b, a], dim=1)):
        return "The order is cat(A, B): the condition first, then the image being judged."
    if got.shape == (2, 3, 2, 2):
        return "Concatenate; do not add or average A and B (their channels must stay separate)."
    if got.shape[0] != 2:
        return "Stack along the channel dimension (dim=1) of (B, C, H, W), not along the batch (dim=0)."
    return "Stack A and B along the channel dimension (dim=1), A first."


# ----------------------------------------------------------------------------- 10.3


def _field_variant(layers, *, order: str = "backward", start: int = 1, strides: bool = True, product: bool = False):
    """The receptive field with one step changed (the wrong answers of exercise 10.3)."""
    if product:
        r = 1
        for k, _ in layers:
            r *= k
        return r
    r = start
    for k, s in reversed(layers) if order == "backward" else layers:
        r = (r - 1) * (s if strides else 1) + k
    return r


FIELD_MISTAKES = [
    Mistake(
        "walked from the input to the output",
        lambda layers: _field_variant(layers, order="forward"),
        Hint(
            "You walked the layers from the input to the output. A stride multiplies the field of the "
            "layers *after* it, so start at the output pixel and walk back to the input.",
            "r = 1; for k, s in reversed(layers): r = (r - 1) * s + k.",
        ),
    ),
    Mistake(
        "the strides left out",
        lambda layers: _field_variant(layers, strides=False),
        Hint(
            "Strides count: a stride multiplies the field of the layers after it (each of their steps "
            "covers s input pixels).",
            "r = 1; for k, s in reversed(layers): r = (r - 1) * s + k.",
        ),
    ),
    Mistake(
        "the kernel sizes multiplied",
        lambda layers: _field_variant(layers, product=True),
        Hint(
            "Fields do not multiply: two 3x3 layers see 5x5, not 9x9; each layer widens the field by "
            "k - 1 steps of the layers' stride."
        ),
    ),
    Mistake(
        "started from a field of 0",
        lambda layers: _field_variant(layers, start=0),
        Hint("Start from a field of 1 (one output pixel) before going through any layer."),
    ),
]


def check_receptive_field_size(student: Callable[..., int]) -> CheckReport:
    """Exercise 10.3: ``receptive_field_size(layers) -> int`` for ``(kernel, stride)`` pairs."""
    patchgan = [(4, 2)] * 3 + [(4, 1)] * 2
    cases = [
        Case(
            "no layers: one pixel sees itself",
            ([],),
            hint="Start from a field of 1 (one output pixel) before going through any layer.",
        ),
        Case(
            "one 3x3 convolution, stride 1: 3",
            ([(3, 1)],),
            hint="A layer with kernel k turns a field of r into (r - 1) * s + k.",
        ),
        Case(
            "two 3x3 convolutions, stride 1: 5",
            ([(3, 1), (3, 1)],),
            hint="Fields do not multiply: two 3x3 layers see 5x5, not 9x9 ((r - 1) * s + k).",
        ),
        Case(
            "a stride-2 3x3 convolution, then a 3x3: 7",
            ([(3, 2), (3, 1)],),
            hint=Hint(
                "Strides count: after a stride-2 layer, each step of a later layer covers 2 input pixels; a "
                "stride multiplies the field of the layers *after* it.",
                "Walk from the output back to the input (last layer first): r = 1; for k, s in "
                "reversed(layers): r = (r - 1) * s + k.",
            ),
        ),
        Case(
            "a 3x3, then a stride-2 3x3: 5 (the order matters)",
            ([(3, 1), (3, 2)],),
            hint="Walk the layers in reverse order (reversed(layers)); the first layer's stride does "
            "not enlarge the field of the layers before it.",
        ),
        Case("the 70x70 PatchGAN: three 4x4 stride-2 and two 4x4 stride-1 convolutions", (patchgan,)),
        Case("the 1-layer PatchGAN: 16", ([(4, 2), (4, 1), (4, 1)],)),
        Case("the 5-layer PatchGAN: 286", ([(4, 2)] * 5 + [(4, 1)] * 2,)),
    ]
    return check_function(
        student,
        reference_receptive_field_size,
        cases,
        exercise="10.3",
        name="receptive_field_size",
        hint="Return a Python int.",
        mistakes=FIELD_MISTAKES,
    )

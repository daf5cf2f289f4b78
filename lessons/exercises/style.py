"""Exercise checks for notebook 12 (perceptual loss): the Gram matrix and the multi-layer style loss.

* 12.1 ``gram_matrix(features)``: ``Tensor[B, C, H, W] -> Tensor[B, C, C]``, ``F F^T / (C*H*W)``
  (Johnson et al. 2016, arXiv:1603.08155, eq. 3).
* 12.2 ``style_loss(features, style_grams, weights)``: ``sum_j w_j * ||G_j - A_j||_F^2`` (eq. 4: the
  squared Frobenius norm, summed over the ``C*C`` entries), averaged over the batch, with the style
  Gram matrices broadcast over the batch.

Each check compares the student's function with :mod:`lessons.style` on fixed edge cases first, then
seeded random ones (see :func:`lessons.exercises.check_function`). The cases are ordered so that
each classic mistake fails first on the case whose hint names it:

* 12.1: no normalization or ``F^T F`` instead of ``F F^T`` (case 2), dividing by ``H*W`` only
  (case 3), mixing the images of a batch (case 6);
* 12.2: the norm instead of its square (case 2), a mean over the ``C*C`` entries as in
  ``pytorch/examples`` (case 3), a missing layer weight (case 4), a sum over the batch or only its
  first image (case 6).

The hand-computed case ``arange(12).view(1, 2, 2, 3)``: the channel rows are ``0..5`` and ``6..11``;
their dot products are ``0^2+...+5^2 = 55``, ``0*6+...+5*11 = 145`` and ``6^2+...+11^2 = 451``;
divided by ``C*H*W = 12`` they give ``[[4.5833, 12.0833], [12.0833, 37.5833]]``.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from lessons.exercises import Case, CheckReport, Hint, Mistake, check_function
from lessons.style import gram_matrix, style_loss

__all__ = ["check_gram_matrix", "check_style_loss"]


def _randn(*shape: int, seed: int) -> torch.Tensor:
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed))


def _gram_variant(features: torch.Tensor, *, norm: str = "chw", mix: bool = False):
    """:func:`gram_matrix` with one step changed (the wrong answers of exercise 12.1)."""
    b, c, h, w = features.shape
    f = features.reshape(b, c, h * w)  # (B, C, HW)
    if mix:
        flat = f.transpose(0, 1).reshape(c, b * h * w)  # (C, B*HW): the images of the batch mixed
        g = (flat @ flat.T).expand(b, c, c)  # (B, C, C)
    else:
        g = f @ f.transpose(1, 2)  # (B, C, C)
    return g / {"chw": c * h * w, "hw": h * w, "none": 1}[norm]


GRAM_MISTAKES = [
    Mistake(
        "no normalization",
        lambda x: _gram_variant(x, norm="none"),
        Hint(
            "The products are divided by the number of values C*H*W (eq. 3), so layers of different "
            "sizes give Gram matrices of comparable scale."
        ),
    ),
    Mistake(
        "divided by H*W only",
        lambda x: _gram_variant(x, norm="hw"),
        Hint("The normalization counts the channels too: divide by C*H*W, not only by H*W."),
    ),
    Mistake(
        "the images of the batch mixed",
        lambda x: _gram_variant(x, mix=True),
        Hint(
            "One Gram matrix per image: do not mix the images of a batch in one sum of products.",
            "torch.bmm(F, F.transpose(1, 2)) or torch.einsum('bik,bjk->bij', F, F) with F = features.flatten(2).",
        ),
    ),
]


def _style_variant(features, style_grams, weights, *, square=True, entries="sum", batch="mean", weighted=True):
    """:func:`style_loss` with one step changed (the wrong answers of exercise 12.2)."""
    total = 0.0
    for name, w in weights.items():
        d = (gram_matrix(features[name]) - style_grams[name]) ** 2  # (B, C, C)
        per_image = d.sum(dim=(-2, -1)) if entries == "sum" else d.mean(dim=(-2, -1))  # (B,)
        per_image = per_image if square else per_image.sqrt()
        value = {"mean": per_image.mean(), "sum": per_image.sum(), "first": per_image[0]}[batch]
        total = total + (w if weighted else 1.0) * value
    return torch.as_tensor(total)


STYLE_MISTAKES = [
    Mistake(
        "the norm instead of its square",
        lambda f, s, weights: _style_variant(f, s, weights, square=False),
        Hint("Eq. 4 is the *squared* Frobenius norm: no square root."),
    ),
    Mistake(
        "a mean over the C*C entries",
        lambda f, s, weights: _style_variant(f, s, weights, entries="mean"),
        Hint(
            "The squared Frobenius norm sums the squares over all C*C entries of a Gram matrix; a mean over "
            "them (F.mse_loss, as pytorch/examples does) is C^2 times smaller."
        ),
    ),
    Mistake(
        "the layer weights left out",
        lambda f, s, weights: _style_variant(f, s, weights, weighted=False),
        Hint("Multiply each layer's loss by its weight."),
    ),
    Mistake(
        "a sum over the batch",
        lambda f, s, weights: _style_variant(f, s, weights, batch="sum"),
        Hint(
            "Sum each image's squares over (C, C), then take the mean over the batch, not the sum: the "
            "loss of a batch of 3 should not be 3 times the loss of one image."
        ),
    ),
    Mistake(
        "the first image of the batch only",
        lambda f, s, weights: _style_variant(f, s, weights, batch="first"),
        Hint(
            "Compare every image of the batch with the style Gram matrix (it broadcasts over the batch), then average."
        ),
    ),
]


def check_gram_matrix(student: Callable) -> CheckReport:
    """Exercise 12.1: check ``gram_matrix(features) -> Tensor[B, C, C]`` normalized by ``C*H*W``."""
    cases = [
        Case(
            "one channel, one pixel: [[x^2]] / 1",
            (torch.tensor([[[[3.0]]]]),),
            hint="With C = H = W = 1 the Gram matrix is the square of the single value.",
        ),
        Case(
            "one channel of 2 x 3 pixels: [[sum of squares / 6]]",
            (torch.arange(6.0).view(1, 1, 2, 3),),
            hint="The Gram matrix is C x C (here 1 x 1: one channel), the sum over positions of products "
            "of channel values, divided by the number of values C*H*W.",
        ),
        Case(
            "three channels of one pixel each (H = W = 1)",
            (torch.tensor([[[[1.0]], [[2.0]], [[3.0]]]]),),
            hint="The normalization counts the channels too: divide by C*H*W, not only by H*W.",
        ),
        Case(
            "hand-computed: arange(12).view(1, 2, 2, 3) gives [[4.5833, 12.0833], [12.0833, 37.5833]]",
            (torch.arange(12.0).view(1, 2, 2, 3),),
            hint="The raw products F F^T are [[55, 145], [145, 451]]; eq. 3 divides them by C*H*W = 12.",
        ),
        Case(
            "a non-square map, H != W",
            (_randn(1, 3, 2, 5, seed=1),),
            hint="One row per channel: F has shape (B, C, H*W), and F F^T is (B, C, C), not (B, H*W, H*W).",
        ),
        Case(
            "a batch of two images (one Gram matrix each)",
            (_randn(2, 4, 3, 3, seed=2),),
            hint=Hint(
                "One Gram matrix per image: do not mix the images of a batch.",
                "Use torch.bmm (batched) or torch.einsum('bik,bjk->bij', F, F) with F = features.flatten(2).",
            ),
        ),
        Case("float64 features keep their dtype", (_randn(2, 3, 4, 4, seed=3).double(),)),
        Case("a larger map: 8 channels, 6 x 7", (_randn(3, 8, 6, 7, seed=4),)),
    ]
    return check_function(
        student,
        gram_matrix,
        cases,
        exercise="12.1",
        name="gram_matrix",
        atol=1e-5,
        rtol=1e-4,
        hint=Hint(
            "One C x C matrix per image: the dot products of the channels' rows of values, normalized by the "
            "number of values C*H*W; the result is (B, C, C).",
            "F = features.flatten(2) (shape (B, C, H*W)); return torch.bmm(F, F.transpose(1, 2)) / (C * H * W).",
        ),
        mistakes=GRAM_MISTAKES,
    )


def _layers(shapes: dict[str, tuple[int, ...]], seed: int) -> dict[str, torch.Tensor]:
    return {name: _randn(*shape, seed=seed + i).abs() for i, (name, shape) in enumerate(shapes.items())}


def check_style_loss(student: Callable) -> CheckReport:
    """Exercise 12.2: check ``style_loss(features, style_grams, weights) -> Tensor[]``."""
    single = {"relu1_2": torch.tensor([[[[2.0]]]])}  # G = [[4]]
    single_style = {"relu1_2": torch.tensor([[[1.0]]])}  # difference 3: squared 9, norm 3
    one = _layers({"relu1_2": (1, 3, 4, 4)}, seed=10)
    one_style = {"relu1_2": gram_matrix(_randn(1, 3, 4, 4, seed=20).abs())}
    two_shapes = {"relu1_2": (1, 4, 8, 8), "relu2_2": (1, 6, 4, 4)}
    two = _layers(two_shapes, seed=30)
    two_style = {k: gram_matrix(v) for k, v in _layers(two_shapes, seed=40).items()}
    batch_shapes = {"relu1_2": (3, 4, 6, 6), "relu2_2": (3, 5, 3, 3), "relu3_3": (3, 6, 2, 2)}
    batch = _layers(batch_shapes, seed=50)
    batch_style = {k: gram_matrix(v[:1]) for k, v in _layers(batch_shapes, seed=60).items()}
    cases = [
        Case(
            "identical Gram matrices give 0",
            (one, {"relu1_2": gram_matrix(one["relu1_2"])}),
            kwargs={"weights": {"relu1_2": 1.0}},
        ),
        Case(
            "one 1x1 Gram matrix, [[4]] against [[1]]: (4 - 1)^2 = 9",
            (single, single_style),
            kwargs={"weights": {"relu1_2": 1.0}},
            hint="Eq. 4 is the *squared* Frobenius norm: no square root.",
        ),
        Case(
            "one layer of 3 channels, weight 1",
            (one, one_style),
            kwargs={"weights": {"relu1_2": 1.0}},
            hint="The squared Frobenius norm sums the squares over all C*C entries of a Gram matrix; a "
            "mean over them (F.mse_loss, as pytorch/examples does) is C^2 times smaller.",
        ),
        Case(
            "one layer, weight 2.5",
            (one, one_style),
            kwargs={"weights": {"relu1_2": 2.5}},
            hint="Multiply each layer's loss by its weight.",
        ),
        Case(
            "two layers with different weights",
            (two, two_style),
            kwargs={"weights": {"relu1_2": 1.0, "relu2_2": 4.0}},
            hint="Sum the weighted per-layer losses; each layer has its own number of channels.",
        ),
        Case(
            "a batch of 3 against one style image (broadcast the style Gram, average the images)",
            (batch, batch_style),
            kwargs={"weights": {"relu1_2": 1.0, "relu2_2": 0.5, "relu3_3": 2.0}},
            hint="Compare every image of the batch with the style Gram (batch size 1), sum each image's "
            "squares over (C, C), then take the mean over the batch, not the sum.",
        ),
        Case(
            "a layer with weight 0 does not count",
            (two, two_style),
            kwargs={"weights": {"relu1_2": 0.0, "relu2_2": 1.0}},
        ),
    ]
    return check_function(
        student,
        style_loss,
        cases,
        exercise="12.2",
        name="style_loss",
        atol=1e-6,
        rtol=1e-4,
        hint=Hint(
            "Per layer, compare each image's Gram matrix with the style's (squared Frobenius norm), average over "
            "the batch and weigh the layer; then add the layers up.",
            "sum over name, w in weights.items() of w * ((gram_matrix(features[name]) - style_grams[name]) ** 2)"
            ".sum(dim=(-2, -1)).mean().",
        ),
        mistakes=STYLE_MISTAKES,
    )

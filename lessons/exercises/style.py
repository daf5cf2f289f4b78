"""Exercise checks for notebook 12 (perceptual loss): the Gram matrix and the multi-layer style loss.

* 12.1 ``gram_matrix(features)``: ``Tensor[B, C, H, W] -> Tensor[B, C, C]``, ``F F^T / (C*H*W)``.
* 12.2 ``style_loss(features, style_grams, weights)``: ``sum_j w_j * mean((G_j - A_j)^2)`` over the
  layers of two dicts, with the style Gram matrices broadcast over the batch.

Each check compares the student's function with :mod:`lessons.style` on fixed edge cases first,
then seeded random ones (see :func:`lessons.exercises.check_function`).
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from lessons.exercises import Case, CheckReport, check_function
from lessons.style import gram_matrix, style_loss

__all__ = ["check_gram_matrix", "check_style_loss"]


def _randn(*shape: int, seed: int) -> torch.Tensor:
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed))


def check_gram_matrix(student: Callable) -> CheckReport:
    """Exercise 12.1: check ``gram_matrix(features) -> Tensor[B, C, C]`` normalized by ``C*H*W``."""
    cases = [
        Case("one channel, one pixel: [[x^2]] / 1", (torch.tensor([[[[3.0]]]]),),
             hint="With C = H = W = 1 the Gram matrix is the square of the single value."),
        Case("REFERENCES.md: arange(12).view(1, 2, 2, 3)", (torch.arange(12.0).view(1, 2, 2, 3),),
             hint="Reshape to (B, C, H*W), multiply by the transpose (B, H*W, C), divide by C*H*W."),
        Case("a non-square map, H != W", (_randn(1, 3, 2, 5, seed=1),),
             hint="Flatten H and W together: features.reshape(B, C, H * W)."),
        Case("a batch of two images (one Gram matrix each)", (_randn(2, 4, 3, 3, seed=2),),
             hint="Use torch.bmm (batched) or einsum('bik,bjk->bij'); do not mix the images of a batch."),
        Case("float64 features keep their dtype", (_randn(2, 3, 4, 4, seed=3).double(),)),
        Case("a larger map: 8 channels, 6 x 7", (_randn(3, 8, 6, 7, seed=4),)),
    ]
    return check_function(
        student, gram_matrix, cases, exercise="12.1", name="gram_matrix", atol=1e-5, rtol=1e-4,
        hint="G = F F^T / (C*H*W) with F of shape (B, C, H*W); the result is (B, C, C).",
    )


def _layers(shapes: dict[str, tuple[int, ...]], seed: int) -> dict[str, torch.Tensor]:
    return {name: _randn(*shape, seed=seed + i).abs() for i, (name, shape) in enumerate(shapes.items())}


def check_style_loss(student: Callable) -> CheckReport:
    """Exercise 12.2: check ``style_loss(features, style_grams, weights) -> Tensor[]``."""
    one = _layers({"relu1_2": (1, 3, 4, 4)}, seed=10)
    one_style = {"relu1_2": gram_matrix(_randn(1, 3, 4, 4, seed=20).abs())}
    two_shapes = {"relu1_2": (1, 4, 8, 8), "relu2_2": (1, 6, 4, 4)}
    two = _layers(two_shapes, seed=30)
    two_style = {k: gram_matrix(v) for k, v in _layers(two_shapes, seed=40).items()}
    batch_shapes = {"relu1_2": (3, 4, 6, 6), "relu2_2": (3, 5, 3, 3), "relu3_3": (3, 6, 2, 2)}
    batch = _layers(batch_shapes, seed=50)
    batch_style = {k: gram_matrix(v[:1]) for k, v in _layers(batch_shapes, seed=60).items()}
    cases = [
        Case("identical Gram matrices give 0", (one, {"relu1_2": gram_matrix(one["relu1_2"])}),
             kwargs={"weights": {"relu1_2": 1.0}}),
        Case("one layer, weight 1", (one, one_style), kwargs={"weights": {"relu1_2": 1.0}},
             hint="Per layer: the mean (not the sum) of (G - A)^2 over the B*C*C entries."),
        Case("one layer, weight 2.5", (one, one_style), kwargs={"weights": {"relu1_2": 2.5}},
             hint="Multiply each layer's loss by its weight."),
        Case("two layers with different weights", (two, two_style),
             kwargs={"weights": {"relu1_2": 1.0, "relu2_2": 4.0}},
             hint="Sum the weighted per-layer losses; each layer has its own number of channels."),
        Case("a layer with weight 0 does not count", (two, two_style),
             kwargs={"weights": {"relu1_2": 0.0, "relu2_2": 1.0}}),
        Case("a batch of 3 against one style image (broadcast the style Gram)", (batch, batch_style),
             kwargs={"weights": {"relu1_2": 1.0, "relu2_2": 0.5, "relu3_3": 2.0}},
             hint="The style Gram matrices have batch size 1: compare every image of the batch with them."),
    ]
    return check_function(
        student, style_loss, cases, exercise="12.2", name="style_loss", atol=1e-7, rtol=1e-4,
        hint="loss = sum over layers j of weights[j] * mean((gram_matrix(features[j]) - style_grams[j])**2).",
    )

"""Checks for the exercises of notebook 11 (CycleGAN).

- Exercise 11.1 — :func:`check_cycle_consistency_loss`: the cycle-consistency loss (Eq. 2, times λ).
- Exercise 11.2 — :func:`check_image_pool_query`: the image pool's query, with seeded draws.

Each check runs the student's function and :mod:`lessons.cycle`'s on the same cases, simplest first.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from lessons.cycle import cycle_consistency_loss, image_pool_query
from lessons.exercises import Case, CheckReport, check_function

__all__ = ["check_cycle_consistency_loss", "check_image_pool_query"]


def _images(b: int, c: int, h: int, w: int, seed: int) -> torch.Tensor:
    return torch.rand(b, c, h, w, generator=torch.Generator().manual_seed(seed)) * 2 - 1


def check_cycle_consistency_loss(student: Callable) -> CheckReport:
    """Exercise 11.1: ``cycle_consistency_loss(real_x, reconstructed_x, real_y, reconstructed_y, *, weight=10.0)``."""
    x = torch.zeros(1, 1, 2, 2)
    rx = torch.tensor([[[[1.0, -1.0], [0.0, 2.0]]]])  # mean |rx - x| = 1
    y = torch.ones(1, 1, 1, 2)
    ry = torch.tensor([[[[1.5, 1.0]]]])  # mean |ry - y| = 0.25
    big_x, big_rx = _images(4, 3, 8, 8, 1), _images(4, 3, 8, 8, 2)
    big_y, big_ry = _images(2, 1, 6, 5, 3), _images(2, 1, 6, 5, 4)
    cases = [
        Case(
            "perfect reconstructions: F(G(x)) = x and G(F(y)) = y",
            (big_x, big_x.clone(), big_y, big_y.clone()),
            hint="When the cycle gives back the input exactly, the loss must be exactly 0.",
        ),
        Case(
            "tiny hand-checkable case with weight=1: mean|rx - x| = 1, mean|ry - y| = 0.25",
            (x, rx, y, ry),
            {"weight": 1.0},
            hint="Use the mean absolute error (like nn.L1Loss), not the sum, and not the square: "
            "(|1| + |-1| + |0| + |2|) / 4 = 1 and (0.5 + 0) / 2 = 0.25, so the answer is 1.25.",
        ),
        Case(
            "the same case with the default weight (10)",
            (x, rx, y, ry),
            hint="The default is weight=10.0 (λ in the paper's Eq. 3); multiply both directions by it.",
        ),
        Case(
            "weight=0 switches the loss off",
            (x, rx, y, ry),
            {"weight": 0.0},
        ),
        Case(
            "X and Y batches of different sizes and shapes (4x3x8x8 and 2x1x6x5), weight=2.5",
            (big_x, big_rx, big_y, big_ry),
            {"weight": 2.5},
            hint="Average each direction over its own tensor (x and y may have different shapes), "
            "then add the two averages: weight * (mean|F(G(x)) - x| + mean|G(F(y)) - y|).",
        ),
    ]
    return check_function(
        student,
        cycle_consistency_loss,
        cases,
        exercise="11.1",
        name="cycle_consistency_loss",
        hint="Both directions count: the forward cycle x -> G -> F and the backward cycle "
        "y -> F -> G. Return a 0-d tensor: weight * (forward mean + backward mean).",
    )


def _numbered(start: int, b: int) -> torch.Tensor:
    """Images whose pixels hold their serial number (1x2x2 each), so it is visible which came back."""
    return torch.arange(start, start + b, dtype=torch.float32)[:, None, None, None].expand(b, 1, 2, 2).clone()


def _with_seed(function: Callable) -> Callable:
    """Call ``function`` with a fresh generator seeded from the case, so no Generator object sits in
    the case's inputs (a check compares its inputs before and after the call, and drawing from a
    generator changes it)."""

    def call(images, pool, *, pool_size, seed):
        return function(images, pool, pool_size=pool_size, generator=torch.Generator().manual_seed(seed))

    return call


def check_image_pool_query(student: Callable) -> CheckReport:
    """Exercise 11.2: ``image_pool_query(images, pool, *, pool_size=50, generator=None) -> (returned, new_pool)``.

    Every case calls the function with ``generator=torch.Generator().manual_seed(seed)``, so the
    student's draws and the reference's are the same numbers when made in the same order.
    """
    empty = torch.empty(0, 1, 2, 2)
    half = _numbered(100, 2)
    full = _numbered(100, 4)
    cases = [
        Case(
            "pool_size=0: no history, the images come back unchanged",
            (_numbered(0, 3), empty),
            {"pool_size": 0, "seed": 0},
            hint="With pool_size == 0 return (images, pool) as they are.",
        ),
        Case(
            "an empty pool with room for all 3 images: store them all and return them",
            (_numbered(0, 3), empty),
            {"pool_size": 5, "seed": 0},
            hint="While the pool holds fewer than pool_size images, append the image to the pool and "
            "return the image itself (no random draw).",
        ),
        Case(
            "the pool fills up in the middle of the batch (2 stored, room for 4, 5 new images)",
            (_numbered(0, 5), half),
            {"pool_size": 4, "seed": 1},
            hint="Decide image by image, in batch order: the first two fill the pool, only then do "
            "the random draws start.",
        ),
        Case(
            "a full pool of 4, 6 new images, seeded draws",
            (_numbered(0, 6), full),
            {"pool_size": 4, "seed": 2},
            hint="Once full, per image: u = torch.rand((), generator=generator); if u > 0.5, "
            "slot = torch.randint(pool_size, (), generator=generator), return the stored image at "
            "that slot and put the new image there; otherwise return the new image. Draw the slot "
            "only when u > 0.5, so the draws stay in step with the reference.",
        ),
        Case(
            "a full pool of 1 and 8 new images (a slot can be replaced several times)",
            (_numbered(0, 8), _numbered(100, 1)),
            {"pool_size": 1, "seed": 3},
            hint="After a swap the pool holds the new image; a later swap in the same batch returns it.",
        ),
        Case(
            "a batch of 3-channel images into a partly filled pool of 50",
            (_images(6, 3, 4, 4, 5), _images(47, 3, 4, 4, 6)),
            {"pool_size": 50, "seed": 4},
        ),
    ]
    settings = dict(
        exercise="11.2",
        name="image_pool_query",
        atol=0.0,
        rtol=0.0,
        hint="Return a pair: the images for the discriminator (as many as you got, stacked into one "
        "tensor) and the new pool (a new tensor; do not modify the pool you were given).",
    )
    if not callable(student):  # let check_function explain the mistake
        return check_function(student, image_pool_query, cases, **settings)
    return check_function(_with_seed(student), _with_seed(image_pool_query), cases, **settings)

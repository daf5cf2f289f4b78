"""Checks for the exercises of notebook 11 (CycleGAN).

- Exercise 11.1 — :func:`check_cycle_consistency_loss`: the cycle-consistency loss (Eq. 2, times λ).
- Exercise 11.2 — :func:`check_image_pool_query`: the image pool's query, with seeded draws.

Each check runs the student's function and :mod:`lessons.cycle`'s on the same cases, simplest first.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from lessons.cycle import cycle_consistency_loss, image_pool_query
from lessons.exercises import Case, CheckReport, Hint, Mistake, check_function

__all__ = ["check_cycle_consistency_loss", "check_image_pool_query"]


def _images(b: int, c: int, h: int, w: int, seed: int) -> torch.Tensor:
    return torch.rand(b, c, h, w, generator=torch.Generator().manual_seed(seed)) * 2 - 1


def _l1(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    return (a - b).abs().mean()


CYCLE_MISTAKES = [
    Mistake(
        "one mean over both directions together",
        lambda x, rx, y, ry, *, weight=10.0: (
            weight * torch.cat([(rx - x).abs().flatten(), (ry - y).abs().flatten()]).mean()
        ),
        Hint(
            "You averaged the pixels of both directions together, so the direction with more pixels "
            "counts more. The loss is a sum of two terms, one mean per direction (Eq. 2 has two "
            "expectations, one over X and one over Y).",
            "weight * ((reconstructed_x - real_x).abs().mean() + (reconstructed_y - real_y).abs().mean()).",
        ),
    ),
    Mistake(
        "the mean of the two directions' means",
        lambda x, rx, y, ry, *, weight=10.0: weight * (_l1(rx, x) + _l1(ry, y)) / 2,
        Hint("The two directions' losses add up (Eq. 2 is a sum); they are not averaged."),
    ),
    Mistake(
        "a sum over the pixels instead of a mean",
        lambda x, rx, y, ry, *, weight=10.0: weight * ((rx - x).abs().sum() + (ry - y).abs().sum()),
        Hint(
            "The paper writes ||.||_1, but the reference code (and λ = 10) uses nn.L1Loss: a mean over "
            "batch, channels and pixels, not a sum."
        ),
    ),
    Mistake(
        "a squared error instead of an absolute one",
        lambda x, rx, y, ry, *, weight=10.0: weight * (((rx - x) ** 2).mean() + ((ry - y) ** 2).mean()),
        Hint(
            "The cycle loss is an L1 loss: absolute differences, not squared ones (CycleGAN found L1 "
            "gives sharper reconstructions)."
        ),
    ),
    Mistake(
        "no absolute value",
        lambda x, rx, y, ry, *, weight=10.0: weight * ((rx - x).mean() + (ry - y).mean()),
        Hint("Positive and negative errors cancel in a plain mean of differences; take the absolute value first."),
    ),
    Mistake(
        "only the forward cycle x -> G -> F",
        lambda x, rx, y, ry, *, weight=10.0: weight * _l1(rx, x),
        Hint("Both cycles count: also y -> F -> G, compared with real_y."),
    ),
    Mistake(
        "the weight on one direction only",
        lambda x, rx, y, ry, *, weight=10.0: weight * _l1(rx, x) + _l1(ry, y),
        Hint("λ multiplies the whole cycle loss, both directions."),
    ),
    Mistake(
        "the weight left out",
        lambda x, rx, y, ry, *, weight=10.0: _l1(rx, x) + _l1(ry, y),
        Hint("Multiply by weight (λ, default 10.0)."),
    ),
]


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
            hint=Hint(
                "Each direction is one mean absolute error (like nn.L1Loss), computed over its own tensor.",
                "(|1| + |-1| + |0| + |2|) / 4 = 1 and (|0.5| + |0|) / 2 = 0.25, so with weight=1 the answer is 1.25.",
            ),
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
        hint=Hint(
            "Both directions count: the forward cycle x -> G -> F and the backward cycle y -> F -> G, "
            "each compared with the image it started from. Return a 0-d tensor.",
            "weight * ((reconstructed_x - real_x).abs().mean() + (reconstructed_y - real_y).abs().mean()).",
        ),
        mistakes=CYCLE_MISTAKES,
    )


def _numbered(start: int, b: int) -> torch.Tensor:
    """Images whose pixels hold their serial number (1x2x2 each), so it is visible which came back."""
    return torch.arange(start, start + b, dtype=torch.float32)[:, None, None, None].expand(b, 1, 2, 2).clone()


def _with_seed(function: Callable) -> Callable:
    """Call ``function`` with the case's int seed, so no Generator object sits in the case's inputs
    (a check compares its inputs before and after the call, and drawing from a generator changes
    it); the function turns the int into a fresh generator, as the library's does."""

    def call(images, pool, *, pool_size, seed):
        return function(images, pool, pool_size=pool_size, seed=seed)

    return call


def _pool_variant(
    images,
    pool,
    *,
    pool_size,
    seed,
    draw_while_filling=False,
    slot_always=False,
    keep_old=False,
    return_new=False,
    below_half=False,
    overfill=False,
    stale_pool=False,
):
    """The pool's query with one step changed (the wrong answers of exercise 11.2), seeded like a case."""
    generator = torch.Generator().manual_seed(seed)
    if pool_size == 0:
        return images, pool
    stored, returned = list(pool.clone()), []
    for image in images:  # (C, H, W), in batch order
        u = torch.rand((), generator=generator).item() if draw_while_filling else None
        if len(stored) < pool_size + (1 if overfill else 0):
            stored.append(image.clone())
            returned.append(image)
            continue
        u = torch.rand((), generator=generator).item() if u is None else u
        slot = int(torch.randint(pool_size, (), generator=generator)) if slot_always else None
        if (u < 0.5) if below_half else (u > 0.5):
            slot = int(torch.randint(pool_size, (), generator=generator)) if slot is None else slot
            returned.append(image if return_new else stored[slot])
            if not keep_old:
                stored[slot] = image.clone()
        else:
            returned.append(image)
    new_pool = pool.clone() if stale_pool else (torch.stack(stored) if stored else pool.clone())
    return torch.stack(returned), new_pool


def _pool_mistake(name: str, hint: Hint, **switch) -> Mistake:
    return Mistake(
        name,
        lambda images, pool, *, pool_size, seed: _pool_variant(images, pool, pool_size=pool_size, seed=seed, **switch),
        hint,
    )


POOL_MISTAKES = [
    _pool_mistake(
        "a random draw while the pool is still filling",
        Hint(
            "While the pool holds fewer than pool_size images there is no coin toss: the image is "
            "stored and returned. Drawing anyway puts every later draw out of step.",
            "Test len(stored) < pool_size first; draw u = torch.rand((), generator=generator) only in the "
            "branch where the pool is full.",
        ),
        draw_while_filling=True,
    ),
    _pool_mistake(
        "the slot drawn for every image, also when u <= 0.5",
        Hint(
            "Draw the slot only when the coin says 'swap' (u > 0.5): an extra randint call shifts every "
            "later draw, so your returned images differ from the reference's.",
            "if u > 0.5: slot = torch.randint(pool_size, (), generator=generator) ... else: return the new image "
            "(no second draw).",
        ),
        slot_always=True,
    ),
    _pool_mistake(
        "a swap returns the stored image but keeps it in the pool",
        Hint(
            "A swap is two moves: the stored image goes out to the discriminator AND the new image takes its "
            "slot in the pool.",
            "returned.append(stored[slot]); stored[slot] = image.clone().",
        ),
        keep_old=True,
    ),
    _pool_mistake(
        "a swap stores the new image but returns it instead of the stored one",
        Hint(
            "When the coin says 'swap' the discriminator gets the OLD image from the pool (that is the "
            "point of the history); the new image only goes into the pool.",
            "old = stored[slot]; stored[slot] = image.clone(); returned.append(old).",
        ),
        return_new=True,
    ),
    _pool_mistake(
        "the coin read the wrong way (u < 0.5)",
        Hint(
            "Swap when u > 0.5 (the reference's random.uniform(0, 1) > 0.5); with u < 0.5 the same "
            "draws pick the other branch."
        ),
        below_half=True,
    ),
    _pool_mistake(
        "the pool fills up to pool_size + 1",
        Hint("The pool holds at most pool_size images: store while len(pool) < pool_size, strictly."),
        overfill=True,
    ),
    _pool_mistake(
        "the old pool returned unchanged",
        Hint(
            "Return the updated history as the second value: the stored images after this batch's "
            "additions and swaps, stacked into a new tensor."
        ),
        stale_pool=True,
    ),
]


def check_image_pool_query(student: Callable) -> CheckReport:
    """Exercise 11.2: ``image_pool_query(images, pool, *, pool_size=50, seed=0) -> (returned, new_pool)``.

    Every case calls the function with an int ``seed``, which it turns into
    ``torch.Generator().manual_seed(seed)``, so the student's draws and the reference's are the
    same numbers when made in the same order.
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
            hint=Hint(
                "Once the pool is full, each image tosses a coin: heads, the discriminator gets a random "
                "old image and the new one takes its place; tails, it gets the new image. Make exactly "
                "the reference's draws, in the same order.",
                "Once full, per image: u = torch.rand((), generator=generator); if u > 0.5, "
                "slot = torch.randint(pool_size, (), generator=generator), return the stored image at "
                "that slot and put the new image there; otherwise return the new image. Draw the slot "
                "only when u > 0.5, so the draws stay in step with the reference.",
            ),
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
        mistakes=POOL_MISTAKES,
    )
    if not callable(student):  # let check_function explain the mistake
        return check_function(student, image_pool_query, cases, **settings)
    return check_function(_with_seed(student), _with_seed(image_pool_query), cases, **settings)

"""The image pool: a history of generated images that a GAN's discriminator is shown.

Paper:
    A. Shrivastava, T. Pfister, O. Tuzel, J. Susskind, W. Wang, R. Webb, "Learning from Simulated
    and Unsupervised Images through Adversarial Training", CVPR 2017, arXiv:1612.07828 (Sec. 2.3,
    "updating the discriminator using a history of refined images"); used by CycleGAN
    (Zhu et al., ICCV 2017, arXiv:1703.10593, Sec. 4) with a history of 50 images.
    Reference code: ``junyanz/pytorch-CycleGAN-and-pix2pix`` (``util/image_pool.py``).

Summary:
    A discriminator trained only on the latest generator's output can forget what older fakes
    looked like, and the generator can then go back to them (the two chase each other). The pool
    keeps up to ``pool_size`` generated images and, once full, returns an old image in place of the
    new one half of the time. :func:`image_pool_query` is one query as a pure function (the pool
    in, the new pool out); :class:`ImagePool` keeps the history between queries.

Deviations from the reference:
    - The draws come from a :class:`torch.Generator` (the course's ``seed: int | torch.Generator``)
      instead of Python's ``random``: the same probabilities and the same number of draws in the
      same order (see :func:`image_pool_query`), so a seeded pool is deterministic.
"""

from __future__ import annotations

import torch
from torch import Tensor

from lessons._checks import as_generator, check_floating, check_int, check_ndim, check_same_dtype, check_tensor

__all__ = ["image_pool_query", "ImagePool"]


def _check_query(images: object, pool: object, pool_size: int) -> None:
    """The checks of one query; ``pool_size`` is already checked."""
    check_floating("images", images)
    check_ndim("images", images, 4, "(B, C, H, W)")  # type: ignore[arg-type]
    check_tensor("pool", pool)
    check_ndim("pool", pool, 4, "(M, C, H, W)")  # type: ignore[arg-type]
    if pool_size == 0 or images.shape[0] == 0:  # type: ignore[union-attr]
        return
    if pool.shape[0] > pool_size:  # type: ignore[union-attr]
        raise ValueError(f"pool: expected at most pool_size={pool_size} images, got {pool.shape[0]}")  # type: ignore[union-attr]
    if pool.shape[0] > 0 and pool.shape[1:] != images.shape[1:]:  # type: ignore[union-attr]
        raise ValueError(
            f"pool: expected images of shape (C, H, W) = {tuple(images.shape[1:])} like images, "  # type: ignore[union-attr]
            f"got {tuple(pool.shape[1:])}"  # type: ignore[union-attr]
        )
    if pool.shape[0] > 0:  # type: ignore[union-attr]
        check_same_dtype("pool", pool, "images", images)  # type: ignore[arg-type]


def image_pool_query(
    images: Tensor,
    pool: Tensor,
    *,
    pool_size: int = 50,
    seed: int | torch.Generator = 0,
) -> tuple[Tensor, Tensor]:
    """The images a discriminator sees instead of the newest fakes, and the updated history.

    The reference keeps a history of up to ``pool_size`` generated images and, image by image, in
    batch order:

    1. while the history holds fewer than ``pool_size`` images: store the image, return it;
    2. once full: draw ``u ~ U[0, 1)``; if ``u > 0.5`` draw a slot ``k`` uniformly in
       ``0 .. pool_size - 1``, return the stored image ``k`` and store the new image in its place;
       otherwise return the new image.

    So after warm-up half the returned images (on average) come from the history.

    Args:
        images (Tensor[B, C, H, W]): the latest generated images. NaN pixels are passed through
            (feature tensors are not scanned).
        pool (Tensor[M, C, H, W]): the history so far, ``0 <= M <= pool_size``; ``M = 0`` at the
            start (``images.new_empty(0, C, H, W)``). Not modified.
        pool_size (int): capacity, ``>= 0``. ``0`` turns the pool off: ``images`` is returned
            unchanged. Default: ``50`` (the reference's CycleGAN default; pix2pix uses 0).
        seed (int | torch.Generator): the random source: an int for a fresh generator seeded with
            it, or a generator to draw from (it advances, so consecutive queries differ).
            Default: ``0``.

    Returns:
        tuple[Tensor[B, C, H, W], Tensor[M', C, H, W]]: the images to show the discriminator
        (detached, like the reference's ``image.data``) and the new history,
        ``M' = min(pool_size, M + B)``.

    Note:
        The reference draws with Python's ``random``: ``random.uniform(0, 1) > 0.5`` and
        ``random.randint(0, pool_size - 1)`` (inclusive). Here, for each image once the pool is
        full, ``torch.rand((), generator=generator) > 0.5`` and, only then,
        ``torch.randint(pool_size, (), generator=generator)`` (exclusive upper end) — the same
        probabilities and the same number of draws in the same order. A slot replaced earlier in
        the batch can be drawn again, so an image of this very batch may come back in place of a
        later one, as in the reference.

    Example:
        >>> shown, pool = image_pool_query(torch.zeros(3, 1, 2, 2), torch.zeros(0, 1, 2, 2), pool_size=2)
        >>> shown.shape, pool.shape
        (torch.Size([3, 1, 2, 2]), torch.Size([2, 1, 2, 2]))
    """
    pool_size = check_int("pool_size", pool_size, minimum=0)
    generator = as_generator("seed", seed)
    _check_query(images, pool, pool_size)
    return _image_pool_query(images, pool, pool_size, generator)


def _image_pool_query(
    images: Tensor, pool: Tensor, pool_size: int, generator: torch.Generator
) -> tuple[Tensor, Tensor]:
    """:func:`image_pool_query` without the checks."""
    if pool_size == 0:  # no history: the identity, as in the reference
        return images, pool
    if images.shape[0] == 0:  # nothing to show, nothing to store
        return images.detach(), pool.detach().clone()
    stored = list(pool.detach().clone())  # M tensors (C, H, W); the caller's pool stays unchanged
    returned = []
    for image in images.detach():  # (C, H, W), one image at a time, in batch order
        if len(stored) < pool_size:  # warm-up: keep it and show it
            stored.append(image.clone())
            returned.append(image)
        elif torch.rand((), generator=generator).item() > 0.5:  # reference: random.uniform(0, 1) > 0.5
            slot = int(torch.randint(pool_size, (), generator=generator))  # randint(0, pool_size - 1)
            returned.append(stored[slot])
            stored[slot] = image.clone()
        else:
            returned.append(image)
    new_pool = torch.stack(stored) if stored else pool.detach().clone()  # (M', C, H, W)
    return torch.stack(returned), new_pool  # (B, C, H, W), (M', C, H, W)


class ImagePool:
    """A stateful wrapper around :func:`image_pool_query` (the reference's ``ImagePool``).

    Args:
        pool_size (int): capacity, ``>= 0``; ``0`` passes images through. Default: ``50``.
        seed (int | torch.Generator): the random source for the 50/50 draws: an int seeds a
            generator that the pool keeps and advances query after query; a generator is used as
            it is (two pools may share one). Default: ``0``.

    Example:
        >>> pool = ImagePool(2, seed=0)
        >>> pool.query(torch.zeros(3, 1, 2, 2)).shape, len(pool)
        (torch.Size([3, 1, 2, 2]), 2)
    """

    def __init__(self, pool_size: int = 50, *, seed: int | torch.Generator = 0) -> None:
        self.pool_size = check_int("pool_size", pool_size, minimum=0)
        self.generator = as_generator("seed", seed)
        self.images: Tensor | None = None  # (M, C, H, W) once the first batch arrives

    def __len__(self) -> int:
        return 0 if self.images is None else int(self.images.shape[0])

    def query(self, images: Tensor) -> Tensor:
        """Return as many images as given, mixing in stored ones; see :func:`image_pool_query`."""
        check_floating("images", images)
        check_ndim("images", images, 4, "(B, C, H, W)")
        pool = images.new_empty((0, *images.shape[1:])) if self.images is None else self.images
        _check_query(images, pool, self.pool_size)
        returned, self.images = _image_pool_query(images, pool, self.pool_size, self.generator)
        return returned

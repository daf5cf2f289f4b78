"""Paired and conditional data for conditional generation (notebook 10), all procedural.

- :func:`make_stroke_answers` / :func:`make_one_to_many` — one input, several valid outputs: a
  small image with one vertical stroke at one of ``n_positions`` places in one of ``n_colours``
  colours. Every answer is equally likely, so a loss that averages (L2) or takes a per-pixel median
  (L1) produces an image that is none of them.
- :func:`make_ring_mixture` — 2-D points from ``n_modes`` Gaussians on a circle, labelled by mode:
  the condition of a conditional GAN.
- :func:`make_edge_shape_pairs` — pix2pix's "edges -> objects" in miniature: the outline of a
  shape (input ``A``) and the shape filled with stripes of a random phase (target ``B``). The
  outline fixes where the shape is; nothing in it fixes the stripes' phase.
- :func:`make_sr_pairs` — ×``scale`` super-resolution pairs: high-resolution crops of procedural
  textures (:func:`lessons.data.images.make_texture`) and of matplotlib's bundled photos, with the
  low-resolution input made by averaging ``scale x scale`` blocks.

Images for the generators are ``float32`` in ``[-1, 1]`` (a ``tanh`` output); super-resolution pairs
are in ``[0, 1]``, as the photos are. Every builder takes ``seed: int | torch.Generator``.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import Tensor

from lessons._checks import as_generator, check_int, check_non_negative, check_positive
from lessons.data.images import TEXTURE_KINDS, load_sample_image, make_texture
from lessons.data.shapes import SHAPE_KINDS, shape_mask

__all__ = [
    "STROKE_COLOURS",
    "OneToMany",
    "make_stroke_answers",
    "make_one_to_many",
    "ModeMixture",
    "make_ring_mixture",
    "EdgePairs",
    "make_edge_shape_pairs",
    "SRPairs",
    "make_sr_pairs",
]

#: Stroke colours of :func:`make_stroke_answers`, RGB in [-1, 1]: red, green, blue, yellow.
STROKE_COLOURS: tuple[tuple[float, float, float], ...] = (
    (1.0, -1.0, -1.0),
    (-1.0, 1.0, -1.0),
    (-1.0, -1.0, 1.0),
    (1.0, 1.0, -1.0),
)


class OneToMany(NamedTuple):
    """Samples of a one-to-many target.

    Attributes:
        targets (Tensor[N, 3, H, W]): one valid answer per sample, drawn uniformly.
        labels (Tensor[N]): int64 index of each target in ``answers``.
        answers (Tensor[K, 3, H, W]): every valid answer, ``K = n_positions * n_colours``.
    """

    targets: Tensor
    labels: Tensor
    answers: Tensor


def make_stroke_answers(*, n_positions: int = 3, n_colours: int = 3, height: int = 1, width: int = 9) -> Tensor:
    """Every valid answer: a black image with a 2-pixel-wide vertical stroke, per position and colour.

    Answer ``k`` has its stroke at position ``k // n_colours`` (columns ``p * w / n_positions`` + 1
    and + 2, with ``w = width``) in colour ``STROKE_COLOURS[k % n_colours]``.

    Args:
        n_positions (int): places the stroke can be, ``1 <= n_positions <= width // 3``. Default: ``3``.
        n_colours (int): colours it can have, ``1 .. 4``. Default: ``3`` (red, green, blue).
        height (int): image height, ``>= 1``. Default: ``1`` (a strip).
        width (int): image width, ``>= 3``. Default: ``9``.

    Returns:
        Tensor[K, 3, H, W] (float32): ``K = n_positions * n_colours`` images in ``[-1, 1]``.

    Example:
        >>> make_stroke_answers(n_positions=2, n_colours=1, height=1, width=6)[:, 0, 0]
        tensor([[-1.,  1.,  1., -1., -1., -1.],
                [-1., -1., -1., -1.,  1.,  1.]])
    """
    check_int("height", height, minimum=1)
    check_int("width", width, minimum=3)
    check_int("n_positions", n_positions, minimum=1)
    check_int("n_colours", n_colours, minimum=1)
    if n_positions > width // 3:
        raise ValueError(f"n_positions: expected at most width // 3 = {width // 3}, got {n_positions}")
    if n_colours > len(STROKE_COLOURS):
        raise ValueError(f"n_colours: expected at most {len(STROKE_COLOURS)}, got {n_colours}")
    answers = torch.full((n_positions * n_colours, 3, height, width), -1.0)
    for p in range(n_positions):
        left = p * width // n_positions + 1
        for c in range(n_colours):
            colour = torch.tensor(STROKE_COLOURS[c])[:, None, None]  # (3, 1, 1)
            answers[p * n_colours + c, :, :, left : left + 2] = colour
    return answers


def make_one_to_many(
    n: int,
    *,
    n_positions: int = 3,
    n_colours: int = 3,
    height: int = 1,
    width: int = 9,
    seed: int | torch.Generator = 0,
) -> OneToMany:
    """``n`` targets for one and the same input, each a uniformly drawn valid answer.

    Args:
        n (int): number of samples, ``>= 1``.
        n_positions, n_colours, height, width (int): see :func:`make_stroke_answers`. Defaults:
            3, 3, 1, 9.
        seed (int | torch.Generator): random source. Default: ``0``.

    Returns:
        OneToMany: ``(targets, labels, answers)``.
    """
    check_int("n", n, minimum=1)
    answers = make_stroke_answers(n_positions=n_positions, n_colours=n_colours, height=height, width=width)
    g = as_generator("seed", seed)
    labels = torch.randint(answers.shape[0], (n,), generator=g)
    return OneToMany(answers[labels], labels, answers)


class ModeMixture(NamedTuple):
    """Points of a mixture of Gaussians, with the mode each came from.

    Attributes:
        points (Tensor[N, 2]): the samples.
        modes (Tensor[N]): int64 mode index in ``0 .. K-1``.
        centres (Tensor[K, 2]): the mode centres.
    """

    points: Tensor
    modes: Tensor
    centres: Tensor


def make_ring_mixture(
    n: int, *, n_modes: int = 4, radius: float = 1.0, std: float = 0.05, seed: int | torch.Generator = 0
) -> ModeMixture:
    """``n`` points from ``n_modes`` Gaussians spaced evenly on a circle, mode drawn uniformly.

    Centre ``k`` is ``radius * (cos(2 pi k / K), sin(2 pi k / K))``; each point is its centre plus
    ``N(0, std^2 I)`` noise.

    Args:
        n (int): number of points, ``>= 1``.
        n_modes (int): ``K >= 1``. Default: ``4``.
        radius (float): circle radius, ``> 0``. Default: ``1.0``.
        std (float): noise per coordinate, ``> 0``. Default: ``0.05``.
        seed (int | torch.Generator): random source. Default: ``0``.

    Returns:
        ModeMixture: ``(points, modes, centres)``.

    Example:
        >>> mixture = make_ring_mixture(5, n_modes=4)
        >>> mixture.points.shape, mixture.modes.shape, mixture.centres[0].tolist()
        (torch.Size([5, 2]), torch.Size([5]), [1.0, 0.0])
    """
    check_int("n", n, minimum=1)
    check_int("n_modes", n_modes, minimum=1)
    check_positive("radius", radius)
    check_positive("std", std)
    g = as_generator("seed", seed)
    angles = 2 * math.pi * torch.arange(n_modes, dtype=torch.float32) / n_modes
    centres = radius * torch.stack([angles.cos(), angles.sin()], dim=1)  # (K, 2)
    modes = torch.randint(n_modes, (n,), generator=g)
    points = centres[modes] + std * torch.randn(n, 2, generator=g)  # (N, 2)
    return ModeMixture(points, modes, centres)


class EdgePairs(NamedTuple):
    """Paired images for "edges -> shapes".

    Attributes:
        edges (Tensor[N, 1, H, W]): input ``A``: ``1`` on the shape's outline, ``-1`` elsewhere.
        images (Tensor[N, 1, H, W]): target ``B``: background ``1``, inside the shape vertical stripes
            alternating ``-1`` (dark) and ``0`` (grey), ``period / 2`` columns each.
        masks (Tensor[N, H, W]): bool, the shape.
    """

    edges: Tensor
    images: Tensor
    masks: Tensor


def make_edge_shape_pairs(n: int, size: int = 16, *, period: int = 4, seed: int | torch.Generator = 0) -> EdgePairs:
    """``n`` pairs (outline, striped shape): the shape follows from the outline, the stripes' phase does not.

    Each shape is a random kind of :data:`lessons.data.shapes.SHAPE_KINDS`, radius in
    ``[size / 4, size / 2.6)``, centre within ``size / 8`` of the middle, random angle. The stripes
    have a phase drawn uniformly in ``0 .. period - 1``, so each pixel inside the shape is dark with
    probability 1/2: its mean and median over the phase are the same in-between value.

    Args:
        n (int): number of pairs, ``>= 1``.
        size (int): image side, ``>= 8``. Default: ``16``.
        period (int): stripe period in pixels, even, ``>= 2``. Default: ``4``.
        seed (int | torch.Generator): random source. Default: ``0``.

    Returns:
        EdgePairs: ``(edges, images, masks)``.
    """
    check_int("n", n, minimum=1)
    check_int("size", size, minimum=8)
    check_int("period", period, minimum=2)
    if period % 2:
        raise ValueError(f"period: expected an even number of pixels, got {period}")
    g = as_generator("seed", seed)
    masks = torch.zeros(n, size, size, dtype=torch.bool)
    phases = torch.randint(period, (n,), generator=g)
    for i in range(n):
        u = torch.rand(5, generator=g).tolist()
        kind = SHAPE_KINDS[int(u[0] * len(SHAPE_KINDS))]
        centre = (size / 2 + (u[1] - 0.5) * size / 4, size / 2 + (u[2] - 0.5) * size / 4)
        radius = size / 4 + u[3] * (size / 2.6 - size / 4)
        masks[i] = shape_mask(kind, centre, radius, size, angle=2 * math.pi * u[4])
    m = masks[:, None].float()  # (N, 1, H, W)
    inner = -F.max_pool2d(-m, 3, stride=1, padding=1)  # erosion by one pixel (3x3 min)
    edges = torch.where((m - inner) > 0, 1.0, -1.0)  # (N, 1, H, W) outline pixels
    cols = torch.arange(size)[None, :] + phases[:, None]  # (N, W)
    dark = ((cols // (period // 2)) % 2 == 0)[:, None, None, :]  # (N, 1, 1, W)
    stripes = torch.where(dark, -1.0, 0.0).expand(n, 1, size, size)
    images = torch.where(m > 0, stripes, torch.ones(()))  # (N, 1, H, W)
    return EdgePairs(edges, images, masks)


class SRPairs(NamedTuple):
    """Super-resolution pairs.

    Attributes:
        lr (Tensor[N, 3, S / scale, S / scale]): low-resolution inputs in ``[0, 1]``.
        hr (Tensor[N, 3, S, S]): high-resolution targets in ``[0, 1]``.
        is_photo (Tensor[N]): bool, ``True`` for crops of a photo, ``False`` for textures.
    """

    lr: Tensor
    hr: Tensor
    is_photo: Tensor


def make_sr_pairs(
    n: int, size: int = 32, *, scale: int = 4, photo_fraction: float = 0.5, seed: int | torch.Generator = 0
) -> SRPairs:
    """``n`` ×``scale`` super-resolution pairs from procedural textures and matplotlib's photos.

    A texture is :func:`lessons.data.images.make_texture` of a random kind, period in
    ``[scale, 2 scale)`` pixels (finer than the low-resolution grid can hold), random angle and two
    random colours. A photo crop is a random ``size x size`` window of ``grace_hopper`` (shrunk to
    256 px on its shorter side) or of ``present`` (at 128 px). The low-resolution image averages
    each ``scale x scale`` block (``F.avg_pool2d``), the usual "bicubic-free" box degradation.

    Args:
        n (int): number of pairs, ``>= 1``.
        size (int): high-resolution side, a multiple of ``scale``, ``<= 128``. Default: ``32``.
        scale (int): upscaling factor, ``>= 2``. Default: ``4``.
        photo_fraction (float): share of photo crops, in ``[0, 1]``. Default: ``0.5``.
        seed (int | torch.Generator): random source. Default: ``0``.

    Returns:
        SRPairs: ``(lr, hr, is_photo)``.
    """
    check_int("n", n, minimum=1)
    check_int("scale", scale, minimum=2)
    check_int("size", size, minimum=scale)
    if size % scale or size > 128:
        raise ValueError(f"size: expected a multiple of scale={scale} of at most 128, got {size}")
    check_non_negative("photo_fraction", photo_fraction)
    if not photo_fraction <= 1.0:
        raise ValueError(f"photo_fraction: expected a number in [0, 1], got {photo_fraction!r}")
    g = as_generator("seed", seed)
    photos = [load_sample_image("grace_hopper", size=256), load_sample_image("present", size=128)]
    hr = torch.empty(n, 3, size, size)
    is_photo = torch.rand(n, generator=g) < photo_fraction
    for i in range(n):
        u = torch.rand(5, generator=g).tolist()
        if is_photo[i]:
            photo = photos[int(u[0] * len(photos))]
            top = int(u[1] * (photo.shape[1] - size + 1))
            left = int(u[2] * (photo.shape[2] - size + 1))
            hr[i] = photo[:, top : top + size, left : left + size]
        else:
            colours = torch.rand(2, 3, generator=g)
            kind = TEXTURE_KINDS[int(u[0] * len(TEXTURE_KINDS))]
            hr[i] = make_texture(
                kind,
                size,
                period=float(scale + u[1] * scale),
                angle=math.pi * u[2],
                colors=tuple(tuple(c) for c in colours.tolist()),
            )
    lr = F.avg_pool2d(hr, scale)  # (N, 3, S / scale, S / scale)
    return SRPairs(lr, hr, is_photo)

"""Procedural box scenes for keypoint detection (notebook 09): shapes whose box corners lie outside them.

A scene paints ``objects`` shapes over a smooth background like :mod:`lessons.data.scenes` does
(later shapes hide earlier ones, every shape keeps ``min_visible`` of its area), but only of the
kinds asked for — by default disks and triangles, the shapes whose bounding-box corners fall on
background, which is what CornerNet's corner pooling is for — and with a margin to the border, so
both corners of every box are pixels of the image. Boxes are the tight boxes of the visible masks
(:func:`lessons.data.shapes.mask_to_box`): ``x2 = last column + 1``, so a corner ``(x, y)`` is the
heatmap pixel ``(int(x), int(y))`` of :mod:`lessons.keypoint_detection`.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import torch
from torch import Tensor

from lessons._checks import as_generator, check_int, check_int_pair, check_non_negative, check_positive, describe
from lessons.data.scenes import _background, _colours, _paint, _uniform, _visible, _visible_enough
from lessons.data.shapes import SHAPE_KINDS, mask_to_box, shape_mask

__all__ = ["BoxScenes", "make_box_scenes"]

_TRIES = 200  # redraws of one scene before giving up


class BoxScenes(NamedTuple):
    """``n`` images with their boxes and classes.

    Attributes:
        images (Tensor[N, 3, H, W]): float32 RGB in ``[0, 1]``.
        boxes (list[Tensor[K_i, 4]]): float32 ``(x1, y1, x2, y2)`` per image, tight boxes of the visible masks.
        labels (list[Tensor[K_i]]): int64 class of each box, an index into ``kinds``.
    """

    images: Tensor
    boxes: list[Tensor]
    labels: list[Tensor]


def make_box_scenes(
    n: int,
    size: int | tuple[int, int] = 32,
    objects: int | tuple[int, int] = 1,
    *,
    kinds: tuple[str, ...] = ("disk", "triangle"),
    radius: tuple[float, float] = (0.25, 0.4),
    min_visible: float = 0.6,
    noise: float = 0.04,
    margin: int = 1,
    seed: int | torch.Generator = 0,
) -> BoxScenes:
    """Draw ``n`` scenes of shapes with their boxes; the class of a box is the index of its kind.

    Args:
        n (int): number of images, >= 0.
        size (int | tuple[int, int]): ``(H, W)``, or one int. Default: ``32``.
        objects (int | tuple[int, int]): shapes per image, or an inclusive range. Default: ``1``.
        kinds (tuple[str, ...]): kinds from :data:`lessons.data.shapes.SHAPE_KINDS`.
            Default: ``("disk", "triangle")``.
        radius (tuple[float, float]): shape radius range as a fraction of ``min(H, W)``.
            Default: ``(0.25, 0.4)`` (8 to 12.8 pixels in a 32 x 32 image).
        min_visible (float): fraction of its own area every shape keeps visible. Default: ``0.6``.
        noise (float): standard deviation of the pixel noise. Default: ``0.04``.
        margin (int): free pixels between every shape and the border, >= 1. Default: ``1``.
        seed (int | torch.Generator): Default: ``0``.

    Returns:
        BoxScenes: ``images (N, 3, H, W)``, ``boxes``, ``labels``.

    Example:
        >>> s = make_box_scenes(2, 32, (2, 3), seed=1)
        >>> s.images.shape, [tuple(b.shape) for b in s.boxes] == [(len(l), 4) for l in s.labels]
        (torch.Size([2, 3, 32, 32]), True)
    """
    check_int("n", n, minimum=0)
    height, width = check_int_pair("size", size, minimum=8)
    low_n, high_n = (
        (objects, objects)
        if isinstance(objects, int) and not isinstance(objects, bool)
        else (objects if isinstance(objects, (tuple, list)) and len(objects) == 2 else (None, None))
    )
    if not (isinstance(low_n, int) and isinstance(high_n, int) and 1 <= low_n <= high_n):
        raise ValueError(f"objects: expected an int >= 1 or a range (low, high), got {describe(objects)}")
    if not (isinstance(kinds, (tuple, list)) and kinds and all(k in SHAPE_KINDS for k in kinds)):
        raise ValueError(f"kinds: expected a non-empty tuple of kinds from {list(SHAPE_KINDS)}, got {describe(kinds)}")
    if not (isinstance(radius, (tuple, list)) and len(radius) == 2 and 0 < radius[0] <= radius[1] < 0.5):
        raise ValueError(f"radius: expected (low, high) with 0 < low <= high < 0.5, got {describe(radius)}")
    check_positive("min_visible", min_visible)
    check_non_negative("noise", noise)
    check_int("margin", margin, minimum=1)
    g = as_generator("seed", seed)
    images, boxes, labels = [], [], []
    for _ in range(n):
        count = int(torch.randint(low_n, high_n + 1, (), generator=g))
        image, box, label = _scene(g, height, width, count, tuple(kinds), radius, min_visible, noise, margin)
        images.append(image)
        boxes.append(box)
        labels.append(label)
    stacked = torch.stack(images) if images else torch.zeros(0, 3, height, width)
    return BoxScenes(stacked, boxes, labels)


def _scene(g, height, width, count, kinds, radius, min_visible, noise, margin) -> tuple[Tensor, Tensor, Tensor]:
    background = _background(g, height, width)
    colours = _colours(g, count, background)
    side = min(height, width)
    for _ in range(_TRIES):
        kind = torch.randint(len(kinds), (count,), generator=g)
        r = _uniform(g, radius[0] * side, radius[1] * side, (count,))
        room = r + margin
        cx = room + _uniform(g, 0, 1, (count,)) * (width - 2 * room)
        cy = room + _uniform(g, 0, 1, (count,)) * (height - 2 * room)
        angle = _uniform(g, 0, 2 * math.pi, (count,))
        full = torch.stack(
            [
                shape_mask(kinds[int(k)], (float(x), float(y)), float(s), (height, width), angle=float(a))
                for k, x, y, s, a in zip(kind, cx, cy, r, angle)
            ]
        )  # (K, H, W)
        visible = _visible(full)
        if _visible_enough(full, visible, min_visible, 9):
            return _paint(background, visible, colours, noise, g), mask_to_box(visible), kind.long()
    raise RuntimeError(f"could not place {count} shapes with {min_visible:.0%} visible; ask for fewer or smaller")

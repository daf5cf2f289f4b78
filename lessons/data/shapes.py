"""Procedural shapes: the raster primitive every synthetic data set of the course is built from.

A shape is described by its kind, centre ``(cx, cy)`` in pixels, radius ``r`` (half its extent) and
rotation ``angle`` in radians. Pixel ``(row=i, col=j)`` has its centre at ``(x, y) = (j + 0.5, i + 0.5)``
in continuous image coordinates, the convention torchvision's ``aligned=True`` RoIAlign uses; so a
shape's mask is the set of pixels whose centre falls inside it.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from lessons._checks import check_choice, check_int_pair, check_ndim, check_positive, check_tensor

__all__ = ["SHAPE_KINDS", "shape_mask", "mask_to_box"]

#: The kinds :func:`shape_mask` draws.
SHAPE_KINDS = ("disk", "square", "triangle", "diamond")


def shape_mask(
    kind: str,
    center: tuple[float, float],
    radius: float,
    size: int | tuple[int, int],
    *,
    angle: float = 0.0,
) -> Tensor:
    """Rasterize one shape as a boolean mask.

    Args:
        kind (str): one of :data:`SHAPE_KINDS`.
        center (tuple[float, float]): ``(cx, cy)`` in pixels (continuous coordinates).
        radius (float): half the extent in pixels; the disk's radius, the square's half side.
        size (int | tuple[int, int]): ``(H, W)`` of the image, or one int for a square image.
        angle (float): rotation in radians, counter-clockwise on screen. Default: ``0.0``.

    Returns:
        Tensor[H, W] (bool): ``True`` where the pixel centre lies inside the shape.

    Example:
        >>> shape_mask("square", (2.0, 2.0), 1.0, 4).int()
        tensor([[0, 0, 0, 0],
                [0, 1, 1, 0],
                [0, 1, 1, 0],
                [0, 0, 0, 0]], dtype=torch.int32)
    """
    check_choice("kind", kind, SHAPE_KINDS)
    check_positive("radius", radius)
    height, width = check_int_pair("size", size)
    ys = torch.arange(height, dtype=torch.float64) + 0.5 - center[1]
    xs = torch.arange(width, dtype=torch.float64) + 0.5 - center[0]
    y, x = torch.meshgrid(ys, xs, indexing="ij")  # (H, W) offsets from the centre
    # rotate the sampling grid by -angle so the shape itself turns by +angle (y points down)
    c, s = math.cos(angle), math.sin(angle)
    u, v = c * x - s * y, s * x + c * y
    if kind == "disk":
        return u * u + v * v <= radius * radius
    if kind == "square":
        return (u.abs() <= radius) & (v.abs() <= radius)
    if kind == "diamond":
        return u.abs() + v.abs() <= radius
    # triangle: equilateral, pointing up, inscribed in the circle of the given radius
    return (v <= radius / 2) & (v >= -radius + u.abs() * math.sqrt(3))


def mask_to_box(mask: Tensor) -> Tensor:
    """The tight box ``(x1, y1, x2, y2)`` of each mask, in continuous pixel coordinates.

    Args:
        mask (Tensor[N, H, W] or Tensor[H, W]): boolean masks (a real tensor is read as ``!= 0``).

    Returns:
        Tensor[N, 4] or Tensor[4] (float32): ``x1 = min col``, ``x2 = max col + 1`` (likewise y), so
        a one-pixel mask at (row 2, col 3) gives ``(3, 2, 4, 3)``; an empty mask gives zeros.
    """
    check_tensor("mask", mask)
    if mask.is_complex():
        raise TypeError(f"mask: expected a bool (or 0/1 real) mask, got dtype {mask.dtype}")
    check_ndim("mask", mask, (2, 3), "(N, H, W) or (H, W)")
    single = mask.ndim == 2
    m = mask.bool()[None] if single else mask.bool()  # (N, H, W)
    n, height, width = m.shape
    rows, cols = m.any(dim=2), m.any(dim=1)  # (N, H), (N, W)
    r = torch.arange(height)
    c = torch.arange(width)
    big = max(height, width) + 1
    y1 = torch.where(rows, r, big).min(dim=1).values
    y2 = torch.where(rows, r, -1).max(dim=1).values + 1
    x1 = torch.where(cols, c, big).min(dim=1).values
    x2 = torch.where(cols, c, -1).max(dim=1).values + 1
    boxes = torch.stack([x1, y1, x2, y2], dim=1).float()  # (N, 4)
    boxes[~rows.any(dim=1)] = 0.0
    return boxes[0] if single else boxes

"""Procedural faces with a box and five landmarks each (notebook 08): data for a tiny face detector.

:func:`make_face_boxes` draws the faces of :func:`lessons.data.landmarks.make_landmark_faces` (a
tilted ellipse with eyes, nose and mouth; five landmarks in :data:`FACE_LANDMARKS` order) and adds
the face's **box**: the tight box of the face ellipse, the analogue of a WIDER FACE box. The box of
an ellipse with semi-axes ``a`` (across the face) and ``b`` (along it), turned by ``theta``, has the
half-extents

.. math::
    h_x = \\sqrt{a^2\\cos^2\\theta + b^2\\sin^2\\theta}, \\qquad
    h_y = \\sqrt{a^2\\sin^2\\theta + b^2\\cos^2\\theta}.

Coordinates are those of :mod:`lessons.data.landmarks`: ``(x, y)`` in pixels with pixel centres on
the integers (pixel ``[row i, col j]`` is the point ``(j, i)``), for the boxes as for the
landmarks. Note: :func:`lessons.data.shapes.shape_mask` puts pixel centres at ``+0.5``; add 0.5 to
both corners of a box to go to that convention.

The ellipse's parameters are not returned by :func:`make_landmark_faces`; they are read back by
replaying its first random draws from a copy of the generator's state. The replay is checked on
every call against the landmarks it returns, so a change of that function's draws cannot go unnoticed.
"""

from __future__ import annotations

from typing import NamedTuple

import torch
from torch import Tensor

from lessons._checks import as_generator, check_int, check_int_pair, check_non_negative
from lessons.data.landmarks import FACE_LANDMARKS, make_landmark_faces

__all__ = ["FaceBoxes", "make_face_boxes"]


class FaceBoxes(NamedTuple):
    """Face images with one box and five landmarks per face.

    Attributes:
        images (Tensor[N, 1, H, W]): float32 grey images in ``[0, 1]``.
        boxes (Tensor[N, 4]): float32 ``(x1, y1, x2, y2)``, the tight box of the face ellipse.
        landmarks (Tensor[N, 5, 2]): float32 ``(x, y)`` in :data:`FACE_LANDMARKS` order.
    """

    images: Tensor
    boxes: Tensor
    landmarks: Tensor


def make_face_boxes(
    n: int,
    size: int | tuple[int, int] = 32,
    *,
    scale: tuple[float, float] = (0.18, 0.28),
    noise: float = 0.04,
    blank: bool = False,
    seed: int | torch.Generator = 0,
) -> FaceBoxes:
    """``n`` procedural faces with their boxes and landmarks.

    Args:
        n (int): number of images, >= 1.
        size (int or tuple[int, int]): ``(H, W)``, or one int; each side >= 16. Default: ``32``.
        scale (tuple[float, float]): range of the face's half-width as a fraction of the shorter
            side, ``0 < low <= high <= 0.3``. Default: ``(0.18, 0.28)``.
        noise (float): standard deviation of the pixel noise, >= 0. Default: ``0.04``.
        blank (bool): also paint a **blank face** — a skin-coloured ellipse of the same size range
            with no eyes, nose or mouth — where it does not touch the face's box (it may be cut by
            the image border). A detector then has to find the face by its parts, not by its
            outline. Default: ``False``.
        seed (int or torch.Generator): the random source. Default: ``0``.

    Returns:
        FaceBoxes: images, boxes and landmarks.

    Example:
        >>> faces = make_face_boxes(4, seed=0)
        >>> faces.images.shape, faces.boxes.shape, faces.landmarks.shape
        (torch.Size([4, 1, 32, 32]), torch.Size([4, 4]), torch.Size([4, 5, 2]))
        >>> bool(((faces.landmarks >= faces.boxes[:, None, :2]) & (faces.landmarks <= faces.boxes[:, None, 2:])).all())
        True
    """
    check_int("n", n, minimum=1)
    height, width = check_int_pair("size", size, minimum=16)
    check_non_negative("noise", noise)
    g = as_generator("seed", seed)
    replay = torch.Generator()
    replay.set_state(g.get_state())
    images, landmarks, _ = make_landmark_faces(n, (height, width), scale=scale, noise=noise, seed=g)

    def uniform(low: float, high: float) -> Tensor:  # make_landmark_faces' own draws, in its order
        return low + (high - low) * torch.rand(n, generator=replay, dtype=torch.float64)

    side = min(height, width)
    a = uniform(float(scale[0]), float(scale[1])) * side  # (N,) half-width
    b = a * uniform(1.15, 1.3)  # (N,) half-height
    theta = uniform(-0.45, 0.45)
    cx = b + 1 + (width - 3 - 2 * b) * uniform(0.0, 1.0)
    cy = b + 1 + (height - 3 - 2 * b) * uniform(0.0, 1.0)
    # the replay must find the landmarks' frame: the eyes' midpoint rotated back lies on the axis
    eyes_mid = landmarks[:, :2].double().mean(dim=1) - torch.stack([cx, cy], dim=1)  # (N, 2)
    across = torch.cos(theta) * eyes_mid[:, 0] + torch.sin(theta) * eyes_mid[:, 1]
    assert bool((across.abs() < 1e-3).all()), "make_landmark_faces changed its random draws"
    hx = torch.sqrt((a * torch.cos(theta)) ** 2 + (b * torch.sin(theta)) ** 2)  # (N,)
    hy = torch.sqrt((a * torch.sin(theta)) ** 2 + (b * torch.cos(theta)) ** 2)
    boxes = torch.stack([cx - hx, cy - hy, cx + hx, cy + hy], dim=1).float()  # (N, 4)
    assert len(FACE_LANDMARKS) == landmarks.shape[1]
    if blank:
        images = _paint_blank(images, boxes.double(), a, b, g)
    return FaceBoxes(images, boxes, landmarks)


_BLANK_TRIES = 64  # candidate centres per image for the blank face


def _paint_blank(images: Tensor, boxes: Tensor, a: Tensor, b: Tensor, g: torch.Generator) -> Tensor:
    """Paint one featureless ellipse per image whose box does not meet the face's box."""
    n, _, height, width = images.shape
    ratio = 0.8 + 0.4 * torch.rand(n, generator=g, dtype=torch.float64)  # (N,) size relative to the face
    ra, rb = a * ratio, b * ratio
    theta = (torch.rand(n, generator=g, dtype=torch.float64) - 0.5) * 0.9
    hx = torch.sqrt((ra * torch.cos(theta)) ** 2 + (rb * torch.sin(theta)) ** 2)  # (N,)
    hy = torch.sqrt((ra * torch.sin(theta)) ** 2 + (rb * torch.cos(theta)) ** 2)
    cand = torch.rand(n, _BLANK_TRIES, 2, generator=g, dtype=torch.float64)  # (N, T, 2)
    cx = cand[..., 0] * (width - 1)  # (N, T) centres anywhere in the image
    cy = cand[..., 1] * (height - 1)
    apart = (
        (cx + hx[:, None] < boxes[:, 0:1])
        | (cx - hx[:, None] > boxes[:, 2:3])
        | (cy + hy[:, None] < boxes[:, 1:2])
        | (cy - hy[:, None] > boxes[:, 3:4])
    )  # (N, T) the blank's box misses the face's box
    first = torch.where(apart.any(dim=1), apart.float().argmax(dim=1), 0)  # (N,) first good candidate
    rows = torch.arange(n)
    bx, by = cx[rows, first], cy[rows, first]  # (N,)
    visible = apart[rows, first]  # (N,) images with no room get no blank
    skin = 0.6 + 0.25 * torch.rand(n, generator=g, dtype=torch.float64)
    ys = torch.arange(height, dtype=torch.float64)[None, :, None] - by[:, None, None]  # (N, H, 1)
    xs = torch.arange(width, dtype=torch.float64)[None, None, :] - bx[:, None, None]  # (N, 1, W)
    c, s = torch.cos(theta)[:, None, None], torch.sin(theta)[:, None, None]
    u = (c * xs + s * ys) / ra[:, None, None]  # (N, H, W) in units of the semi-axes
    v = (-s * xs + c * ys) / rb[:, None, None]
    q = torch.sqrt(u**2 + v**2)
    grad = torch.sqrt((u / ra[:, None, None]) ** 2 + (v / rb[:, None, None]) ** 2) / q.clamp_min(1e-9)
    coverage = (0.5 - (q - 1) / grad.clamp_min(1e-9)).clamp(0, 1) * visible[:, None, None]  # anti-aliased
    painted = images[:, 0].double() * (1 - coverage) + skin[:, None, None] * coverage
    return painted.clamp(0, 1)[:, None].float()  # (N, 1, H, W)

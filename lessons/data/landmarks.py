"""Procedural faces with five labelled landmarks (notebook 06): eyes, nose tip, mouth corners.

Each image is a grey cartoon face — an ellipse with two dark eyes, a nose and a mouth — at a random
position, scale and tilt, on a shaded, noisy background. The five landmarks are the ones
RetinaFace and most face detectors predict (:data:`FACE_LANDMARKS`). Faces also vary in their
proportions (eye spacing, mouth width and height), so a model has to look at the parts rather than
infer them from the outline.

Coordinates follow :mod:`lessons.heatmaps`: ``(x, y)`` in pixels with pixel centres on the integers
(pixel ``[row=i, col=j]`` is the point ``(j, i)``). Note: :func:`lessons.data.shapes.shape_mask`
puts pixel centres at ``+0.5`` and draws hard 0/1 masks; these faces are drawn with anti-aliased
edges (each pixel is covered by a fraction given by its signed distance to the edge), so that a
part moved by a fraction of a pixel changes the image and sub-pixel landmark positions can be
learned at all.
"""

from __future__ import annotations

from typing import NamedTuple

import torch
from torch import Tensor

from lessons._checks import as_generator, check_int, check_int_pair, check_non_negative

__all__ = ["FACE_LANDMARKS", "LandmarkFaces", "make_landmark_faces"]

#: The landmark order of :func:`make_landmark_faces`; left and right as seen in the image.
FACE_LANDMARKS = ("left_eye", "right_eye", "nose", "mouth_left", "mouth_right")


class LandmarkFaces(NamedTuple):
    """What :func:`make_landmark_faces` returns; unpacks as ``images, keypoints, visible``.

    Attributes:
        images (Tensor[N, 1, H, W]): float32, clipped to [0, 1].
        keypoints (Tensor[N, 5, 2]): the landmarks ``(x, y)`` in :data:`FACE_LANDMARKS` order, float32.
        visible (Tensor[N, 5]): bool; always ``True`` here (every face lies inside its image).
    """

    images: Tensor
    keypoints: Tensor
    visible: Tensor


def make_landmark_faces(
    n: int,
    size: int | tuple[int, int] = 32,
    *,
    scale: tuple[float, float] = (0.18, 0.28),
    noise: float = 0.04,
    seed: int | torch.Generator = 0,
) -> LandmarkFaces:
    """Draw ``n`` procedural faces and return the images with their five landmarks.

    The face is an ellipse of half-width ``a`` (``scale``: 0.18 to 0.28 of the image side) and half-height
    ``1.15a`` to ``1.3a``, tilted by up to ±0.45 rad, placed anywhere it fits. In the face's own
    frame (``u`` to the right, ``v`` down, unit = ``a``) the eyes sit at ``(±0.35..0.5, -0.25..-0.4)``,
    the nose tip at ``(±0.05, 0.05..0.2)`` and the mouth at ``v = 0.45..0.65`` with half-width
    ``0.3..0.45``; the mouth corners are the mouth ellipse's ends.

    Args:
        n (int): number of images, >= 1.
        size (int or tuple[int, int]): ``(H, W)``, or one int for square images; each side >= 16.
            Default: ``32``.
        scale (tuple[float, float]): range of the face's half-width as a fraction of the shorter
            image side; smaller faces move around more. Default: ``(0.18, 0.28)``.
        noise (float): standard deviation of the added pixel noise. Default: ``0.04``.
        seed (int or torch.Generator, keyword-only): the random source; an int gives the same
            faces every call, a generator advances (two calls draw different faces). Default: ``0``.

    Returns:
        LandmarkFaces: ``(images, keypoints, visible)``, see :class:`LandmarkFaces`.

    Example:
        >>> images, keypoints, visible = make_landmark_faces(4, seed=0)
        >>> images.shape, keypoints.shape, visible.shape
        (torch.Size([4, 1, 32, 32]), torch.Size([4, 5, 2]), torch.Size([4, 5]))
    """
    check_int("n", n, minimum=1)
    height, width = check_int_pair("size", size, minimum=16)
    check_non_negative("noise", noise)
    if not (
        isinstance(scale, (tuple, list))
        and len(scale) == 2
        and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in scale)
        and 0 < scale[0] <= scale[1] <= 0.3
    ):
        raise ValueError(f"scale: expected (low, high) with 0 < low <= high <= 0.3, got {scale!r}")
    generator = as_generator("seed", seed)

    def uniform(low: float, high: float, *shape: int) -> Tensor:
        return low + (high - low) * torch.rand(n, *shape, generator=generator, dtype=torch.float64)

    side = min(height, width)
    a = uniform(float(scale[0]), float(scale[1])) * side  # (N,) half-width of the face
    b = a * uniform(1.15, 1.3)  # (N,) half-height
    angle = uniform(-0.45, 0.45)  # (N,)
    # the face (radius <= b) must fit with a 1-pixel margin
    cx = b + 1 + (width - 3 - 2 * b) * uniform(0.0, 1.0)  # (N,)
    cy = b + 1 + (height - 3 - 2 * b) * uniform(0.0, 1.0)

    eye_u, eye_v = uniform(0.35, 0.5), uniform(-0.4, -0.25)  # in units of a
    nose_u, nose_v = uniform(-0.05, 0.05), uniform(0.05, 0.2)
    mouth_v, mouth_half = uniform(0.45, 0.65), uniform(0.3, 0.45)
    # landmark positions in the face frame (N, 5, 2), then rotated and moved into the image
    zeros = torch.zeros_like(eye_u)
    local = (
        torch.stack(
            [
                torch.stack([-eye_u, eye_v], dim=1),
                torch.stack([eye_u, eye_v], dim=1),
                torch.stack([nose_u, nose_v], dim=1),
                torch.stack([-mouth_half, mouth_v], dim=1),
                torch.stack([mouth_half, mouth_v], dim=1),
            ],
            dim=1,
        )
        * a[:, None, None]
    )  # (N, 5, 2)
    cos, sin = torch.cos(angle)[:, None], torch.sin(angle)[:, None]  # (N, 1)
    kx = cx[:, None] + cos * local[..., 0] - sin * local[..., 1]  # (N, 5)
    ky = cy[:, None] + sin * local[..., 0] + cos * local[..., 1]
    keypoints = torch.stack([kx, ky], dim=-1)  # (N, 5, 2)

    # pixel grid in each face's frame: (N, H, W)
    ys = torch.arange(height, dtype=torch.float64)[None, :, None] - cy[:, None, None]
    xs = torch.arange(width, dtype=torch.float64)[None, None, :] - cx[:, None, None]
    c3, s3 = cos[..., None], sin[..., None]  # (N, 1, 1)
    u = c3 * xs + s3 * ys  # (N, H, W) rotate the grid by -angle
    v = -s3 * xs + c3 * ys

    def ellipse(cu: Tensor, cv: Tensor, ru: Tensor, rv: Tensor) -> Tensor:
        """Anti-aliased coverage of an axis-aligned ellipse in the face frame, (N, H, W) in [0, 1]."""
        du = (u - cu[:, None, None]) / ru[:, None, None]
        dv = (v - cv[:, None, None]) / rv[:, None, None]
        q = torch.sqrt(du**2 + dv**2)
        grad = torch.sqrt((du / ru[:, None, None]) ** 2 + (dv / rv[:, None, None]) ** 2) / q.clamp_min(1e-9)
        dist = (q - 1) / grad.clamp_min(1e-9)  # first-order signed distance to the edge, in pixels
        return (0.5 - dist).clamp(0.0, 1.0)

    # background: a random linear shade plus the face, the features painted on top
    shade = uniform(-0.15, 0.15, 2)
    image = (
        uniform(0.15, 0.4)[:, None, None] + shade[:, 0, None, None] * xs / width + shade[:, 1, None, None] * ys / height
    )  # (N, H, W)
    skin = uniform(0.6, 0.85)
    dark = uniform(0.0, 0.15)

    def paint(image: Tensor, coverage: Tensor, value: Tensor) -> Tensor:
        return image * (1 - coverage) + value[:, None, None] * coverage

    image = paint(image, ellipse(zeros, zeros, a, b), skin)
    eye_r = a * uniform(0.11, 0.15)
    for sign in (-1.0, 1.0):
        image = paint(image, ellipse(sign * eye_u * a, eye_v * a, eye_r, eye_r), dark)
    nose_r = a * uniform(0.08, 0.11)
    image = paint(image, ellipse(nose_u * a, nose_v * a, nose_r, nose_r), skin - 0.3)
    image = paint(image, ellipse(zeros, mouth_v * a, mouth_half * a, a * uniform(0.07, 0.11)), dark)
    if noise > 0:
        image = image + noise * torch.randn(image.shape, generator=generator, dtype=torch.float64)
    images = image.clamp(0.0, 1.0)[:, None].float()  # (N, 1, H, W)
    visible = torch.ones(n, len(FACE_LANDMARKS), dtype=torch.bool)
    return LandmarkFaces(images, keypoints.float(), visible)

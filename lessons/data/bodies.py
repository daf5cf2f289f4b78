"""Procedural bodies with dense ground truth (notebook 08): part index I and chart coordinates U, V.

A body is a 2D figure of :data:`BODY_PARTS` (torso, head, two-segment arms and legs), each part an
ellipse attached to a stick skeleton. A **pose** (:data:`POSE_FIELDS`) places the torso, tilts the
head and bends every shoulder, elbow, hip and knee. Every part carries its own fixed **chart**
(the UV map of DensePose, Güler et al., "DensePose: Dense Human Pose Estimation In The Wild",
2018, arXiv:1802.00434): in the part's frame — origin at the ellipse's centre, first axis along the
bone from the joint nearer the torso (``U = 0``) to the far joint (``U = 1``), second axis across it
(``V = 0`` on one side, ``V = 1`` on the other) —

.. math::
    U = \\tfrac12\\left(\\frac{a_\\parallel}{a} + 1\\right), \\qquad
    V = \\tfrac12\\left(\\frac{a_\\perp}{b} + 1\\right), \\qquad
    \\left(\\frac{a_\\parallel}{a}\\right)^2 + \\left(\\frac{a_\\perp}{b}\\right)^2 \\le 1,

where ``a`` and ``b`` are the ellipse's semi-axes along and across the bone. Because the chart is
attached to the part, a point of the body keeps its ``(I, U, V)`` whatever the pose: the chart is
fixed, only the body moves (:func:`body_chart_to_image` maps a chart point into the image for a
given pose; the tests check that the rendered ``(I, U, V)`` at that pixel is the same).

``I = 0`` is the background and ``1..P`` the parts, in :data:`BODY_PARTS` order. Where parts
overlap the one painted last (arms over the torso, head over the neck) is visible. Coordinates
follow :func:`lessons.data.shapes.shape_mask`: pixel ``[row i, col j]`` has its centre at
``(j + 0.5, i + 0.5)``; boxes are the tight boxes of :func:`lessons.data.shapes.mask_to_box`.

The image is a "costume": every part has its own colour (:data:`PART_COLOURS`) with a cylinder-like
shading across it, on a smooth random background with a little noise, so that a tiny network can
tell the parts apart after a few seconds of training. Real DensePose has to learn parts from
appearance and context alone. The figure is 2D: there is no depth, no self-occlusion other than
painting order, and no rotation out of the image plane.
"""

from __future__ import annotations

from typing import NamedTuple

import torch
from torch import Tensor

from lessons._checks import (
    as_generator,
    check_finite,
    check_floating,
    check_int,
    check_int_pair,
    check_non_negative,
    check_tensor,
    describe,
)
from lessons.data.shapes import mask_to_box

__all__ = [
    "BODY_PARTS",
    "PART_COLOURS",
    "POSE_FIELDS",
    "Bodies",
    "random_body_poses",
    "render_bodies",
    "make_bodies",
    "body_chart_to_image",
]

#: Part names; part ``I = k`` is ``BODY_PARTS[k - 1]`` (``I = 0`` is the background). Left and
#: right as seen in the image at zero tilt.
BODY_PARTS = (
    "torso",
    "head",
    "upper_arm_left",
    "lower_arm_left",
    "upper_arm_right",
    "lower_arm_right",
    "upper_leg_left",
    "lower_leg_left",
    "upper_leg_right",
    "lower_leg_right",
)

#: The pose vector's entries: centre and size of the figure in pixels, then angles in radians.
#: ``tilt`` turns the torso (positive: clockwise on screen), ``head`` the head relative to the
#: torso; ``*_shoulder`` and ``*_hip`` open a limb away from the body, ``*_elbow`` and ``*_knee``
#: bend its lower segment relative to the upper one.
POSE_FIELDS = (
    "cx",
    "cy",
    "scale",
    "tilt",
    "head",
    "left_shoulder",
    "left_elbow",
    "right_shoulder",
    "right_elbow",
    "left_hip",
    "left_knee",
    "right_hip",
    "right_knee",
)

#: RGB colour of each part's costume, in :data:`BODY_PARTS` order.
PART_COLOURS = torch.tensor(
    [
        [0.85, 0.20, 0.20],  # torso
        [0.95, 0.80, 0.60],  # head
        [0.20, 0.45, 0.90],  # upper arm left
        [0.55, 0.80, 1.00],  # lower arm left
        [0.20, 0.75, 0.30],  # upper arm right
        [0.65, 0.95, 0.55],  # lower arm right
        [0.55, 0.25, 0.70],  # upper leg left
        [0.85, 0.60, 0.95],  # lower leg left
        [0.90, 0.60, 0.10],  # upper leg right
        [1.00, 0.90, 0.35],  # lower leg right
    ]
)

# Body proportions in units of ``scale``: bone lengths and half-widths (the ellipse's b).
_TORSO_HALF, _TORSO_WIDTH = 1.3, 0.75
_HEAD_HALF, _HEAD_WIDTH = 0.6, 0.5
_ARM = ((1.1, 0.28), (1.0, 0.24))  # (length, half-width) of the upper and lower segment
_LEG = ((1.3, 0.33), (1.2, 0.28))
_OVERLAP = 0.6  # a limb ellipse reaches this many half-widths past each joint
_SHOULDER_UP, _SHOULDER_OUT = 1.0, 0.6
_HIP_DOWN, _HIP_OUT = 1.0, 0.4
# Painting order (part indices 1..P): legs, torso, head, arms — later parts are in front.
_PAINT_ORDER = (7, 8, 9, 10, 1, 2, 3, 4, 5, 6)
# Ranges of the random pose angles (radians) and of the size (fraction of the image height / 6.4).
_ANGLE_RANGES = {
    "tilt": (-0.3, 0.3),
    "head": (-0.4, 0.4),
    "shoulder": (0.15, 2.6),
    "elbow": (-0.3, 2.0),
    "hip": (-0.05, 0.6),
    "knee": (-0.9, 0.1),
}
_SCALE_RANGE = (0.8, 0.95)


class Bodies(NamedTuple):
    """Images of bodies with their dense targets.

    Attributes:
        images (Tensor[N, 3, H, W]): float32 RGB in ``[0, 1]``.
        parts (Tensor[N, H, W]): int64 part index ``I``: 0 background, ``1..P`` the parts.
        uv (Tensor[N, 2, H, W]): float32 chart coordinates ``(U, V)`` in ``[0, 1]``; 0 on the
            background.
        boxes (Tensor[N, 4]): float32 tight box ``(x1, y1, x2, y2)`` of each body.
        poses (Tensor[N, 13]): float64 pose vectors (:data:`POSE_FIELDS`); ``render_bodies(poses)``
            draws the same bodies again.
    """

    images: Tensor
    parts: Tensor
    uv: Tensor
    boxes: Tensor
    poses: Tensor


def random_body_poses(n: int, size: int | tuple[int, int] = 64, *, seed: int | torch.Generator = 0) -> Tensor:
    """Draw ``n`` random poses whose bodies fit inside an image of ``size``.

    Args:
        n (int): number of poses, >= 1.
        size (int or tuple[int, int]): ``(H, W)`` of the images, or one int; each side >= 32.
            Default: ``64``.
        seed (int or torch.Generator): the random source. Default: ``0``.

    Returns:
        Tensor[N, 13] (float64): pose vectors, :data:`POSE_FIELDS` order.

    Example:
        >>> random_body_poses(2, seed=0).shape
        torch.Size([2, 13])
    """
    check_int("n", n, minimum=1)
    height, width = check_int_pair("size", size, minimum=32)
    g = as_generator("seed", seed)

    def uniform(low: float, high: float) -> Tensor:
        return low + (high - low) * torch.rand(n, generator=g, dtype=torch.float64)

    # the figure spans about 6 scale units from head top to feet and 5 across with arms raised
    scale = uniform(*_SCALE_RANGE) * min(height, width * 1.2) / 6.8
    tilt = uniform(*_ANGLE_RANGES["tilt"])
    head = uniform(*_ANGLE_RANGES["head"])
    limbs = []
    for _side in ("left", "right"):
        limbs += [uniform(*_ANGLE_RANGES["shoulder"]), uniform(*_ANGLE_RANGES["elbow"])]
    for _side in ("left", "right"):
        limbs += [uniform(*_ANGLE_RANGES["hip"]), uniform(*_ANGLE_RANGES["knee"])]
    # the figure reaches 2.5 scale units above the torso centre and about 3.6 below it
    cx = width / 2 + uniform(-0.1, 0.1) * width
    cy = height / 2 - 0.55 * scale + uniform(-0.04, 0.04) * height
    return torch.stack([cx, cy, scale, tilt, head, *limbs], dim=1)  # (N, 13)


def _check_poses(poses: object) -> Tensor:
    check_floating("poses", poses)
    if poses.ndim != 2 or poses.shape[1] != len(POSE_FIELDS):  # type: ignore[union-attr]
        raise ValueError(
            f"poses: expected a tensor of shape (N, {len(POSE_FIELDS)}) with {POSE_FIELDS}, "
            f"got shape {tuple(poses.shape)}"  # type: ignore[union-attr]
        )
    check_finite("poses", poses)  # type: ignore[arg-type]
    if not bool((poses[:, 2] > 0).all()):  # type: ignore[index]
        raise ValueError("poses: expected a positive scale (column 2) in every row")
    return poses.to(torch.float64)  # type: ignore[union-attr]


def _direction(angle: Tensor) -> Tensor:
    """Unit vector at ``angle`` from straight down, turning towards +x: ``(sin, cos)``. (N,) -> (N, 2)."""
    return torch.stack([torch.sin(angle), torch.cos(angle)], dim=-1)


def _part_frames(poses: Tensor) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """Each part's ellipse: centre ``(N, P, 2)``, bone direction ``(N, P, 2)``, semi-axes ``a, b`` ``(N, P)``.

    The bone direction points from ``U = 0`` to ``U = 1``; the across axis is the direction turned
    by -90 degrees on screen, ``(cos, -sin)``, and points from ``V = 0`` to ``V = 1``.
    """
    cx, cy, s, tilt, head = (poses[:, i] for i in range(5))
    down = _direction(tilt)  # (N, 2) torso axis, head to hips
    side = torch.stack([down[:, 1], -down[:, 0]], dim=-1)  # (N, 2) towards the image's right at tilt 0
    centre = torch.stack([cx, cy], dim=-1)  # (N, 2)
    s1 = s[:, None]
    centres, dirs, along, across = [], [], [], []

    def add(c: Tensor, d: Tensor, a: Tensor, b: Tensor) -> None:
        centres.append(c)
        dirs.append(d)
        along.append(a)
        across.append(b)

    add(centre, down, _TORSO_HALF * s, _TORSO_WIDTH * s)  # torso: U = 0 at the neck
    neck = centre - down * (_TORSO_HALF * s1)
    head_dir = _direction(tilt + head)
    add(neck - head_dir * (_HEAD_HALF * s1), head_dir, _HEAD_HALF * s, _HEAD_WIDTH * s)  # U = 0 at the crown
    limbs = (
        (-1.0, centre - down * (_SHOULDER_UP * s1) - side * (_SHOULDER_OUT * s1), _ARM, 5),
        (1.0, centre - down * (_SHOULDER_UP * s1) + side * (_SHOULDER_OUT * s1), _ARM, 7),
    )
    legs = (
        (-1.0, centre + down * (_HIP_DOWN * s1) - side * (_HIP_OUT * s1), _LEG, 9),
        (1.0, centre + down * (_HIP_DOWN * s1) + side * (_HIP_OUT * s1), _LEG, 11),
    )
    for sign, joint, bones, column in limbs + legs:
        # left limbs open towards -x, right limbs towards +x: angle = tilt + sign * opening
        angle = tilt + sign * poses[:, column]
        for k, (length, half_width) in enumerate(bones):
            if k == 1:
                angle = angle + sign * poses[:, column + 1]
            d = _direction(angle)  # (N, 2)
            end = joint + d * (length * s1)
            add((joint + end) / 2, d, (length / 2 + _OVERLAP * half_width) * s, half_width * s)
            joint = end
    return (
        torch.stack(centres, dim=1),  # (N, P, 2)
        torch.stack(dirs, dim=1),  # (N, P, 2)
        torch.stack(along, dim=1),  # (N, P)
        torch.stack(across, dim=1),  # (N, P)
    )


def _render_dense(poses: Tensor, height: int, width: int) -> tuple[Tensor, Tensor, Tensor]:
    """Part index ``(N, H, W)``, chart ``(N, 2, H, W)`` and the across-coordinate ``(N, H, W)``."""
    centres, dirs, a, b = _part_frames(poses)
    n = poses.shape[0]
    ys = torch.arange(height, dtype=torch.float64) + 0.5
    xs = torch.arange(width, dtype=torch.float64) + 0.5
    parts = torch.zeros(n, height, width, dtype=torch.int64)
    uv = torch.zeros(n, 2, height, width, dtype=torch.float64)
    across_norm = torch.zeros(n, height, width, dtype=torch.float64)
    for k in _PAINT_ORDER:
        c, d = centres[:, k - 1], dirs[:, k - 1]  # (N, 2)
        dx = xs[None, None, :] - c[:, 0, None, None]  # (N, 1, W)
        dy = ys[None, :, None] - c[:, 1, None, None]  # (N, H, 1)
        p = (dx * d[:, 0, None, None] + dy * d[:, 1, None, None]) / a[:, k - 1, None, None]  # (N, H, W)
        q = (dx * d[:, 1, None, None] - dy * d[:, 0, None, None]) / b[:, k - 1, None, None]  # (N, H, W)
        inside = p**2 + q**2 <= 1.0
        parts = torch.where(inside, k, parts)
        uv[:, 0] = torch.where(inside, (p + 1) / 2, uv[:, 0])
        uv[:, 1] = torch.where(inside, (q + 1) / 2, uv[:, 1])
        across_norm = torch.where(inside, q, across_norm)
    return parts, uv, across_norm


def render_bodies(
    poses: Tensor,
    size: int | tuple[int, int] = 64,
    *,
    noise: float = 0.02,
    seed: int | torch.Generator = 0,
) -> Bodies:
    """Draw the bodies of ``poses`` with their part index and chart coordinates.

    Args:
        poses (Tensor[N, 13]): pose vectors (:data:`POSE_FIELDS`), floating point, finite, scale > 0.
        size (int or tuple[int, int]): ``(H, W)``, or one int; each side >= 32. Default: ``64``.
        noise (float): standard deviation of the pixel noise, >= 0. Default: ``0.02``.
        seed (int or torch.Generator): the random source of the background colours and the noise
            (the geometry depends on ``poses`` only). Default: ``0``.

    Returns:
        Bodies: images, parts, uv, boxes and the poses (float64).

    Example:
        >>> bodies = render_bodies(random_body_poses(2, seed=0), 64)
        >>> bodies.images.shape, bodies.parts.unique().tolist()
        (torch.Size([2, 3, 64, 64]), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10])
    """
    poses = _check_poses(poses)
    height, width = check_int_pair("size", size, minimum=32)
    check_non_negative("noise", noise)
    g = as_generator("seed", seed)
    n = poses.shape[0]
    parts, uv, across = _render_dense(poses, height, width)

    def uniform(low: float, high: float, *shape: int) -> Tensor:
        return low + (high - low) * torch.rand(n, *shape, generator=g, dtype=torch.float64)

    # background: a vertical blend of two dull colours
    top, bottom = uniform(0.1, 0.45, 3), uniform(0.1, 0.45, 3)  # (N, 3)
    t = torch.linspace(0, 1, height, dtype=torch.float64)[None, None, :, None]  # (1, 1, H, 1)
    image = (top[:, :, None, None] * (1 - t) + bottom[:, :, None, None] * t).expand(n, 3, height, width)
    # costume: the part's colour, darker towards the part's sides like a lit cylinder
    colours = torch.cat([torch.zeros(1, 3), PART_COLOURS]).to(torch.float64)  # (P + 1, 3)
    shade = 0.6 + 0.4 * torch.sqrt((1 - across**2).clamp_min(0))  # (N, H, W)
    costume = colours[parts].permute(0, 3, 1, 2) * shade[:, None]  # (N, 3, H, W)
    image = torch.where(parts[:, None] > 0, costume, image)
    if noise > 0:
        image = image + noise * torch.randn(image.shape, generator=g, dtype=torch.float64)
    boxes = mask_to_box(parts > 0)  # (N, 4)
    return Bodies(image.clamp(0, 1).float(), parts, uv.float(), boxes, poses)


def make_bodies(
    n: int,
    size: int | tuple[int, int] = 64,
    *,
    noise: float = 0.02,
    seed: int | torch.Generator = 0,
) -> Bodies:
    """``n`` bodies in random poses: :func:`random_body_poses` then :func:`render_bodies`.

    Args:
        n (int): number of images, >= 1.
        size (int or tuple[int, int]): ``(H, W)``, or one int; each side >= 32. Default: ``64``.
        noise (float): pixel noise, >= 0. Default: ``0.02``.
        seed (int or torch.Generator): the random source. Default: ``0``.

    Returns:
        Bodies: images, parts, uv, boxes, poses.

    Example:
        >>> images, parts, uv, boxes, poses = make_bodies(3, seed=1)
        >>> images.shape, parts.shape, uv.shape, boxes.shape
        (torch.Size([3, 3, 64, 64]), torch.Size([3, 64, 64]), torch.Size([3, 2, 64, 64]), torch.Size([3, 4]))
    """
    g = as_generator("seed", seed)
    return render_bodies(random_body_poses(n, size, seed=g), size, noise=noise, seed=g)


def body_chart_to_image(poses: Tensor, parts: Tensor, uv: Tensor) -> Tensor:
    """Where chart points ``(I, U, V)`` of each body lie in the image for the given poses.

    The inverse of the chart formula in the module docstring:
    ``x = c + (2U - 1) a d + (2V - 1) b d_perp`` with ``d`` the bone direction and
    ``d_perp = (d_y, -d_x)``.

    Args:
        poses (Tensor[N, 13]): pose vectors.
        parts (Tensor[N, M]): int64 part index ``1..P`` of each point.
        uv (Tensor[N, M, 2]): chart coordinates ``(U, V)``, finite.

    Returns:
        Tensor[N, M, 2] (float64): ``(x, y)`` in image pixels (pixel centres at ``+0.5``).

    Example:
        >>> poses = random_body_poses(1, seed=0)
        >>> centre = body_chart_to_image(poses, torch.tensor([[1]]), torch.tensor([[[0.5, 0.5]]]))
        >>> torch.allclose(centre[0, 0], poses[0, :2])  # the torso's chart centre is the body centre
        True
    """
    poses = _check_poses(poses)
    check_tensor("parts", parts)
    if parts.dtype != torch.int64 or parts.ndim != 2 or parts.shape[0] != poses.shape[0]:
        raise ValueError(f"parts: expected an int64 tensor of shape (N={poses.shape[0]}, M), got {describe(parts)}")
    if parts.numel() and not bool(((parts >= 1) & (parts <= len(BODY_PARTS))).all()):
        raise ValueError(f"parts: expected part indices in 1..{len(BODY_PARTS)}, got {parts.unique().tolist()}")
    check_floating("uv", uv)
    if uv.shape != (*parts.shape, 2):
        raise ValueError(f"uv: expected shape {(*parts.shape, 2)} (U, V per point), got {tuple(uv.shape)}")
    check_finite("uv", uv)
    centres, dirs, a, b = _part_frames(poses)
    idx = parts - 1  # (N, M)
    c = torch.gather(centres, 1, idx[..., None].expand(-1, -1, 2))  # (N, M, 2)
    d = torch.gather(dirs, 1, idx[..., None].expand(-1, -1, 2))  # (N, M, 2)
    aa, bb = torch.gather(a, 1, idx), torch.gather(b, 1, idx)  # (N, M)
    perp = torch.stack([d[..., 1], -d[..., 0]], dim=-1)  # (N, M, 2)
    uv64 = uv.to(torch.float64)
    return c + ((2 * uv64[..., 0] - 1) * aa)[..., None] * d + ((2 * uv64[..., 1] - 1) * bb)[..., None] * perp

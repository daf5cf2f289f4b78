"""Procedural stick figures with seven labelled joints, clutter and occluders (notebook 07).

Each image is a bright stick figure — a head disk, a torso, two straight arms from the neck and two
straight legs from the pelvis — tilted and placed at random on a dark, noisy background, with

* **clutter**: loose sticks that look exactly like a limb locally, so an isolated stick end is
  ambiguous (a hand? a foot? a distractor?) until the network sees the body it belongs to;
* **occluders**: with probability ``occlusion`` a dark textured square hides one hand or foot
  (and whatever else falls under it). The joint stays labelled, as in MPII, where occluded joints
  are annotated: it can only be found from context — the direction of the visible part of the limb
  and the limb length, which is proportional to the torso.

Left and right are as seen in the image: the left hand and foot are on the image's left of the
body axis. Limb lengths are proportional to the torso length (arms 0.8 to 1 torso, legs 0.9 to
1.1), so the position of a hidden hand is predictable to about a tenth of a torso from the rest of
the figure.

Coordinates follow :mod:`lessons.heatmaps`: ``(x, y)`` in pixels with pixel centres on the
integers. Strokes are anti-aliased (coverage from the signed distance to the stroke's edge), so
sub-pixel positions change the image.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import torch
from torch import Tensor

from lessons._checks import as_generator, check_int, check_int_pair, check_non_negative

__all__ = ["FIGURE_JOINTS", "StickFigures", "make_stick_figures"]

#: The joint order of :func:`make_stick_figures`; left and right as seen in the image.
FIGURE_JOINTS = ("head", "neck", "pelvis", "left_hand", "right_hand", "left_foot", "right_foot")

# the limbs whose ends an occluder may hide: indices into FIGURE_JOINTS
_LIMB_ENDS = (3, 4, 5, 6)


class StickFigures(NamedTuple):
    """What :func:`make_stick_figures` returns.

    Attributes:
        images (Tensor[N, 1, H, W]): float32 in [0, 1].
        keypoints (Tensor[N, 7, 2]): float32 ``(x, y)`` of the joints in :data:`FIGURE_JOINTS` order.
        visible (Tensor[N, 7]): bool, ``True`` where a joint is labelled (always, here).
        occluded (Tensor[N, 7]): bool, ``True`` where an occluder hides the joint.
    """

    images: Tensor
    keypoints: Tensor
    visible: Tensor
    occluded: Tensor


def make_stick_figures(
    n: int,
    size: int | tuple[int, int] = 64,
    *,
    clutter: int = 3,
    occlusion: float = 0.5,
    noise: float = 0.05,
    seed: int | torch.Generator = 0,
) -> StickFigures:
    """Draw ``n`` stick figures with clutter and occluders, and return them with their joints.

    The torso has length ``L`` = 0.2 to 0.26 of the shorter image side and is tilted by up to
    ±0.3 rad; the head is a disk of radius ``0.22 L`` centred ``0.4 L`` above the neck. In the
    figure's own frame (``v`` down the torso) the left arm leaves the neck at an angle of 0.3 to
    2.4 rad from straight down, towards the image's left, with length 0.8 to 1 ``L``; the legs leave
    the pelvis at 0.15 to 0.7 rad with length 0.9 to 1.1 ``L``. Strokes are 1.6 px wide. Each
    clutter stick has a random position, direction and a length of 0.6 to 1 ``L``. An occluder is a
    square of side ``0.6 L`` centred within ``0.15 L`` of the hidden joint.

    Args:
        n (int): number of images, >= 1.
        size (int or tuple[int, int]): ``(H, W)``, or one int for square images; each side >= 32.
            Default: ``64``.
        clutter (int): loose sticks per image, >= 0. Default: ``3``.
        occlusion (float): probability that an image has an occluder, in [0, 1]. Default: ``0.5``.
        noise (float): standard deviation of the added pixel noise, >= 0. Default: ``0.05``.
        seed (int or torch.Generator): the random source. Default: ``0``.

    Returns:
        StickFigures: ``(images, keypoints, visible, occluded)``; see :class:`StickFigures`.

    Example:
        >>> figs = make_stick_figures(4, seed=0)
        >>> figs.images.shape, figs.keypoints.shape, figs.occluded.shape
        (torch.Size([4, 1, 64, 64]), torch.Size([4, 7, 2]), torch.Size([4, 7]))
    """
    check_int("n", n, minimum=1)
    height, width = check_int_pair("size", size, minimum=32)
    check_int("clutter", clutter, minimum=0)
    check_non_negative("occlusion", occlusion)
    if occlusion > 1:
        raise ValueError(f"occlusion: expected a probability in [0, 1], got {occlusion!r}")
    check_non_negative("noise", noise)
    gen = as_generator("seed", seed)

    def uniform(low: float, high: float, *shape: int) -> Tensor:
        return low + (high - low) * torch.rand(n, *shape, generator=gen, dtype=torch.float64)

    side = min(height, width)
    torso = uniform(0.2, 0.26) * side  # (N,) L
    tilt = uniform(-0.3, 0.3)  # (N,)
    arm = uniform(0.3, 2.4, 2)  # (N, 2) angle from straight down, left then right
    leg = uniform(0.15, 0.7, 2)
    arm_len = uniform(0.8, 1.0, 2) * torso[:, None]  # (N, 2)
    leg_len = uniform(0.9, 1.1, 2) * torso[:, None]
    side_sign = torch.tensor([-1.0, 1.0], dtype=torch.float64)  # left limbs go to the image's left

    # joints in the figure frame, pelvis at the origin, v pointing down the body: (N, 7, 2)
    neck = torch.stack([torch.zeros(n, dtype=torch.float64), -torso], dim=1)  # (N, 2)
    head = neck + torch.stack([torch.zeros_like(torso), -0.4 * torso], dim=1)
    hands = neck[:, None] + arm_len[..., None] * torch.stack(
        [side_sign * torch.sin(arm), torch.cos(arm)], dim=-1
    )  # (N, 2, 2)
    feet = leg_len[..., None] * torch.stack([side_sign * torch.sin(leg), torch.cos(leg)], dim=-1)
    local = torch.cat([head[:, None], neck[:, None], torch.zeros(n, 1, 2, dtype=torch.float64), hands, feet], dim=1)
    cos, sin = torch.cos(tilt)[:, None], torch.sin(tilt)[:, None]  # (N, 1)
    rx = cos * local[..., 0] - sin * local[..., 1]  # (N, 7) rotate by the tilt
    ry = sin * local[..., 0] + cos * local[..., 1]

    # place the figure so that the head disk and every joint stay 2 px inside the image
    radius = 0.22 * torso  # (N,)
    lo_x = torch.minimum(rx.min(dim=1).values, rx[:, 0] - radius)
    hi_x = torch.maximum(rx.max(dim=1).values, rx[:, 0] + radius)
    lo_y = torch.minimum(ry.min(dim=1).values, ry[:, 0] - radius)
    hi_y = torch.maximum(ry.max(dim=1).values, ry[:, 0] + radius)
    ox = 2 - lo_x + (width - 5 - (hi_x - lo_x)).clamp_min(0) * uniform(0.0, 1.0)  # (N,)
    oy = 2 - lo_y + (height - 5 - (hi_y - lo_y)).clamp_min(0) * uniform(0.0, 1.0)
    keypoints = torch.stack([rx + ox[:, None], ry + oy[:, None]], dim=-1)  # (N, 7, 2)

    ys = torch.arange(height, dtype=torch.float64)[None, :, None]  # (1, H, 1)
    xs = torch.arange(width, dtype=torch.float64)[None, None, :]  # (1, 1, W)
    half_width = 0.8

    def stroke(a: Tensor, b: Tensor) -> Tensor:
        """Anti-aliased coverage of the segments a-b, (N, H, W) in [0, 1]; a, b are (N, 2)."""
        ax, ay = a[:, 0, None, None], a[:, 1, None, None]
        dx, dy = (b[:, 0] - a[:, 0])[:, None, None], (b[:, 1] - a[:, 1])[:, None, None]
        t = (((xs - ax) * dx + (ys - ay) * dy) / (dx**2 + dy**2).clamp_min(1e-12)).clamp(0.0, 1.0)
        dist = torch.sqrt((xs - ax - t * dx) ** 2 + (ys - ay - t * dy) ** 2)
        return (0.5 + half_width - dist).clamp(0.0, 1.0)

    def paint(image: Tensor, coverage: Tensor, value: Tensor) -> Tensor:
        return image * (1 - coverage) + value[:, None, None] * coverage

    image = uniform(0.05, 0.25)[:, None, None] + 0.1 * uniform(-1.0, 1.0)[:, None, None] * xs / width
    image = image.expand(n, height, width).clone()  # (N, H, W)
    ink = uniform(0.75, 0.95)

    # clutter first, so the figure is drawn over it
    for _ in range(clutter):
        centre = torch.stack([uniform(0.0, width - 1.0), uniform(0.0, height - 1.0)], dim=1)  # (N, 2)
        angle = uniform(0.0, math.pi)
        half = 0.5 * uniform(0.6, 1.0) * torso
        offset = torch.stack([torch.cos(angle), torch.sin(angle)], dim=1) * half[:, None]
        image = paint(image, stroke(centre - offset, centre + offset), ink)

    kp = keypoints
    for a, b in ((1, 2), (1, 3), (1, 4), (2, 5), (2, 6)):  # torso, arms, legs
        image = paint(image, stroke(kp[:, a], kp[:, b]), ink)
    head_dist = torch.sqrt((xs - kp[:, 0, 0, None, None]) ** 2 + (ys - kp[:, 0, 1, None, None]) ** 2)
    image = paint(image, (0.5 + radius[:, None, None] - head_dist).clamp(0.0, 1.0), ink)
    image = paint(image, stroke(kp[:, 0], kp[:, 1]), ink)  # the short neck between head and torso

    # occluders: a dark textured square over one hand or foot
    has = torch.rand(n, generator=gen) < occlusion  # (N,)
    which = torch.tensor(_LIMB_ENDS)[torch.randint(0, len(_LIMB_ENDS), (n,), generator=gen)]  # (N,)
    half = 0.3 * torso  # (N,)
    target = kp[torch.arange(n), which]  # (N, 2)
    centre = target + (2 * torch.rand(n, 2, generator=gen, dtype=torch.float64) - 1) * 0.15 * torso[:, None]
    inside_x = (xs - centre[:, 0, None, None]).abs() <= half[:, None, None]  # (N, 1, W)
    inside_y = (ys - centre[:, 1, None, None]).abs() <= half[:, None, None]  # (N, H, 1)
    box = (inside_x & inside_y & has[:, None, None]).to(torch.float64)  # (N, H, W)
    texture = uniform(0.05, 0.25)[:, None, None] + 0.08 * torch.rand(
        n, height, width, generator=gen, dtype=torch.float64
    )
    image = image * (1 - box) + texture * box
    occluded = (
        ((kp[..., 0] - centre[:, None, 0]).abs() <= half[:, None])
        & ((kp[..., 1] - centre[:, None, 1]).abs() <= half[:, None])
        & has[:, None]
    )  # (N, 7)

    if noise > 0:
        image = image + noise * torch.randn(image.shape, generator=gen, dtype=torch.float64)
    images = image.clamp(0.0, 1.0)[:, None].float()  # (N, 1, H, W)
    visible = torch.ones(n, len(FIGURE_JOINTS), dtype=torch.bool)
    return StickFigures(images, keypoints.float(), visible, occluded)

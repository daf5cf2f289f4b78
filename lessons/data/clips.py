"""Procedural video clips for video panoptic segmentation (notebook 05): things that move, cross
and pass behind each other over a static background, with exact flow and consistent ids.

A clip is a panoptic video: every frame has one *stuff* segment (the background, id 1) and one
segment per visible *thing*, and a thing keeps its segment id ``n + 2`` in every frame, so a segment
is a *tube* through time (what VPQ matches). Things are the shapes of :mod:`lessons.data.shapes`,
painted in order: a later thing hides an earlier one where they overlap, so in a ``"crossing"`` clip
thing 0 passes behind thing 1. Motion is a constant velocity per thing, so the backward flow between
any two frames is exact (:func:`video_clip_flow`, the rule of :func:`lessons.data.scenes.clip_flow`).

Two options make the tracking and fusion experiments possible:

- ``look`` chooses how alike the things are: ``"twins"`` (one shape kind, one colour: appearance
  alone cannot tell them apart), ``"same_kind"`` (one kind, distinct colours), ``"same_colour"``
  (distinct kinds, one colour) or ``"distinct"`` (random kinds, distinct colours).
- ``veil > 0`` puts a translucent occluder (a dirty pane, fog, glare) over one thing in some frames:
  ``frame = (1 - opacity) frame + opacity (0.5 + noise)`` inside the thing's box grown by 3 pixels.
  The thing is still there (its ground truth does not change) but poorly seen. Two consecutive
  frames are never veiled, so the previous frame always shows what the veil hides.
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

import torch
from torch import Tensor

from lessons._checks import as_generator, check_choice, check_int, check_int_pair, check_non_negative, check_positive
from lessons.data.scenes import MovingClip, _background, _colours, _paint, _rasterize_tracks, _visible, clip_flow
from lessons.data.shapes import SHAPE_KINDS, mask_to_box

__all__ = ["CLIP_CATEGORIES", "VideoClip", "make_video_clip", "video_clip_flow"]

#: panopticapi-style categories of a clip: ``0`` is the background (stuff), ``1 + k`` shape kind ``k``.
CLIP_CATEGORIES: tuple[dict[str, Any], ...] = tuple(
    [{"id": 0, "name": "background", "isthing": 0}]
    + [{"id": 1 + k, "name": kind, "isthing": 1} for k, kind in enumerate(SHAPE_KINDS)]
)

_TRIES = 200  # redraws before giving up
_VEIL_MARGIN = 3  # pixels the veil extends beyond the veiled thing's box


class VideoClip(NamedTuple):
    """A panoptic clip: frames, per-thing masks and motion, and the panoptic ground truth.

    Attributes:
        frames (Tensor[T, 3, H, W]): float32 RGB in ``[0, 1]``.
        masks (Tensor[T, N, H, W]): bool *visible* masks (a hidden part is not in the mask).
        boxes (Tensor[T, N, 4]): float32 tight boxes of the visible masks (zeros when hidden).
        labels (Tensor[N]): int64 shape kind of each thing (category ``1 + label``).
        centers (Tensor[T, N, 2]): float32 ``(cx, cy)``.
        velocities (Tensor[N, 2]): float32 ``(vx, vy)`` in pixels per frame.
        panoptic (Tensor[T, H, W]): int64 segment ids: 1 on the background, ``n + 2`` on thing n.
        segments (list[dict]): ``id``, ``category_id``, ``isthing``, ``iscrowd`` of every segment of
            the clip (the ids are the same in every frame).
        veiled (Tensor[T, N]): bool, True where thing n is behind the translucent veil in frame t.
    """

    frames: Tensor
    masks: Tensor
    boxes: Tensor
    labels: Tensor
    centers: Tensor
    velocities: Tensor
    panoptic: Tensor
    segments: list[dict[str, Any]]
    veiled: Tensor


def _uniform(g: torch.Generator, low: float, high: float, shape: tuple[int, ...] = ()) -> Tensor:
    return low + (high - low) * torch.rand(shape, generator=g, dtype=torch.float64)


def _motion(
    g: torch.Generator, motion: str, n: int, n_frames: int, height: int, width: int, radii: Tensor, max_speed: float
) -> tuple[Tensor, Tensor]:
    """Start centres ``(N, 2)`` and velocities ``(N, 2)`` (float64) for one draw of a clip."""
    steps = max(n_frames - 1, 1)
    span = torch.stack([width - 2 * radii, height - 2 * radii], dim=1)  # (N, 2) room for centres
    start = _uniform(g, 0, 1, (n, 2)) * span + radii[:, None]  # (N, 2)
    if motion == "random":
        low = torch.clamp((radii[:, None] - start) / steps, min=-max_speed)
        high = torch.clamp((span + radii[:, None] - start) / steps, max=max_speed)
        return start, low + (high - low) * _uniform(g, 0, 1, (n, 2))
    velocity = torch.zeros(n, 2, dtype=torch.float64)
    if motion == "crossing":
        # things 0 and 1 start on opposite sides of one row and meet in the middle of the clip
        speed = float(_uniform(g, 0.6, 1.0)) * max_speed
        row = float(_uniform(g, 0.35, 0.65)) * height
        middle = float(_uniform(g, 0.4, 0.6)) * width
        half = speed * steps / 2
        start[0] = torch.tensor([middle - half, row + float(_uniform(g, -1.5, 1.5))], dtype=torch.float64)
        start[1] = torch.tensor([middle + half, row + float(_uniform(g, -1.5, 1.5))], dtype=torch.float64)
        velocity[0, 0], velocity[1, 0] = speed, -speed
        return start, velocity
    # "parallel": one shared velocity, things spread over the rows so they never meet
    shared = _uniform(g, -max_speed, max_speed, (2,))
    shared[1] *= 0.25
    rows = (torch.arange(n, dtype=torch.float64) + 0.5) / n * height
    start[:, 1] = rows + _uniform(g, -1.0, 1.0, (n,))
    start[:, 0] = width / 2 - shared[0] * steps / 2 + _uniform(g, -2.0, 2.0, (n,))
    return start, shared[None].expand(n, 2).clone()


def make_video_clip(
    n_frames: int = 6,
    size: int | tuple[int, int] = 32,
    n: int = 2,
    *,
    seed: int | torch.Generator = 0,
    motion: str = "random",
    look: str = "distinct",
    veil: float = 0.0,
    veil_opacity: float = 0.85,
    max_speed: float = 2.0,
    radius: tuple[float, float] = (0.13, 0.19),
    noise: float = 0.04,
) -> VideoClip:
    """A procedural panoptic clip with exact flow, occlusions and ids that persist over time.

    Args:
        n_frames (int): ``T``. Default: ``6``.
        size (int | tuple[int, int]): ``(H, W)``. Default: ``32``.
        n (int): number of things ``N`` (at least 2 for ``"crossing"``). Default: ``2``.
        seed (int | torch.Generator): a seed, or a generator to draw from (it advances). Default: ``0``.
        motion (str): ``"random"`` (constant random velocities that keep every centre inside the
            image), ``"crossing"`` (things 0 and 1 move towards each other along one row and thing
            0 passes *behind* thing 1 mid-clip; the others are still) or ``"parallel"`` (one shared
            velocity, things on separate rows, so they never meet). Default: ``"random"``.
        look (str): ``"distinct"`` (random shape kinds, distinct colours), ``"same_kind"`` (one
            kind, distinct colours), ``"same_colour"`` (distinct kinds, one colour; at most 4
            things) or ``"twins"`` (one kind and one colour). Default: ``"distinct"``.
        veil (float): probability that a frame ``t >= 1`` (not right after a veiled one) puts the
            translucent veil over one random thing. Default: ``0.0``.
        veil_opacity (float): the veil's opacity in ``[0, 1]``. Default: ``0.85``.
        max_speed (float): largest speed per axis, pixels per frame. Default: ``2.0``.
        radius (tuple[float, float]): range of a thing's radius as a fraction of ``min(H, W)``.
            Default: ``(0.13, 0.19)`` (4.2 to 6.1 pixels in a 32 x 32 clip).
        noise (float): standard deviation of the pixel noise, drawn anew per frame. Default: ``0.04``.

    Returns:
        VideoClip: see its attributes.

    Example:
        >>> clip = make_video_clip(4, 32, 2, seed=1, motion="crossing")
        >>> clip.frames.shape, clip.panoptic.shape, [s["id"] for s in clip.segments]
        (torch.Size([4, 3, 32, 32]), torch.Size([4, 32, 32]), [1, 2, 3])
    """
    n_frames = check_int("n_frames", n_frames, minimum=1)
    height, width = check_int_pair("size", size, minimum=8)
    n = check_int("n", n, minimum=1)
    check_choice("motion", motion, ("random", "crossing", "parallel"))
    if motion == "crossing" and n < 2:
        raise ValueError(f"n: expected at least 2 things for motion='crossing', got {n}")
    check_choice("look", look, ("distinct", "same_kind", "same_colour", "twins"))
    if look == "same_colour" and n > len(SHAPE_KINDS):
        raise ValueError(f"n: expected at most {len(SHAPE_KINDS)} things with look='same_colour', got {n}")
    check_non_negative("veil", veil)
    if not 0 <= float(veil) <= 1 or not 0 <= float(veil_opacity) <= 1:
        raise ValueError(f"veil, veil_opacity: expected probabilities in [0, 1], got {veil!r}, {veil_opacity!r}")
    check_positive("max_speed", max_speed)
    if not (isinstance(radius, (tuple, list)) and len(radius) == 2 and 0 < radius[0] <= radius[1] < 0.5):
        raise ValueError(f"radius: expected a pair 0 < low <= high < 0.5 (fractions of the size), got {radius!r}")
    check_non_negative("noise", noise)
    g = as_generator("seed", seed)

    background = _background(g, height, width)
    one_colour = look in ("same_colour", "twins")
    colours = _colours(g, 1 if one_colour else n, background).expand(n, 3)  # (N, 3)
    side = min(height, width)
    for _ in range(_TRIES):
        kinds = torch.randint(len(SHAPE_KINDS), (n,), generator=g)
        if look in ("same_kind", "twins"):
            kinds = kinds[:1].expand(n)
        elif look == "same_colour":
            kinds = torch.randperm(len(SHAPE_KINDS), generator=g)[:n]
        radii = _uniform(g, radius[0] * side, radius[1] * side, (n,))
        angles = _uniform(g, 0, 2 * math.pi, (n,))
        start, velocity = _motion(g, motion, n, n_frames, height, width, radii, max_speed)
        t = torch.arange(n_frames, dtype=torch.float64)[:, None, None]
        centers = start[None] + t * velocity[None]  # (T, N, 2)
        full = _rasterize_tracks(kinds, centers, radii, angles, (height, width))  # (T, N, H, W)
        if not bool(full.flatten(2).any(2).all()):
            continue  # a thing left the image
        visible = torch.stack([_visible(f) for f in full])  # (T, N, H, W)
        # every thing is visible in the first and last frame (it may hide in between)
        seen = visible.flatten(2).sum(2) >= 0.5 * full.flatten(2).sum(2)  # (T, N)
        if motion != "crossing" and not bool(seen.all()):
            continue
        if not bool(seen[0].all() and seen[-1].all()):
            continue
        break
    else:
        raise RuntimeError("could not draw a clip that keeps the things in the image; ask for fewer or slower")

    frames = torch.stack([_paint(background, v, colours, noise, g) for v in visible])  # (T, 3, H, W)
    boxes = torch.stack([mask_to_box(v) for v in visible])  # (T, N, 4)
    veiled = torch.zeros(n_frames, n, dtype=torch.bool)
    for i in range(1, n_frames):
        draw = float(torch.rand((), generator=g))
        who = int(torch.randint(n, (), generator=g))
        if draw < veil and not bool(veiled[i - 1].any()) and bool(visible[i, who].any()):
            x1, y1, x2, y2 = (int(v) for v in boxes[i, who].tolist())
            m = _VEIL_MARGIN
            ys, xs = slice(max(y1 - m, 0), min(y2 + m, height)), slice(max(x1 - m, 0), min(x2 + m, width))
            fog = 0.5 + 0.3 * torch.randn(3, ys.stop - ys.start, xs.stop - xs.start, generator=g)
            frames[i, :, ys, xs] = ((1 - veil_opacity) * frames[i, :, ys, xs] + veil_opacity * fog).clamp(0, 1)
            veiled[i, who] = True

    ids = torch.arange(2, n + 2)[:, None, None]  # (N, 1, 1) segment id of thing n
    panoptic = torch.where(visible.any(1), (visible.long() * ids[None]).sum(1), 1)  # (T, H, W)
    segments = [{"id": 1, "category_id": 0, "isthing": 0, "iscrowd": 0}] + [
        {"id": k + 2, "category_id": 1 + int(kinds[k]), "isthing": 1, "iscrowd": 0} for k in range(n)
    ]
    return VideoClip(
        frames, visible, boxes, kinds.clone().long(), centers.float(), velocity.float(), panoptic, segments, veiled
    )


def video_clip_flow(clip: VideoClip, frame: int, reference: int) -> Tensor:
    """The exact backward flow from ``frame`` to ``reference``: ``frames[reference](p + flow(p))``
    shows what ``frames[frame](p)`` shows.

    On a visible pixel of thing ``n`` the flow is ``(reference - frame) v_n``, on the background 0
    (the rule of :func:`lessons.data.scenes.clip_flow`). Under the veil the flow is still the
    thing's motion: the veil is not a segment and has no motion of its own.

    Args:
        clip (VideoClip): the clip.
        frame (int): the frame ``t`` the flow is defined on.
        reference (int): the earlier (or later) frame ``t - tau`` it points into.

    Returns:
        Tensor[2, H, W] (float32): ``(dx, dy)`` in pixels.
    """
    if not isinstance(clip, VideoClip):
        raise TypeError(f"clip: expected a VideoClip, got {type(clip).__name__}")
    return clip_flow(MovingClip(*clip[:6]), frame, reference)

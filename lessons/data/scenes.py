"""Procedural instance scenes and moving clips: a few overlapping shapes with masks, boxes, classes.

A scene paints ``N`` shapes (:data:`lessons.data.shapes.SHAPE_KINDS`, one colour each) in order
over a smooth background, so a later shape hides what it covers, and adds a little noise. The targets are
the *visible* masks (disjoint, like COCO's instance masks of occluded objects), their tight boxes
(:func:`lessons.data.shapes.mask_to_box`) and the class of each shape (its index in
``SHAPE_KINDS``). Every shape stays visible: at least ``min_visible`` of its own area.

A clip moves the shapes of a scene at constant velocities over a static background, so the
optical flow between any two frames is known exactly (:func:`clip_flow`): a visible pixel of
shape ``n`` moves by ``(s - t) v_n`` from frame ``t`` to frame ``s``, the background does not move.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import torch
from torch import Tensor

from lessons._checks import as_generator, check_int, check_int_pair, check_non_negative, check_positive, check_tensor
from lessons.data.shapes import SHAPE_KINDS, mask_to_box, shape_mask

__all__ = [
    "InstanceScene",
    "MovingClip",
    "make_instance_scene",
    "make_instance_scenes",
    "make_moving_clip",
    "clip_flow",
]

_PLACEMENT_TRIES = 200  # redraws of a scene's shapes before giving up
_COLOUR_CANDIDATES = 256  # colours drawn at once, picked in order


class InstanceScene(NamedTuple):
    """One procedural image with its instance targets.

    Attributes:
        image (Tensor[3, H, W]): float32 RGB in ``[0, 1]``.
        masks (Tensor[N, H, W]): bool visible masks, pairwise disjoint, in painting order.
        boxes (Tensor[N, 4]): float32 tight boxes ``(x1, y1, x2, y2)`` of the visible masks.
        labels (Tensor[N]): int64 class of each instance, an index into ``SHAPE_KINDS``.
    """

    image: Tensor
    masks: Tensor
    boxes: Tensor
    labels: Tensor


class MovingClip(NamedTuple):
    """A short clip of shapes moving at constant velocities over a static background.

    Attributes:
        frames (Tensor[T, 3, H, W]): float32 RGB in ``[0, 1]``.
        masks (Tensor[T, N, H, W]): bool visible masks per frame.
        boxes (Tensor[T, N, 4]): float32 tight boxes of the visible masks.
        labels (Tensor[N]): int64 class of each shape (fixed over time).
        centers (Tensor[T, N, 2]): float32 ``(cx, cy)`` of each shape in each frame.
        velocities (Tensor[N, 2]): float32 ``(vx, vy)`` in pixels per frame.
    """

    frames: Tensor
    masks: Tensor
    boxes: Tensor
    labels: Tensor
    centers: Tensor
    velocities: Tensor


def _uniform(g: torch.Generator, low: float, high: float, shape: tuple[int, ...] = ()) -> Tensor:
    return low + (high - low) * torch.rand(shape, generator=g, dtype=torch.float64)


def _int_range(name: str, value: object, minimum: int) -> tuple[int, int]:
    """An int ``n`` or a pair ``(low, high)`` of ints as ``(low, high)``, with ``minimum <= low <= high``."""
    if isinstance(value, (tuple, list)) and len(value) == 2:
        low, high = check_int(f"{name}[0]", value[0]), check_int(f"{name}[1]", value[1])
    elif isinstance(value, int) and not isinstance(value, bool):
        low = high = value
    else:
        raise TypeError(f"{name}: expected an int or a pair (low, high) of ints, got {value!r}")
    if not minimum <= low <= high:
        raise ValueError(f"{name}: expected {minimum} <= low <= high, got {value!r}")
    return low, high


def _draw_n(num_instances: int | tuple[int, int], g: torch.Generator) -> int:
    low, high = _int_range("num_instances", num_instances, 1)
    return int(torch.randint(low, high + 1, (), generator=g))


def _check_radius(radius: tuple[float, float]) -> tuple[float, float]:
    if not (isinstance(radius, (tuple, list)) and len(radius) == 2):
        raise TypeError(f"radius: expected a pair (low, high) of fractions of the image size, got {radius!r}")
    low, high = float(radius[0]), float(radius[1])
    if not 0 < low <= high < 0.5:
        raise ValueError(f"radius: expected 0 < low <= high < 0.5 (fractions of the image size), got {radius!r}")
    return low, high


def _background(g: torch.Generator, height: int, width: int) -> Tensor:
    """A smooth vertical gradient between two random colours, (3, H, W) float32."""
    top, bottom = _uniform(g, 0.25, 0.75, (3,)).float(), _uniform(g, 0.25, 0.75, (3,)).float()
    t = torch.linspace(0, 1, height)[None, :, None]  # (1, H, 1)
    image = top[:, None, None] * (1 - t) + bottom[:, None, None] * t  # (3, H, 1)
    return image.expand(3, height, width)


def _colours(g: torch.Generator, n: int, background: Tensor) -> Tensor:
    """``n`` RGB colours far from the mean background colour and from each other."""
    mean_bg = background.mean(dim=(1, 2)).double()
    candidates = _uniform(g, 0.0, 1.0, (_COLOUR_CANDIDATES, 3))
    far_from_bg = ((candidates - mean_bg).norm(dim=1) > 0.45).tolist()
    chosen: list[int] = []
    for i, ok in enumerate(far_from_bg):
        if ok and all(float((candidates[i] - candidates[j]).norm()) > 0.35 for j in chosen):
            chosen.append(i)
            if len(chosen) == n:
                return candidates[chosen].float()  # (N, 3)
    raise RuntimeError(f"could not draw {n} distinct colours; ask for fewer instances")


def _visible(full: Tensor) -> Tensor:
    """Visible masks (N, H, W) from full masks painted in order: later shapes hide earlier ones."""
    covered_later = torch.zeros_like(full[0])
    visible = torch.empty_like(full)
    for n in range(full.shape[0] - 1, -1, -1):
        visible[n] = full[n] & ~covered_later
        covered_later |= full[n]
    return visible


def _visible_enough(full: Tensor, visible: Tensor, min_visible: float, min_pixels: int) -> bool:
    own = full.flatten(1).sum(1)
    seen = visible.flatten(1).sum(1)
    return bool(((seen >= min_visible * own) & (seen >= min_pixels)).all())


def _paint(background: Tensor, masks: Tensor, colours: Tensor, noise: float, g: torch.Generator) -> Tensor:
    """Paint the visible masks over the background, add Gaussian noise, clamp to [0, 1]."""
    index = (masks.float() * torch.arange(1, masks.shape[0] + 1)[:, None, None]).sum(0).long()  # (H, W)
    palette = torch.cat([torch.zeros(1, 3), colours])  # (N + 1, 3), row 0 unused
    image = torch.where(index[None] > 0, palette[index].permute(2, 0, 1), background)  # (3, H, W)
    image = image + noise * torch.randn(image.shape, generator=g)
    return image.clamp(0, 1)


def _scene_setup(
    size: int | tuple[int, int],
    num_instances: int | tuple[int, int],
    radius: tuple[float, float],
    min_visible: float,
    noise: float,
    seed: int | torch.Generator,
) -> tuple[torch.Generator, int, int, float, float, int, Tensor, Tensor]:
    """Validate a scene's arguments and draw what every scene starts from, in a fixed order.

    Returns ``(generator, H, W, radius low, radius high, N, background, colours)``.
    """
    height, width = check_int_pair("size", size, minimum=8)
    low, high = _check_radius(radius)
    check_positive("min_visible", min_visible)
    check_non_negative("noise", noise)
    g = as_generator("seed", seed)
    n = _draw_n(num_instances, g)
    background = _background(g, height, width)
    return g, height, width, low, high, n, background, _colours(g, n, background)


def make_instance_scene(
    size: int | tuple[int, int] = 64,
    num_instances: int | tuple[int, int] = (2, 4),
    *,
    seed: int | torch.Generator = 0,
    radius: tuple[float, float] = (0.11, 0.2),
    min_visible: float = 0.5,
    noise: float = 0.04,
) -> InstanceScene:
    """A procedural image of a few overlapping shapes with instance masks, boxes and classes.

    Args:
        size (int | tuple[int, int]): ``(H, W)``, or one int for a square image. Default: ``64``.
        num_instances (int | tuple[int, int]): ``N``, or an inclusive range ``(low, high)`` to draw
            it from. Default: ``(2, 4)``.
        seed (int | torch.Generator): a seed, or a generator to draw from (it advances).
            Default: ``0``.
        radius (tuple[float, float]): range of the shape radius as a fraction of ``min(H, W)``.
            Default: ``(0.11, 0.2)`` (7 to 12.8 pixels in a 64x64 image).
        min_visible (float): every shape keeps at least this fraction of its own area visible
            (scenes are redrawn until it does). Default: ``0.5``.
        noise (float): standard deviation of the Gaussian noise added to every pixel.
            Default: ``0.04``.

    Returns:
        InstanceScene: ``image (3, H, W)``, ``masks (N, H, W)``, ``boxes (N, 4)``, ``labels (N,)``.

    Example:
        >>> scene = make_instance_scene(48, 3, seed=1)
        >>> scene.image.shape, scene.masks.shape, scene.boxes.shape, scene.labels.shape
        (torch.Size([3, 48, 48]), torch.Size([3, 48, 48]), torch.Size([3, 4]), torch.Size([3]))
    """
    g, height, width, low, high, n, background, colours = _scene_setup(
        size, num_instances, radius, min_visible, noise, seed
    )
    side = min(height, width)
    for _ in range(_PLACEMENT_TRIES):
        kinds = torch.randint(len(SHAPE_KINDS), (n,), generator=g)
        radii = _uniform(g, low * side, high * side, (n,))
        cx = _uniform(g, 0, 1, (n,)) * (width - 2 * radii) + radii
        cy = _uniform(g, 0, 1, (n,)) * (height - 2 * radii) + radii
        angles = _uniform(g, 0, 2 * math.pi, (n,))
        full = torch.stack(
            [
                shape_mask(SHAPE_KINDS[int(k)], (float(x), float(y)), float(r), (height, width), angle=float(a))
                for k, x, y, r, a in zip(kinds, cx, cy, radii, angles)
            ]
        )  # (N, H, W)
        visible = _visible(full)
        if _visible_enough(full, visible, min_visible, 9):
            image = _paint(background, visible, colours, noise, g)
            return InstanceScene(image, visible, mask_to_box(visible), kinds.long())
    raise RuntimeError(f"could not place {n} shapes with {min_visible:.0%} visible; ask for fewer or smaller")


def make_instance_scenes(
    n: int,
    size: int | tuple[int, int] = 64,
    num_instances: int | tuple[int, int] = (2, 4),
    *,
    seed: int | torch.Generator = 0,
    **kwargs,
) -> list[InstanceScene]:
    """``n`` scenes from one seeded generator (a training or held-out set).

    Args:
        n (int): number of scenes, ``>= 0``.
        size, num_instances: as in :func:`make_instance_scene`.
        seed (int | torch.Generator): an int seeds one generator that all scenes draw from in turn;
            a generator is drawn from (it advances). Default: ``0``.
        **kwargs: ``radius``, ``min_visible``, ``noise`` of :func:`make_instance_scene`.

    Returns:
        list[InstanceScene]: stack the images with ``torch.stack([s.image for s in scenes])``.
    """
    n = check_int("n", n, minimum=0)
    g = as_generator("seed", seed)
    return [make_instance_scene(size, num_instances, seed=g, **kwargs) for _ in range(n)]


def make_moving_clip(
    num_frames: int = 10,
    size: int | tuple[int, int] = 64,
    num_instances: int | tuple[int, int] = 3,
    *,
    seed: int | torch.Generator = 0,
    max_speed: float = 2.0,
    radius: tuple[float, float] = (0.11, 0.2),
    min_visible: float = 0.5,
    noise: float = 0.04,
) -> MovingClip:
    """Shapes that translate at constant velocities over a static background (known flow).

    Each shape is drawn like in :func:`make_instance_scene` (no rotation over time); its centre
    moves from a random start by ``v`` pixels per frame with ``|v_x|, |v_y| <= max_speed``, drawn
    uniformly among the speeds that keep it inside the image until the last frame. Clips are
    redrawn until every shape keeps ``min_visible`` of its area visible in every frame.

    Args:
        num_frames (int): ``T``. Default: ``10``.
        size (int | tuple[int, int]): ``(H, W)``. Default: ``64``.
        num_instances (int | tuple[int, int]): ``N`` or a range. Default: ``3``.
        seed (int | torch.Generator): Default: ``0``.
        max_speed (float): largest speed per axis in pixels per frame. Default: ``2.0``.
        radius (tuple[float, float]): as in :func:`make_instance_scene`. Default: ``(0.11, 0.2)``.
        min_visible (float): as in :func:`make_instance_scene`, in every frame. Default: ``0.5``.
        noise (float): as in :func:`make_instance_scene`, drawn anew for every frame.
            Default: ``0.04``.

    Returns:
        MovingClip: frames, masks, boxes, labels, centers and velocities.
    """
    num_frames = check_int("num_frames", num_frames, minimum=1)
    check_positive("max_speed", max_speed)
    g, height, width, low, high, n, background, colours = _scene_setup(
        size, num_instances, radius, min_visible, noise, seed
    )
    side = min(height, width)
    steps = max(num_frames - 1, 1)
    for _ in range(_PLACEMENT_TRIES):
        kinds = torch.randint(len(SHAPE_KINDS), (n,), generator=g)
        radii = _uniform(g, low * side, high * side, (n,))
        angles = _uniform(g, 0, 2 * math.pi, (n,))
        span = torch.stack([width - 2 * radii, height - 2 * radii], dim=1)  # (N, 2) room for centres
        start = _uniform(g, 0, 1, (n, 2)) * span + radii[:, None]  # (N, 2)
        # speeds that keep the centre inside [r, size - r] until the last frame
        low_v = torch.clamp((radii[:, None] - start) / steps, min=-max_speed)
        high_v = torch.clamp((span + radii[:, None] - start) / steps, max=max_speed)
        velocity = low_v + (high_v - low_v) * _uniform(g, 0, 1, (n, 2))  # (N, 2)
        t = torch.arange(num_frames, dtype=torch.float64)[:, None, None]
        centers = start[None] + t * velocity[None]  # (T, N, 2)
        full = _rasterize_tracks(kinds, centers, radii, angles, (height, width))  # (T, N, H, W)
        visible = torch.stack([_visible(f) for f in full])
        if all(_visible_enough(f, v, min_visible, 9) for f, v in zip(full, visible)):
            frames = torch.stack([_paint(background, v, colours, noise, g) for v in visible])
            boxes = torch.stack([mask_to_box(v) for v in visible])
            return MovingClip(frames, visible, boxes, kinds.long(), centers.float(), velocity.float())
    raise RuntimeError("could not draw a clip that keeps every shape visible; ask for fewer or slower shapes")


def clip_flow(clip: MovingClip, frame: int, reference: int) -> Tensor:
    """The exact backward flow from ``frame`` to ``reference`` in image pixels.

    ``clip.frames[reference]`` at ``p + flow(p)`` shows what ``clip.frames[frame]`` shows at
    ``p``: on a visible pixel of shape ``n``, ``flow(p) = (reference - frame) * v_n``; on the
    background ``0``. (Where the reference frame hides that point behind another shape the flow
    still points there: the occlusion YolactEdge's warping cannot undo.)

    Args:
        clip (MovingClip): the clip.
        frame (int): the frame ``t`` whose pixels the flow is defined on.
        reference (int): the frame ``s`` it points into (the key frame).

    Returns:
        Tensor[2, H, W] (float32): ``(dx, dy)``; use ``flow[None]`` for a batch of one.
    """
    if not isinstance(clip, MovingClip):
        raise TypeError(f"clip: expected a MovingClip, got {type(clip).__name__}")
    check_tensor("clip.masks", clip.masks)
    num_frames = clip.frames.shape[0]
    for name, value in (("frame", frame), ("reference", reference)):
        if check_int(name, value) < 0 or value >= num_frames:
            raise ValueError(f"{name}: expected a frame index in [0, {num_frames}), got {value!r}")
    shift = (reference - frame) * clip.velocities  # (N, 2)
    masks = clip.masks[frame].float()  # (N, H, W), disjoint
    return torch.einsum("nc,nhw->chw", shift, masks)  # (2, H, W)


def _rasterize_tracks(kinds: Tensor, centers: Tensor, radii: Tensor, angles: Tensor, size: tuple[int, int]) -> Tensor:
    """Full (unoccluded) masks of N moving shapes in T frames: ``centers`` is (T, N, 2)."""
    return torch.stack(
        [
            torch.stack(
                [
                    shape_mask(
                        SHAPE_KINDS[int(kinds[k])],
                        (float(centers[i, k, 0]), float(centers[i, k, 1])),
                        float(radii[k]),
                        size,
                        angle=float(angles[k]),
                    )
                    for k in range(centers.shape[1])
                ]
            )
            for i in range(centers.shape[0])
        ]
    )  # (T, N, H, W)

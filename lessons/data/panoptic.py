"""Procedural panoptic scenes and simulated head outputs (notebook 04).

A scene has three *stuff* regions (sky, a wall, the ground below a tilted horizon) and a few
*thing* instances (the shapes of :mod:`lessons.data.shapes`) that overlap and occlude each other.
It comes with ground-truth semantic, instance and panoptic maps in the layout
:mod:`lessons.panoptic` uses: semantic class ``k < NUM_STUFF`` is stuff, the others are things, and
a panoptic map holds segment ids with ``0`` for void.

:func:`simulate_head_outputs` stands in for a trained network: it derives noisy semantic logits,
detections (boxes, classes, scores, 28 x 28 mask logits) with a chosen miss rate, and spurious
detections, from the ground truth, so the panoptic merges can be compared without training.
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

import torch
import torch.nn.functional as F
from torch import Tensor

from lessons._checks import as_generator, check_int, check_int_pair, check_non_negative, check_positive, describe
from lessons.data.scenes import _int_range
from lessons.data.shapes import SHAPE_KINDS, mask_to_box, shape_mask
from lessons.panoptic import _mask_term_bounds

__all__ = [
    "PANOPTIC_CATEGORIES",
    "NUM_STUFF",
    "PanopticScene",
    "HeadOutputs",
    "make_panoptic_scene",
    "simulate_head_outputs",
    "panoptic_to_rgb",
]

_STUFF = (("sky", (0.55, 0.75, 0.95)), ("wall", (0.80, 0.62, 0.45)), ("ground", (0.45, 0.65, 0.35)))
_THING_COLORS = ((0.85, 0.20, 0.20), (0.20, 0.30, 0.85), (0.95, 0.75, 0.10), (0.60, 0.25, 0.70))

#: panopticapi-style categories: ``id`` is the semantic class, stuff first, then one per shape kind.
PANOPTIC_CATEGORIES: tuple[dict[str, Any], ...] = tuple(
    [{"id": i, "name": name, "isthing": 0, "color": color} for i, (name, color) in enumerate(_STUFF)]
    + [
        {"id": len(_STUFF) + i, "name": kind, "isthing": 1, "color": color}
        for i, (kind, color) in enumerate(zip(SHAPE_KINDS, _THING_COLORS))
    ]
)

#: Number of stuff classes (sky, wall, ground); semantic classes ``>= NUM_STUFF`` are things.
NUM_STUFF = len(_STUFF)


class PanopticScene(NamedTuple):
    """One scene and its ground truth.

    Attributes:
        image (Tensor[3, H, W]): an RGB rendering in [0, 1], for display.
        semantic (Tensor[H, W]): semantic class per pixel (int64), ``PANOPTIC_CATEGORIES`` ids.
        instance (Tensor[H, W]): ``0`` on stuff, ``i + 1`` on the visible pixels of instance ``i``.
        panoptic (Tensor[H, W]): segment id per pixel (int64, no void in a generated scene).
        segments (list[dict]): ``id``, ``category_id``, ``isthing``, ``iscrowd`` (0), ``area``;
            stuff segments first, then instance ``i`` as segment ``instance_segment_id[i]``.
        masks (Tensor[N, H, W]): visible mask of each instance (bool).
        labels (Tensor[N]): semantic class of each instance (int64, ``>= NUM_STUFF``).
        boxes (Tensor[N, 4]): tight continuous box ``(x1, y1, x2, y2)`` of each visible mask.
    """

    image: Tensor
    semantic: Tensor
    instance: Tensor
    panoptic: Tensor
    segments: list[dict[str, Any]]
    masks: Tensor
    labels: Tensor
    boxes: Tensor

    @property
    def instance_segment_id(self) -> list[int]:
        """Panoptic segment id of each instance, in instance order."""
        return [s["id"] for s in self.segments if s["isthing"]]


class HeadOutputs(NamedTuple):
    """What a panoptic network's semantic and instance heads would output for one image.

    Attributes:
        semantic_logits (Tensor[C, H, W]): semantic logits, stuff channels first.
        mask_logits (Tensor[N, M, M]): mask logits of each detection's class.
        boxes (Tensor[N, 4]): continuous detection boxes.
        labels (Tensor[N]): detected class (semantic id, int64).
        scores (Tensor[N]): detection scores.
        matched (Tensor[N]): index of the ground-truth instance a detection comes from, ``-1`` for
            a spurious detection (int64).
        missed (list[int]): ground-truth instances with no detection.
    """

    semantic_logits: Tensor
    mask_logits: Tensor
    boxes: Tensor
    labels: Tensor
    scores: Tensor
    matched: Tensor
    missed: list[int]

    def subset(self, keep: Tensor) -> HeadOutputs:
        """The same outputs with only the detections ``keep`` (indices or a bool mask)."""
        return self._replace(
            mask_logits=self.mask_logits[keep],
            boxes=self.boxes[keep],
            labels=self.labels[keep],
            scores=self.scores[keep],
            matched=self.matched[keep],
        )


def _uniform(generator: torch.Generator, low: float, high: float) -> float:
    return low + (high - low) * float(torch.rand((), generator=generator))


def _randint(generator: torch.Generator, low: int, high: int) -> int:
    """An int in [low, high] (both included)."""
    return int(torch.randint(low, high + 1, (), generator=generator))


def make_panoptic_scene(
    size: int | tuple[int, int] = 64,
    *,
    num_instances: int | tuple[int, int] = (3, 6),
    radius: tuple[float, float] = (5.0, 11.0),
    min_visible: float = 0.5,
    seed: int | torch.Generator = 0,
) -> PanopticScene:
    """Draw a scene: sky, wall and ground stuff, and thing instances that occlude each other.

    The horizon is a tilted line; the ground lies below it, a wall (a building) stands on it, the
    sky fills the rest. Instances are painted in order, later ones on top. A new instance is
    redrawn (up to 30 tries, then skipped) if it would leave an earlier one with less than
    ``min_visible`` of its own area or fewer than 6 pixels, so every instance stays visible.

    Args:
        size (int | tuple[int, int]): ``(H, W)`` or one int. Default: ``64``.
        num_instances (int | tuple[int, int]): how many things, or a ``(low, high)`` range
            (both included). Default: ``(3, 6)``.
        radius (tuple[float, float]): range of the shape radius in pixels. Default: ``(5.0, 11.0)``.
        min_visible (float): smallest visible fraction of each instance. Default: ``0.5``.
        seed (int | torch.Generator): an int for a fresh seeded generator (the same scene every
            call), or a generator to draw from (it advances). Default: ``0``.

    Returns:
        PanopticScene: image, semantic / instance / panoptic maps, segments, masks, labels, boxes.

    Example:
        >>> scene = make_panoptic_scene(48, seed=0)
        >>> scene.semantic.shape, scene.masks.shape[1:], len(scene.segments) >= 3
        (torch.Size([48, 48]), torch.Size([48, 48]), True)
    """
    height, width = check_int_pair("size", size, minimum=16)
    low_n, high_n = _int_range("num_instances", num_instances, 0)
    if not (
        isinstance(radius, (tuple, list))
        and len(radius) == 2
        and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in radius)
    ):
        raise TypeError(f"radius: expected a (low, high) pair of numbers, got {describe(radius)}")
    if not 0 < radius[0] <= radius[1] < math.inf:
        raise ValueError(f"radius: expected a (low, high) pair with 0 < low <= high, got {radius!r}")
    check_non_negative("min_visible", min_visible)
    g = as_generator("seed", seed)

    # stuff: ground below a tilted horizon, a wall standing on it, sky elsewhere
    ys = torch.arange(height, dtype=torch.float32)[:, None] + 0.5
    xs = torch.arange(width, dtype=torch.float32)[None, :] + 0.5
    horizon = height * _uniform(g, 0.45, 0.65) + _uniform(g, -0.15, 0.15) * (xs - width / 2)  # (1, W)
    semantic = torch.zeros(height, width, dtype=torch.int64)  # sky
    wall_w = width * _uniform(g, 0.3, 0.55)
    wall_x = _uniform(g, -0.1 * width, width - 0.9 * wall_w)
    wall_top = height * _uniform(g, 0.12, 0.3)
    semantic[((xs >= wall_x) & (xs < wall_x + wall_w) & (ys >= wall_top)).expand(height, width)] = 1
    semantic[(ys >= horizon).expand(height, width)] = 2

    # things, painted in order; keep each one at least min_visible visible
    target = _randint(g, low_n, high_n)
    full: list[Tensor] = []
    owner = torch.full((height, width), -1, dtype=torch.int64)
    kinds: list[int] = []
    for _ in range(target):
        for _attempt in range(30):
            kind = _randint(g, 0, len(SHAPE_KINDS) - 1)
            r = _uniform(g, *radius)
            cx = _uniform(g, r * 0.6, width - r * 0.6)
            cy = _uniform(g, max(r * 0.6, height * 0.25), height - r * 0.6)
            mask = shape_mask(SHAPE_KINDS[kind], (cx, cy), r, (height, width), angle=_uniform(g, 0, 2 * math.pi))
            if int(mask.sum()) < 12:
                continue
            trial = owner.clone()
            trial[mask] = len(full)
            if all(int((trial == j).sum()) >= max(6, min_visible * int(m.sum())) for j, m in enumerate(full)):
                owner = trial
                full.append(mask)
                kinds.append(kind)
                break

    n = len(full)
    masks = torch.stack([owner == i for i in range(n)]) if n else torch.zeros(0, height, width, dtype=torch.bool)
    labels = torch.tensor([NUM_STUFF + k for k in kinds], dtype=torch.int64)
    for i in range(n):
        semantic[masks[i]] = labels[i]
    instance = owner + 1  # 0 on stuff

    # panoptic ground truth: stuff segments first, then the instances
    panoptic = torch.zeros(height, width, dtype=torch.int64)
    segments: list[dict[str, Any]] = []
    for k in range(NUM_STUFF):
        region = semantic == k
        if bool(region.any()):
            segments.append(
                {"id": len(segments) + 1, "category_id": k, "isthing": False, "iscrowd": 0, "area": int(region.sum())}
            )
            panoptic[region] = segments[-1]["id"]
    for i in range(n):
        segments.append(
            {
                "id": len(segments) + 1,
                "category_id": int(labels[i]),
                "isthing": True,
                "iscrowd": 0,
                "area": int(masks[i].sum()),
            }
        )
        panoptic[masks[i]] = segments[-1]["id"]

    # an image to look at: class colours, a little shading per instance, pixel noise
    palette = torch.tensor([c["color"] for c in PANOPTIC_CATEGORIES])  # (C, 3)
    image = palette[semantic].permute(2, 0, 1).clone()  # (3, H, W)
    image[:, :, :] *= 1.0 - 0.25 * (ys / height)  # light from the top
    for i in range(n):
        image[:, masks[i]] *= _uniform(g, 0.75, 1.1)
    image = (image + 0.04 * torch.randn(image.shape, generator=g)).clamp(0, 1)

    boxes = mask_to_box(masks) if n else torch.zeros(0, 4)
    return PanopticScene(image, semantic, instance, panoptic, segments, masks, labels, boxes)


def _smooth_noise(shape: tuple[int, int, int], sigma: float, generator: torch.Generator) -> Tensor:
    """Gaussian noise with blobs about ``sigma`` pixels across, at unit standard deviation.

    White noise on a grid ``sigma`` times coarser, upsampled bilinearly (cheaper than a blur).
    """
    channels, height, width = shape
    if sigma <= 1:
        return torch.randn(shape, generator=generator)
    coarse = torch.randn(1, channels, math.ceil(height / sigma) + 1, math.ceil(width / sigma) + 1, generator=generator)
    fine = F.interpolate(coarse, scale_factor=sigma, mode="bilinear", align_corners=False)[0, :, :height, :width]
    return fine / fine.std()  # (C, H, W)


def simulate_head_outputs(
    scene: PanopticScene,
    *,
    noise: float = 1.0,
    miss_rate: float = 0.0,
    spurious_rate: float = 0.0,
    margin: float = 4.0,
    mask_gain: float = 4.0,
    box_jitter: float = 0.05,
    noise_sigma: float = 4.0,
    mask_size: int = 28,
    seed: int | torch.Generator = 0,
) -> HeadOutputs:
    """Imperfect semantic and instance head outputs derived from a scene's ground truth.

    Semantic logits: ``margin * (onehot - 1/2) + noise * n``, i.e. ``+margin/2`` for the true class
    and ``-margin/2`` for the others, plus spatially smooth Gaussian noise ``n`` (blobs about
    ``noise_sigma`` pixels across, unit standard deviation). Each ground-truth instance is missed with
    probability ``miss_rate``; otherwise it gets a detection with its true class, a box jittered
    by ``box_jitter`` of its size, a score in [0.6, 1) and mask logits
    ``mask_gain * (2 p - 1) + noise * white noise``, where ``p`` is its visible mask resized
    (bilinear) from the pixel block that :func:`lessons.panoptic.paste_mask_logits` pastes the box
    into, so pasting puts each logit back where it came from. About ``spurious_rate * N`` spurious
    detections (each instance spawns ``int(rate)``, plus one with probability ``frac(rate)``) add a
    random shape of a random thing class at a random place, with a score in [0.5, 0.9).

    Args:
        scene (PanopticScene): the ground truth.
        noise (float): standard deviation of the logit noise. Default: ``1.0``.
        miss_rate (float): probability that an instance has no detection. Default: ``0.0``.
        spurious_rate (float): spurious detections per ground-truth instance, on average.
            Default: ``0.0``.
        margin (float): gap between the true and the other semantic logits. Default: ``4.0``.
        mask_gain (float): mask logit at a certain pixel. Default: ``4.0``.
        box_jitter (float): standard deviation of each box edge, as a fraction of the box size.
            Default: ``0.05``.
        noise_sigma (float): size of the semantic noise blobs in pixels (``<= 1``: white noise).
            Default: ``4.0``.
        mask_size (int): ``M`` of the ``M x M`` mask logits. Default: ``28``.
        seed (int | torch.Generator): an int for a fresh seeded generator, or a generator to draw
            from (it advances). Default: ``0``.

    Returns:
        HeadOutputs: semantic logits ``(C, H, W)`` and ``N'`` detections, real ones first in
        instance order, then spurious ones.

    Note:
        The centred semantic logits matter: UPSNet's panoptic logits are not invariant to adding a
        constant to the semantic logits, because instance channels are 0 outside their boxes.
    """
    if not isinstance(scene, PanopticScene):
        raise TypeError(f"scene: expected a PanopticScene, got {describe(scene)}")
    for name, value in (
        ("noise", noise),
        ("box_jitter", box_jitter),
        ("noise_sigma", noise_sigma),
        ("spurious_rate", spurious_rate),
    ):
        check_non_negative(name, value)
    check_non_negative("miss_rate", miss_rate)
    if miss_rate > 1:
        raise ValueError(f"miss_rate: expected a probability in [0, 1], got {miss_rate!r}")
    check_positive("margin", margin)
    check_positive("mask_gain", mask_gain)
    mask_size = check_int("mask_size", mask_size, minimum=1)
    g = as_generator("seed", seed)
    height, width = scene.semantic.shape
    num_classes = len(PANOPTIC_CATEGORIES)

    onehot = F.one_hot(scene.semantic, num_classes).permute(2, 0, 1).float()  # (C, H, W)
    semantic_logits = margin * (onehot - 0.5) + noise * _smooth_noise((num_classes, height, width), noise_sigma, g)

    n = scene.masks.shape[0]
    boxes, labels, scores, matched, targets, missed = [], [], [], [], [], []
    for i in range(n):
        if float(torch.rand((), generator=g)) < miss_rate:
            missed.append(i)
            continue
        x1, y1, x2, y2 = scene.boxes[i].tolist()
        bw, bh = x2 - x1, y2 - y1
        jitter = torch.randn(4, generator=g) * box_jitter * torch.tensor([bw, bh, bw, bh])
        box = (scene.boxes[i] + jitter).clamp(min=0)
        box = box.minimum(torch.tensor([width - 1.0, height - 1.0, width, height]))  # inside the image
        box[2] = torch.maximum(box[2], box[0] + 1)
        box[3] = torch.maximum(box[3], box[1] + 1)
        boxes.append(box)
        targets.append(scene.masks[i])
        labels.append(int(scene.labels[i]))
        scores.append(_uniform(g, 0.6, 1.0))
        matched.append(i)
    # each instance spawns int(rate) spurious detections, plus one more with probability frac(rate)
    extra = torch.rand(n, generator=g) < spurious_rate % 1
    n_spurious = int(spurious_rate) * n + int(extra.sum())
    for _ in range(n_spurious):
        kind = _randint(g, 0, len(SHAPE_KINDS) - 1)
        r = _uniform(g, 4.0, 9.0)
        centre = (_uniform(g, r, width - r), _uniform(g, r, height - r))
        mask = shape_mask(SHAPE_KINDS[kind], centre, r, (height, width), angle=_uniform(g, 0, 2 * math.pi))
        if not bool(mask.any()):
            continue
        boxes.append(mask_to_box(mask))
        targets.append(mask)
        labels.append(NUM_STUFF + kind)
        scores.append(_uniform(g, 0.5, 0.9))
        matched.append(-1)

    k = len(boxes)
    if k:
        box_t = torch.stack(boxes).float()  # (K, 4)
        # resample the pixel block that UPSNet's pasting writes to (its MaskTerm bounds: the box
        # with 1 off the far edge, truncated), so pasting the logits back puts every pixel where
        # it came from; a box under one pixel wide still gets a 1 x 1 block
        p = torch.empty(k, mask_size, mask_size)
        for j, target in enumerate(targets):
            a, b, c, d = _mask_term_bounds(box_t[j])
            c, d = max(c, a), max(d, b)
            block = target[b : d + 1, a : c + 1].float()[None, None]  # (1, 1, h, w)
            p[j] = F.interpolate(block, size=(mask_size, mask_size), mode="bilinear", align_corners=False)[0, 0]
        mask_logits = mask_gain * (2 * p - 1) + noise * torch.randn(p.shape, generator=g)  # (K, M, M)
    else:
        box_t = torch.zeros(0, 4)
        mask_logits = torch.zeros(0, mask_size, mask_size)
    return HeadOutputs(
        semantic_logits=semantic_logits,
        mask_logits=mask_logits,
        boxes=box_t,
        labels=torch.tensor(labels, dtype=torch.int64),
        scores=torch.tensor(scores, dtype=torch.float32),
        matched=torch.tensor(matched, dtype=torch.int64),
        missed=missed,
    )


def panoptic_to_rgb(panoptic: Tensor, segments: list[dict[str, Any]]) -> Tensor:
    """Colour a panoptic map for display: stuff in its class colour, each instance in a shade of
    its class colour, void black.

    Args:
        panoptic (Tensor[H, W]): segment ids, 0 = void.
        segments (list[dict]): with ``id`` and ``category_id`` (``PANOPTIC_CATEGORIES`` ids).

    Returns:
        Tensor[H, W, 3]: RGB in [0, 1], ready for ``plt.imshow``.
    """
    palette = {c["id"]: torch.tensor(c["color"]) for c in PANOPTIC_CATEGORIES}
    rgb = torch.zeros(*panoptic.shape, 3)
    shade = 0
    for seg in segments:
        color = palette[int(seg["category_id"])]
        if seg.get("isthing"):
            color = (color * (0.55 + 0.18 * (shade % 4)) + 0.08 * (shade % 3)).clamp(0, 1)
            shade += 1
        rgb[panoptic == seg["id"]] = color
    return rgb

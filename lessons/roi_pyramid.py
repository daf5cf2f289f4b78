"""Feature pyramids and RoIs: which level a box is pooled from, and RoIAlign over the pyramid.

Paper: Lin, Dollár, Girshick, He, Hariharan, Belongie, "Feature Pyramid Networks for Object
Detection", CVPR 2017, arXiv:1612.03144 (Eqn. 1: a RoI of size ``sqrt(wh)`` is pooled from level
``k = floor(k0 + log2(sqrt(wh) / 224))``).

Summary. :func:`fpn_level` is Eqn. 1 with torchvision's constants (``LevelMapper``);
:func:`infer_scale` recovers each level's ``spatial_scale`` from its size; :func:`multi_scale_roi_align`
and :class:`MultiScaleRoIAlign` (``torchvision.ops.MultiScaleRoIAlign``'s API) pool every RoI from
its level with :func:`lessons.roi.roi_align`. All names are importable from :mod:`lessons.roi` too.

Deviations from torchvision:

* Bad input raises ``ValueError``/``TypeError`` naming the argument: NaN/inf boxes (torchvision maps
  them to a garbage level and the RoI silently comes back as zeros), boxes with ``x1 > x2`` or
  ``y1 > y2`` (negative area, the same silent zeros), and malformed ``image_shapes``.
* :class:`MultiScaleRoIAlign` infers the scales on every call instead of caching them on the
  module after the first call (same result whenever the image sizes do not change).

NaN policy: feature maps, logits, images and the inputs of losses are not scanned for NaN/inf (a
full scan would cost more than the operation), so a NaN there passes through to the result; boxes,
coordinates, sizes, indices and labels are checked and a NaN/inf there raises ``ValueError``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import torch
from torch import Tensor, nn

from lessons._checks import (
    check_boxes,
    check_floating,
    check_int,
    check_int_pair,
    check_ndim,
    check_positive,
    describe,
)
from lessons.roi import _check_align_options, boxes_to_rois
from lessons.roi_fast import _roi_align

__all__ = ["fpn_level", "infer_scale", "multi_scale_roi_align", "MultiScaleRoIAlign"]


def _check_level_args(k_min: object, k_max: object, canonical_scale: object, canonical_level: object) -> None:
    for name, value in (("k_min", k_min), ("k_max", k_max), ("canonical_level", canonical_level)):
        check_int(name, value)
    if k_min > k_max:  # type: ignore[operator]
        raise ValueError(f"k_max: expected k_max >= k_min = {k_min}, got {k_max}")
    check_positive("canonical_scale", canonical_scale)


def fpn_level(
    boxes: Tensor,
    k_min: int = 2,
    k_max: int = 5,
    *,
    canonical_scale: int = 224,
    canonical_level: int = 4,
    eps: float = 1e-6,
) -> Tensor:
    """The pyramid level each box is pooled from: Eqn. (1) of the FPN paper, torchvision's constants.

    .. math:: k = \\lfloor k_0 + \\log_2(\\sqrt{wh} / 224) + \\epsilon \\rfloor, \\quad
              k \\leftarrow \\min(\\max(k, k_{min}), k_{max})

    A 224 x 224 box (ImageNet size) goes to ``k0 = 4`` (P4, stride 16); each halving of
    ``sqrt(wh)`` moves one level down (finer). With P2..P5: ``sqrt(wh) < 112 -> 2``,
    ``[112, 224) -> 3``, ``[224, 448) -> 4``, ``>= 448 -> 5``.

    Args:
        boxes (Tensor[K, 4]): ``(x1, y1, x2, y2)`` in image pixels, finite, ``x1 <= x2`` and
            ``y1 <= y2``; ``wh = (x2 - x1) * (y2 - y1)`` (no +1).
        k_min (int): the finest level present (P2 -> 2). Default: ``2``.
        k_max (int): the coarsest level present (P5 -> 5). Default: ``5``.
        canonical_scale (int): the box size mapped to ``canonical_level``. Default: ``224``.
        canonical_level (int): ``k0``. Default: ``4``.
        eps (float): added before ``floor`` so that an exact power of two (``sqrt(wh) = 112``) is
            not pushed down by rounding in ``log2``. Default: ``1e-6``.

    Returns:
        Tensor[K] (int64): the level ``k`` of each box. torchvision's ``LevelMapper`` returns
        ``k - k_min``, the index into the list of levels.

    Example:
        >>> fpn_level(torch.tensor([[0.0, 0.0, 100.0, 100.0], [0.0, 0.0, 224.0, 224.0]]))
        tensor([2, 4])

    Note:
        detectron2's ``assign_boxes_to_levels`` adds its epsilon inside the log,
        ``floor(k0 + log2(sqrt(wh) / 224 + 1e-8))``; the two differ only within ~1e-6 of a boundary.
    """
    check_boxes("boxes", boxes)
    _check_level_args(k_min, k_max, canonical_scale, canonical_level)
    check_positive("eps", eps)
    return _fpn_level(boxes, k_min, k_max, canonical_scale, canonical_level, eps)


def _fpn_level(
    boxes: Tensor, k_min: int, k_max: int, canonical_scale: float, canonical_level: int, eps: float = 1e-6
) -> Tensor:
    size = torch.sqrt((boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1]))  # (K,) sqrt(wh)
    level = torch.floor(canonical_level + torch.log2(size / canonical_scale) + torch.tensor(eps, dtype=size.dtype))
    return level.clamp(min=k_min, max=k_max).to(torch.int64)  # a zero-area box: -inf -> k_min


def infer_scale(feature_size: Sequence[int], image_size: Sequence[int]) -> float:
    """The ``spatial_scale`` of a feature map: ``2 ** round(log2(feature_h / image_h))``.

    Args:
        feature_size (tuple[int, int]): ``(H, W)`` of the feature map, >= 1 each.
        image_size (tuple[int, int]): ``(height, width)`` of the (padded) input image, >= 1 each.

    Returns:
        float: a power of two, e.g. ``0.25`` for a 200 x 200 map of an 800 x 800 image. Like
        torchvision's ``_infer_scale`` it uses the height ratio.
    """
    check_int_pair("feature_size", feature_size)
    check_int_pair("image_size", image_size)
    return _infer_scale(feature_size, image_size)


def _infer_scale(feature_size: Sequence[int], image_size: Sequence[int]) -> float:
    ratio = torch.tensor(float(feature_size[0]) / float(image_size[0]))
    return 2.0 ** float(torch.log2(ratio).round())


def multi_scale_roi_align(
    features: Sequence[Tensor],
    boxes: Tensor | Sequence[Tensor],
    image_shapes: Sequence[tuple[int, int]],
    output_size: int | tuple[int, int],
    sampling_ratio: int,
    *,
    canonical_scale: int = 224,
    canonical_level: int = 4,
    aligned: bool = False,
) -> Tensor:
    """RoIAlign over a feature pyramid: each RoI is pooled from the level :func:`fpn_level` picks.

    Args:
        features (sequence of Tensor[B, C, H_l, W_l]): the pyramid, finest first (P2, P3, ...),
            consecutive levels, each half the size of the previous one.
        boxes (list[Tensor[L, 4]] or Tensor[K, 5]): boxes in image pixels, finite, with ``x1 <= x2``
            and ``y1 <= y2``.
        image_shapes (list[tuple[int, int]]): the images' ``(height, width)`` before the backbone,
            positive ints; the scales are inferred from the largest height and width (torchvision's
            rule).
        output_size (int or tuple[int, int]): ``(PH, PW)``.
        sampling_ratio (int): passed to :func:`roi_align`.
        canonical_scale (int): see :func:`fpn_level`. Default: ``224``.
        canonical_level (int): see :func:`fpn_level`. Default: ``4``.
        aligned (bool): passed to :func:`roi_align`; torchvision's ``MultiScaleRoIAlign`` never sets
            it, i.e. uses ``False``. Default: ``False``.

    Returns:
        Tensor[K, C, PH, PW]: the pooled features, in the order of the boxes.
    """
    if not isinstance(features, (list, tuple)) or not features:
        raise TypeError(f"features: expected a non-empty list of Tensor[B, C, H, W], got {describe(features)}")
    for i, feature in enumerate(features):
        check_floating(f"features[{i}]", feature)
        check_ndim(f"features[{i}]", feature, 4, "(B, C, H, W)")
    original = _check_image_shapes(image_shapes)
    scales = [_infer_scale(tuple(f.shape[-2:]), original) for f in features]
    k_min, k_max = round(-math.log2(scales[0])), round(-math.log2(scales[-1]))
    if k_max - k_min + 1 != len(features):
        raise ValueError(
            f"features: expected consecutive pyramid levels (each half the size of the previous), "
            f"got inferred scales {scales}"
        )
    rois = boxes_to_rois(boxes, features[0])
    check_boxes("boxes", rois[:, 1:])  # finite (checked again, cheaply) and ordered: see the Deviations
    pooled_h, pooled_w = check_int_pair("output_size", output_size)
    _check_align_options(sampling_ratio, aligned)
    check_int("canonical_level", canonical_level)
    check_positive("canonical_scale", canonical_scale)
    if len(features) == 1:
        return _roi_align(features[0], rois, pooled_h, pooled_w, scales[0], sampling_ratio, aligned)
    levels = _fpn_level(rois[:, 1:].detach(), k_min, k_max, canonical_scale, canonical_level) - k_min  # (K,)
    result = features[0].new_zeros(rois.shape[0], features[0].shape[1], pooled_h, pooled_w)
    for level, (feature, scale) in enumerate(zip(features, scales)):
        chosen = torch.where(levels == level)[0]
        result[chosen] = _roi_align(feature, rois[chosen], pooled_h, pooled_w, scale, sampling_ratio, aligned)
    return result


def _check_image_shapes(image_shapes: object) -> tuple[int, int]:
    """The largest height and width over ``image_shapes``, a non-empty list of ``(height, width)``."""
    if not isinstance(image_shapes, (list, tuple)):
        raise TypeError(f"image_shapes: expected a list of (height, width) pairs, got {describe(image_shapes)}")
    if not image_shapes:
        raise ValueError("image_shapes: expected at least one (height, width), got none")
    pairs = [check_int_pair(f"image_shapes[{i}]", shape) for i, shape in enumerate(image_shapes)]
    return max(h for h, _ in pairs), max(w for _, w in pairs)


class MultiScaleRoIAlign(nn.Module):
    """:func:`multi_scale_roi_align` as a module, with ``torchvision.ops.MultiScaleRoIAlign``'s API.

    Args:
        featmap_names (list[str]): the keys of the feature dict to pool from, finest first.
        output_size (int or tuple[int, int]): ``(PH, PW)``.
        sampling_ratio (int): passed to :func:`roi_align`.
        canonical_scale (int): see :func:`fpn_level`. Default: ``224``.
        canonical_level (int): see :func:`fpn_level`. Default: ``4``.

    Note:
        torchvision caches the inferred scales on the module after the first call; this module
        holds no state and infers them on every call.
    """

    def __init__(
        self,
        featmap_names: Sequence[str],
        output_size: int | tuple[int, int],
        sampling_ratio: int,
        *,
        canonical_scale: int = 224,
        canonical_level: int = 4,
    ):
        super().__init__()
        if isinstance(featmap_names, str) or not featmap_names:
            raise TypeError(f"featmap_names: expected a non-empty list of names, got {describe(featmap_names)}")
        self.featmap_names = list(featmap_names)
        self.output_size = check_int_pair("output_size", output_size)
        _check_align_options(sampling_ratio, False)
        check_positive("canonical_scale", canonical_scale)
        check_int("canonical_level", canonical_level)
        self.sampling_ratio = sampling_ratio
        self.canonical_scale = canonical_scale
        self.canonical_level = canonical_level

    def forward(
        self, x: Mapping[str, Tensor], boxes: Sequence[Tensor], image_shapes: Sequence[tuple[int, int]]
    ) -> Tensor:
        missing = [name for name in self.featmap_names if name not in x]
        if missing:
            raise ValueError(f"x: expected feature maps named {self.featmap_names}, missing {missing}")
        features = [value for name, value in x.items() if name in self.featmap_names]  # dict order, as torchvision
        return multi_scale_roi_align(
            features,
            boxes,
            image_shapes,
            self.output_size,
            self.sampling_ratio,
            canonical_scale=self.canonical_scale,
            canonical_level=self.canonical_level,
        )

    def extra_repr(self) -> str:
        return (
            f"featmap_names={self.featmap_names}, output_size={self.output_size}, sampling_ratio={self.sampling_ratio}"
        )

"""RoIPool and RoIAlign: cutting a fixed-size feature out of a box, with and without rounding.

Concept
    A two-stage detector looks at every region of interest (RoI, a box) through a small fixed grid of
    features, ``PH x PW`` bins (7 x 7 for the box head, 14 x 14 for the mask head). **RoIPool**
    (Fast R-CNN) snaps the box and its bins to integer feature cells (정수 좌표만 지원) and takes the
    maximum of each bin. **RoIAlign** (Mask R-CNN) keeps the box where it is, places a regular grid of
    sample points inside each bin, reads each point by bilinear interpolation (소수점 픽셀까지 보간)
    and averages them. Rounding moves a box by up to half a feature cell, which at stride 16 is 8
    image pixels: a box classifier barely notices, a pixel-accurate mask does.

Papers
    - Girshick, "Fast R-CNN", 2015, arXiv:1504.08083 (RoIPool).
    - He, Gkioxari, Dollár, Girshick, "Mask R-CNN", 2017, arXiv:1703.06870 (RoIAlign, Sec. 3).
    - Lin et al., "Feature Pyramid Networks for Object Detection", 2017, arXiv:1612.03144
      (Eqn. 1: which pyramid level a RoI is pooled from).

Summary
    - :func:`roi_pool`, :func:`roi_align`: torchvision's signatures, box formats and results
      (``torchvision.ops.roi_pool`` / ``roi_align``), written in plain PyTorch, vectorized over RoIs,
      bins, samples and channels; any floating dtype; CPU or CUDA.
    - :func:`bilinear_interpolate`, :func:`roi_pool_single`, :func:`roi_align_single`,
      :func:`roi_pool_loop`, :func:`roi_align_loop`: the definitions, as explicit loops, transcribed
      from torchvision's C++ kernels. The fast versions are tested against them.
    - :class:`RoIPool`, :class:`RoIAlign`: thin ``nn.Module`` wrappers.
    - :func:`fpn_level`, :func:`infer_scale`, :func:`multi_scale_roi_align`,
      :class:`MultiScaleRoIAlign`: the FPN level mapping and RoIAlign over a feature pyramid.

Deviations from torchvision
    - Bad input raises ``ValueError``/``TypeError`` naming the argument and the fix. torchvision
      0.29 (CPU) raises a bare ``AssertionError`` for a ``(K, 4)`` tensor (older versions accepted
      it silently), reads memory outside the input for a batch index out of range, and crashes
      (segmentation fault) on a NaN box; here non-finite box coordinates are rejected.
    - With ``aligned=True``, adaptive sampling and a box inverted along one axis only, torchvision
      raises (a negative sample count); here that RoI gets no samples and outputs 0.
    - ``roi_align`` is differentiable with respect to the box coordinates too (torchvision's is not).
    - A list with no tensors (``boxes=[]``) is accepted and gives ``K = 0``.
    - :class:`MultiScaleRoIAlign` infers the scales on every call instead of caching them on the
      module after the first call (same result whenever the image sizes do not change).
    - NaN *feature* values: torchvision's RoIPool skips them; here they may propagate (untested).

Note:
    **Which pixel is where** (the ``aligned`` flag). Feature cell ``(row i, col j)`` can be read as
    the point ``(x, y) = (j, i)`` (the legacy convention, ``aligned=False``, torchvision's default
    and the one torchvision's Mask R-CNN uses) or as the unit square whose centre is
    ``(j + 0.5, i + 0.5)`` (detectron2's ``ROIAlignV2``, ``aligned=True``; the convention of
    :func:`lessons.data.shapes.shape_mask`). ``aligned=True`` shifts every box by -0.5 cell before
    sampling, so that a box ``(0.5, 0.5, 2.5, 2.5)`` on ``x = arange(25).reshape(5, 5)`` with a
    2 x 2 output samples around the centres of cells 0..1 and gives ``[[3, 4], [8, 9]]``;
    ``aligned=False`` gives ``[[6, 7], [11, 12]]``, half a cell down and right. ``aligned=False``
    also forces every RoI to be at least 1 x 1 cell; ``aligned=True`` lets a zero-size box through.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from lessons._checks import (
    check_floating,
    check_int_pair,
    check_ndim,
    check_positive,
    check_same_device,
    check_same_dtype,
    check_shape,
    check_tensor,
    describe,
)

__all__ = [
    "bilinear_interpolate",
    "roi_pool_single",
    "roi_align_single",
    "roi_pool_loop",
    "roi_align_loop",
    "roi_pool_bins",
    "roi_align_sample_points",
    "SamplePoints",
    "boxes_to_rois",
    "roi_pool",
    "roi_align",
    "RoIPool",
    "RoIAlign",
    "fpn_level",
    "infer_scale",
    "multi_scale_roi_align",
    "MultiScaleRoIAlign",
]

#: RoIPool starts every non-empty bin at ``-FLT_MAX`` (torchvision's kernel), so an all ``-inf``
#: bin gives ``-FLT_MAX`` and no gradient.
FLT_MAX = torch.finfo(torch.float32).max


# --------------------------------------------------------------------------------------------------
# Input checks shared by every public function
# --------------------------------------------------------------------------------------------------


def _check_boxes_list(boxes: Sequence[object], input: Tensor) -> Tensor:
    """``list[Tensor[L, 4]]`` -> ``Tensor[K, 5]``, prepending the list position as batch index."""
    parts = []
    for i, b in enumerate(boxes):
        name = f"boxes[{i}]"
        check_tensor(name, b)
        if b.ndim != 2 or b.shape[1] != 4:
            raise ValueError(
                f"{name}: expected a Tensor of shape (L, 4) with rows (x1, y1, x2, y2), got shape "
                f"{tuple(b.shape)}. In the list form the list position is the batch index."
            )
        check_same_dtype(name, b, "input", input)
        check_same_device(name, b, "input", input)
        parts.append(torch.cat([torch.full_like(b[:, :1], i), b], dim=1))  # (L, 5)
    if not parts:
        return input.new_zeros((0, 5))
    return torch.cat(parts, dim=0)  # (K, 5)


def boxes_to_rois(boxes: Tensor | Sequence[Tensor], input: Tensor) -> Tensor:
    """Validate ``boxes`` in either of torchvision's formats and return them as ``Tensor[K, 5]``.

    Args:
        boxes (Tensor[K, 5] or list[Tensor[L, 4]]): rows ``(batch_index, x1, y1, x2, y2)``, or one
            ``(L, 4)`` tensor of ``(x1, y1, x2, y2)`` per image, whose list position is the batch index.
        input (Tensor[B, C, H, W]): the features the boxes will be pooled from; gives the expected
            dtype, device and number of images ``B``.

    Returns:
        Tensor[K, 5]: ``(batch_index, x1, y1, x2, y2)`` rows, same dtype and device as ``input``.
        Gradients flow back to the list's tensors.

    Raises:
        TypeError: ``boxes`` is neither a tensor nor a list of tensors, or its dtype differs from
            ``input``'s (integer boxes included).
        ValueError: wrong shape (a ``(K, 4)`` tensor, the classic silent bug), a batch index outside
            ``[0, B)``, a non-finite coordinate, or a device different from ``input``'s.
    """
    if isinstance(boxes, Tensor):
        if boxes.ndim != 2 or boxes.shape[1] != 5:
            hint = (
                " A (K, 4) tensor has no batch index: pass [boxes] (a list with one (L, 4) tensor "
                "per image) or prepend a batch-index column."
                if boxes.ndim == 2 and boxes.shape[1] == 4
                else ""
            )
            raise ValueError(
                "boxes: expected a Tensor of shape (K, 5) with rows (batch_index, x1, y1, x2, y2) "
                f"or a list of (L, 4) tensors, got shape {tuple(boxes.shape)}.{hint}"
            )
        check_same_dtype("boxes", boxes, "input", input)
        check_same_device("boxes", boxes, "input", input)
        rois = boxes
    elif isinstance(boxes, (list, tuple)):
        rois = _check_boxes_list(boxes, input)
    else:
        raise TypeError(
            f"boxes: expected a Tensor[K, 5] or a list of Tensor[L, 4], got {describe(boxes)}"
        )
    if rois.shape[0]:
        values = rois.detach()
        if not bool(torch.isfinite(values).all()):
            row = int((~torch.isfinite(values)).any(dim=1).nonzero()[0])
            raise ValueError(f"boxes: expected finite coordinates, got row {row}: {values[row].tolist()}")
        batch_index = values[:, 0].trunc()  # the kernels cast the index to int (truncation)
        bad = (batch_index < 0) | (batch_index >= input.shape[0])
        if bool(bad.any()):
            row = int(bad.nonzero()[0])
            raise ValueError(
                f"boxes: batch index out of range: row {row} has batch index "
                f"{values[row, 0].item():g}, but input holds {input.shape[0]} image(s) (valid: 0 to "
                f"{input.shape[0] - 1})"
            )
    return rois


def _check_common(
    input: Tensor, boxes: Tensor | Sequence[Tensor], output_size: object, spatial_scale: object
) -> tuple[Tensor, int, int]:
    check_floating("input", input)
    check_ndim("input", input, 4, "(B, C, H, W)")
    pooled_h, pooled_w = check_int_pair("output_size", output_size)
    check_positive("spatial_scale", spatial_scale)
    return boxes_to_rois(boxes, input), pooled_h, pooled_w


def _check_align_options(sampling_ratio: object, aligned: object) -> None:
    if isinstance(sampling_ratio, bool) or not isinstance(sampling_ratio, int):
        raise TypeError(
            f"sampling_ratio: expected an int (> 0: that many samples per bin side, <= 0: "
            f"adaptive), got {describe(sampling_ratio)}"
        )
    if not isinstance(aligned, bool):
        raise TypeError(f"aligned: expected True or False, got {describe(aligned)}")


def _check_feature_2d(feature: object) -> None:
    check_floating("feature", feature)
    check_ndim("feature", feature, tuple(range(2, 9)), "(H, W) or (..., H, W)")  # type: ignore[arg-type]


def _box_tensor(box: object, dtype: torch.dtype) -> Tensor:
    if isinstance(box, Tensor):
        value = box.detach().to(dtype)
    elif isinstance(box, (list, tuple)):
        value = torch.tensor([float(v) for v in box], dtype=dtype)
    else:
        raise TypeError(f"box: expected a Tensor[4] or 4 numbers (x1, y1, x2, y2), got {describe(box)}")
    if value.shape != (4,):
        raise ValueError(f"box: expected 4 numbers (x1, y1, x2, y2), got shape {tuple(value.shape)}")
    return value


def _round_half_away_from_zero(value: float) -> int:
    """C++ ``std::round``: 0.5 -> 1, 2.5 -> 3, -0.5 -> -1 (Python's ``round`` gives 0, 2, -0)."""
    whole = math.trunc(value)
    fraction = value - whole  # exact in floating point
    return whole + (1 if fraction >= 0.5 else -1 if fraction <= -0.5 else 0)


# --------------------------------------------------------------------------------------------------
# The definitions: explicit loops, one box at a time (exercises 1.1-1.3 rebuild these)
# --------------------------------------------------------------------------------------------------


def bilinear_interpolate(feature: Tensor, y: float | Tensor, x: float | Tensor) -> Tensor:
    """Read ``feature`` at the continuous point ``(y, x)`` with RoIAlign's edge rules.

    With ``y_low = floor(y)``, ``ly = y - y_low``, ``hy = 1 - ly`` (likewise for x) the value is

    .. math:: f(y, x) = h_y h_x f_{00} + h_y l_x f_{01} + l_y h_x f_{10} + l_y l_x f_{11}

    where ``f_00 = feature[y_low, x_low]`` and ``f_11 = feature[y_low + 1, x_low + 1]``.
    Edge rules (torchvision's ``pre_calc_for_bilinear_interpolate``):

    1. a point outside ``[-1, H] x [-1, W]`` reads **0** (the bound itself is inside);
    2. a coordinate in ``[-1, 0]`` is clamped to 0;
    3. a coordinate at or beyond ``H - 1`` reads the last row (``y_low = y_high = H - 1``).

    Args:
        feature (Tensor[H, W] or Tensor[..., H, W]): the feature map; leading dims (channels) are
            read at the same point.
        y (float or Tensor[]): row coordinate, in cells (row ``i`` sits at ``y = i``).
        x (float or Tensor[]): column coordinate.

    Returns:
        Tensor[] or Tensor[...]: the interpolated value(s), in ``feature``'s dtype (the arithmetic
        is done in that dtype, like the kernel).

    Example:
        >>> f = torch.arange(25.0).reshape(5, 5)
        >>> bilinear_interpolate(f, 1.5, 2.25)   # rows 1-2, cols 2-3: 0.5*(7.25) + 0.5*(12.25)
        tensor(9.7500)
        >>> bilinear_interpolate(f, -1.2, 0.0)   # outside [-1, H]: reads 0
        tensor(0.)
    """
    _check_feature_2d(feature)
    height, width = feature.shape[-2:]
    y = torch.as_tensor(y, dtype=feature.dtype).detach()
    x = torch.as_tensor(x, dtype=feature.dtype).detach()
    if not bool((y >= -1) & (y <= height) & (x >= -1) & (x <= width)):  # NaN lands here too
        return feature.new_zeros(feature.shape[:-2])
    y = y.clamp(min=0)
    x = x.clamp(min=0)
    y_low, x_low = int(y), int(x)
    if y_low >= height - 1:
        y_low = y_high = height - 1
        y = torch.tensor(float(y_low), dtype=feature.dtype)
    else:
        y_high = y_low + 1
    if x_low >= width - 1:
        x_low = x_high = width - 1
        x = torch.tensor(float(x_low), dtype=feature.dtype)
    else:
        x_high = x_low + 1
    ly, lx = y - y_low, x - x_low
    hy, hx = 1 - ly, 1 - lx
    return (
        hy * hx * feature[..., y_low, x_low]
        + hy * lx * feature[..., y_low, x_high]
        + ly * hx * feature[..., y_high, x_low]
        + ly * lx * feature[..., y_high, x_high]
    )


def roi_pool_single(
    feature: Tensor, box: Tensor | Sequence[float], output_size: int | tuple[int, int], spatial_scale: float = 1.0
) -> Tensor:
    """RoIPool of one box, with explicit loops over the bins (the definition).

    1. Round the box to cells, halves away from zero: ``x1r = round(x1 * spatial_scale)``, ...
    2. Inclusive size, at least one cell: ``roi_w = max(x2r - x1r + 1, 1)``; ``bin_w = roi_w / PW``.
    3. Bin ``(ph, pw)`` covers rows ``[floor(ph * bin_h), ceil((ph + 1) * bin_h))`` + ``y1r``
       (likewise columns), clamped to the map; neighbouring bins may overlap by one cell.
    4. Output: the max over the bin (starting from ``-FLT_MAX``), or 0 for an empty bin.

    Args:
        feature (Tensor[H, W] or Tensor[..., H, W]): the feature map of the box's image.
        box (Tensor[4] or sequence of 4 floats): ``(x1, y1, x2, y2)`` in image coordinates.
        output_size (int or tuple[int, int]): ``(PH, PW)``.
        spatial_scale (float): feature cells per image pixel (1/16 for a stride-16 map). Default: ``1.0``.

    Returns:
        Tensor[PH, PW] or Tensor[..., PH, PW]: in ``feature``'s dtype.

    Example:
        >>> f = torch.arange(25.0).reshape(5, 5)
        >>> roi_pool_single(f, (0.5, 0.5, 2.5, 2.5), 2)  # rounds to cells 1..3, not 0..2
        tensor([[12., 13.],
                [17., 18.]])
    """
    _check_feature_2d(feature)
    pooled_h, pooled_w = check_int_pair("output_size", output_size)
    check_positive("spatial_scale", spatial_scale)
    height, width = feature.shape[-2:]
    scaled = (_box_tensor(box, feature.dtype) * spatial_scale).tolist()  # product in feature's dtype
    x1, y1, x2, y2 = (_round_half_away_from_zero(v) for v in scaled)
    roi_w, roi_h = max(x2 - x1 + 1, 1), max(y2 - y1 + 1, 1)
    bin_h = torch.tensor(float(roi_h), dtype=feature.dtype) / pooled_h
    bin_w = torch.tensor(float(roi_w), dtype=feature.dtype) / pooled_w
    out = feature.new_zeros(*feature.shape[:-2], pooled_h, pooled_w)
    for ph in range(pooled_h):
        h_start = min(max(int(torch.floor(ph * bin_h)) + y1, 0), height)
        h_end = min(max(int(torch.ceil((ph + 1) * bin_h)) + y1, 0), height)
        for pw in range(pooled_w):
            w_start = min(max(int(torch.floor(pw * bin_w)) + x1, 0), width)
            w_end = min(max(int(torch.ceil((pw + 1) * bin_w)) + x1, 0), width)
            if h_end <= h_start or w_end <= w_start:
                continue  # an empty bin stays 0
            window = feature[..., h_start:h_end, w_start:w_end]
            best = window.amax(dim=(-2, -1))
            out[..., ph, pw] = best.clamp(min=-FLT_MAX) if torch.finfo(best.dtype).max >= FLT_MAX else best
    return out


def roi_align_single(
    feature: Tensor,
    box: Tensor | Sequence[float],
    output_size: int | tuple[int, int],
    spatial_scale: float = 1.0,
    sampling_ratio: int = -1,
    aligned: bool = False,
) -> Tensor:
    """RoIAlign of one box, with explicit loops over bins and sample points (the definition).

    With ``off = 0.5 if aligned else 0``, ``y1' = y1 * spatial_scale - off`` (likewise x1, x2, y2):

    1. ``roi_h = y2' - y1'`` (raised to at least 1 only when ``aligned=False``); ``bin_h = roi_h / PH``.
    2. Grid per bin: ``grid_h = sampling_ratio`` if ``> 0``, else ``ceil(roi_h / PH)`` (adaptive).
    3. Sample points ``y = y1' + ph * bin_h + (iy + 0.5) * bin_h / grid_h``, ``iy = 0 .. grid_h - 1``.
    4. Output = (sum of :func:`bilinear_interpolate` at the samples) / ``max(grid_h * grid_w, 1)``.

    Args:
        feature (Tensor[H, W] or Tensor[..., H, W]): the feature map of the box's image.
        box (Tensor[4] or sequence of 4 floats): ``(x1, y1, x2, y2)`` in image coordinates.
        output_size (int or tuple[int, int]): ``(PH, PW)``.
        spatial_scale (float): feature cells per image pixel. Default: ``1.0``.
        sampling_ratio (int): samples per bin side; ``<= 0`` for the adaptive grid. Default: ``-1``.
        aligned (bool): shift the box by -0.5 cell (see the module's Note). Default: ``False``.

    Returns:
        Tensor[PH, PW] or Tensor[..., PH, PW]: in ``feature``'s dtype.

    Example:
        >>> f = torch.arange(25.0).reshape(5, 5)
        >>> roi_align_single(f, (0.5, 0.5, 2.5, 2.5), 2, sampling_ratio=2, aligned=True)
        tensor([[3., 4.],
                [8., 9.]])
    """
    _check_feature_2d(feature)
    pooled_h, pooled_w = check_int_pair("output_size", output_size)
    check_positive("spatial_scale", spatial_scale)
    _check_align_options(sampling_ratio, aligned)
    offset = 0.5 if aligned else 0.0
    x1, y1, x2, y2 = (_box_tensor(box, feature.dtype) * spatial_scale - offset).unbind()
    roi_w, roi_h = x2 - x1, y2 - y1
    if not aligned:  # legacy: force malformed boxes to 1 x 1
        roi_w, roi_h = roi_w.clamp(min=1.0), roi_h.clamp(min=1.0)
    bin_h, bin_w = roi_h / pooled_h, roi_w / pooled_w
    grid_h = sampling_ratio if sampling_ratio > 0 else int(torch.ceil(bin_h))
    grid_w = sampling_ratio if sampling_ratio > 0 else int(torch.ceil(bin_w))
    count = max(grid_h * grid_w, 1)
    out = feature.new_zeros(*feature.shape[:-2], pooled_h, pooled_w)
    for ph in range(pooled_h):
        for pw in range(pooled_w):
            total = feature.new_zeros(feature.shape[:-2])
            for iy in range(grid_h):  # an empty range when the adaptive grid is 0
                y = y1 + ph * bin_h + (iy + 0.5) * bin_h / grid_h
                for ix in range(grid_w):
                    x = x1 + pw * bin_w + (ix + 0.5) * bin_w / grid_w
                    total = total + bilinear_interpolate(feature, y, x)
            out[..., ph, pw] = total / count
    return out


def roi_pool_loop(
    input: Tensor, boxes: Tensor | Sequence[Tensor], output_size: int | tuple[int, int], spatial_scale: float = 1.0
) -> Tensor:
    """:func:`roi_pool` as a Python loop over RoIs of :func:`roi_pool_single` (slow; for teaching).

    Same arguments and result as :func:`roi_pool`, without autograd support.
    """
    rois, pooled_h, pooled_w = _check_common(input, boxes, output_size, spatial_scale)
    out = input.new_zeros(rois.shape[0], input.shape[1], pooled_h, pooled_w)  # (K, C, PH, PW)
    with torch.no_grad():
        for k, roi in enumerate(rois.detach()):
            out[k] = roi_pool_single(input[int(roi[0])], roi[1:], (pooled_h, pooled_w), spatial_scale)
    return out


def roi_align_loop(
    input: Tensor,
    boxes: Tensor | Sequence[Tensor],
    output_size: int | tuple[int, int],
    spatial_scale: float = 1.0,
    sampling_ratio: int = -1,
    aligned: bool = False,
) -> Tensor:
    """:func:`roi_align` as a Python loop over RoIs of :func:`roi_align_single` (slow; for teaching).

    Same arguments and result as :func:`roi_align`, without autograd support.
    """
    rois, pooled_h, pooled_w = _check_common(input, boxes, output_size, spatial_scale)
    _check_align_options(sampling_ratio, aligned)
    out = input.new_zeros(rois.shape[0], input.shape[1], pooled_h, pooled_w)  # (K, C, PH, PW)
    with torch.no_grad():
        for k, roi in enumerate(rois.detach()):
            out[k] = roi_align_single(
                input[int(roi[0])], roi[1:], (pooled_h, pooled_w), spatial_scale, sampling_ratio, aligned
            )
    return out


def roi_pool_bins(
    box: Tensor | Sequence[float],
    output_size: int | tuple[int, int],
    feature_size: tuple[int, int],
    spatial_scale: float = 1.0,
) -> tuple[Tensor, Tensor]:
    """The cells each RoIPool bin covers (for figures), exactly as :func:`roi_pool` uses them.

    Args:
        box (Tensor[4] or sequence of 4 floats): ``(x1, y1, x2, y2)`` in image coordinates.
        output_size (int or tuple[int, int]): ``(PH, PW)``.
        feature_size (tuple[int, int]): ``(H, W)`` of the feature map; bins are clamped to it.
        spatial_scale (float): feature cells per image pixel. Default: ``1.0``.

    Returns:
        tuple[Tensor[PH, 2], Tensor[PW, 2]] (int64): ``(start, end)`` rows of every bin row and
        columns of every bin column, end exclusive; a bin is empty when ``end <= start``.

    Example:
        >>> rows, cols = roi_pool_bins((0.0, 0.0, 4.0, 4.0), 3, (5, 5))
        >>> rows.tolist()   # 5 cells in 3 bins: overlapping [0, 2), [1, 4), [3, 5)
        [[0, 2], [1, 4], [3, 5]]
    """
    pooled_h, pooled_w = check_int_pair("output_size", output_size)
    height, width = check_int_pair("feature_size", feature_size)
    check_positive("spatial_scale", spatial_scale)
    coords = _box_tensor(box, torch.float32 if not isinstance(box, Tensor) else box.dtype)
    rois = torch.cat([coords.new_zeros(1), coords])[None]  # (1, 5)
    _, h_start, h_end, w_start, w_end = _pool_windows(rois, float(spatial_scale), pooled_h, pooled_w, height, width)
    return torch.stack([h_start[0], h_end[0]], dim=1), torch.stack([w_start[0], w_end[0]], dim=1)


class SamplePoints(NamedTuple):
    """Where RoIAlign reads, in feature-cell coordinates (cell ``i`` sits at ``i``).

    Attributes:
        y_edges (Tensor[PH + 1]): bin boundaries along y (after the ``aligned`` shift).
        x_edges (Tensor[PW + 1]): bin boundaries along x.
        y (Tensor[PH, GH]): the sample rows of each bin row.
        x (Tensor[PW, GW]): the sample columns of each bin column.
    """

    y_edges: Tensor
    x_edges: Tensor
    y: Tensor
    x: Tensor


def roi_align_sample_points(
    box: Tensor | Sequence[float],
    output_size: int | tuple[int, int],
    spatial_scale: float = 1.0,
    sampling_ratio: int = -1,
    aligned: bool = False,
) -> SamplePoints:
    """The bins and sample points of :func:`roi_align_single` for one box (for figures).

    Every bin ``(ph, pw)`` reads the ``GH x GW`` points ``(y[ph, iy], x[pw, ix])``; its output is
    their mean under :func:`bilinear_interpolate`.

    Args:
        box (Tensor[4] or sequence of 4 floats): ``(x1, y1, x2, y2)`` in image coordinates.
        output_size (int or tuple[int, int]): ``(PH, PW)``.
        spatial_scale (float): feature cells per image pixel. Default: ``1.0``.
        sampling_ratio (int): samples per bin side; ``<= 0`` for the adaptive grid. Default: ``-1``.
        aligned (bool): half-cell shift (see the module's Note). Default: ``False``.

    Returns:
        SamplePoints: ``(y_edges, x_edges, y, x)`` in float64.

    Example:
        >>> roi_align_sample_points((0.5, 0.5, 2.5, 2.5), 2, sampling_ratio=2, aligned=True).y.tolist()
        [[0.25, 0.75], [1.25, 1.75]]
    """
    pooled_h, pooled_w = check_int_pair("output_size", output_size)
    check_positive("spatial_scale", spatial_scale)
    _check_align_options(sampling_ratio, aligned)
    offset = 0.5 if aligned else 0.0
    x1, y1, x2, y2 = (_box_tensor(box, torch.float64) * spatial_scale - offset).unbind()

    def axis(start: Tensor, size: Tensor, pooled: int) -> tuple[Tensor, Tensor]:
        if not aligned:
            size = size.clamp(min=1.0)
        step = size / pooled
        grid = sampling_ratio if sampling_ratio > 0 else max(int(torch.ceil(step)), 0)
        p = torch.arange(pooled, dtype=torch.float64)
        i = torch.arange(grid, dtype=torch.float64)
        points = start + p[:, None] * step + (i[None, :] + 0.5) * step / max(grid, 1)  # (P, G)
        return start + torch.arange(pooled + 1, dtype=torch.float64) * step, points

    y_edges, y = axis(y1, y2 - y1, pooled_h)
    x_edges, x = axis(x1, x2 - x1, pooled_w)
    return SamplePoints(y_edges, x_edges, y, x)


# --------------------------------------------------------------------------------------------------
# Fast versions: every bin of every RoI at once
# --------------------------------------------------------------------------------------------------


def _bag_layout(sizes: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """Ragged bags of ``sizes[n]`` items each, flattened: ``(bag of item, rank in bag, bag starts)``."""
    starts = torch.cumsum(sizes, 0) - sizes  # (N,)
    bag = torch.repeat_interleave(torch.arange(sizes.numel(), device=sizes.device), sizes)  # (T,)
    rank = torch.arange(bag.numel(), device=sizes.device) - starts[bag]  # (T,)
    return bag, rank, starts


def _channels_last_table(input: Tensor) -> Tensor:
    """``(B, C, H, W)`` -> ``(B*H*W, C)``: row ``(b*H + y)*W + x`` holds the C features of one cell."""
    batch, channels, height, width = input.shape
    return input.permute(0, 2, 3, 1).reshape(batch * height * width, channels)  # (B*H*W, C)


def _pool_windows(
    rois: Tensor, spatial_scale: float, pooled_h: int, pooled_w: int, height: int, width: int
) -> tuple[Tensor, Tensor, Tensor, Tensor, Tensor]:
    """RoIPool's bin windows, as in :func:`roi_pool_single`: ``b (K,)``, rows ``[hs, he) (K, PH)``,
    columns ``[ws, we) (K, PW)``, all int64 and clamped to the map."""
    dtype, device = rois.dtype, rois.device
    scaled = rois[:, 1:].detach() * spatial_scale  # (K, 4), product in the boxes' dtype
    whole = scaled.trunc()
    fraction = scaled - whole  # exact; round halves away from zero like C++ std::round
    rounded = (whole + (fraction >= 0.5).to(dtype) - (fraction <= -0.5).to(dtype)).long()
    x1, y1, x2, y2 = rounded.unbind(dim=1)  # (K,) each
    bin_h = (y2 - y1 + 1).clamp(min=1).to(dtype) / pooled_h  # (K,) in the input's dtype, like the kernel
    bin_w = (x2 - x1 + 1).clamp(min=1).to(dtype) / pooled_w
    ph = torch.arange(pooled_h, device=device, dtype=dtype)
    pw = torch.arange(pooled_w, device=device, dtype=dtype)
    h_start = (torch.floor(ph * bin_h[:, None]).long() + y1[:, None]).clamp(0, height)  # (K, PH)
    h_end = (torch.ceil((ph + 1) * bin_h[:, None]).long() + y1[:, None]).clamp(0, height)
    w_start = (torch.floor(pw * bin_w[:, None]).long() + x1[:, None]).clamp(0, width)  # (K, PW)
    w_end = (torch.ceil((pw + 1) * bin_w[:, None]).long() + x1[:, None]).clamp(0, width)
    return rois[:, 0].detach().long(), h_start, h_end, w_start, w_end


def _floor_log2(n: Tensor, levels: int) -> Tensor:
    """``floor(log2(n))`` for integers ``n >= 1``, exactly (no floating-point log)."""
    powers = 2 ** torch.arange(levels, device=n.device)
    return (n[..., None] >= powers).sum(dim=-1) - 1


def _window_max_sparse_table(
    table: Tensor, b: Tensor, h_start: Tensor, h_end: Tensor, w_start: Tensor, w_end: Tensor
) -> Tensor:
    """Max over every bin window, by the range-maximum (sparse table) trick. No autograd.

    A window of ``nh x nw`` cells is covered by four (overlapping) windows of ``2^i x 2^j`` cells,
    ``i = floor(log2 nh)``, anchored at its four corners; max is idempotent, so the overlap is
    harmless. ``M_ij[y, x] = max`` over ``[y, y + 2^i) x [x, x + 2^j)`` is built by doubling,
    ``M_{i+1, j}[y] = max(M_ij[y], M_ij[y + 2^i])``. The only Python loop is over the (at most
    ``log2 H x log2 W``) level pairs; each step is vectorized over all bins and channels.

    Args:
        table (Tensor[B, H, W, C]): channels-last features.
        b (Tensor[K]), h_start, h_end (Tensor[K, PH]), w_start, w_end (Tensor[K, PW]): windows.

    Returns:
        Tensor[K*PH*PW, C]: the bin maxima (0 for an empty bin), bins in ``(k, ph, pw)`` order.
    """
    _, height, width, channels = table.shape
    num_rois, pooled_h = h_start.shape
    pooled_w = w_start.shape[1]
    shape = (num_rois, pooled_h, pooled_w)
    rows = (h_end - h_start)[:, :, None].expand(shape).reshape(-1)  # (N,) with N = K*PH*PW
    cols = (w_end - w_start)[:, None, :].expand(shape).reshape(-1)
    row0 = h_start[:, :, None].expand(shape).reshape(-1)
    col0 = w_start[:, None, :].expand(shape).reshape(-1)
    image = b[:, None, None].expand(shape).reshape(-1)
    result = table.new_zeros(rows.numel(), channels)  # (N, C); empty bins stay 0
    full = (rows > 0) & (cols > 0)
    if not bool(full.any()):
        return result
    level_h = _floor_log2(rows.clamp(min=1), max(height, 1).bit_length())  # (N,)
    level_w = _floor_log2(cols.clamp(min=1), max(width, 1).bit_length())
    top_i, top_j = int(level_h[full].max()) + 1, int(level_w[full].max()) + 1
    pair = torch.where(full, level_h * top_j + level_w, -1)  # (N,) -1: empty bin
    order = torch.argsort(pair, stable=True)  # bins grouped by (i, j)
    groups = torch.arange(-1, top_i * top_j + 1, device=pair.device)
    bounds = torch.searchsorted(pair[order], groups).tolist()  # group (i, j) = order[bounds[p+1]:bounds[p+2]]
    level_table = table  # M_i0: max over 2^i rows, (B, H - 2^i + 1, W, C)
    for i in range(top_i):
        if i:
            step = 1 << (i - 1)
            level_table = torch.maximum(level_table[:, :-step], level_table[:, step:])
        pair_table = level_table  # M_ij
        for j in range(top_j):
            if j:
                step = 1 << (j - 1)
                pair_table = torch.maximum(pair_table[:, :, :-step], pair_table[:, :, step:])
            first, last = bounds[i * top_j + j + 1], bounds[i * top_j + j + 2]
            if first == last:
                continue
            sel = order[first:last]
            rows_i, cols_j = pair_table.shape[1], pair_table.shape[2]
            flat = pair_table.reshape(-1, channels)  # (B*rows_i*cols_j, C)
            top = image[sel] * rows_i + row0[sel]
            bottom = top + rows[sel] - (1 << i)  # the lower 2^i rows end where the window ends
            left, right = col0[sel], col0[sel] + cols[sel] - (1 << j)
            best = flat.index_select(0, top * cols_j + left)  # (n, C)
            for corner in (top * cols_j + right, bottom * cols_j + left, bottom * cols_j + right):
                torch.maximum(best, flat.index_select(0, corner), out=best)
            result.index_copy_(0, sel, best)
    return result


def _window_max_embedding_bag(
    table: Tensor, b: Tensor, h_start: Tensor, h_end: Tensor, w_start: Tensor, w_end: Tensor, height: int, width: int
) -> Tensor:
    """Max over every bin window with ``F.embedding_bag(mode="max")``: one bag per bin, holding
    the flat indices of its cells in row-major order. Autograd routes each gradient to the first
    maximum, exactly like torchvision's argmax.

    Args:
        table (Tensor[B*H*W, C]): channels-last features.

    Returns:
        Tensor[K*PH*PW, C]: the bin maxima (0 for an empty bin).
    """
    num_rois, pooled_h = h_start.shape
    pooled_w = w_start.shape[1]
    shape = (num_rois, pooled_h, pooled_w)
    rows = (h_end - h_start).clamp(min=0)[:, :, None].expand(shape).reshape(-1)  # (N,)
    cols = (w_end - w_start).clamp(min=0)[:, None, :].expand(shape).reshape(-1)
    bag, rank, starts = _bag_layout(rows * cols)  # one item per cell of every window, (T,)
    k, ph, pw = bag // (pooled_h * pooled_w), bag // pooled_w % pooled_h, bag % pooled_w
    y = h_start[k, ph] + rank // cols[bag]  # row-major inside the window
    x = w_start[k, pw] + rank % cols[bag]
    index = (b[k] * height + y) * width + x  # (T,) rows of the table
    return F.embedding_bag(index, table, starts, mode="max")  # (N, C)


def roi_pool(
    input: Tensor, boxes: Tensor | Sequence[Tensor], output_size: int | tuple[int, int], spatial_scale: float = 1.0
) -> Tensor:
    """RoIPool (Fast R-CNN): max over integer-rounded bins; torchvision's semantics, vectorized.

    The bins are those of :func:`roi_pool_single` (round halves away from zero, inclusive box,
    ``floor``/``ceil`` bin edges, clamped to the map; an empty bin gives 0).

    Two exact ways to take the max over all bins at once (no Python loop over RoIs or bins):

    - without autograd, the range-maximum trick over channels-last features (fast;
      see :func:`_window_max_sparse_table`);
    - when ``input`` needs a gradient, ``F.embedding_bag(mode="max")`` over each bin's cells in
      row-major order, whose backward adds each output gradient to the **first** maximum of its bin,
      exactly torchvision's argmax rule (ties included).

    Args:
        input (Tensor[B, C, H, W]): features, any floating dtype.
        boxes (Tensor[K, 5] or list[Tensor[L, 4]]): ``(batch_index, x1, y1, x2, y2)`` rows, or one
            ``(L, 4)`` tensor per image; same dtype and device as ``input``; image coordinates.
        output_size (int or tuple[int, int]): ``(PH, PW)``, e.g. ``7`` for the box head.
        spatial_scale (float): feature cells per image pixel: ``1/16`` when a 800 x 800 image gave a
            50 x 50 map. Default: ``1.0``.

    Returns:
        Tensor[K, C, PH, PW]: pooled features, contiguous, ``input``'s dtype.

    Example:
        >>> x = torch.arange(25.0).reshape(1, 1, 5, 5)
        >>> roi_pool(x, torch.tensor([[0, 0.0, 0.0, 4.0, 4.0]]), 2)[0, 0]
        tensor([[12., 14.],
                [22., 24.]])
    """
    rois, pooled_h, pooled_w = _check_common(input, boxes, output_size, spatial_scale)
    batch, channels, height, width = input.shape
    num_rois = rois.shape[0]
    windows = _pool_windows(rois, float(spatial_scale), pooled_h, pooled_w, height, width)
    # the kernel's max starts at -FLT_MAX (which is -inf in half precision)
    floor = -FLT_MAX if torch.finfo(input.dtype).max >= FLT_MAX else -math.inf
    if torch.is_grad_enabled() and input.requires_grad:
        pooled = _window_max_embedding_bag(_channels_last_table(input), *windows, height, width)
        pooled = pooled.clamp(min=floor)  # (K*PH*PW, C)
    else:
        table = input.detach().permute(0, 2, 3, 1).contiguous()  # (B, H, W, C)
        pooled = _window_max_sparse_table(table, *windows).clamp_(min=floor)  # (K*PH*PW, C)
    return pooled.reshape(num_rois, pooled_h, pooled_w, channels).permute(0, 3, 1, 2).contiguous()


def _axis_corners(coord: Tensor, size: int, valid: Tensor) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """Bilinear corners along one axis with :func:`bilinear_interpolate`'s edge rules.

    Returns ``(low, high, w_low, w_high)``: cell indices (int64) and weights ``1 - l`` and ``l``.
    """
    coord = torch.where(valid, coord, torch.zeros_like(coord)).clamp(min=0)  # rule 2; NaN-safe
    low = coord.detach().long()  # floor, as coord >= 0
    last = low >= size - 1  # rule 3: read the last row/column
    low = torch.where(last, size - 1, low)
    high = torch.where(last, low, low + 1)
    coord = torch.where(last, low.to(coord.dtype), coord)
    frac = coord - low  # differentiable in coord: the box gradient flows through here
    return low, high, 1 - frac, frac


def roi_align(
    input: Tensor,
    boxes: Tensor | Sequence[Tensor],
    output_size: int | tuple[int, int],
    spatial_scale: float = 1.0,
    sampling_ratio: int = -1,
    aligned: bool = False,
) -> Tensor:
    """RoIAlign (Mask R-CNN): average of bilinear samples in each bin; torchvision's semantics.

    For RoI ``k`` (see :func:`roi_align_single` for the formulas, transcribed from torchvision's
    kernel): bins of ``bin_h = roi_h / PH``, a grid of ``grid_h x grid_w`` sample points per bin
    (``sampling_ratio``, or ``ceil(roi_h / PH)`` per RoI when ``sampling_ratio <= 0``), each read by
    bilinear interpolation, summed and divided by ``max(grid_h * grid_w, 1)``.

    Vectorized over RoIs, bins, samples and channels: every sample of every bin is one row of a
    flat list (RoIs with different adaptive grids simply contribute different numbers of rows), its
    four bilinear corners index a channels-last table ``(B*H*W, C)``, and ``F.embedding_bag(mode=
    "sum", per_sample_weights=...)`` gathers and weights the corners of each bin in one fused call.

    Args:
        input (Tensor[B, C, H, W]): features, any floating dtype.
        boxes (Tensor[K, 5] or list[Tensor[L, 4]]): ``(batch_index, x1, y1, x2, y2)`` rows, or one
            ``(L, 4)`` tensor per image; same dtype and device as ``input``; image coordinates.
        output_size (int or tuple[int, int]): ``(PH, PW)``: 7 for the box head, 14 for the mask head.
        spatial_scale (float): feature cells per image pixel (``1/16`` at stride 16). Default: ``1.0``.
        sampling_ratio (int): samples per bin side; ``<= 0``: adaptive, ``ceil(roi_h / PH)``.
            Mask R-CNN uses 2. Default: ``-1``.
        aligned (bool): shift boxes by -0.5 cell so that cell centres sit at ``+0.5``
            (detectron2's ``ROIAlignV2``); see the module's Note. Default: ``False``.

    Returns:
        Tensor[K, C, PH, PW]: pooled features, contiguous, ``input``'s dtype. Differentiable with
        respect to ``input`` (equal to torchvision's gradient) and to the box coordinates.

    Example:
        >>> x = torch.arange(25.0).reshape(1, 1, 5, 5)
        >>> roi_align(x, [torch.tensor([[0.5, 0.5, 2.5, 2.5]])], 2, sampling_ratio=2, aligned=True)[0, 0]
        tensor([[3., 4.],
                [8., 9.]])
    """
    rois, pooled_h, pooled_w = _check_common(input, boxes, output_size, spatial_scale)
    _check_align_options(sampling_ratio, aligned)
    batch, channels, height, width = input.shape
    num_rois, device, dtype = rois.shape[0], input.device, input.dtype
    bins = pooled_h * pooled_w

    offset = 0.5 if aligned else 0.0
    x1, y1, x2, y2 = (rois[:, 1:] * spatial_scale - offset).unbind(dim=1)  # (K,) each
    roi_w, roi_h = x2 - x1, y2 - y1
    if not aligned:  # legacy: force malformed boxes to 1 x 1
        roi_w, roi_h = roi_w.clamp(min=1.0), roi_h.clamp(min=1.0)
    bin_h, bin_w = roi_h / pooled_h, roi_w / pooled_w  # (K,)
    if sampling_ratio > 0:
        grid_h = torch.full((num_rois,), sampling_ratio, device=device)
        grid_w = grid_h
    else:  # adaptive: ceil(roi_h / PH) samples per bin side, per RoI (0 for a degenerate box)
        grid_h = torch.ceil(bin_h.detach()).long().clamp(min=0)
        grid_w = torch.ceil(bin_w.detach()).long().clamp(min=0)
    count = (grid_h * grid_w).clamp(min=1)  # (K,) the denominator still counts dropped samples

    # one row per sample point: bin n = (k, ph, pw) holds grid_h[k] * grid_w[k] samples
    sample_bin, rank, bin_starts = _bag_layout((grid_h * grid_w).repeat_interleave(bins))  # (S,)
    k = sample_bin // bins
    ph = (sample_bin // pooled_w % pooled_h).to(dtype)
    pw = (sample_bin % pooled_w).to(dtype)
    iy = (rank // grid_w[k]).to(dtype)
    ix = (rank % grid_w[k]).to(dtype)
    # y = y1' + ph * bin_h + (iy + 0.5) * bin_h / grid_h, in the kernel's order of operations
    y = y1[k] + ph * bin_h[k] + (iy + 0.5) * bin_h[k] / grid_h[k].to(dtype)  # (S,)
    x = x1[k] + pw * bin_w[k] + (ix + 0.5) * bin_w[k] / grid_w[k].to(dtype)
    valid = (y >= -1) & (y <= height) & (x >= -1) & (x <= width)  # rule 1 (dropped, still counted)
    y_low, y_high, hy, ly = _axis_corners(y, height, valid)
    x_low, x_high, hx, lx = _axis_corners(x, width, valid)

    row = rois[k, 0].detach().long() * height
    index = torch.stack(  # (S, 4) the four corners, rows of the (B*H*W, C) table
        [(row + y_low) * width + x_low, (row + y_low) * width + x_high,
         (row + y_high) * width + x_low, (row + y_high) * width + x_high], dim=1)
    weight = torch.stack([hy * hx, hy * lx, ly * hx, ly * lx], dim=1) * valid[:, None]  # (S, 4)
    pooled = F.embedding_bag(  # (K*PH*PW, C): sum of weight * corner over each bin's samples
        index.reshape(-1), _channels_last_table(input), 4 * bin_starts,
        mode="sum", per_sample_weights=weight.reshape(-1),
    )
    pooled.div_(count.repeat_interleave(bins).to(dtype)[:, None])  # in place: embedding_bag keeps no output
    return pooled.reshape(num_rois, pooled_h, pooled_w, channels).permute(0, 3, 1, 2).contiguous()


# --------------------------------------------------------------------------------------------------
# Module wrappers
# --------------------------------------------------------------------------------------------------


class RoIPool(nn.Module):
    """:func:`roi_pool` as a module (no parameters); same arguments as ``torchvision.ops.RoIPool``.

    Args:
        output_size (int or tuple[int, int]): ``(PH, PW)``.
        spatial_scale (float): feature cells per image pixel.
    """

    def __init__(self, output_size: int | tuple[int, int], spatial_scale: float):
        super().__init__()
        check_int_pair("output_size", output_size)
        check_positive("spatial_scale", spatial_scale)
        self.output_size = output_size
        self.spatial_scale = spatial_scale

    def forward(self, input: Tensor, rois: Tensor | Sequence[Tensor]) -> Tensor:
        return roi_pool(input, rois, self.output_size, self.spatial_scale)

    def extra_repr(self) -> str:
        return f"output_size={self.output_size}, spatial_scale={self.spatial_scale}"


class RoIAlign(nn.Module):
    """:func:`roi_align` as a module (no parameters); same arguments as ``torchvision.ops.RoIAlign``.

    Args:
        output_size (int or tuple[int, int]): ``(PH, PW)``.
        spatial_scale (float): feature cells per image pixel.
        sampling_ratio (int): samples per bin side, ``<= 0`` for adaptive.
        aligned (bool): half-pixel shift (see the module's Note). Default: ``False``.
    """

    def __init__(
        self, output_size: int | tuple[int, int], spatial_scale: float, sampling_ratio: int, aligned: bool = False
    ):
        super().__init__()
        check_int_pair("output_size", output_size)
        check_positive("spatial_scale", spatial_scale)
        _check_align_options(sampling_ratio, aligned)
        self.output_size = output_size
        self.spatial_scale = spatial_scale
        self.sampling_ratio = sampling_ratio
        self.aligned = aligned

    def forward(self, input: Tensor, rois: Tensor | Sequence[Tensor]) -> Tensor:
        return roi_align(input, rois, self.output_size, self.spatial_scale, self.sampling_ratio, self.aligned)

    def extra_repr(self) -> str:
        return (
            f"output_size={self.output_size}, spatial_scale={self.spatial_scale}, "
            f"sampling_ratio={self.sampling_ratio}, aligned={self.aligned}"
        )


# --------------------------------------------------------------------------------------------------
# Feature pyramid: which level a RoI is pooled from
# --------------------------------------------------------------------------------------------------


def _check_level_args(k_min: object, k_max: object, canonical_scale: object, canonical_level: object) -> None:
    for name, value in (("k_min", k_min), ("k_max", k_max), ("canonical_level", canonical_level)):
        if isinstance(value, bool) or not isinstance(value, int):
            raise TypeError(f"{name}: expected an int, got {describe(value)}")
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
        boxes (Tensor[K, 4]): ``(x1, y1, x2, y2)`` in image pixels; ``wh = (x2 - x1) * (y2 - y1)``
            (no +1).
        k_min (int): the finest level present (P2 -> 2). Default: ``2``.
        k_max (int): the coarsest level present (P5 -> 5). Default: ``5``.
        canonical_scale (int): the box size mapped to ``canonical_level``. Default: ``224``.
        canonical_level (int): ``k0``. Default: ``4``.
        eps (float): added before ``floor`` so that an exact power of two (``sqrt(wh) = 112``) is
            not pushed down by rounding in ``log2``. Default: ``1e-6``.

    Returns:
        Tensor[K] (int64): the level ``k`` of each box. torchvision's ``LevelMapper`` returns
        ``k - k_min``, the index into the list of levels.

    Note:
        detectron2's ``assign_boxes_to_levels`` adds its epsilon inside the log,
        ``floor(k0 + log2(sqrt(wh) / 224 + 1e-8))``; the two differ only within ~1e-6 of a boundary.
    """
    check_floating("boxes", boxes)
    check_shape("boxes", boxes, (None, 4), "(K, 4)")
    _check_level_args(k_min, k_max, canonical_scale, canonical_level)
    size = torch.sqrt((boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1]))  # (K,) sqrt(wh)
    level = torch.floor(canonical_level + torch.log2(size / canonical_scale) + torch.tensor(eps, dtype=size.dtype))
    return level.clamp(min=k_min, max=k_max).to(torch.int64)


def infer_scale(feature_size: Sequence[int], image_size: Sequence[int]) -> float:
    """The ``spatial_scale`` of a feature map: ``2 ** round(log2(feature_h / image_h))``.

    Args:
        feature_size (sequence of 2 ints): ``(H, W)`` of the feature map.
        image_size (sequence of 2 ints): ``(height, width)`` of the (padded) input image.

    Returns:
        float: a power of two, e.g. ``0.25`` for a 200 x 200 map of an 800 x 800 image. Like
        torchvision's ``_infer_scale`` it uses the height ratio.
    """
    if len(feature_size) != 2 or len(image_size) != 2:
        raise ValueError(
            f"feature_size, image_size: expected (height, width) pairs, got {describe(feature_size)} "
            f"and {describe(image_size)}"
        )
    check_positive("feature_size[0]", feature_size[0])
    check_positive("image_size[0]", image_size[0])
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
        boxes (list[Tensor[L, 4]] or Tensor[K, 5]): boxes in image pixels.
        image_shapes (sequence of (height, width)): the images' sizes before the backbone; the
            scales are inferred from the largest height and width (torchvision's rule).
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
    if not image_shapes:
        raise ValueError("image_shapes: expected at least one (height, width), got none")
    original = (max(int(s[0]) for s in image_shapes), max(int(s[1]) for s in image_shapes))
    scales = [infer_scale(tuple(f.shape[-2:]), original) for f in features]
    k_min, k_max = round(-math.log2(scales[0])), round(-math.log2(scales[-1]))
    if k_max - k_min + 1 != len(features):
        raise ValueError(
            f"features: expected consecutive pyramid levels (each half the size of the previous), "
            f"got inferred scales {scales}"
        )
    rois = boxes_to_rois(boxes, features[0])
    pooled_h, pooled_w = check_int_pair("output_size", output_size)
    if len(features) == 1:
        return roi_align(features[0], rois, (pooled_h, pooled_w), scales[0], sampling_ratio, aligned)
    levels = fpn_level(rois[:, 1:].detach(), k_min, k_max, canonical_scale=canonical_scale,
                       canonical_level=canonical_level) - k_min  # (K,) index into features
    result = features[0].new_zeros(rois.shape[0], features[0].shape[1], pooled_h, pooled_w)
    for level, (feature, scale) in enumerate(zip(features, scales)):
        chosen = torch.where(levels == level)[0]
        result[chosen] = roi_align(feature, rois[chosen], (pooled_h, pooled_w), scale, sampling_ratio, aligned)
    return result


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
            features, boxes, image_shapes, self.output_size, self.sampling_ratio,
            canonical_scale=self.canonical_scale, canonical_level=self.canonical_level,
        )

    def extra_repr(self) -> str:
        return (
            f"featmap_names={self.featmap_names}, output_size={self.output_size}, "
            f"sampling_ratio={self.sampling_ratio}"
        )

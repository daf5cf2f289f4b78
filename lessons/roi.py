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
    This module is the teaching path, to be read top to bottom:

    - the formulas, each written once and used by every implementation: ``_pool_windows`` (which
      cells each RoIPool bin covers, shown by :func:`roi_pool_bins`), :func:`roi_align_grid` and
      :func:`roi_align_sample_coordinate` (where RoIAlign samples);
    - :func:`bilinear_interpolate`, :func:`roi_pool_single`, :func:`roi_align_single`,
      :func:`roi_pool_loop`, :func:`roi_align_loop`: the definitions, as explicit loops, transcribed
      from torchvision's C++ kernels; :func:`roi_pool_bins`, :func:`roi_align_sample_points` show
      the bins and samples of one box (for figures).

    Two more modules, whose names are importable from here too:

    - :mod:`lessons.roi_fast`: :func:`roi_pool`, :func:`roi_align` with torchvision's signatures,
      box formats and results (``torchvision.ops.roi_pool`` / ``roi_align``), written in plain
      PyTorch, vectorized over RoIs, bins, samples and channels; any floating dtype; CPU or CUDA;
      :class:`RoIPool`, :class:`RoIAlign` module wrappers. Tested equal to the loops here.
    - :mod:`lessons.roi_pyramid`: :func:`fpn_level`, :func:`infer_scale`,
      :func:`multi_scale_roi_align`, :class:`MultiScaleRoIAlign`: the FPN level mapping and
      RoIAlign over a feature pyramid.

Deviations from torchvision
    Listed in :mod:`lessons.roi_fast` (they concern the batched functions and their box formats).
    Boxes, coordinates and sizes are checked: a NaN or inf there raises ``ValueError``.

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

import importlib
from collections.abc import Sequence
from typing import NamedTuple

import torch
from torch import Tensor

from lessons._checks import (
    check_boxes,
    check_finite,
    check_floating,
    check_int,
    check_int_pair,
    check_ndim,
    check_positive,
    check_same_device,
    check_same_dtype,
    check_tensor,
    describe,
)

__all__ = [
    "FLT_MAX",
    "AlignGrid",
    "roi_align_grid",
    "roi_align_sample_coordinate",  # the formulas
    "bilinear_interpolate",
    "roi_pool_single",
    "roi_align_single",
    "roi_pool_loop",
    "roi_align_loop",
    "boxes_to_rois",
    # re-exported from lessons.roi_figures, lessons.roi_fast and lessons.roi_pyramid (see the end)
    "roi_pool_bins",
    "roi_align_sample_points",
    "SamplePoints",
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


def _check_boxes_list(boxes: Sequence[object], input: Tensor, arg: str = "boxes") -> Tensor:
    """``list[Tensor[L, 4]]`` -> ``Tensor[K, 5]``, prepending the list position as batch index."""
    parts = []
    for i, b in enumerate(boxes):
        name = f"{arg}[{i}]"
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
    check_floating("input", input)
    check_ndim("input", input, 4, "(B, C, H, W)")
    return _boxes_to_rois(boxes, input)


def _boxes_to_rois(boxes: object, input: Tensor, arg: str = "boxes") -> Tensor:
    if isinstance(boxes, Tensor):
        if boxes.ndim != 2 or boxes.shape[1] != 5:
            hint = (
                " A (K, 4) tensor has no batch index: pass [boxes] (a list with one (L, 4) tensor "
                "per image) or prepend a batch-index column."
                if boxes.ndim == 2 and boxes.shape[1] == 4
                else ""
            )
            raise ValueError(
                f"{arg}: expected a Tensor of shape (K, 5) with rows (batch_index, x1, y1, x2, y2) "
                f"or a list of (L, 4) tensors, got shape {tuple(boxes.shape)}.{hint}"
            )
        check_same_dtype(arg, boxes, "input", input)
        check_same_device(arg, boxes, "input", input)
        rois = boxes
    elif isinstance(boxes, (list, tuple)):
        rois = _check_boxes_list(boxes, input, arg)
    else:
        raise TypeError(f"{arg}: expected a Tensor[K, 5] or a list of Tensor[L, 4], got {describe(boxes)}")
    if rois.shape[0]:
        values = rois.detach()
        check_finite(arg, values)
        batch_index = values[:, 0].trunc()  # the kernels cast the index to int (truncation)
        bad = (batch_index < 0) | (batch_index >= input.shape[0])
        if bool(bad.any()):
            row = int(bad.nonzero()[0])
            raise ValueError(
                f"{arg}: batch index out of range: row {row} has batch index "
                f"{values[row, 0].item():g}, but input holds {input.shape[0]} image(s) (valid: 0 to "
                f"{input.shape[0] - 1})"
            )
    return rois


def _check_common(
    input: Tensor, boxes: Tensor | Sequence[Tensor], output_size: object, spatial_scale: object, arg: str = "boxes"
) -> tuple[Tensor, int, int]:
    check_floating("input", input)
    check_ndim("input", input, 4, "(B, C, H, W)")
    pooled_h, pooled_w = check_int_pair("output_size", output_size)
    check_positive("spatial_scale", spatial_scale)
    return _boxes_to_rois(boxes, input, arg), pooled_h, pooled_w


def _check_align_options(sampling_ratio: object, aligned: object) -> None:
    check_int("sampling_ratio", sampling_ratio)  # > 0: that many samples per bin side, <= 0: adaptive
    if not isinstance(aligned, bool):
        raise TypeError(f"aligned: expected True or False, got {describe(aligned)}")


def _check_feature_2d(feature: object) -> None:
    check_floating("feature", feature)
    check_ndim("feature", feature, tuple(range(2, 9)), "(H, W) or (..., H, W)")  # type: ignore[arg-type]


def _box_tensor(box: object, dtype: torch.dtype) -> Tensor:
    """One box given as a ``Tensor[4]`` or 4 numbers -> a finite ``Tensor[4]`` of ``dtype``."""
    if isinstance(box, Tensor) and _is_real(box):
        value = box.detach().to(dtype)
    elif isinstance(box, (list, tuple)) and all(_is_real(v) and not isinstance(v, Tensor) for v in box):
        value = torch.tensor([float(v) for v in box], dtype=dtype)
    else:
        raise TypeError(f"box: expected a Tensor[4] or 4 numbers (x1, y1, x2, y2), got {describe(box)}")
    if value.shape != (4,):
        raise ValueError(f"box: expected 4 numbers (x1, y1, x2, y2), got shape {tuple(value.shape)}")
    check_finite("box", value)
    return value


def _is_real(value: object) -> bool:
    if isinstance(value, Tensor):
        return not (value.is_complex() or value.dtype == torch.bool)
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _check_point(name: str, value: object) -> None:
    """A coordinate of :func:`bilinear_interpolate`: a finite real number or 0-d real tensor."""
    if not _is_real(value) or (isinstance(value, Tensor) and value.ndim != 0):
        raise TypeError(f"{name}: expected a number or a 0-d real tensor, got {describe(value)}")
    check_finite(name, torch.as_tensor(value, dtype=torch.float64))


# --------------------------------------------------------------------------------------------------
# The formulas: which cells a RoIPool bin covers, where RoIAlign samples (each written once)
# --------------------------------------------------------------------------------------------------


def _pool_windows(
    rois: Tensor, spatial_scale: float, pooled_h: int, pooled_w: int, height: int, width: int
) -> tuple[Tensor, Tensor, Tensor, Tensor, Tensor]:
    """RoIPool's bins (steps 1-3 of :func:`roi_pool_single`) for ``rois (K, 5)``: the batch index
    ``(K,)``, rows ``[h_start, h_end) (K, PH)`` and columns ``[w_start, w_end) (K, PW)``, int64,
    clamped to the map. The one place RoIPool's bins are computed; :func:`roi_pool_bins` shows them."""
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


class AlignGrid(NamedTuple):
    """RoIAlign's geometry of K boxes (:func:`roi_align_grid`), ``Tensor[K]`` each.

    Attributes:
        x1 (Tensor[K]): the box's left edge in cells, after the ``aligned`` shift.
        y1 (Tensor[K]): its top edge.
        bin_h (Tensor[K]): the height of a bin, in cells.
        bin_w (Tensor[K]): the width of a bin.
        grid_h (Tensor[K]): sample rows per bin (int64, >= 0).
        grid_w (Tensor[K]): sample columns per bin (int64, >= 0).
    """

    x1: Tensor
    y1: Tensor
    bin_h: Tensor
    bin_w: Tensor
    grid_h: Tensor
    grid_w: Tensor


def _roi_align_grid(
    boxes: Tensor, pooled_h: int, pooled_w: int, spatial_scale: float, sampling_ratio: int, aligned: bool
) -> AlignGrid:
    offset = 0.5 if aligned else 0.0
    x1, y1, x2, y2 = (boxes * spatial_scale - offset).unbind(dim=1)  # (K,) each
    roi_w, roi_h = x2 - x1, y2 - y1
    if not aligned:  # legacy: force malformed boxes to 1 x 1
        roi_w, roi_h = roi_w.clamp(min=1.0), roi_h.clamp(min=1.0)
    bin_h, bin_w = roi_h / pooled_h, roi_w / pooled_w  # (K,)
    if sampling_ratio > 0:
        grid_h = torch.full(bin_h.shape, sampling_ratio, device=boxes.device, dtype=torch.int64)
        grid_w = grid_h
    else:  # adaptive: ceil(roi_h / PH) samples per bin side, per RoI (0 for a degenerate box)
        grid_h = torch.ceil(bin_h.detach()).long().clamp(min=0)
        grid_w = torch.ceil(bin_w.detach()).long().clamp(min=0)
    return AlignGrid(x1, y1, bin_h, bin_w, grid_h, grid_w)


def roi_align_grid(
    boxes: Tensor,
    output_size: int | tuple[int, int],
    spatial_scale: float = 1.0,
    sampling_ratio: int = -1,
    aligned: bool = False,
) -> AlignGrid:
    """RoIAlign's bins and sample grid per box: steps 1-2 of :func:`roi_align_single`, vectorized.

    With ``off = 0.5 if aligned else 0``, ``x1' = x1 * spatial_scale - off`` (likewise y1, x2, y2):

    1. ``roi_h = y2' - y1'`` (raised to at least 1 only when ``aligned=False``); ``bin_h = roi_h / PH``.
    2. Grid per bin: ``grid_h = sampling_ratio`` if ``> 0``, else ``ceil(roi_h / PH)`` (adaptive,
       at least 0).

    Args:
        boxes (Tensor[K, 4]): ``(x1, y1, x2, y2)`` in image coordinates, floating point, finite
            (either corner order). Differentiable: ``x1, y1, bin_h, bin_w`` carry the gradient.
        output_size (int or tuple[int, int]): ``(PH, PW)``.
        spatial_scale (float): feature cells per image pixel. Default: ``1.0``.
        sampling_ratio (int): samples per bin side; ``<= 0`` for the adaptive grid. Default: ``-1``.
        aligned (bool): shift the box by -0.5 cell (see the module's Note). Default: ``False``.

    Returns:
        AlignGrid: ``(x1, y1, bin_h, bin_w, grid_h, grid_w)``, ``Tensor[K]`` each.

    Example:
        >>> roi_align_grid(torch.tensor([[0.0, 0.0, 6.0, 3.0]]), 2).grid_w   # bins 3 cells wide
        tensor([3])
    """
    check_boxes("boxes", boxes, allow_swapped=True)
    pooled_h, pooled_w = check_int_pair("output_size", output_size)
    check_positive("spatial_scale", spatial_scale)
    _check_align_options(sampling_ratio, aligned)
    return _roi_align_grid(boxes, pooled_h, pooled_w, float(spatial_scale), sampling_ratio, aligned)


def _sample_coordinate(start, bin_size, bin_index, sample_index, grid):  # noqa: ANN001, ANN202
    return start + bin_index * bin_size + (sample_index + 0.5) * bin_size / grid


def roi_align_sample_coordinate(
    start: Tensor | float,
    bin_size: Tensor | float,
    bin_index: Tensor | float,
    sample_index: Tensor | float,
    grid: Tensor | float,
) -> Tensor | float:
    r"""Where RoIAlign samples, along one axis: step 3 of :func:`roi_align_single`.

    .. math:: y = y_1' + p_h \cdot \mathrm{bin}_h + (i_y + 0.5) \cdot \mathrm{bin}_h / \mathrm{grid}_h,
              \qquad i_y = 0, \dots, \mathrm{grid}_h - 1

    the centres of a ``grid_h``-cell subdivision of bin row ``p_h``, in the kernel's order of
    operations (the order matters in float32). Elementwise; broadcasts.

    Args:
        start (Tensor or float): ``y1'`` (or ``x1'``) from :func:`roi_align_grid`.
        bin_size (Tensor or float): ``bin_h`` (or ``bin_w``).
        bin_index (Tensor or float): ``p_h`` (or ``p_w``).
        sample_index (Tensor or float): ``i_y`` (or ``i_x``).
        grid (Tensor or float): ``grid_h`` (or ``grid_w``), > 0.

    Returns:
        Tensor or float: the coordinates, in cells. Arithmetic only: NaN in gives NaN out (the
        callers validate the boxes).

    Example:
        >>> roi_align_sample_coordinate(0.0, 2.0, 1, torch.arange(2), 2)   # bin 1 spans [2, 4)
        tensor([2.5000, 3.5000])
    """
    names = ("start", "bin_size", "bin_index", "sample_index", "grid")
    for name, value in zip(names, (start, bin_size, bin_index, sample_index, grid)):
        if not _is_real(value):
            raise TypeError(f"{name}: expected a Tensor or a number (real), got {describe(value)}")
    return _sample_coordinate(start, bin_size, bin_index, sample_index, grid)


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
        y (float or Tensor[]): row coordinate, in cells (row ``i`` sits at ``y = i``); finite.
        x (float or Tensor[]): column coordinate; finite.

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
    _check_point("y", y)
    _check_point("x", x)
    return _bilinear_interpolate(feature, y, x)


def _bilinear_interpolate(feature: Tensor, y: float | Tensor, x: float | Tensor) -> Tensor:
    height, width = feature.shape[-2:]
    y = torch.as_tensor(y, dtype=feature.dtype).detach()
    x = torch.as_tensor(x, dtype=feature.dtype).detach()
    if not bool((y >= -1) & (y <= height) & (x >= -1) & (x <= width)):  # rule 1
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
       Steps 1-3 are computed by ``_pool_windows``, shared with :func:`roi_pool`.
    4. Output: the max over the bin (starting from ``-FLT_MAX``), or 0 for an empty bin.

    Args:
        feature (Tensor[H, W] or Tensor[..., H, W]): the feature map of the box's image.
        box (Tensor[4] or sequence of 4 floats): ``(x1, y1, x2, y2)`` in image coordinates, finite.
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
    box = _box_tensor(box, feature.dtype)
    return _roi_pool_single(feature, box, pooled_h, pooled_w, float(spatial_scale))


def _roi_pool_single(feature: Tensor, box: Tensor, pooled_h: int, pooled_w: int, spatial_scale: float) -> Tensor:
    height, width = feature.shape[-2:]
    rois = torch.cat([box.new_zeros(1), box])[None]  # (1, 5)
    _, h_start, h_end, w_start, w_end = (
        t[0].tolist()
        for t in _pool_windows(  # steps 1-3
            rois, spatial_scale, pooled_h, pooled_w, height, width
        )
    )
    out = feature.new_zeros(*feature.shape[:-2], pooled_h, pooled_w)
    for ph in range(pooled_h):
        for pw in range(pooled_w):
            if h_end[ph] <= h_start[ph] or w_end[pw] <= w_start[pw]:
                continue  # an empty bin stays 0
            window = feature[..., h_start[ph] : h_end[ph], w_start[pw] : w_end[pw]]
            best = window.amax(dim=(-2, -1))  # step 4
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
       Steps 1-2 are :func:`roi_align_grid`.
    3. Sample points ``y = y1' + ph * bin_h + (iy + 0.5) * bin_h / grid_h``, ``iy = 0 .. grid_h - 1``
       (:func:`roi_align_sample_coordinate`).
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
    box = _box_tensor(box, feature.dtype)
    return _roi_align_single(feature, box, pooled_h, pooled_w, float(spatial_scale), sampling_ratio, aligned)


def _roi_align_single(
    feature: Tensor, box: Tensor, pooled_h: int, pooled_w: int, spatial_scale: float, sampling_ratio: int, aligned: bool
) -> Tensor:
    g = _roi_align_grid(box[None], pooled_h, pooled_w, spatial_scale, sampling_ratio, aligned)  # steps 1-2
    x1, y1, bin_h, bin_w = g.x1[0], g.y1[0], g.bin_h[0], g.bin_w[0]
    grid_h, grid_w = int(g.grid_h[0]), int(g.grid_w[0])
    count = max(grid_h * grid_w, 1)
    out = feature.new_zeros(*feature.shape[:-2], pooled_h, pooled_w)
    for ph in range(pooled_h):
        for pw in range(pooled_w):
            total = feature.new_zeros(feature.shape[:-2])
            for iy in range(grid_h):  # an empty range when the adaptive grid is 0
                y = _sample_coordinate(y1, bin_h, ph, iy, grid_h)  # step 3
                for ix in range(grid_w):
                    x = _sample_coordinate(x1, bin_w, pw, ix, grid_w)
                    total = total + _bilinear_interpolate(feature, y, x)
            out[..., ph, pw] = total / count  # step 4
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
            out[k] = _roi_pool_single(input[int(roi[0])], roi[1:], pooled_h, pooled_w, float(spatial_scale))
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
            out[k] = _roi_align_single(
                input[int(roi[0])], roi[1:], pooled_h, pooled_w, float(spatial_scale), sampling_ratio, aligned
            )
    return out


# --------------------------------------------------------------------------------------------------
# The figure helpers, the fast paths and the pyramid live in their own modules
# --------------------------------------------------------------------------------------------------

_ELSEWHERE = (
    dict.fromkeys(("roi_pool_bins", "roi_align_sample_points", "SamplePoints"), "lessons.roi_figures")
    | dict.fromkeys(("roi_pool", "roi_align", "RoIPool", "RoIAlign"), "lessons.roi_fast")
    | dict.fromkeys(("fpn_level", "infer_scale", "multi_scale_roi_align", "MultiScaleRoIAlign"), "lessons.roi_pyramid")
)


def __getattr__(name: str) -> object:
    """``lessons.roi.roi_align`` is :func:`lessons.roi_fast.roi_align` (imported on first use, as
    :mod:`lessons.roi_fast` itself imports the formulas above)."""
    if name in _ELSEWHERE:
        return getattr(importlib.import_module(_ELSEWHERE[name]), name)
    raise AttributeError(f"module 'lessons.roi' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_ELSEWHERE))

"""Where RoIPool and RoIAlign read, for one box: the cells of each RoIPool bin and RoIAlign's sample points.

Figure helpers of notebook 01, built on the formulas of :mod:`lessons.roi` (``_pool_windows`` and the
RoIAlign grid), so a figure shows exactly what :func:`lessons.roi.roi_pool` and
:func:`lessons.roi.roi_align` compute. ``lessons.roi`` re-exports both functions and
:class:`SamplePoints`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import torch
from torch import Tensor

from lessons._checks import check_int_pair, check_positive
from lessons.roi import _box_tensor, _check_align_options, _pool_windows, _roi_align_grid, _sample_coordinate

__all__ = ["roi_pool_bins", "roi_align_sample_points", "SamplePoints"]


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
    dtype = box.dtype if isinstance(box, Tensor) and box.is_floating_point() else torch.float32
    coords = _box_tensor(box, dtype)
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
    g = _roi_align_grid(
        _box_tensor(box, torch.float64)[None], pooled_h, pooled_w, float(spatial_scale), sampling_ratio, aligned
    )

    def axis(start: Tensor, step: Tensor, grid: int, pooled: int) -> tuple[Tensor, Tensor]:
        p = torch.arange(pooled, dtype=torch.float64)
        i = torch.arange(grid, dtype=torch.float64)
        points = _sample_coordinate(start, step, p[:, None], i[None, :], max(grid, 1))  # (P, G)
        return start + torch.arange(pooled + 1, dtype=torch.float64) * step, points

    y_edges, y = axis(g.y1[0], g.bin_h[0], int(g.grid_h[0]), pooled_h)
    x_edges, x = axis(g.x1[0], g.bin_w[0], int(g.grid_w[0]), pooled_w)
    return SamplePoints(y_edges, x_edges, y, x)

"""RoIPool and RoIAlign, vectorized: every bin of every RoI at once (the speed paths).

The definitions, one box and one bin at a time, are in :mod:`lessons.roi` (read that first); this
module computes the same numbers without a Python loop over RoIs or bins, and is tested equal to
those loops and to ``torchvision.ops.roi_pool`` / ``roi_align``. The formulas are not repeated
here: the RoIPool bins come from :func:`lessons.roi.roi_pool_windows` and the RoIAlign sample
points from :func:`lessons.roi.roi_align_grid` and :func:`lessons.roi.roi_align_sample_coordinate`.

Papers: Girshick, "Fast R-CNN", 2015, arXiv:1504.08083 (RoIPool); He, Gkioxari, Dollár, Girshick,
"Mask R-CNN", 2017, arXiv:1703.06870 (RoIAlign). The tricks:

* features as a channels-last table ``(B*H*W, C)`` (:func:`channels_last_table`), so that gathering
  the cells of many bins is one ``index_select`` or one ``F.embedding_bag``;
* RoIPool without autograd: the range-maximum (sparse table) trick, ``log2 H x log2 W`` vectorized
  steps in all; with autograd: ``F.embedding_bag(mode="max")``, whose backward routes each gradient
  to the first maximum, exactly torchvision's argmax rule;
* RoIAlign: one row per sample point (RoIs with different adaptive grids give ragged bags), the four
  bilinear corners (:func:`bilinear_corners`) gathered and weighted by one fused
  ``F.embedding_bag(mode="sum", per_sample_weights=...)``.

Every name is importable from :mod:`lessons.roi` as well.

Deviations from torchvision
    - Bad input raises ``ValueError``/``TypeError`` naming the argument and the fix. torchvision
      0.29 (CPU) raises a bare ``AssertionError`` for a ``(K, 4)`` tensor (older versions accepted
      it silently), reads memory outside the input for a batch index out of range, and crashes
      (segmentation fault) on a NaN box; here non-finite box coordinates are rejected.
    - With ``aligned=True``, adaptive sampling and a box inverted along one axis only, torchvision
      raises (a negative sample count); here that RoI gets no samples and outputs 0.
    - ``roi_align`` is differentiable with respect to the box coordinates too (torchvision's is not).
    - A list with no tensors (``boxes=[]``) is accepted and gives ``K = 0``.
    - NaN *feature* values: torchvision's RoIPool skips them; here they may propagate (feature maps
      are not scanned for NaN; boxes, coordinates and sizes are, and a NaN there raises).

NaN policy: feature maps, logits, images and the inputs of losses are not scanned for NaN/inf (a
full scan would cost more than the operation), so a NaN there passes through to the result; boxes,
coordinates, sizes, indices and labels are checked and a NaN/inf there raises ``ValueError``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from lessons._checks import (
    check_floating,
    check_int,
    check_int_pair,
    check_ndim,
    check_positive,
    check_shape,
    check_tensor,
)
from lessons.roi import (
    FLT_MAX,
    _check_align_options,
    _check_common,
    _pool_windows,
    _roi_align_grid,
    _sample_coordinate,
)

__all__ = ["channels_last_table", "bilinear_corners", "roi_pool", "roi_align", "RoIPool", "RoIAlign"]


def _bag_layout(sizes: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """Ragged bags of ``sizes[n]`` items each, flattened: ``(bag of item, rank in bag, bag starts)``."""
    starts = torch.cumsum(sizes, 0) - sizes  # (N,)
    bag = torch.repeat_interleave(torch.arange(sizes.numel(), device=sizes.device), sizes)  # (T,)
    rank = torch.arange(bag.numel(), device=sizes.device) - starts[bag]  # (T,)
    return bag, rank, starts


def channels_last_table(input: Tensor) -> Tensor:
    """``(B, C, H, W)`` -> ``(B*H*W, C)``: row ``(b*H + y)*W + x`` holds the C features of one cell.

    Args:
        input (Tensor[B, C, H, W]): features (NaN passes through).

    Returns:
        Tensor[B*H*W, C]: a view when possible, else a copy.
    """
    check_floating("input", input)
    check_ndim("input", input, 4, "(B, C, H, W)")
    return _channels_last_table(input)


def _channels_last_table(input: Tensor) -> Tensor:
    batch, channels, height, width = input.shape
    return input.permute(0, 2, 3, 1).reshape(batch * height * width, channels)  # (B*H*W, C)


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

    The bins are those of :func:`lessons.roi.roi_pool_single` (round halves away from zero, inclusive box,
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
    return _roi_pool(input, rois, pooled_h, pooled_w, float(spatial_scale))


def _roi_pool(input: Tensor, rois: Tensor, pooled_h: int, pooled_w: int, spatial_scale: float) -> Tensor:
    batch, channels, height, width = input.shape
    num_rois = rois.shape[0]
    windows = _pool_windows(rois, spatial_scale, pooled_h, pooled_w, height, width)
    # the kernel's max starts at -FLT_MAX (which is -inf in half precision)
    floor = -FLT_MAX if torch.finfo(input.dtype).max >= FLT_MAX else -math.inf
    if torch.is_grad_enabled() and input.requires_grad:
        pooled = _window_max_embedding_bag(_channels_last_table(input), *windows, height, width)
        pooled = pooled.clamp(min=floor)  # (K*PH*PW, C)
    else:
        table = input.detach().permute(0, 2, 3, 1).contiguous()  # (B, H, W, C)
        pooled = _window_max_sparse_table(table, *windows).clamp_(min=floor)  # (K*PH*PW, C)
    return pooled.reshape(num_rois, pooled_h, pooled_w, channels).permute(0, 3, 1, 2).contiguous()


def bilinear_corners(coord: Tensor, size: int, valid: Tensor) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """Bilinear corners along one axis with :func:`lessons.roi.bilinear_interpolate`'s edge rules.

    Args:
        coord (Tensor[...]): sample coordinates along the axis, in cells (floating point); finite
            where ``valid``.
        size (int): the number of cells along the axis (``H`` or ``W``), >= 1.
        valid (Tensor[...]): bool, same shape, ``False`` for samples outside ``[-1, size]`` (rule 1;
            their coordinate is replaced by 0, so it never reaches an index).

    Returns:
        tuple[Tensor, Tensor, Tensor, Tensor]: ``(low, high, w_low, w_high)``: cell indices (int64)
        and weights ``1 - l`` and ``l``, differentiable in ``coord``.

    Example:
        >>> bilinear_corners(torch.tensor([1.25, 4.5]), 5, torch.tensor([True, True]))
        (tensor([1, 4]), tensor([2, 4]), tensor([0.7500, 1.0000]), tensor([0.2500, 0.0000]))
    """
    check_floating("coord", coord)
    check_int("size", size, minimum=1)
    check_tensor("valid", valid)
    if valid.dtype != torch.bool:
        raise TypeError(f"valid: expected a bool tensor, got dtype {valid.dtype}")
    check_shape("valid", valid, tuple(coord.shape), f"{tuple(coord.shape)} like coord")
    if bool((valid & ~torch.isfinite(coord.detach())).any()):
        raise ValueError("coord: expected finite values wherever valid is True, got NaN/inf")
    return _bilinear_corners(coord, size, valid)


def _bilinear_corners(coord: Tensor, size: int, valid: Tensor) -> tuple[Tensor, Tensor, Tensor, Tensor]:
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

    For RoI ``k`` (see :func:`lessons.roi.roi_align_single` for the formulas, transcribed from
    torchvision's kernel): bins of ``bin_h = roi_h / PH``, a grid of ``grid_h x grid_w`` sample points per bin
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
    return _roi_align(input, rois, pooled_h, pooled_w, float(spatial_scale), sampling_ratio, aligned)


def _roi_align(
    input: Tensor, rois: Tensor, pooled_h: int, pooled_w: int, spatial_scale: float, sampling_ratio: int, aligned: bool
) -> Tensor:
    batch, channels, height, width = input.shape
    num_rois, dtype = rois.shape[0], input.dtype
    bins = pooled_h * pooled_w
    g = _roi_align_grid(rois[:, 1:], pooled_h, pooled_w, spatial_scale, sampling_ratio, aligned)  # (K,) each
    count = (g.grid_h * g.grid_w).clamp(min=1)  # (K,) the denominator still counts dropped samples

    # one row per sample point: bin n = (k, ph, pw) holds grid_h[k] * grid_w[k] samples
    sample_bin, rank, bin_starts = _bag_layout((g.grid_h * g.grid_w).repeat_interleave(bins))  # (S,)
    k = sample_bin // bins
    ph = (sample_bin // pooled_w % pooled_h).to(dtype)
    pw = (sample_bin % pooled_w).to(dtype)
    iy = (rank // g.grid_w[k]).to(dtype)
    ix = (rank % g.grid_w[k]).to(dtype)
    y = _sample_coordinate(g.y1[k], g.bin_h[k], ph, iy, g.grid_h[k].to(dtype))  # (S,)
    x = _sample_coordinate(g.x1[k], g.bin_w[k], pw, ix, g.grid_w[k].to(dtype))
    valid = (y >= -1) & (y <= height) & (x >= -1) & (x <= width)  # rule 1 (dropped, still counted)
    y_low, y_high, hy, ly = _bilinear_corners(y, height, valid)
    x_low, x_high, hx, lx = _bilinear_corners(x, width, valid)

    row = rois[k, 0].detach().long() * height
    index = torch.stack(  # (S, 4) the four corners, rows of the (B*H*W, C) table
        [
            (row + y_low) * width + x_low,
            (row + y_low) * width + x_high,
            (row + y_high) * width + x_low,
            (row + y_high) * width + x_high,
        ],
        dim=1,
    )
    weight = torch.stack([hy * hx, hy * lx, ly * hx, ly * lx], dim=1) * valid[:, None]  # (S, 4)
    pooled = F.embedding_bag(  # (K*PH*PW, C): sum of weight * corner over each bin's samples
        index.reshape(-1),
        _channels_last_table(input),
        4 * bin_starts,
        mode="sum",
        per_sample_weights=weight.reshape(-1),
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
        checked, pooled_h, pooled_w = _check_common(input, rois, self.output_size, self.spatial_scale, "rois")
        return _roi_pool(input, checked, pooled_h, pooled_w, float(self.spatial_scale))

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
        checked, pooled_h, pooled_w = _check_common(input, rois, self.output_size, self.spatial_scale, "rois")
        return _roi_align(
            input, checked, pooled_h, pooled_w, float(self.spatial_scale), self.sampling_ratio, self.aligned
        )

    def extra_repr(self) -> str:
        return (
            f"output_size={self.output_size}, spatial_scale={self.spatial_scale}, "
            f"sampling_ratio={self.sampling_ratio}, aligned={self.aligned}"
        )

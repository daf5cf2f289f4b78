"""Tests for lessons.roi: hand-computed cases, torchvision, the loop definitions,
gradients (torchvision and gradcheck), the FPN level mapping and every error path."""

from __future__ import annotations

import itertools
from collections import OrderedDict

import pytest
import torch
import torchvision.ops as tvo
from hypothesis import given, settings
from hypothesis import strategies as st
from torchvision.ops.poolers import LevelMapper, _infer_scale

from lessons.roi import (
    FLT_MAX,
    MultiScaleRoIAlign,
    RoIAlign,
    RoIPool,
    bilinear_interpolate,
    boxes_to_rois,
    fpn_level,
    infer_scale,
    multi_scale_roi_align,
    roi_align,
    roi_align_grid,
    roi_align_loop,
    roi_align_sample_coordinate,
    roi_align_sample_points,
    roi_align_single,
    roi_pool,
    roi_pool_bins,
    roi_pool_loop,
    roi_pool_single,
)

ATOL = {torch.float32: 1e-5, torch.float64: 1e-10}


def grid5(dtype=torch.float32):
    return torch.arange(25, dtype=dtype).reshape(1, 1, 5, 5)


def assert_close(got, expected, dtype=torch.float32):
    torch.testing.assert_close(got, expected, atol=ATOL[dtype], rtol=0)


def random_rois(gen, num, batch, height, width, scale, dtype):
    """Boxes in image coordinates: random ones partly outside the map, plus the special cases."""
    size = torch.tensor([width, height], dtype=dtype) / scale
    centre = (torch.rand(num, 2, generator=gen, dtype=dtype) * 1.4 - 0.2) * size
    half = torch.rand(num, 2, generator=gen, dtype=dtype) * 0.7 * size
    boxes = torch.cat([centre - half, centre + half], dim=1)
    special = (
        torch.tensor(
            [
                [2.0, 2.0, 2.0, 2.0],  # zero size
                [3.0, 3.0, 1.0, 1.0],  # inverted (in both axes; see test_aligned_inverted_one_axis)
                [1.2, 1.3, 1.25, 1.31],  # sub-pixel tiny
                [-5.0, -4.0, width + 5.0, height + 4.0],  # larger than the map
                [width + 3.0, height + 3.0, width + 6.0, height + 6.0],  # fully outside
                [-3.0, 1.0, 2.0, 3.0],  # partly outside
            ],
            dtype=dtype,
        )
        / scale
    )
    boxes = torch.cat([special, boxes])
    index = torch.randint(0, batch, (boxes.shape[0], 1), generator=gen).to(dtype)
    return torch.cat([index, boxes], dim=1)  # (K, 5)


def as_list(rois, batch):
    return [rois[rois[:, 0] == b, 1:] for b in range(batch)]


def from_list(rois, batch):
    """The rows of ``rois`` in the order the list form produces them."""
    return torch.cat([rois[rois[:, 0] == b] for b in range(batch)])


# --------------------------------------------------------------------------------------------------
# Hand-computed cases (RoIPool, torchvision's rounding and bin rules)
# --------------------------------------------------------------------------------------------------

POOL_CASES = [
    ((0, 0, 0, 4, 4), 2, 1.0, [[12, 14], [22, 24]]),
    ((0, 0.5, 0.5, 2.5, 2.5), 2, 1.0, [[12, 13], [17, 18]]),  # halves round away from zero
    ((0, 0.6, 0.6, 3.4, 3.4), 2, 1.0, [[12, 13], [17, 18]]),
    ((0, 1.5, 1.5, 3.5, 3.5), 2, 1.0, [[18, 19], [23, 24]]),
    ((0, 0, 0, 1, 1), 2, 1.0, [[0, 1], [5, 6]]),
    ((0, 0, 0, 4, 4), 3, 1.0, [[6, 8, 9], [16, 18, 19], [21, 23, 24]]),
    ((0, 0, 0, 4, 4), (3, 2), 1.0, [[7, 9], [17, 19], [22, 24]]),
    ((0, 0, 0, 7, 7), 2, 0.5, [[12, 14], [22, 24]]),  # 3.5 rounds to 4
    ((0, 3, 3, 1, 1), 2, 1.0, [[18, 18], [18, 18]]),  # inverted -> 1 x 1 at (3, 3)
    ((0, 10, 10, 12, 12), 2, 1.0, [[0, 0], [0, 0]]),  # fully outside
]


@pytest.mark.parametrize("roi, out, scale, expected", POOL_CASES)
def test_roi_pool_hand_cases(roi, out, scale, expected):
    x = grid5()
    rois = torch.tensor([roi], dtype=torch.float32)
    expected = torch.tensor(expected, dtype=torch.float32)
    assert_close(roi_pool(x, rois, out, scale)[0, 0], expected)
    assert_close(roi_pool_loop(x, rois, out, scale)[0, 0], expected)
    assert_close(roi_pool_single(x[0, 0], roi[1:], out, scale), expected)
    assert_close(tvo.roi_pool(x, rois, out, scale)[0, 0], expected)  # the table itself is right


def test_roi_pool_rounding_is_not_bankers():
    # Python's round(0.5) == 0 and round(2.5) == 2 would give [[6, 7], [11, 12]]
    out = roi_pool(grid5(), torch.tensor([[0, 0.5, 0.5, 2.5, 2.5]]), 2)[0, 0]
    assert out.tolist() != [[6, 7], [11, 12]]


def test_roi_pool_argmax_through_gradient():
    x = grid5().requires_grad_()
    roi_pool(x, torch.tensor([[0, 0.0, 0.0, 4.0, 4.0]]), 2).sum().backward()
    assert x.grad.flatten().nonzero().flatten().tolist() == [12, 14, 22, 24]


def test_roi_pool_empty_bins_are_zero_even_for_negative_input():
    x = torch.full((1, 1, 5, 5), -5.0, requires_grad=True)
    out = roi_pool(x, torch.tensor([[0, 10.0, 10.0, 12.0, 12.0]]), 2)
    assert out.eq(0).all()
    out.sum().backward()
    assert x.grad.eq(0).all()  # argmax -1: nothing is back-propagated
    assert roi_pool(x.detach(), torch.tensor([[0, 10.0, 10.0, 12.0, 12.0]]), 2).eq(0).all()


def test_roi_pool_all_minus_inf_bin_gives_minus_flt_max():
    x = torch.full((1, 1, 3, 3), -float("inf"))
    rois = torch.tensor([[0, 0.0, 0.0, 2.0, 2.0]])
    expected = tvo.roi_pool(x, rois, 1, 1.0)
    assert expected.item() == -FLT_MAX
    assert roi_pool(x, rois, 1).item() == -FLT_MAX
    assert roi_pool(x.requires_grad_(), rois, 1).item() == -FLT_MAX
    assert roi_pool_loop(x.detach(), rois, 1).item() == -FLT_MAX


# --------------------------------------------------------------------------------------------------
# Hand-computed cases (RoIAlign, torchvision's sampling rules)
# --------------------------------------------------------------------------------------------------

ALIGN_CASES = [
    # (x, roi, output_size, scale, sampling_ratio, aligned, expected)
    *[("grid5", (0, 0.5, 0.5, 2.5, 2.5), 2, 1.0, s, True, [[3, 4], [8, 9]]) for s in (1, 2, -1)],
    *[("grid5", (0, 0.5, 0.5, 2.5, 2.5), 2, 1.0, s, False, [[6, 7], [11, 12]]) for s in (1, 2, -1)],
    ("grid5", (0, 0, 0, 4, 4), 2, 1.0, -1, True, [[3, 5], [13, 15]]),
    ("grid5", (0, 0, 0, 4, 4), 2, 1.0, -1, False, [[6, 8], [16, 18]]),
    (
        "grid5",
        (0, 1, 1, 3, 3),
        4,
        1.0,
        0,
        False,  # detectron2's unit test
        [[7.5, 8, 8.5, 9], [10, 10.5, 11, 11.5], [12.5, 13, 13.5, 14], [15, 15.5, 16, 16.5]],
    ),
    (
        "grid5",
        (0, 1, 1, 3, 3),
        4,
        1.0,
        0,
        True,
        [[4.5, 5, 5.5, 6], [7, 7.5, 8, 8.5], [9.5, 10, 10.5, 11], [12, 12.5, 13, 13.5]],
    ),
    ("grid5", (0, 3.5, 3.5, 6, 6), 2, 1.0, 2, False, [[23.4375, 0], [0, 0]]),  # samples > H dropped
    ("grid5+1", (0, -0.8, -0.8, 0.2, 0.2), 1, 1.0, 1, False, [[1.0]]),  # -0.3 clamped to 0
    ("grid5+1", (0, -1.6, -1.6, -0.2, -0.2), 1, 1.0, 1, False, [[1.0]]),  # -0.9 clamped
    ("grid5+1", (0, -2.4, -2.4, -0.2, -0.2), 1, 1.0, 1, False, [[0.0]]),  # -1.3 dropped
    ("grid5+1", (0, -2, 0.5, 0, 1.5), 1, 1.0, 1, False, [[6.0]]),  # x = -1 exactly is kept
    ("grid5", (0, 4.2, 4.2, 5.8, 5.8), 1, 1.0, 1, False, [[24.0]]),  # 5.0 == H clamped to row 4
    ("grid5", (0, 4.4, 4.4, 5.8, 5.8), 1, 1.0, 1, False, [[0.0]]),  # 5.1 > H dropped
    ("grid5", (0, 2, 2, 2, 2), 2, 1.0, -1, True, [[0, 0], [0, 0]]),  # zero size: grid 0
    ("grid5", (0, 2, 2, 2, 2), 2, 1.0, -1, False, [[13.5, 14], [16, 16.5]]),  # forced to 1 x 1
    ("grid5", (0, 2, 2, 2, 2), 2, 1.0, 2, True, [[9, 9], [9, 9]]),  # every sample at (1.5, 1.5)
    ("grid5", (0, 1, 1, 5, 5), 2, 0.5, 2, True, [[3, 4], [8, 9]]),  # spatial_scale
    ("grid6", (0, 0, 0, 5, 5), 2, 1.0, -1, False, [[8.75, 11.25], [23.75, 26.25]]),  # adaptive = 3
    ("grid6", (0, 0, 0, 5, 5), 2, 1.0, 3, False, [[8.75, 11.25], [23.75, 26.25]]),
]


def make_input(name):
    if name == "grid6":
        return torch.arange(36, dtype=torch.float32).reshape(1, 1, 6, 6)
    return grid5() + (1 if name == "grid5+1" else 0)


@pytest.mark.parametrize("name, roi, out, scale, ratio, aligned, expected", ALIGN_CASES)
def test_roi_align_hand_cases(name, roi, out, scale, ratio, aligned, expected):
    x = make_input(name)
    rois = torch.tensor([roi], dtype=torch.float32)
    expected = torch.tensor(expected, dtype=torch.float32)
    assert_close(roi_align(x, rois, out, scale, ratio, aligned)[0, 0], expected)
    assert_close(roi_align_loop(x, rois, out, scale, ratio, aligned)[0, 0], expected)
    assert_close(tvo.roi_align(x, rois, out, scale, ratio, aligned)[0, 0], expected)


def test_batch_index_selects_the_image():
    x = torch.stack([torch.zeros(1, 4, 4), torch.ones(1, 4, 4)])
    out = roi_align(x, torch.tensor([[1, 0.5, 0.5, 2.5, 2.5]]), 2, 1.0, 2)
    assert out.eq(1).all()
    assert roi_pool(x, [torch.zeros(0, 4), torch.tensor([[0.0, 0.0, 2.0, 2.0]])], 2).eq(1).all()


@pytest.mark.parametrize(
    "y, x, expected",
    [
        (1.5, 2.25, 9.75),  # interior
        (2.0, 3.0, 13.0),  # a cell exactly
        (-0.5, 0.0, 0.0),  # clamped to row 0
        (-1.0, 2.0, 2.0),  # -1 itself is kept (and clamped)
        (-1.2, 2.0, 0.0),  # outside: reads 0
        (4.5, 1.0, 21.0),  # beyond H - 1: last row
        (5.0, 5.0, 24.0),  # H, W exactly: kept
        (5.01, 1.0, 0.0),
        (1.0, -1.01, 0.0),
    ],
)
def test_bilinear_interpolate(y, x, expected):
    f = grid5(torch.float64)[0, 0]
    got = bilinear_interpolate(f, y, x)
    assert got.shape == () and got.dtype == torch.float64
    assert got.item() == pytest.approx(expected, abs=1e-12)


@pytest.mark.parametrize(
    "y, x, name", [(float("nan"), 1.7, "y"), (1.0, float("inf"), "x"), (torch.tensor(float("nan")), 1.0, "y")]
)
def test_bilinear_interpolate_refuses_non_finite_points(y, x, name):
    # a NaN coordinate used to fail every bounds test and read 0, a plausible value
    with pytest.raises(ValueError, match=f"{name}: expected finite"):
        bilinear_interpolate(grid5(torch.float64)[0, 0], y, x)


def test_bilinear_interpolate_reads_all_channels():
    f = torch.stack([grid5()[0, 0], 2 * grid5()[0, 0]])  # (2, 5, 5)
    assert bilinear_interpolate(f, 1.5, 2.25).tolist() == pytest.approx([9.75, 19.5])


def test_roi_pool_bins_are_the_windows_roi_pool_uses():
    rows, cols = roi_pool_bins((0.0, 0.0, 4.0, 4.0), (3, 2), (5, 5))
    assert rows.tolist() == [[0, 2], [1, 4], [3, 5]] and cols.tolist() == [[0, 3], [2, 5]]
    rows, cols = roi_pool_bins((40.0, 8.0, 200.0, 24.0), 2, (5, 5), spatial_scale=1 / 16)  # partly outside
    assert rows.tolist() == [[1, 2], [2, 3]] and cols.tolist() == [[3, 5], [5, 5]]  # 0.5 -> 1, 12.5 -> 13; an empty bin
    x = torch.randn(5, 5, dtype=torch.float64)
    expected = torch.stack(
        [
            torch.stack(
                [x[r0:r1, c0:c1].max() if r1 > r0 and c1 > c0 else torch.tensor(0.0) for c0, c1 in cols.tolist()]
            )
            for r0, r1 in rows.tolist()
        ]
    )
    assert_close(roi_pool_single(x, (40.0, 8.0, 200.0, 24.0), 2, 1 / 16), expected.double(), torch.float64)


@pytest.mark.parametrize("ratio, aligned", [(2, False), (3, True), (-1, False), (-1, True)])
def test_sample_points_average_to_roi_align(ratio, aligned):
    x = torch.randn(7, 8, dtype=torch.float64, generator=torch.Generator().manual_seed(9))
    box = (1.3, 0.7, 9.9, 12.1)
    grid = roi_align_sample_points(box, (2, 3), 0.5, ratio, aligned)
    assert grid.y_edges.shape == (3,) and grid.x_edges.shape == (4,)

    def bin_mean(ph, pw):
        return torch.stack([bilinear_interpolate(x, yy, xx) for yy in grid.y[ph] for xx in grid.x[pw]]).mean()

    means = torch.tensor([[bin_mean(ph, pw) for pw in range(3)] for ph in range(2)], dtype=torch.float64)
    assert_close(roi_align_single(x, box, (2, 3), 0.5, ratio, aligned), means, torch.float64)
    assert grid.y[0, 0] > grid.y_edges[0] and grid.y[-1, -1] < grid.y_edges[-1]


# --------------------------------------------------------------------------------------------------
# Against torchvision on seeded random cases
# --------------------------------------------------------------------------------------------------

SCALES = [1.0, 0.5, 0.25, 1 / 16]


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("scale", SCALES)
@pytest.mark.parametrize("aligned", [False, True])
def test_roi_align_matches_torchvision(dtype, scale, aligned):
    gen = torch.Generator().manual_seed(int(1000 * scale) + aligned)
    x = torch.randn(2, 3, 9, 11, generator=gen, dtype=dtype)
    rois = random_rois(gen, 10, 2, 9, 11, scale, dtype)
    for ratio, out in zip([-1, 0, 1, 2, 3], [3, (2, 4), 1, (5, 3), 2]):
        expected = tvo.roi_align(x, rois, out, scale, ratio, aligned)
        got = roi_align(x, rois, out, scale, ratio, aligned)
        assert got.shape == expected.shape and got.dtype == dtype and got.is_contiguous()
        assert_close(got, expected, dtype)
        listed = roi_align(x, as_list(rois, 2), out, scale, ratio, aligned)
        assert_close(listed, tvo.roi_align(x, from_list(rois, 2), out, scale, ratio, aligned), dtype)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("scale", SCALES)
@pytest.mark.parametrize("requires_grad", [False, True])  # the two exact max paths
def test_roi_pool_matches_torchvision(dtype, scale, requires_grad):
    gen = torch.Generator().manual_seed(int(1000 * scale) + 7 * requires_grad)
    x = torch.randn(2, 3, 9, 11, generator=gen, dtype=dtype)
    rois = random_rois(gen, 10, 2, 9, 11, scale, dtype)
    for out in [1, 2, (3, 5), 7]:
        expected = tvo.roi_pool(x, rois, out, scale)
        got = roi_pool(x.clone().requires_grad_(requires_grad), rois, out, scale)
        assert got.shape == expected.shape and got.dtype == dtype and got.is_contiguous()
        assert_close(got.detach(), expected, dtype)
        listed = roi_pool(x, as_list(rois, 2), out, scale)
        assert_close(listed, tvo.roi_pool(x, from_list(rois, 2), out, scale), dtype)


def test_roi_pool_large_windows_match_torchvision():
    # windows up to 40 x 40 cells exercise many levels of the range-maximum table
    gen = torch.Generator().manual_seed(3)
    x = torch.randn(1, 2, 40, 37, generator=gen)
    rois = torch.tensor([[0, 0, 0, 39, 39], [0, 3, 1, 30, 38], [0, 5.5, 2.5, 6.5, 35], [0, 1, 20, 36, 21.0]])
    for out in [1, 2, 3]:
        assert_close(roi_pool(x, rois, out), tvo.roi_pool(x, rois, out, 1.0))


def test_fast_versions_match_the_loops():
    gen = torch.Generator().manual_seed(11)
    x = torch.randn(2, 2, 6, 7, generator=gen, dtype=torch.float64)
    rois = random_rois(gen, 3, 2, 6, 7, 0.5, torch.float64)
    for ratio, aligned in [(-1, False), (0, True), (2, False), (3, True)]:
        assert_close(
            roi_align(x, rois, (2, 3), 0.5, ratio, aligned),
            roi_align_loop(x, rois, (2, 3), 0.5, ratio, aligned),
            torch.float64,
        )
    loop = roi_pool_loop(x, rois, (3, 2), 0.5)
    assert_close(roi_pool(x, rois, (3, 2), 0.5), loop, torch.float64)  # sparse table (no autograd)
    # with autograd roi_pool takes the other fast path (embedding_bag); it must agree as well
    assert_close(roi_pool(x.requires_grad_(), rois, (3, 2), 0.5).detach(), loop, torch.float64)


def test_the_formulas_by_hand():
    # RoIPool's bins: see test_roi_pool_bins_are_the_windows_roi_pool_uses
    # RoIAlign: box (0, 0, 6, 3), 2 x 2 bins: bin 3 x 1.5 cells; adaptive grid ceil(3) x ceil(1.5)
    g = roi_align_grid(torch.tensor([[0.0, 0.0, 6.0, 3.0]], dtype=torch.float64), 2)
    assert (g.bin_w.item(), g.bin_h.item(), g.grid_w.item(), g.grid_h.item()) == (3.0, 1.5, 3, 2)
    aligned = roi_align_grid(torch.tensor([[0.0, 0.0, 6.0, 3.0]], dtype=torch.float64), 2, aligned=True)
    assert (aligned.x1.item(), aligned.y1.item()) == (-0.5, -0.5)
    # samples of bin 1 along x: 3 + (i + 0.5) * 3 / 3 = 3.5, 4.5, 5.5
    xs = roi_align_sample_coordinate(g.x1, g.bin_w, 1, torch.arange(3.0, dtype=torch.float64), 3)
    assert xs.tolist() == [3.5, 4.5, 5.5]
    with pytest.raises(TypeError, match="grid: expected a Tensor or a number"):
        roi_align_sample_coordinate(0.0, 1.0, 0, 0, "2")
    with pytest.raises(ValueError, match="boxes: expected finite values"):
        roi_align_grid(torch.tensor([[0.0, 0.0, float("nan"), 1.0]]), 2)
    with pytest.raises(ValueError, match="box: expected finite values"):
        roi_pool_bins((0.0, 0.0, float("inf"), 1.0), 2, (5, 5))


def test_public_import_paths():
    import lessons.roi
    import lessons.roi_fast
    import lessons.roi_pyramid

    assert lessons.roi.roi_align is lessons.roi_fast.roi_align and roi_pool is lessons.roi_fast.roi_pool
    assert lessons.roi.MultiScaleRoIAlign is lessons.roi_pyramid.MultiScaleRoIAlign
    assert set(lessons.roi.__all__) <= set(dir(lessons.roi))
    with pytest.raises(AttributeError, match="no attribute 'roi_allign'"):
        lessons.roi.roi_allign  # noqa: B018


def test_aligned_inverted_one_axis():
    # torchvision raises ("cannot create std::vector larger than max_size()") when aligned=True,
    # adaptive sampling and a box inverted in one axis only give a negative grid; here: 0 samples
    x = torch.randn(1, 2, 5, 5, dtype=torch.float64)
    rois = torch.tensor([[0, 1.0, 3.0, 3.0, 1.0]], dtype=torch.float64)
    got = roi_align(x, rois, 2, 1.0, -1, True)
    assert got.eq(0).all()
    assert_close(got, roi_align_loop(x, rois, 2, 1.0, -1, True), torch.float64)


@pytest.mark.parametrize("op", ["align", "pool"])
@pytest.mark.parametrize("form", ["tensor", "list", "empty list"])
def test_no_boxes(op, form):
    x = torch.randn(2, 3, 5, 5, requires_grad=True)
    boxes = {"tensor": torch.zeros(0, 5), "list": [torch.zeros(0, 4), torch.zeros(0, 4)], "empty list": []}[form]
    fn = roi_align if op == "align" else roi_pool
    out = fn(x, boxes, (2, 3))
    assert out.shape == (0, 3, 2, 3) and out.dtype == x.dtype
    if form != "empty list":  # torchvision cannot take an empty list
        expected = (tvo.roi_align if op == "align" else tvo.roi_pool)(x, boxes, (2, 3), 1.0)
        assert expected.shape == out.shape
    if out.requires_grad:
        out.sum().backward()
        assert x.grad.eq(0).all()


def test_half_precision_matches_torchvision():
    gen = torch.Generator().manual_seed(5)
    x = torch.randn(2, 3, 8, 8, generator=gen)
    rois = random_rois(gen, 6, 2, 8, 8, 0.5, torch.float32)
    xh, rh = x.half(), rois.half()
    torch.testing.assert_close(roi_pool(xh, rh, 3, 0.5), tvo.roi_pool(xh, rh, 3, 0.5), atol=0, rtol=0)
    torch.testing.assert_close(
        roi_align(xh, rh, 3, 0.5, 2).float(), tvo.roi_align(xh, rh, 3, 0.5, 2).float(), atol=1e-2, rtol=1e-2
    )


def test_bfloat16_runs_and_is_close_to_float32():
    # torchvision's CPU kernels have no bfloat16; compare with our own float32 result
    gen = torch.Generator().manual_seed(6)
    x = torch.randn(1, 2, 8, 8, generator=gen)
    rois = torch.tensor([[0, 1.0, 1.0, 6.0, 5.0]])
    got = roi_align(x.bfloat16(), rois.bfloat16(), 2, 1.0, 2)
    assert got.dtype == torch.bfloat16
    torch.testing.assert_close(got.float(), roi_align(x, rois, 2, 1.0, 2), atol=5e-2, rtol=5e-2)
    assert roi_pool(x.bfloat16(), rois.bfloat16(), 2).dtype == torch.bfloat16


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_matches_torchvision():
    gen = torch.Generator().manual_seed(8)
    x = torch.randn(2, 4, 12, 10, generator=gen).cuda()
    rois = random_rois(gen, 20, 2, 12, 10, 0.5, torch.float32).cuda()
    for ratio, aligned in itertools.product([-1, 2], [False, True]):
        torch.testing.assert_close(
            roi_align(x, rois, 3, 0.5, ratio, aligned),
            tvo.roi_align(x, rois, 3, 0.5, ratio, aligned),
            atol=1e-5,
            rtol=0,
        )
    torch.testing.assert_close(roi_pool(x, rois, 3, 0.5), tvo.roi_pool(x, rois, 3, 0.5), atol=1e-5, rtol=0)


# --------------------------------------------------------------------------------------------------
# Gradients
# --------------------------------------------------------------------------------------------------


def input_grad(fn, x, *args):
    x = x.clone().requires_grad_()
    out = fn(x, *args)
    weights = torch.linspace(-1, 2, out.numel(), dtype=x.dtype).reshape(out.shape)
    (out * weights).sum().backward()
    return x.grad


@pytest.mark.parametrize("ratio, aligned", [(-1, False), (2, True), (0, True), (3, False)])
def test_roi_align_input_gradient_matches_torchvision(ratio, aligned):
    gen = torch.Generator().manual_seed(21 + ratio)
    x = torch.randn(2, 3, 7, 8, generator=gen, dtype=torch.float64)
    rois = random_rois(gen, 8, 2, 7, 8, 0.5, torch.float64)
    args = (rois, (3, 2), 0.5, ratio, aligned)
    assert_close(input_grad(roi_align, x, *args), input_grad(tvo.roi_align, x, *args), torch.float64)


@pytest.mark.parametrize("ties", [False, True])
def test_roi_pool_input_gradient_matches_torchvision(ties):
    gen = torch.Generator().manual_seed(31)
    x = torch.randn(2, 3, 7, 8, generator=gen)
    if ties:  # few distinct values: many tied maxima, the gradient must go to the first
        x = torch.randint(0, 3, x.shape, generator=gen).float()
    rois = random_rois(gen, 8, 2, 7, 8, 0.5, torch.float32)
    args = (rois, (3, 2), 0.5)
    assert_close(input_grad(roi_pool, x, *args), input_grad(tvo.roi_pool, x, *args))


def test_gradcheck_roi_align_input_and_boxes():
    gen = torch.Generator().manual_seed(41)
    x = torch.randn(1, 2, 6, 7, generator=gen, dtype=torch.float64, requires_grad=True)
    # no sample point on an integer coordinate (a kink of bilinear interpolation) or on a clamp
    boxes = torch.tensor([[0.71, 0.93, 4.37, 3.82], [2.23, 1.13, 5.91, 4.64]], dtype=torch.float64, requires_grad=True)
    for ratio, aligned in [(2, False), (-1, True)]:
        assert torch.autograd.gradcheck(lambda f, b: roi_align(f, [b], (2, 3), 1.0, ratio, aligned), (x, boxes))


def test_gradcheck_roi_align_boxes_with_scale_and_tensor_form():
    x = torch.randn(2, 2, 6, 6, dtype=torch.float64)
    coords = torch.tensor([[3.3, 2.7, 9.1, 8.2]], dtype=torch.float64, requires_grad=True)

    def pooled(c):
        rois = torch.cat([torch.ones(1, 1, dtype=torch.float64), c], dim=1)
        return roi_align(x, rois, 2, 0.5, 2, True)

    assert torch.autograd.gradcheck(pooled, (coords,))


def test_gradcheck_roi_pool_input():
    gen = torch.Generator().manual_seed(43)
    x = torch.randn(1, 2, 6, 7, generator=gen, dtype=torch.float64, requires_grad=True)
    rois = torch.tensor([[0, 0.4, 0.6, 5.2, 4.4], [0, 2.0, 1.0, 6.0, 5.0]], dtype=torch.float64)
    assert torch.autograd.gradcheck(lambda f: roi_pool(f, rois, (2, 3)), (x,))


def test_box_gradient_moves_the_output_like_a_shift():
    # d/dx1 of RoIAlign on a horizontal ramp f(x) = x is the fraction of samples' x that moves
    f = torch.arange(10, dtype=torch.float64).expand(1, 1, 10, 10).contiguous()
    box = torch.tensor([[2.3, 2.1, 6.3, 6.1]], dtype=torch.float64, requires_grad=True)
    out = roi_align(f, [box], 1, 1.0, 2)
    out.sum().backward()
    # the single bin's mean x is (x1 + x2) / 2: d/dx1 = d/dx2 = 0.5, y does not matter
    assert box.grad.flatten().tolist() == pytest.approx([0.5, 0.0, 0.5, 0.0])


# --------------------------------------------------------------------------------------------------
# Properties
# --------------------------------------------------------------------------------------------------


@settings(max_examples=20, deadline=None)
@given(
    dy=st.integers(0, 3),
    dx=st.integers(0, 3),
    box=st.tuples(st.floats(1.0, 3.0), st.floats(1.0, 3.0), st.floats(0.5, 3.0), st.floats(0.5, 3.0)),
    ratio=st.sampled_from([-1, 1, 2]),
    aligned=st.booleans(),
)
def test_shifting_image_and_box_together_changes_nothing(dy, dx, box, ratio, aligned):
    x = torch.randn(1, 2, 8, 8, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    shifted = torch.zeros(1, 2, 12, 12, dtype=torch.float64)
    shifted[..., dy : dy + 8, dx : dx + 8] = x
    x1, y1, w, h = box
    rois = torch.tensor([[0, x1, y1, x1 + w, y1 + h]], dtype=torch.float64)
    moved = rois + torch.tensor([0, dx, dy, dx, dy], dtype=torch.float64)
    assert_close(
        roi_align(shifted, moved, 3, 1.0, ratio, aligned), roi_align(x, rois, 3, 1.0, ratio, aligned), torch.float64
    )
    assert_close(roi_pool(shifted, moved, 3), roi_pool(x, rois, 3), torch.float64)


# --------------------------------------------------------------------------------------------------
# Modules
# --------------------------------------------------------------------------------------------------


def test_modules_wrap_the_functions():
    gen = torch.Generator().manual_seed(51)
    x = torch.randn(2, 3, 8, 8, generator=gen)
    rois = random_rois(gen, 5, 2, 8, 8, 0.5, torch.float32)
    assert_close(RoIAlign(3, 0.5, 2, aligned=True)(x, rois), tvo.RoIAlign(3, 0.5, 2, aligned=True)(x, rois))
    assert_close(RoIPool((2, 3), 0.5)(x, rois), tvo.RoIPool((2, 3), 0.5)(x, rois))
    assert "sampling_ratio=2" in repr(RoIAlign(3, 0.5, 2)) and "spatial_scale=0.5" in repr(RoIPool(3, 0.5))
    assert list(RoIAlign(3, 0.5, 2).parameters()) == []


# --------------------------------------------------------------------------------------------------
# FPN level mapping and multi-scale RoIAlign
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "size, level",
    [(10, 2), (56, 2), (111.9, 2), (112, 3), (150, 3), (223.9, 3), (224, 4), (447, 4), (448, 5), (896, 5), (2000, 5)],
)
def test_fpn_level_boundaries(size, level):
    box = torch.tensor([[10.0, 20.0, 10.0 + size, 20.0 + size]])
    assert fpn_level(box).tolist() == [level]
    assert (LevelMapper(2, 5)([box]) + 2).tolist() == [level]


def test_fpn_level_uses_sqrt_area():
    assert fpn_level(torch.tensor([[0.0, 0.0, 224.0, 56.0]])).tolist() == [3]  # sqrt = 112
    assert fpn_level(torch.tensor([[0.0, 0.0, 224.0, 56.0]]), 4, 6).tolist() == [4]  # clamped


def test_fpn_level_matches_torchvision_on_random_boxes():
    gen = torch.Generator().manual_seed(61)
    wh = torch.exp(torch.rand(200, 2, generator=gen) * 7)  # 1 to 1100 pixels
    boxes = torch.cat([torch.zeros(200, 2), wh], dim=1)
    assert torch.equal(fpn_level(boxes, 2, 5), LevelMapper(2, 5)([boxes]) + 2)
    assert torch.equal(
        fpn_level(boxes, 3, 6, canonical_scale=100, canonical_level=5),
        LevelMapper(3, 6, canonical_scale=100, canonical_level=5)([boxes]) + 3,
    )


@pytest.mark.parametrize("feature, image", [((200, 200), (800, 800)), ((25, 30), (800, 960)), ((13, 13), (800, 800))])
def test_infer_scale(feature, image):
    expected = _infer_scale(torch.zeros(1, 1, *feature), list(image))
    assert infer_scale(feature, image) == expected


def pyramid(gen, sizes, channels=3, batch=2):
    return OrderedDict((str(i), torch.randn(batch, channels, s, s, generator=gen)) for i, s in enumerate(sizes))


def test_multi_scale_roi_align_matches_torchvision():
    gen = torch.Generator().manual_seed(71)
    feats = pyramid(gen, [128, 64, 32, 16])  # P2..P5 of a 512 x 512 image
    sizes = torch.tensor([20.0, 90.0, 111.0, 112.0, 200.0, 224.0, 300.0, 447.0, 448.0, 500.0])
    corner = torch.rand(10, 2, generator=gen) * 10
    boxes = torch.cat([corner, corner + sizes[:, None]], dim=1)
    per_image = [boxes[:6], boxes[6:]]
    shapes = [(512, 500), (480, 512)]
    expected = tvo.MultiScaleRoIAlign(list(feats), (7, 5), 2)(feats, per_image, shapes)
    assert_close(MultiScaleRoIAlign(list(feats), (7, 5), 2)(feats, per_image, shapes), expected)
    assert_close(multi_scale_roi_align(list(feats.values()), per_image, shapes, (7, 5), 2), expected)
    one = OrderedDict(feat=feats["1"])  # a single level: no mapping
    assert_close(
        MultiScaleRoIAlign(["feat"], 3, -1)(one, per_image, shapes),
        tvo.MultiScaleRoIAlign(["feat"], 3, -1)(one, per_image, shapes),
    )


# --------------------------------------------------------------------------------------------------
# Errors
# --------------------------------------------------------------------------------------------------

X = torch.zeros(2, 1, 5, 5)
R = torch.tensor([[0, 0.0, 0.0, 2.0, 2.0]])


@pytest.mark.parametrize("fn", [roi_align, roi_pool, roi_align_loop, roi_pool_loop])
@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        (dict(input=[[1.0]]), TypeError, "input: expected a torch.Tensor"),
        (dict(input=torch.zeros(1, 1, 5, 5, dtype=torch.int64)), TypeError, "input: expected a floating"),
        (dict(input=torch.zeros(1, 5, 5)), ValueError, r"input: expected a tensor of shape \(B, C, H, W\)"),
        (dict(boxes=torch.tensor([[0.0, 0.0, 2.0, 2.0]])), ValueError, "no batch index: pass \\[boxes\\]"),
        (dict(boxes=torch.zeros(3, 6)), ValueError, r"boxes: expected a Tensor of shape \(K, 5\)"),
        (dict(boxes=torch.zeros(5)), ValueError, r"boxes: expected a Tensor of shape \(K, 5\)"),
        (dict(boxes=[torch.zeros(2, 5)]), ValueError, r"boxes\[0\]: expected a Tensor of shape \(L, 4\)"),
        (dict(boxes=[[0.0, 0.0, 1.0, 1.0]]), TypeError, r"boxes\[0\]: expected a torch.Tensor"),
        (dict(boxes=3), TypeError, "boxes: expected a Tensor"),
        (dict(boxes=torch.tensor([[2, 0.0, 0.0, 2.0, 2.0]])), ValueError, "batch index out of range: row 0"),
        (dict(boxes=torch.tensor([[-1, 0.0, 0.0, 2.0, 2.0]])), ValueError, "batch index out of range"),
        (dict(boxes=[torch.zeros(1, 4)] * 3), ValueError, "batch index out of range: row 2"),
        (dict(boxes=R.double()), TypeError, r"boxes: expected the same dtype as input \(torch.float32\)"),
        (dict(boxes=R.long()), TypeError, "boxes: expected the same dtype as input"),
        (dict(boxes=[torch.zeros(1, 4, dtype=torch.float64)]), TypeError, r"boxes\[0\]: expected the same dtype"),
        (dict(boxes=R.to("meta")), ValueError, "boxes: expected the same device as input"),
        (dict(boxes=torch.tensor([[0, 0.0, float("nan"), 2.0, 2.0]])), ValueError, "boxes: expected finite"),
        (dict(boxes=torch.tensor([[0, 0.0, 0.0, float("inf"), 2.0]])), ValueError, "boxes: expected finite"),
        (dict(output_size=0), ValueError, "output_size: expected values >= 1"),
        (dict(output_size=(2, -1)), ValueError, "output_size: expected values >= 1"),
        (dict(output_size=2.5), TypeError, "output_size: expected an int or a pair"),
        (dict(output_size=(1, 2, 3)), TypeError, "output_size: expected an int or a pair"),
        (dict(spatial_scale=0.0), ValueError, "spatial_scale: expected a positive number"),
        (dict(spatial_scale=-0.5), ValueError, "spatial_scale: expected a positive number"),
        (dict(spatial_scale="1"), TypeError, "spatial_scale: expected a number"),
    ],
)
def test_errors_common(fn, kwargs, error, match):
    args = dict(input=X, boxes=R, output_size=2, spatial_scale=1.0) | kwargs
    with pytest.raises(error, match=match):
        fn(**args)


@pytest.mark.parametrize("fn", [roi_align, roi_align_loop])
@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(sampling_ratio=2.0), "sampling_ratio: expected an int"),
        (dict(sampling_ratio=True), "sampling_ratio: expected an int"),
        (dict(aligned=1), "aligned: expected True or False"),
    ],
)
def test_errors_align_options(fn, kwargs, match):
    with pytest.raises(TypeError, match=match):
        fn(X, R, 2, 1.0, **kwargs)


def test_errors_single_box_functions():
    f = torch.zeros(5, 5)
    with pytest.raises(ValueError, match="feature: expected a tensor of shape"):
        bilinear_interpolate(torch.zeros(5), 1.0, 1.0)
    with pytest.raises(TypeError, match="feature: expected a floating"):
        bilinear_interpolate(torch.zeros(5, 5, dtype=torch.int32), 1.0, 1.0)
    with pytest.raises(ValueError, match="box: expected 4 numbers"):
        roi_pool_single(f, (0.0, 0.0, 1.0), 2)
    with pytest.raises(TypeError, match="box: expected a Tensor"):
        roi_align_single(f, "box", 2)
    with pytest.raises(ValueError, match="output_size: expected values >= 1"):
        roi_align_single(f, (0.0, 0.0, 1.0, 1.0), 0)
    with pytest.raises(TypeError, match="aligned: expected True or False"):
        roi_align_single(f, (0.0, 0.0, 1.0, 1.0), 2, aligned="yes")
    with pytest.raises(ValueError, match="feature_size: expected values >= 1"):
        roi_pool_bins((0.0, 0.0, 1.0, 1.0), 2, (0, 5))
    with pytest.raises(TypeError, match="sampling_ratio: expected an int"):
        roi_align_sample_points((0.0, 0.0, 1.0, 1.0), 2, 1.0, 1.5)


def test_errors_modules():
    with pytest.raises(ValueError, match="output_size"):
        RoIAlign(0, 1.0, 2)
    with pytest.raises(ValueError, match="spatial_scale"):
        RoIPool(2, 0.0)
    with pytest.raises(TypeError, match="sampling_ratio"):
        RoIAlign(2, 1.0, None)
    with pytest.raises(TypeError, match="featmap_names"):
        MultiScaleRoIAlign("0", 7, 2)
    with pytest.raises(ValueError, match=r"x: expected feature maps named \['a', 'b'\], missing \['b'\]"):
        MultiScaleRoIAlign(["a", "b"], 7, 2)({"a": torch.zeros(1, 1, 8, 8)}, [torch.zeros(0, 4)], [(32, 32)])


def test_errors_level_mapping():
    with pytest.raises(ValueError, match=r"boxes: expected shape \(N, 4\)"):
        fpn_level(torch.zeros(3, 5))
    # NaN used to become level -9223372036854775808; a swapped box, a NaN size
    with pytest.raises(ValueError, match="boxes: expected finite values"):
        fpn_level(torch.tensor([[0.0, 0.0, float("nan"), 10.0]]))
    with pytest.raises(ValueError, match="boxes: expected x1 <= x2 and y1 <= y2"):
        fpn_level(torch.tensor([[10.0, 0.0, 0.0, 10.0]]))
    with pytest.raises(TypeError, match="boxes: expected a floating"):
        fpn_level(torch.zeros(3, 4, dtype=torch.int64))
    with pytest.raises(ValueError, match="k_max: expected k_max >= k_min"):
        fpn_level(torch.zeros(1, 4), 5, 2)
    with pytest.raises(TypeError, match="k_min: expected an int"):
        fpn_level(torch.zeros(1, 4), 2.0, 5)
    with pytest.raises(ValueError, match="canonical_scale: expected a positive"):
        fpn_level(torch.zeros(1, 4), canonical_scale=0)
    with pytest.raises(TypeError, match="feature_size: expected an int or a pair of ints"):
        infer_scale((10,), (20, 20))
    with pytest.raises(ValueError, match="image_size: expected values >= 1"):
        infer_scale((10, 10), (0, 20))


def test_errors_multi_scale():
    feats = [torch.zeros(1, 1, 32, 32), torch.zeros(1, 1, 16, 16)]
    boxes = [torch.tensor([[0.0, 0.0, 10.0, 10.0]])]
    with pytest.raises(TypeError, match="features: expected a non-empty list"):
        multi_scale_roi_align([], boxes, [(64, 64)], 2, 2)
    with pytest.raises(ValueError, match="features: expected consecutive pyramid levels"):
        multi_scale_roi_align([feats[0], torch.zeros(1, 1, 8, 8)], boxes, [(64, 64)], 2, 2)
    with pytest.raises(ValueError, match="image_shapes: expected at least one"):
        multi_scale_roi_align(feats, boxes, [], 2, 2)
    with pytest.raises(ValueError, match=r"features\[1\]: expected a tensor of shape"):
        multi_scale_roi_align([feats[0], torch.zeros(16, 16)], boxes, [(64, 64)], 2, 2)
    with pytest.raises(ValueError, match="no batch index"):
        multi_scale_roi_align(feats, boxes[0], [(64, 64)], 2, 2)
    # a bad image size is named as image_shapes[i], not as an internal image_size[0]
    with pytest.raises(ValueError, match=r"image_shapes\[1\]: expected values >= 1"):
        multi_scale_roi_align(feats, boxes, [(64, 64), (0, 64)], 2, 2)
    with pytest.raises(TypeError, match=r"image_shapes\[0\]: expected an int or a pair of ints"):
        multi_scale_roi_align(feats, boxes, [(64.5, 64)], 2, 2)
    with pytest.raises(ValueError, match="boxes: expected x1 <= x2"):  # negative area: no level
        multi_scale_roi_align(feats, [torch.tensor([[10.0, 0.0, 0.0, 10.0]])], [(64, 64)], 2, 2)


def test_boxes_to_rois_list_form_keeps_gradients():
    b = torch.tensor([[1.0, 2.0, 3.0, 4.0]], requires_grad=True)
    rois = boxes_to_rois([torch.zeros(0, 4), b], X)
    assert rois.tolist() == [[1.0, 1.0, 2.0, 3.0, 4.0]]
    rois.sum().backward()
    assert b.grad.tolist() == [[1.0, 1.0, 1.0, 1.0]]

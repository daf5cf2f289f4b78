"""Tests for lessons.densepose: point sampling, the U/V and part losses, inference, texture transfer.

References are written from the definitions: bilinear interpolation between cell centres as a loop,
the loss as a sum over points with an explicit log-softmax and smooth-L1, inference pixel by pixel.
"""

from __future__ import annotations

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from lessons.densepose import (
    POINT_REGRESSION_WEIGHT,
    DensePoseHead,
    DensePoseOutput,
    apply_texture,
    checkerboard_texture,
    densepose_inference,
    densepose_loss,
    sample_at_points,
    uv_point_loss,
)

# ----------------------------------------------------------------------------- references


def bilinear_loop(grid, x, y):
    """Value of an (S, S) map at box-relative (x, y): cell centres at (j + 0.5) / S, edge values beyond."""
    s = grid.shape[0]
    gx = min(max(x * s - 0.5, 0.0), s - 1.0)  # continuous column index, clamped to the outer centres
    gy = min(max(y * s - 0.5, 0.0), s - 1.0)
    j0, i0 = int(math.floor(gx)), int(math.floor(gy))
    j1, i1 = min(j0 + 1, s - 1), min(i0 + 1, s - 1)
    lx, ly = gx - j0, gy - i0
    return (
        (1 - ly) * (1 - lx) * grid[i0, j0]
        + (1 - ly) * lx * grid[i0, j1]
        + ly * (1 - lx) * grid[i1, j0]
        + ly * lx * grid[i1, j1]
    )


def smooth_l1(d):
    d = abs(d)
    return 0.5 * d * d if d < 1 else d - 0.5


def densepose_loss_loop(out, points, gt_i, gt_u, gt_v, w_i=1.0, w_uv=0.01):
    fine, u, v = (t.double() for t in out)
    ce, count, lu, lv = 0.0, 0, 0.0, 0.0
    for k in range(points.shape[0]):
        for m in range(points.shape[1]):
            i = int(gt_i[k, m])
            if i < 0:
                continue
            x, y = float(points[k, m, 0]), float(points[k, m, 1])
            logits = [bilinear_loop(fine[k, c], x, y) for c in range(fine.shape[1])]
            log_z = math.log(sum(math.exp(float(z)) for z in logits))
            ce += log_z - float(logits[i])
            count += 1
            if i > 0:
                lu += smooth_l1(float(bilinear_loop(u[k, i], x, y)) - float(gt_u[k, m]))
                lv += smooth_l1(float(bilinear_loop(v[k, i], x, y)) - float(gt_v[k, m]))
    return w_i * ce / count, w_uv * lu, w_uv * lv


def random_output(k=2, p=3, s=5, seed=0, dtype=torch.float32):
    g = torch.Generator().manual_seed(seed)
    return DensePoseOutput(*(torch.randn(k, p + 1, s, s, generator=g, dtype=dtype) for _ in range(3)))


def random_points(k=2, m=7, p=3, seed=1, dtype=torch.float32):
    g = torch.Generator().manual_seed(seed)
    points = torch.rand(k, m, 2, generator=g, dtype=dtype) * 1.2 - 0.1  # a few points just outside the box
    gt_i = torch.randint(-1, p + 1, (k, m), generator=g)
    gt_i[:, 0] = 1
    return points, gt_i, torch.rand(k, m, generator=g, dtype=dtype), torch.rand(k, m, generator=g, dtype=dtype)


# ----------------------------------------------------------------------------- sampling


def test_sample_at_points_matches_the_bilinear_loop():
    maps = torch.randn(2, 3, 4, 4, dtype=torch.float64)
    points = torch.rand(2, 9, 2, dtype=torch.float64) * 1.4 - 0.2
    got = sample_at_points(maps, points)
    assert got.shape == (2, 9, 3)
    for k in range(2):
        for m in range(9):
            for c in range(3):
                want = bilinear_loop(maps[k, c], float(points[k, m, 0]), float(points[k, m, 1]))
                assert got[k, m, c].item() == pytest.approx(float(want), abs=1e-12)


def test_sample_at_points_hand_case():
    maps = torch.arange(4.0).reshape(1, 1, 2, 2)  # [[0, 1], [2, 3]], centres at 0.25 and 0.75
    pts = torch.tensor([[[0.25, 0.25], [0.75, 0.75], [0.5, 0.25], [0.5, 0.5], [0.0, 0.0]]])
    assert sample_at_points(maps, pts)[0, :, 0].tolist() == [0.0, 3.0, 0.5, 1.5, 0.0]


# ----------------------------------------------------------------------------- losses


def test_uv_point_loss_hand_case_and_weight():
    u = torch.tensor([[0.0, 0.2, 0.9], [0.0, 0.5, 0.5], [0.0, 2.5, 0.0]])
    v = torch.tensor([[0.0, 0.4, 0.1], [0.0, 0.5, 0.5], [0.0, 0.0, 0.5]])
    gt_i = torch.tensor([1, 0, 1])
    gt_u, gt_v = torch.tensor([0.4, 0.0, 0.5]), torch.tensor([0.4, 0.0, 0.5])
    # point 0: 0.5 * 0.2^2 = 0.02 (U) + 0 (V); point 1 background; point 2: |2.0| - 0.5 = 1.5 (U), 0.5 * 0.25 (V)
    expected = 0.02 + 1.5 + 0.125
    assert uv_point_loss(u, v, gt_i, gt_u, gt_v, weight=1.0).item() == pytest.approx(expected, rel=1e-6)
    assert uv_point_loss(u, v, gt_i, gt_u, gt_v).item() == pytest.approx(POINT_REGRESSION_WEIGHT * expected, rel=1e-6)


def test_uv_loss_touches_only_the_gt_channel():
    """The reference check: the gradient reaches the GT part's U/V channel and no other."""
    u = torch.rand(6, 5, dtype=torch.float64, requires_grad=True)
    v = torch.rand(6, 5, dtype=torch.float64, requires_grad=True)
    gt_i = torch.tensor([1, 4, 0, -1, 2, 4])
    uv_point_loss(u, v, gt_i, torch.rand(6, dtype=torch.float64), torch.rand(6, dtype=torch.float64)).backward()
    touched = (u.grad != 0) | (v.grad != 0)
    expected = torch.zeros(6, 5, dtype=torch.bool)
    for m, i in enumerate(gt_i.tolist()):
        if i > 0:
            expected[m, i] = True
    assert torch.equal(touched, expected)


def test_densepose_loss_matches_the_loop():
    out = random_output()
    points, gt_i, gt_u, gt_v = random_points()
    got = densepose_loss(out, points, gt_i, gt_u, gt_v)
    segm, lu, lv = densepose_loss_loop(out, points, gt_i, gt_u, gt_v)
    assert got.segm.item() == pytest.approx(segm, rel=1e-5)
    assert got.u.item() == pytest.approx(lu, rel=1e-5, abs=1e-7)
    assert got.v.item() == pytest.approx(lv, rel=1e-5, abs=1e-7)
    assert got.total.item() == pytest.approx(segm + lu + lv, rel=1e-5)


def test_densepose_loss_gradcheck_float64():
    out = random_output(k=1, p=2, s=3, dtype=torch.float64)
    points, gt_i, gt_u, gt_v = random_points(k=1, m=5, p=2, dtype=torch.float64)
    points = points.clamp(0.05, 0.95)  # stay away from the border where grid_sample's clamp has a kink

    def f(fine, u, v):
        return densepose_loss(DensePoseOutput(fine, u, v), points, gt_i, gt_u, gt_v).total

    inputs = tuple(t.clone().requires_grad_() for t in out)
    assert torch.autograd.gradcheck(f, inputs)


def test_densepose_loss_with_only_background_points_has_no_uv_term():
    out = random_output()
    points, gt_i, gt_u, gt_v = random_points()
    gt_i = torch.zeros_like(gt_i)
    loss = densepose_loss(out, points, gt_i, gt_u, gt_v)
    assert loss.u.item() == 0.0 and loss.v.item() == 0.0 and loss.segm.item() > 0


@settings(max_examples=20, deadline=None)
@given(st.integers(0, 10_000))
def test_loss_ignores_the_order_of_points(seed):
    out = random_output(seed=seed)
    points, gt_i, gt_u, gt_v = random_points(seed=seed + 1)
    perm = torch.randperm(points.shape[1], generator=torch.Generator().manual_seed(seed))
    a = densepose_loss(out, points, gt_i, gt_u, gt_v)
    b = densepose_loss(out, points[:, perm], gt_i[:, perm], gt_u[:, perm], gt_v[:, perm])
    assert torch.allclose(a.total, b.total, rtol=1e-5)


# ----------------------------------------------------------------------------- head and inference


def test_head_shapes_and_up_scale():
    out = DensePoseHead(8, num_parts=4, hidden=6, num_convs=1, up_scale=2)(torch.zeros(3, 8, 7, 7))
    assert [tuple(t.shape) for t in out] == [(3, 5, 28, 28)] * 3
    assert DensePoseHead(8, num_convs=0)(torch.zeros(1, 8, 14, 14)).fine_segm.shape == (1, 11, 28, 28)


def test_inference_matches_a_pixel_loop():
    out = random_output(k=2, p=3, s=4)
    iuv = densepose_inference(out)
    fine, u, v = out
    for k in range(2):
        for i in range(4):
            for j in range(4):
                part = int(fine[k, :, i, j].argmax())
                want = [float(part), 0.0, 0.0]
                if part > 0:
                    want[1:] = [
                        min(max(float(u[k, part, i, j]), 0.0), 1.0),
                        min(max(float(v[k, part, i, j]), 0.0), 1.0),
                    ]
                assert iuv[k, :, i, j].tolist() == pytest.approx(want)


def test_pasting_into_the_image_at_the_head_resolution_is_the_identity():
    out = random_output(k=1, p=3, s=6)
    full = densepose_inference(out, torch.tensor([[0.0, 0.0, 6.0, 6.0]]), (6, 6))
    assert torch.allclose(full, densepose_inference(out), atol=1e-6)
    # a box in the middle of a bigger image: background outside, the box's pixels inside
    pasted = densepose_inference(out, torch.tensor([[2.0, 3.0, 8.0, 9.0]]), (12, 12))
    assert torch.allclose(pasted[0, :, 3:9, 2:8], densepose_inference(out)[0], atol=1e-6)
    assert pasted[0, :, :3].abs().sum() == 0 and pasted[0, :, :, 8:].abs().sum() == 0


def test_checkerboard_and_texture_lookup():
    tex = checkerboard_texture(2, size=4, squares=2, colours=torch.tensor([[0.0, 0.0, 1.0], [1.0, 0.0, 0.0]]))
    assert tex.shape == (2, 3, 4, 4)
    assert tex[0, :, 0, 0].tolist() == [1.0, 1.0, 1.0] and tex[0, :, 0, 3].tolist() == [0.0, 0.0, 1.0]
    iuv = torch.tensor([[[0.0, 1.0, 2.0, 2.0]], [[0.9, 0.1, 0.1, 0.99]], [[0.9, 0.1, 0.1, 0.3]]])  # (3, 1, 4)
    bg = torch.full((3, 1, 4), 0.5)
    got = apply_texture(iuv, tex, bg)
    # pixel 0 background; pixel 1 part 1 texel (0, 0) light; pixel 2 part 2 texel (0, 0) light;
    # pixel 3 part 2, U = 0.99 -> col 3, V = 0.3 -> row 1: a coloured square of part 2
    assert got[:, 0].T.tolist() == [[0.5] * 3, [1.0] * 3, [1.0] * 3, [1.0, 0.0, 0.0]]


def test_texture_of_a_batch_equals_one_at_a_time():
    iuv = densepose_inference(random_output(k=3, p=3, s=5))
    tex = checkerboard_texture(3, size=8)
    batch = apply_texture(iuv, tex)
    assert torch.equal(batch, torch.stack([apply_texture(x, tex) for x in iuv]))


# ----------------------------------------------------------------------------- bad inputs


def test_bad_inputs_name_the_argument():
    out = random_output()
    points, gt_i, gt_u, gt_v = random_points()
    with pytest.raises(ValueError, match="points"):
        densepose_loss(out, points[..., :1], gt_i, gt_u, gt_v)
    bad = points.clone()
    bad[0, 0, 0] = math.nan
    with pytest.raises(ValueError, match="points"):
        densepose_loss(out, bad, gt_i, gt_u, gt_v)
    with pytest.raises(ValueError, match="gt_i"):
        densepose_loss(out, points, gt_i.float().long() + 10, gt_u, gt_v)
    with pytest.raises(ValueError, match="gt_i"):
        densepose_loss(out, points, gt_i.int(), gt_u, gt_v)
    with pytest.raises(ValueError, match="gt_u"):
        densepose_loss(out, points, gt_i, gt_u[:, :2], gt_v)
    with pytest.raises(TypeError, match="output"):
        densepose_loss(out.fine_segm, points, gt_i, gt_u, gt_v)
    with pytest.raises(ValueError, match="output.u"):
        densepose_loss(DensePoseOutput(out.fine_segm, out.u[:, :2], out.v), points, gt_i, gt_u, gt_v)
    with pytest.raises(ValueError, match="part_weight"):
        densepose_loss(out, points, gt_i, gt_u, gt_v, part_weight=-1.0)
    with pytest.raises(ValueError, match="u_points"):
        uv_point_loss(torch.zeros(3), torch.zeros(3), gt_i[0, :3], gt_u[0, :3], gt_v[0, :3])
    with pytest.raises(ValueError, match="boxes"):
        densepose_inference(out, torch.zeros(2, 4))
    with pytest.raises(ValueError, match="boxes"):
        densepose_inference(out, torch.tensor([[0.0, 0.0, 4.0, 4.0], [1.0, 1.0, math.inf, 3.0]]), 8)
    with pytest.raises(ValueError, match="boxes"):
        densepose_inference(out, torch.tensor([[0.0, 0.0, 4.0, 4.0], [3.0, 1.0, 1.0, 3.0]]), 8)
    with pytest.raises(ValueError, match="iuv"):
        apply_texture(torch.zeros(2, 4, 4), checkerboard_texture(2))
    with pytest.raises(ValueError, match="iuv"):
        apply_texture(torch.full((3, 2, 2), 5.0), checkerboard_texture(2))
    with pytest.raises(ValueError, match="squares"):
        checkerboard_texture(2, size=4, squares=5)
    with pytest.raises(TypeError, match="num_parts"):
        DensePoseHead(8, num_parts=2.0)
    with pytest.raises(ValueError, match="features"):
        DensePoseHead(8)(torch.zeros(8, 14, 14))

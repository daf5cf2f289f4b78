"""lessons.boxes against torchvision, the slow loop, hand-computed cases and properties."""

import pytest
import torch
import torchvision
from hypothesis import given, settings
from hypothesis import strategies as st

from lessons.boxes import box_area, box_iou, box_iou_loop


def random_boxes(n, seed, dtype=torch.float32):
    g = torch.Generator().manual_seed(seed)
    xy = torch.rand(n, 2, generator=g, dtype=torch.float64) * 50
    wh = torch.rand(n, 2, generator=g, dtype=torch.float64) * 20
    return torch.cat([xy, xy + wh], dim=1).to(dtype)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("n,m", [(1, 1), (7, 3), (0, 4), (5, 0), (40, 60)])
def test_matches_torchvision_and_loop(n, m, dtype):
    b1, b2 = random_boxes(n, 1, dtype), random_boxes(m, 2, dtype)
    ours = box_iou(b1, b2)
    assert ours.shape == (n, m) and ours.dtype == dtype
    torch.testing.assert_close(ours, torchvision.ops.box_iou(b1, b2))
    torch.testing.assert_close(ours, box_iou_loop(b1, b2))


def test_hand_computed():
    a = torch.tensor([[0.0, 0.0, 2.0, 2.0]])
    assert box_iou(a, torch.tensor([[1.0, 1.0, 3.0, 3.0]])).item() == pytest.approx(1 / 7)
    assert box_iou(a, torch.tensor([[2.0, 0.0, 4.0, 2.0]])).item() == 0.0  # touching edge
    assert box_iou(a, torch.tensor([[0.0, 0.0, 1.0, 1.0]])).item() == pytest.approx(0.25)  # nested
    assert box_area(torch.tensor([[1.0, 2.0, 4.0, 6.0]])).item() == 12.0


def test_zero_area_pair_is_nan_like_torchvision():
    z = torch.tensor([[1.0, 1.0, 1.0, 1.0]])
    assert torch.isnan(box_iou(z, z)).all()
    assert torch.isnan(torchvision.ops.box_iou(z, z)).all()


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.tuples(*[st.floats(0, 30, allow_nan=False)] * 2, *[st.floats(0.5, 20)] * 2), min_size=1, max_size=6),
    st.floats(-10, 10),
    st.floats(-10, 10),
)
def test_properties_symmetric_bounded_translation_invariant(rows, dx, dy):
    b = torch.tensor([[x, y, x + w, y + h] for x, y, w, h in rows], dtype=torch.float64)
    iou = box_iou(b, b)
    torch.testing.assert_close(iou, iou.T)  # symmetric
    assert ((iou >= 0) & (iou <= 1 + 1e-12)).all()
    torch.testing.assert_close(torch.diagonal(iou), torch.ones(len(b), dtype=torch.float64))
    shift = torch.tensor([dx, dy, dx, dy], dtype=torch.float64)
    torch.testing.assert_close(box_iou(b + shift, b + shift), iou)  # translation invariant


def test_errors_name_the_argument():
    good = torch.zeros(2, 4)
    with pytest.raises(ValueError, match=r"boxes1: expected shape \(N, 4\).*got shape \(3, 5\)"):
        box_iou(torch.zeros(3, 5), good)
    with pytest.raises(ValueError, match=r"boxes2: expected shape \(N, 4\).*got shape \(4,\)"):
        box_iou(good, torch.zeros(4))
    with pytest.raises(ValueError, match="boxes2: expected finite values"):
        box_iou(good, torch.tensor([[0.0, 0.0, float("nan"), 1.0]]))
    with pytest.raises(ValueError, match="boxes: expected finite values"):
        box_area(torch.tensor([[0.0, 0.0, float("inf"), 1.0]]))
    # the slow definition validates like the fast one: int64 boxes are refused, not divided as ints
    with pytest.raises(TypeError, match="boxes1: expected a floating-point tensor"):
        box_iou_loop(torch.tensor([[0, 0, 2, 2]]), torch.tensor([[1, 1, 3, 3]]))
    with pytest.raises(ValueError, match="boxes2: expected finite values"):
        box_iou_loop(good, torch.tensor([[0.0, 0.0, float("nan"), 1.0]]))
    with pytest.raises(TypeError, match="boxes1: expected a floating-point tensor"):
        box_iou(torch.zeros(2, 4, dtype=torch.int64), good)
    with pytest.raises(TypeError, match="boxes1: expected a torch.Tensor, got list"):
        box_iou([[0, 0, 1, 1]], good)
    with pytest.raises(TypeError, match="boxes2: expected the same dtype as boxes1"):
        box_iou(good, good.double())
    with pytest.raises(ValueError, match=r"boxes2: expected x1 <= x2 and y1 <= y2.*row 1"):
        box_iou(good, torch.tensor([[0.0, 0, 1, 1], [3.0, 0, 1, 1]]))

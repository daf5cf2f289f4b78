"""Tests for lessons.yolact: prototype mixing, crop, mask loss, FastNMS, the tiny model, YolactEdge."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from torch.autograd import gradcheck
from torchvision.ops import box_iou, nms

from lessons.data.shapes import mask_to_box, shape_mask
from lessons.yolact import (
    PredictionHead,
    ProtoNet,
    TinyYolact,
    assemble_masks,
    batched_fast_nms,
    crop_masks,
    downsample_masks,
    fast_nms,
    greedy_nms,
    keyframe_savings,
    keyframe_schedule,
    mask_iou,
    postprocess_masks,
    resize_flow,
    select_coefficients,
    warp_features,
    yolact_mask_loss,
    yolactedge_inference,
)

SMALL = settings(max_examples=25, deadline=None)


def _gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def _random_boxes(n: int, size: float, g: torch.Generator, dtype=torch.float32) -> torch.Tensor:
    xy = torch.rand(n, 2, generator=g, dtype=torch.float64) * size * 0.8
    wh = torch.rand(n, 2, generator=g, dtype=torch.float64) * size * 0.4 + 1.0
    return torch.cat([xy, xy + wh], dim=1).to(dtype)  # (n, 4)


# ------------------------------------------------------------------ assemble_masks


def test_assemble_masks_matches_formula_written_out():
    g = _gen(1)
    protos = torch.rand(4, 5, 6, generator=g, dtype=torch.float64)
    coefs = torch.rand(3, 4, generator=g, dtype=torch.float64) * 2 - 1
    expected = torch.empty(3, 5, 6, dtype=torch.float64)
    for n in range(3):
        for y in range(5):
            for x in range(6):
                z = sum(coefs[n, p] * protos[p, y, x] for p in range(4))
                expected[n, y, x] = 1 / (1 + math.exp(-float(z)))
    torch.testing.assert_close(assemble_masks(protos, coefs), expected)


def test_assemble_masks_equals_reference_layout():
    g = _gen(2)
    proto_hwp = torch.rand(7, 9, 5, generator=g)  # the reference's (H, W, P)
    coefs = torch.rand(4, 5, generator=g) * 2 - 1
    reference = torch.sigmoid(proto_hwp @ coefs.T).permute(2, 0, 1)  # (H, W, N) -> (N, H, W)
    torch.testing.assert_close(assemble_masks(proto_hwp.permute(2, 0, 1), coefs), reference)


def test_assemble_masks_hand_example_and_logits():
    protos = torch.tensor([[[1.0, 0.0]], [[0.0, 1.0]]])  # (P=2, H=1, W=2)
    coefs = torch.tensor([[2.0, -2.0]])
    logits = assemble_masks(protos, coefs, return_logits=True)
    assert logits.shape == (1, 1, 2)
    torch.testing.assert_close(logits, torch.tensor([[[2.0, -2.0]]]))
    torch.testing.assert_close(assemble_masks(protos, coefs), torch.tensor([[[0.8808, 0.1192]]]), atol=1e-4, rtol=0)


@SMALL
@given(
    p=st.integers(1, 8),
    n=st.integers(0, 5),
    h=st.integers(1, 6),
    w=st.integers(1, 6),
    seed=st.integers(0, 10_000),
)
def test_assemble_masks_in_open_unit_interval(p, n, h, w, seed):
    g = _gen(seed)
    protos = torch.rand(p, h, w, generator=g)  # >= 0, like the ReLU protonet
    coefs = torch.rand(n, p, generator=g) * 2 - 1  # tanh range
    masks = assemble_masks(protos, coefs)
    assert masks.shape == (n, h, w)
    assert bool(((masks > 0) & (masks < 1)).all())


def test_assemble_masks_gradcheck():
    g = _gen(3)
    protos = torch.rand(3, 4, 5, generator=g, dtype=torch.float64, requires_grad=True)
    coefs = (torch.rand(2, 3, generator=g, dtype=torch.float64) * 2 - 1).requires_grad_()
    assert gradcheck(assemble_masks, (protos, coefs))


def test_assemble_masks_errors():
    protos = torch.rand(4, 5, 5)
    with pytest.raises(ValueError, match=r"coefficients: expected shape \(N, 4\)"):
        assemble_masks(protos, torch.rand(3, 5))
    with pytest.raises(ValueError, match=r"prototypes: expected a tensor of shape \(P, H, W\)"):
        assemble_masks(protos.permute(1, 2, 0)[None], torch.rand(3, 4))
    with pytest.raises(ValueError, match=r"coefficients: expected a tensor of shape \(N, P\)"):
        assemble_masks(protos, torch.rand(4))
    with pytest.raises(TypeError, match="coefficients: expected a floating-point tensor"):
        assemble_masks(protos, torch.ones(3, 4, dtype=torch.int64))
    with pytest.raises(TypeError, match="prototypes: expected a torch.Tensor"):
        assemble_masks(protos.tolist(), torch.rand(3, 4))


# ------------------------------------------------------------------ crop_masks


def _crop_loop(masks, boxes, padding):
    """YOLACT's crop rule written out pixel by pixel."""
    out = masks.clone()
    n, h, w = masks.shape
    for i in range(n):
        bx1, by1, bx2, by2 = (float(v) for v in boxes[i])
        x1 = max(min(bx1, bx2) - padding, 0.0)
        x2 = min(max(bx1, bx2) + padding, float(w))
        y1 = max(min(by1, by2) - padding, 0.0)
        y2 = min(max(by1, by2) + padding, float(h))
        for r in range(h):
            for c in range(w):
                if not (x1 <= c < x2 and y1 <= r < y2):
                    out[i, r, c] = 0
    return out


def test_crop_masks_references_case():
    # Hand-worked (dbolya/yolact's crop with padding 1): 8x8 ones, relative box (0.30, 0.25, 0.6, 0.5), padding 1 -> rows 1-4, cols 2-5
    rel = torch.tensor([[0.30, 0.25, 0.6, 0.5]])
    out = crop_masks(torch.ones(1, 8, 8), rel * torch.tensor([8.0, 8.0, 8.0, 8.0]), padding=1)
    expected = torch.zeros(1, 8, 8)
    expected[0, 1:5, 2:6] = 1
    assert torch.equal(out, expected)


def test_crop_masks_matches_loop_and_sorts_swapped_corners():
    g = _gen(4)
    masks = torch.rand(5, 9, 11, generator=g)
    boxes = _random_boxes(5, 11, g)
    boxes[1] = boxes[1][[2, 3, 0, 1]]  # swapped corners
    boxes[2] = torch.tensor([-3.0, -2.0, 20.0, 30.0])  # beyond the image: clamped
    for padding in (0, 1, 2.5):
        torch.testing.assert_close(crop_masks(masks, boxes, padding), _crop_loop(masks, boxes, padding), atol=0, rtol=0)


def test_crop_masks_tight_box_without_padding_keeps_the_shape():
    mask = shape_mask("triangle", (7.3, 6.1), 4.5, (13, 15))
    box = mask_to_box(mask)[None]
    cropped = crop_masks(torch.ones(1, 13, 15), box, padding=0)
    region = cropped[0].bool()
    rows, cols = mask.any(1).nonzero().flatten(), mask.any(0).nonzero().flatten()
    assert torch.equal(region.any(1).nonzero().flatten(), rows)
    assert torch.equal(region.any(0).nonzero().flatten(), cols)
    # the default padding of 1 grows the kept region by one pixel on each side
    grown = crop_masks(torch.ones(1, 13, 15), box, 1)[0].bool()
    assert int(grown.any(0).sum()) == len(cols) + 2 and int(grown.any(1).sum()) == len(rows) + 2


@SMALL
@given(seed=st.integers(0, 10_000), padding=st.floats(0, 3))
def test_crop_masks_exactly_zero_outside_and_unchanged_inside(seed, padding):
    g = _gen(seed)
    masks = torch.rand(3, 10, 12, generator=g) + 0.1
    boxes = _random_boxes(3, 10, g)
    out = crop_masks(masks, boxes, padding)
    kept = out != 0
    assert torch.equal(out[kept], masks[kept])
    # everything outside the padded box is exactly 0
    cols = torch.arange(12.0)
    rows = torch.arange(10.0)
    for i in range(3):
        x1, y1, x2, y2 = boxes[i].tolist()
        outside_c = (cols < x1 - padding) | (cols >= x2 + padding)
        outside_r = (rows < y1 - padding) | (rows >= y2 + padding)
        assert bool((out[i][:, outside_c] == 0).all()) and bool((out[i][outside_r, :] == 0).all())


def test_crop_masks_gradcheck():
    g = _gen(5)
    masks = torch.rand(2, 6, 7, generator=g, dtype=torch.float64, requires_grad=True)
    boxes = torch.tensor([[1.2, 0.5, 4.0, 3.0], [0.0, 2.0, 6.5, 5.5]], dtype=torch.float64)
    assert gradcheck(lambda m: crop_masks(m, boxes, 1), (masks,))


def test_crop_masks_errors():
    masks = torch.rand(2, 5, 5)
    with pytest.raises(ValueError, match=r"boxes: expected shape \(2, 4\)"):
        crop_masks(masks, torch.rand(2, 5))
    with pytest.raises(ValueError, match=r"boxes: expected shape \(2, 4\)"):
        crop_masks(masks, torch.rand(3, 4))
    with pytest.raises(ValueError, match=r"masks: expected a tensor of shape \(N, H, W\)"):
        crop_masks(masks[0], torch.rand(2, 4))
    with pytest.raises(ValueError, match="padding: expected a non-negative number"):
        crop_masks(masks, torch.rand(2, 4), padding=-1)
    with pytest.raises(TypeError, match="masks: expected a floating-point tensor"):
        crop_masks(masks > 0.5, torch.rand(2, 4))


# ------------------------------------------------------------------ mask loss


def _loss_written_out(logits, gt, boxes, padding=1, alpha=6.125):
    """The reference: BCE(clamp(crop(sigmoid(z)), 0, 1), g) summed / box area, * alpha / N."""
    pred = crop_masks(torch.sigmoid(logits), boxes, padding).clamp(0, 1)
    total = 0.0
    for n in range(logits.shape[0]):
        bce = F.binary_cross_entropy(pred[n], gt[n].to(pred.dtype), reduction="sum")
        area = (boxes[n, 2] - boxes[n, 0]) * (boxes[n, 3] - boxes[n, 1])
        total = total + bce / area
    return alpha * total / logits.shape[0]


def test_mask_loss_matches_reference_formula():
    g = _gen(6)
    logits = torch.randn(4, 12, 12, generator=g, dtype=torch.float64) * 3
    gt = torch.stack([shape_mask("disk", (6.0 + i, 5.5), 2.5 + i, 12) for i in range(4)])
    boxes = mask_to_box(gt).double()
    boxes[3] = torch.tensor([5.0, 4.0, 8.0, 7.0], dtype=torch.float64)  # smaller than its mask: 1s outside
    torch.testing.assert_close(yolact_mask_loss(logits, gt, boxes), _loss_written_out(logits, gt, boxes))
    torch.testing.assert_close(
        yolact_mask_loss(logits, gt, boxes, padding=0, mask_alpha=1.0),
        _loss_written_out(logits, gt, boxes, padding=0, alpha=1.0),
    )


def test_mask_loss_halves_when_box_area_doubles():
    # confident correct logits (+-40) everywhere except two wrong pixels inside both boxes
    gt = torch.zeros(1, 16, 16, dtype=torch.bool)
    gt[0, 5:9, 5:9] = True
    logits = torch.where(gt, 40.0, -40.0).double()
    logits[0, 6, 6] = 0.0
    logits[0, 7, 7] = -1.0
    small = torch.tensor([[4.0, 4.0, 10.0, 10.0]], dtype=torch.float64)  # area 36
    large = torch.tensor([[4.0, 4.0, 16.0, 10.0]], dtype=torch.float64)  # area 72, same wrong pixels
    ratio = yolact_mask_loss(logits, gt, small) / yolact_mask_loss(logits, gt, large)
    assert abs(float(ratio) - 2.0) < 1e-9


def test_mask_loss_gradcheck_and_empty():
    g = _gen(7)
    logits = torch.randn(2, 6, 6, generator=g, dtype=torch.float64, requires_grad=True)
    gt = torch.rand(2, 6, 6, generator=g) > 0.5
    boxes = torch.tensor([[1.0, 1.0, 4.0, 5.0], [0.0, 2.0, 6.0, 6.0]], dtype=torch.float64)
    assert gradcheck(lambda z: yolact_mask_loss(z, gt, boxes), (logits,))
    empty = yolact_mask_loss(torch.zeros(0, 6, 6), torch.zeros(0, 6, 6), torch.zeros(0, 4))
    assert empty.shape == () and float(empty) == 0.0


def test_mask_loss_errors():
    z = torch.zeros(2, 6, 6)
    with pytest.raises(ValueError, match=r"gt_masks: expected shape \(N, H, W\) like mask_logits"):
        yolact_mask_loss(z, torch.zeros(2, 5, 6), torch.zeros(2, 4))
    with pytest.raises(ValueError, match=r"gt_boxes: expected shape \(2, 4\)"):
        yolact_mask_loss(z, torch.zeros(2, 6, 6), torch.zeros(2, 5))
    with pytest.raises(ValueError, match="mask_alpha: expected a positive number"):
        yolact_mask_loss(z, torch.zeros(2, 6, 6), torch.zeros(2, 4), mask_alpha=0.0)


def test_downsample_masks_and_mask_iou():
    masks = torch.zeros(1, 8, 8, dtype=torch.bool)
    masks[0, 0:4, 0:4] = True
    small = downsample_masks(masks, 4)
    expected = torch.zeros(1, 4, 4, dtype=torch.bool)
    expected[0, 0:2, 0:2] = True
    assert torch.equal(small, expected)
    assert downsample_masks(torch.zeros(0, 8, 8), (2, 3)).shape == (0, 2, 3)
    a = torch.zeros(3, 4, 4, dtype=torch.bool)
    b = torch.zeros(3, 4, 4, dtype=torch.bool)
    a[0, :2] = True  # 8 pixels
    b[0, :1] = True  # 4 pixels inside -> IoU 0.5
    a[1, 0, 0] = True  # disjoint -> 0
    b[1, 3, 3] = True
    torch.testing.assert_close(mask_iou(a, b), torch.tensor([0.5, 0.0, 1.0]))
    with pytest.raises(ValueError, match=r"masks2: expected shape \(N, H, W\) like masks1"):
        mask_iou(a, b[:2])


def test_postprocess_masks_matches_pipeline_written_out():
    g = _gen(8)
    protos = torch.rand(4, 8, 8, generator=g, dtype=torch.float64)
    coefs = torch.rand(2, 4, generator=g, dtype=torch.float64) * 2 - 1
    boxes = torch.tensor([[2.0, 4.0, 10.0, 14.0], [0.0, 0.0, 16.0, 16.0]], dtype=torch.float64)  # 16x16 image
    out = postprocess_masks(protos, coefs, boxes, 16)
    # written out: eq. 1 per pixel, the crop rule per pixel on the 8x8 grid (boxes / 2, padding 1),
    # then torch's bilinear upsampling (align_corners=False) and > 0.5
    mixed = torch.empty(2, 8, 8, dtype=torch.float64)
    for n in range(2):
        for y in range(8):
            for x in range(8):
                mixed[n, y, x] = 1 / (1 + math.exp(-sum(float(coefs[n, p] * protos[p, y, x]) for p in range(4))))
    cropped = _crop_loop(mixed, boxes / 2, 1)
    manual = F.interpolate(cropped[:, None], size=(16, 16), mode="bilinear", align_corners=False)[:, 0] > 0.5
    assert out.dtype == torch.bool and torch.equal(out, manual)
    assert postprocess_masks(protos, coefs[:0], boxes[:0], (16, 12)).shape == (0, 16, 12)


# ------------------------------------------------------------------ NMS


CHAIN = torch.tensor([[0, 0, 10, 10], [3, 0, 13, 10], [6, 0, 16, 10]], dtype=torch.float32)
CHAIN_SCORES = torch.tensor([0.9, 0.8, 0.7])


def test_chained_boxes_references_case():
    iou = box_iou(CHAIN, CHAIN)
    assert abs(float(iou[0, 1]) - 0.5385) < 1e-4 and abs(float(iou[0, 2]) - 0.25) < 1e-6
    assert fast_nms(CHAIN, CHAIN_SCORES, 0.5).tolist() == [0]
    assert greedy_nms(CHAIN, CHAIN_SCORES, 0.5).tolist() == [0, 2]
    assert nms(CHAIN, CHAIN_SCORES, 0.5).tolist() == [0, 2]


def _fast_nms_loop(boxes, scores, t):
    order = scores.argsort(descending=True).tolist()
    iou = box_iou(boxes, boxes)
    return [j for k, j in enumerate(order) if all(iou[i, j] <= t for i in order[:k])]


@SMALL
@given(n=st.integers(0, 30), t=st.sampled_from([0.3, 0.5, 0.7]), seed=st.integers(0, 10_000))
def test_nms_against_torchvision_and_loops(n, t, seed):
    g = _gen(seed)
    boxes = _random_boxes(n, 40, g)
    scores = torch.randperm(n, generator=g).float() / max(n, 1)  # distinct scores
    greedy = greedy_nms(boxes, scores, t)
    fast = fast_nms(boxes, scores, t)
    assert greedy.dtype == fast.dtype == torch.int64
    assert greedy.tolist() == nms(boxes, scores, t).tolist()
    assert fast.tolist() == _fast_nms_loop(boxes, scores, t)
    assert set(fast.tolist()) <= set(greedy.tolist())  # FastNMS never keeps more


def test_fast_nms_equals_greedy_without_chains_and_top_k():
    boxes = torch.tensor([[0, 0, 10, 10], [1, 1, 11, 11], [30, 30, 40, 40], [31, 30, 41, 40.0]])
    scores = torch.tensor([0.5, 0.9, 0.7, 0.8])
    assert fast_nms(boxes, scores).tolist() == nms(boxes, scores, 0.5).tolist() == [1, 3]
    assert fast_nms(boxes, scores, top_k=1).tolist() == [1]
    assert fast_nms(torch.zeros(0, 4), torch.zeros(0)).shape == (0,)


def test_batched_fast_nms_is_per_class():
    g = _gen(9)
    boxes = _random_boxes(40, 30, g)
    scores = torch.rand(40, generator=g)
    classes = torch.randint(0, 3, (40,), generator=g)
    got = batched_fast_nms(boxes, scores, classes, 0.4)
    expected = []
    for c in range(3):
        idx = (classes == c).nonzero().flatten()
        expected += idx[fast_nms(boxes[idx], scores[idx], 0.4)].tolist()
    assert sorted(got.tolist()) == sorted(expected)
    assert scores[got].diff().le(0).all()
    # the class offsets also separate boxes with negative coordinates
    assert batched_fast_nms(boxes - boxes.max(), scores, classes, 0.4).tolist() == got.tolist()
    assert batched_fast_nms(torch.zeros(0, 4), torch.zeros(0), torch.zeros(0, dtype=torch.int64)).numel() == 0


def test_nms_errors():
    with pytest.raises(ValueError, match=r"boxes: expected shape \(N, 4\)"):
        fast_nms(torch.zeros(3, 5), torch.zeros(3))
    with pytest.raises(ValueError, match=r"scores: expected shape \(3,\)"):
        fast_nms(torch.zeros(3, 4), torch.zeros(4))
    with pytest.raises(ValueError, match="iou_threshold: expected a non-negative number"):
        greedy_nms(torch.zeros(3, 4), torch.zeros(3), -0.5)
    with pytest.raises(ValueError, match=r"idxs: expected shape \(3,\)"):
        batched_fast_nms(torch.zeros(3, 4), torch.zeros(3), torch.zeros(2, dtype=torch.int64))
    with pytest.raises(ValueError, match="top_k: expected an int >= 1"):
        fast_nms(torch.zeros(3, 4), torch.zeros(3), top_k=0)


# ------------------------------------------------------------------ the tiny model


def test_tiny_yolact_shapes_and_ranges():
    torch.manual_seed(0)
    model = TinyYolact(num_prototypes=6)
    protos, coefs = model(torch.rand(2, 3, 48, 64))
    assert protos.shape == (2, 6, 24, 32) and coefs.shape == (2, 6, 6, 8)
    assert bool((protos >= 0).all())  # ReLU prototypes
    assert bool(((coefs > -1) & (coefs < 1)).all())  # tanh coefficients
    with pytest.raises(ValueError, match=r"images: expected a tensor of shape \(B, 3, H, W\)"):
        model(torch.rand(3, 48, 64))


def test_select_coefficients_takes_the_centre_cell():
    cmap = torch.arange(2 * 4 * 4, dtype=torch.float32).view(2, 4, 4)  # (P=2, 4, 4) for a 16x16 image
    boxes = torch.tensor([[0.0, 0.0, 4.0, 4.0], [8.0, 4.0, 16.0, 8.0], [15.0, 15.0, 17.0, 17.0]])
    # centres (2, 2) -> cell (0, 0); (12, 6) -> cell (row 1, col 3); (16, 16) -> clamped to (3, 3)
    expected = torch.stack([cmap[:, 0, 0], cmap[:, 1, 3], cmap[:, 3, 3]])
    assert torch.equal(select_coefficients(cmap, boxes, 16), expected)


def test_select_coefficients_bilinear_interpolates_between_cell_centres():
    cmap = torch.randn(3, 4, 4, generator=_gen(13), dtype=torch.float64)  # cells of 4x4 pixels in 16x16
    boxes = torch.tensor(
        [
            [4.0, 0.0, 8.0, 4.0],  # centre (6, 2): the centre of cell (0, 1) -> exactly that cell
            [6.0, 4.0, 10.0, 8.0],  # centre (8, 6): halfway between cells (1, 1) and (1, 2)
            [0.0, 0.0, 2.0, 2.0],
        ],  # centre (1, 1): outside the cell-centre grid -> border value
        dtype=torch.float64,
    )
    got = select_coefficients(cmap, boxes, (16, 16), mode="bilinear")
    torch.testing.assert_close(got[0], cmap[:, 0, 1])
    torch.testing.assert_close(got[1], (cmap[:, 1, 1] + cmap[:, 1, 2]) / 2)
    torch.testing.assert_close(got[2], cmap[:, 0, 0])
    with pytest.raises(ValueError, match="mode: expected one of"):
        select_coefficients(cmap, boxes, 16, mode="cubic")


def test_warped_forward_with_zero_flow_equals_full_forward_and_inference_schedule():
    torch.manual_seed(1)
    model = TinyYolact().eval()
    frames = torch.rand(4, 3, 32, 32)
    with torch.no_grad():
        full = model(frames)
        c3 = model.backbone_c3(frames[:1])
        warped = model.forward_warped(frames[1:2], model.backbone_p4(c3), torch.zeros(1, 2, 32, 32))
        # frame 1 with frame 0's P4 (zero flow) is the same as plugging that P4 in by hand
        by_hand = model.from_features(model.backbone_c3(frames[1:2]), model.backbone_p4(c3))
        protos, coefs, schedule = yolactedge_inference(model, frames, lambda t, k: torch.zeros(2, 32, 32), interval=1)
    assert schedule == [True] * 4
    for t in range(4):
        torch.testing.assert_close(protos[t], full[0][t], atol=1e-6, rtol=0)
        torch.testing.assert_close(coefs[t], full[1][t], atol=1e-6, rtol=0)
    # a static clip: warping the key frame's P4 by zero flow reproduces full recomputation exactly
    static = frames[:1].expand(4, -1, -1, -1).contiguous()
    with torch.no_grad():
        protos, coefs, schedule = yolactedge_inference(model, static, lambda t, k: torch.zeros(2, 32, 32), interval=3)
    assert schedule == [True, False, False, True]
    assert all(torch.equal(protos[0], p) for p in protos) and all(torch.equal(coefs[0], c) for c in coefs)
    assert warped[0].shape == (1, 32, 16, 16) and warped[1].shape == (1, 32, 4, 4)
    assert torch.equal(warped[0], by_hand[0]) and torch.equal(warped[1], by_hand[1])
    assert not torch.equal(warped[1], full[1][1:2])  # and differs from frame 1's own P4
    with pytest.raises(ValueError, match=r"flow: expected shape \(B, 2, H, W\) like images"):
        model.forward_warped(frames[1:2], model.backbone_p4(c3), torch.zeros(1, 2, 16, 16))


# ------------------------------------------------------------------ warp_features
# The warp itself (identity at zero flow, exact integer shifts, grid_sample and a loop, gradcheck) is
# tested once, in tests/test_video.py, where lessons.video.warp lives. Here: what is specific to
# YolactEdge's name for it.


def test_warp_features_is_the_course_warp_with_3d_input():
    from lessons.video import warp

    g = _gen(10)
    feat = torch.randn(2, 3, 7, 5, generator=g)
    flow = torch.randn(2, 2, 7, 5, generator=g) * 2
    assert torch.equal(warp_features(feat, flow), warp(feat, flow))  # one implementation
    out = warp_features(feat[0], flow[0])  # (C, H, W) with (2, H, W)
    assert out.shape == (3, 7, 5) and torch.equal(out, warp(feat[:1], flow[:1])[0])


def test_warp_and_resize_flow_errors():
    feat = torch.zeros(1, 3, 8, 8)
    with pytest.raises(ValueError, match=r"flow: expected shape \(1, 2, 8, 8\)"):
        warp_features(feat, torch.zeros(1, 2, 4, 4))
    with pytest.raises(ValueError, match=r"flow: expected shape \(1, 2, 8, 8\)"):
        warp_features(feat, torch.zeros(1, 3, 8, 8))
    with pytest.raises(ValueError, match=r"features: expected a tensor of shape \(B, C, H, W\) or \(C, H, W\)"):
        warp_features(torch.zeros(8, 8), torch.zeros(2, 8, 8))
    with pytest.raises(ValueError, match=r"flow: expected shape \(B, 2, H, W\) with \(dx, dy\) channels"):
        resize_flow(torch.zeros(1, 3, 8, 8), (4, 4))
    nan_flow = torch.zeros(1, 2, 8, 8)
    nan_flow[0, 0, 3, 3] = float("nan")
    with pytest.raises(ValueError, match="flow: expected finite values"):  # not an index error
        warp_features(feat, nan_flow)
    with pytest.raises(ValueError, match="flow: expected finite values"):
        resize_flow(nan_flow, (4, 4))
    with pytest.raises(ValueError, match="size: expected values >= 1"):
        resize_flow(torch.zeros(1, 2, 8, 8), (0, 4))


def test_resize_flow_rescales_displacements():
    flow = torch.empty(1, 2, 64, 48)
    flow[:, 0], flow[:, 1] = 8.0, -4.0
    small = resize_flow(flow, (8, 6))
    assert small.shape == (1, 2, 8, 6)
    torch.testing.assert_close(small[:, 0], torch.full((1, 8, 6), 1.0))
    torch.testing.assert_close(small[:, 1], torch.full((1, 8, 6), -0.5))
    assert resize_flow(flow, (64, 48)) is flow


# ------------------------------------------------------------------ key frames


def test_keyframe_schedule_and_savings():
    assert keyframe_schedule(12, 5) == [t % 5 == 0 for t in range(12)]
    assert keyframe_schedule(3, 1) == [True, True, True]
    assert keyframe_schedule(0) == []
    # 10 frames, interval 5: 2 key frames at cost 10, 8 others at cost 4 -> 1 - 52 / 100
    assert keyframe_savings(10, 5, 10.0, 4.0) == pytest.approx(0.48)
    assert keyframe_savings(10, 1, 10.0, 4.0) == 0.0
    assert keyframe_savings(10, 5, 10.0, 10.0) == pytest.approx(0.0)
    assert keyframe_savings(100_000, 4, 1.0, 0.2) == pytest.approx((1 - 1 / 4) * (1 - 0.2), abs=1e-4)
    with pytest.raises(ValueError, match="interval: expected an int >= 1"):
        keyframe_schedule(5, 0)
    with pytest.raises(TypeError, match="interval: expected an int"):
        keyframe_schedule(5, 2.5)
    with pytest.raises(ValueError, match="num_frames: expected a positive number"):
        keyframe_savings(0, 5, 1.0, 0.5)


# ------------------------------------------------------------------ exercise checks (notebook 03)


def _stub(*args, **kwargs):
    raise NotImplementedError("Exercise 3.x: ... (see the hint above)")


def _assemble_no_sigmoid(prototypes, coefficients):
    return torch.einsum("np,phw->nhw", coefficients, prototypes)


def _assemble_reference_layout(prototypes, coefficients):
    return torch.sigmoid(prototypes.permute(1, 2, 0) @ coefficients.T)  # (H, W, N), the reference's layout


def _crop_pixel_centres(masks, boxes, padding=1):
    n, h, w = masks.shape
    c = torch.arange(w, dtype=masks.dtype) + 0.5
    r = torch.arange(h, dtype=masks.dtype) + 0.5
    x1 = torch.minimum(boxes[:, 0], boxes[:, 2])[:, None] - padding
    x2 = torch.maximum(boxes[:, 0], boxes[:, 2])[:, None] + padding
    y1 = torch.minimum(boxes[:, 1], boxes[:, 3])[:, None] - padding
    y2 = torch.maximum(boxes[:, 1], boxes[:, 3])[:, None] + padding
    keep = ((c >= x1) & (c < x2))[:, None, :] & ((r >= y1) & (r < y2))[:, :, None]
    return masks * keep


def _crop_ignores_padding(masks, boxes, padding=1):
    return crop_masks(masks, boxes, 0)


def _fast_nms_is_greedy(boxes, scores, iou_threshold=0.5):
    return nms(boxes, scores, iou_threshold)


def _fast_nms_with_diagonal(boxes, scores, iou_threshold=0.5):
    order = scores.argsort(descending=True)
    iou = box_iou(boxes[order], boxes[order]).triu(diagonal=0)
    return order[iou.max(dim=0).values <= iou_threshold] if len(order) else order


def _assemble_broadcast(prototypes, coefficients):
    """Eq. 1 written out with broadcasting: sigmoid(sum_p C[n, p] P[p]) (no einsum, no library)."""
    return torch.sigmoid((coefficients[:, :, None, None] * prototypes[None]).sum(dim=1))


def _crop_written_out(masks, boxes, padding=1):
    return _crop_loop(masks, boxes, padding)


def _fast_nms_written_out(boxes, scores, iou_threshold=0.5):
    return torch.tensor(_fast_nms_loop(boxes, scores, iou_threshold), dtype=torch.int64)


# each check must accept an independent answer written from the definition (not the library itself)
@pytest.mark.parametrize(
    "check, reference, wrong",
    [
        ("check_assemble_masks", _assemble_broadcast, [_assemble_no_sigmoid, _assemble_reference_layout]),
        ("check_crop_masks", _crop_written_out, [_crop_pixel_centres, _crop_ignores_padding]),
        ("check_fast_nms", _fast_nms_written_out, [_fast_nms_is_greedy, _fast_nms_with_diagonal]),
    ],
)
def test_exercise_checks(check, reference, wrong, capsys):
    from lessons.exercises import ExerciseFailure
    from lessons.exercises import yolact as exercises

    run = getattr(exercises, check)
    assert run(reference).passed
    assert "✅" in capsys.readouterr().out
    for answer in wrong:
        with pytest.raises(ExerciseFailure, match="❌ Exercise 3."):
            run(answer)
    report = run(_stub)
    assert report.status == "not attempted" and "not attempted yet" in capsys.readouterr().out

    def crashes(*args, **kwargs):
        raise IndexError("oops")

    with pytest.raises(ExerciseFailure, match="your function raised IndexError: oops"):
        run(crashes)


# ------------------------------------------------------------------ the audit's cases


def test_audit_cases_raise_naming_the_argument():
    with pytest.raises(ValueError, match="image_size: expected values >= 1"):
        select_coefficients(torch.zeros(3, 4, 4), torch.tensor([[0.0, 0.0, 4.0, 4.0]]), (-24, 24))
    nan_box = torch.tensor([[0.0, 0.0, 1.0, 1.0], [float("nan"), 0.0, 1.0, 1.0]])
    for nms_function in (fast_nms, greedy_nms):
        with pytest.raises(ValueError, match="boxes: expected finite values"):
            nms_function(nan_box, torch.tensor([0.9, 0.8]))
        with pytest.raises(ValueError, match="scores: expected finite values"):
            nms_function(nan_box[:1], torch.tensor([float("nan")]))
    with pytest.raises(ValueError, match=r"p3: expected a tensor of shape \(B, 4, H, W\)"):
        ProtoNet(4, 2)(torch.zeros(4, 8, 8))
    with pytest.raises(ValueError, match=r"features: expected a tensor of shape \(B, 4, H, W\)"):
        PredictionHead(4, 2)(torch.zeros(4, 8, 8))
    with pytest.raises(ValueError, match=r"features: expected shape \(B, 4, H, W\)"):
        PredictionHead(4, 2)(torch.zeros(1, 3, 8, 8))


def test_nms_lives_in_its_own_module_and_is_re_exported():
    import lessons.nms
    import lessons.yolact

    for name in ("fast_nms", "batched_fast_nms", "greedy_nms"):
        assert getattr(lessons.yolact, name) is getattr(lessons.nms, name)

"""Tests for lessons.keypoint_detection: radii, bumps, corner pooling, losses, decoders, AP-lite.

Independent references are NumPy ports, written here, of the reference functions
(``princeton-vl/CornerNet``: ``gaussian_radius``, ``_neg_loss``, ``_ae_loss``, the corner-pool
kernels; ``xingyizhou/CenterNet``: ``gaussian_radius``, ``gaussian2D``, ``draw_umich_gaussian``),
slow loops written from the definitions, and the reference values computed from those functions.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torchvision.ops import box_iou as tv_box_iou

from lessons.keypoint_detection import (
    CornerPooling,
    Detections,
    average_precision,
    central_region,
    corner_pool,
    decode_centers,
    decode_corners,
    draw_gaussian,
    embedding_loss,
    focal_loss,
    gaussian_radius,
    heatmap_nms,
    triplet_check,
    worst_case_iou,
)

# ----------------------------------------------------------------------------- NumPy references


def np_gaussian_radius(det_size, min_overlap=0.7, variant="cornernet"):
    """Both repositories' gaussian_radius, transcribed (their a1, b1, c1 ... names)."""
    height, width = det_size
    a1, b1 = 1, height + width
    c1 = width * height * (1 - min_overlap) / (1 + min_overlap)
    sq1 = np.sqrt(b1**2 - 4 * a1 * c1)
    a2, b2 = 4, 2 * (height + width)
    c2 = (1 - min_overlap) * width * height
    sq2 = np.sqrt(b2**2 - 4 * a2 * c2)
    a3, b3 = 4 * min_overlap, -2 * min_overlap * (height + width)
    c3 = (min_overlap - 1) * width * height
    sq3 = np.sqrt(b3**2 - 4 * a3 * c3)
    if variant == "cornernet":
        r1, r2, r3 = (b1 - sq1) / (2 * a1), (b2 - sq2) / (2 * a2), (b3 + sq3) / (2 * a3)
    else:
        r1, r2, r3 = (b1 + sq1) / 2, (b2 + sq2) / 2, (b3 + sq3) / 2
    return r1, r2, r3


def np_gaussian2d(shape, sigma=1):
    m, n = [(ss - 1.0) / 2.0 for ss in shape]
    y, x = np.ogrid[-m : m + 1, -n : n + 1]
    h = np.exp(-(x * x + y * y) / (2 * sigma * sigma))
    h[h < np.finfo(h.dtype).eps * h.max()] = 0
    return h


def np_draw_umich_gaussian(heatmap, center, radius):
    heatmap = heatmap.copy()
    diameter = 2 * radius + 1
    gaussian = np_gaussian2d((diameter, diameter), sigma=diameter / 6)
    x, y = int(center[0]), int(center[1])
    height, width = heatmap.shape[0:2]
    left, right = min(x, radius), min(width - x, radius + 1)
    top, bottom = min(y, radius), min(height - y, radius + 1)
    masked_heatmap = heatmap[y - top : y + bottom, x - left : x + right]
    masked_gaussian = gaussian[radius - top : radius + bottom, radius - left : radius + right]
    if min(masked_gaussian.shape) > 0 and min(masked_heatmap.shape) > 0:
        np.maximum(masked_heatmap, masked_gaussian, out=masked_heatmap)
    return heatmap


def np_neg_loss(pred, gt):
    """CornerNet's _neg_loss on probabilities."""
    pos, neg = gt == 1, gt < 1
    neg_weights = (1 - gt[neg]) ** 4
    pos_loss = (np.log(pred[pos]) * (1 - pred[pos]) ** 2).sum()
    neg_loss = (np.log(1 - pred[neg]) * pred[neg] ** 2 * neg_weights).sum()
    num_pos = pos.sum()
    return -neg_loss if num_pos == 0 else -(pos_loss + neg_loss) / num_pos


def np_ae_loss(tag0, tag1, mask):
    """CornerNet's _ae_loss for (B, N) tags and a (B, N) bool mask."""
    num = mask.sum(axis=1, keepdims=True).astype(np.float64)
    tag_mean = (tag0 + tag1) / 2
    pull = ((tag0 - tag_mean) ** 2 / (num + 1e-4))[mask].sum() + ((tag1 - tag_mean) ** 2 / (num + 1e-4))[mask].sum()
    pair = mask[:, None, :] & mask[:, :, None]
    num = num[:, :, None]
    num2 = (num - 1) * num
    dist = 1 - np.abs(tag_mean[:, None, :] - tag_mean[:, :, None])
    dist = np.maximum(dist, 0)
    dist = dist - 1 / (num + 1e-4)
    dist = dist / (num2 + 1e-4)
    return pull, dist[pair].sum()


def corner_pool_loop(x, direction):
    out = x.clone()
    h, w = x.shape[-2:]
    for i in range(h):
        for j in range(w):
            if direction == "top":
                out[..., i, j] = x[..., i:, j].amax(-1)
            elif direction == "bottom":
                out[..., i, j] = x[..., : i + 1, j].amax(-1)
            elif direction == "left":
                out[..., i, j] = x[..., i, j:].amax(-1)
            else:
                out[..., i, j] = x[..., i, : j + 1].amax(-1)
    return out


# ----------------------------------------------------------------------------- gaussian_radius

RADII_TABLE = [((10, 10), 0, 2), ((10, 20), 1, 3), ((32, 32), 2, 8), ((100, 50), 5, 18), ((3, 3), 0, 0)]


@pytest.mark.parametrize("hw, cornernet, centernet", RADII_TABLE)
def test_radius_reference_table(hw, cornernet, centernet):
    h, w = hw
    assert max(0, int(gaussian_radius(h, w))) == cornernet
    assert max(0, int(gaussian_radius(h, w, variant="centernet"))) == centernet


def test_radius_centernet_roots_for_10x10():
    r1, r2, r3 = np_gaussian_radius((10, 10), variant="centernet")
    assert (round(r1, 2), round(r2, 2), round(r3, 3)) == (19.07, 36.73, 2.733)
    assert gaussian_radius(10, 10, variant="centernet").item() == pytest.approx(r3, abs=1e-12)


@pytest.mark.parametrize("variant", ["cornernet", "centernet"])
def test_radius_matches_numpy_port_vectorized(variant):
    g = torch.Generator().manual_seed(0)
    h = torch.rand(50, generator=g, dtype=torch.float64) * 200 + 1
    w = torch.rand(50, generator=g, dtype=torch.float64) * 200 + 1
    got = gaussian_radius(h, w, 0.6, variant=variant)
    want = [min(np_gaussian_radius((a, b), 0.6, variant)) for a, b in zip(h.tolist(), w.tolist())]
    torch.testing.assert_close(got, torch.tensor(want, dtype=torch.float64))


def test_cornernet_radius_solves_the_three_cases_exactly():
    """Each root brings its case to IoU = o: box moved, shrunk, grown by r per corner coordinate."""
    h, w, o = 30.0, 50.0, 0.7
    r1, r2, r3 = np_gaussian_radius((h, w), o)
    gt = torch.tensor([[0.0, 0.0, w, h]], dtype=torch.float64)
    moved = torch.tensor([[r1, r1, w + r1, h + r1]], dtype=torch.float64)
    shrunk = torch.tensor([[r2, r2, w - r2, h - r2]], dtype=torch.float64)
    grown = torch.tensor([[-r3, -r3, w + r3, h + r3]], dtype=torch.float64)
    for box in (moved, shrunk, grown):
        assert tv_box_iou(gt, box).item() == pytest.approx(o, abs=1e-12)


def test_worst_case_iou_against_random_corner_sampling():
    """A slow reference: sample corners uniformly on the two circles, take the worst IoU."""
    g = torch.Generator().manual_seed(1)
    for h, w, r in [(10.0, 10.0, 1.0), (20.0, 60.0, 3.0), (8.0, 30.0, 1.5)]:
        a, b = torch.rand(2, 20000, generator=g, dtype=torch.float64) * 2 * math.pi
        boxes = torch.stack([r * a.cos(), r * a.sin(), w + r * b.cos(), h + r * b.sin()], dim=1)
        sampled = tv_box_iou(torch.tensor([[0.0, 0.0, w, h]], dtype=torch.float64), boxes).min().item()
        got = worst_case_iou(h, w, r).item()
        assert got == pytest.approx(sampled, abs=2e-3)  # two samplings of the same circles agree


def test_exact_radius_guarantees_the_overlap_and_lies_between_the_variants():
    sizes = torch.tensor([4.0, 10.0, 32.0, 100.0], dtype=torch.float64)
    exact = gaussian_radius(sizes, sizes * 1.5, variant="exact")
    torch.testing.assert_close(
        worst_case_iou(sizes, sizes * 1.5, exact), torch.full_like(sizes, 0.7), atol=1e-6, rtol=0
    )
    assert bool((gaussian_radius(sizes, sizes * 1.5) < exact).all())
    assert bool((exact < gaussian_radius(sizes, sizes * 1.5, variant="centernet")).all())
    assert bool((worst_case_iou(sizes, sizes * 1.5, gaussian_radius(sizes, sizes * 1.5)) > 0.7).all())


def test_exact_radius_of_a_square_is_sqrt2_times_cornernet():
    """Property: for a square the binding case is the shrink; the disk's worst point is diagonal."""
    ratio = gaussian_radius(40.0, 40.0, variant="exact") / gaussian_radius(40.0, 40.0)
    assert ratio.item() == pytest.approx(math.sqrt(2), rel=2e-3)


@given(st.floats(1, 300), st.floats(1, 300), st.floats(2, 10))
@settings(max_examples=30, deadline=None)
def test_property_radius_scales_with_the_box(h, w, s):
    for variant in ("cornernet", "centernet"):
        small, big = gaussian_radius(h, w, variant=variant), gaussian_radius(h * s, w * s, variant=variant)
        assert big.item() == pytest.approx(s * small.item(), rel=1e-9)


def test_radius_errors():
    with pytest.raises(ValueError, match="height"):
        gaussian_radius(0, 10)
    with pytest.raises(ValueError, match="width"):
        gaussian_radius(10, float("nan"))
    with pytest.raises(ValueError, match="min_overlap"):
        gaussian_radius(10, 10, 1.0)
    with pytest.raises(ValueError, match="variant"):
        gaussian_radius(10, 10, variant="CornerNet")
    with pytest.raises(ValueError, match="radius"):
        worst_case_iou(10, 10, -1.0)


# ----------------------------------------------------------------------------- draw_gaussian


def test_gaussian2d_reference_values():
    m = draw_gaussian(torch.zeros(5, 5, dtype=torch.float64), (2, 2), 2)  # sigma = 5/6
    np.testing.assert_allclose(m[2].numpy(), [0.0561, 0.4868, 1.0, 0.4868, 0.0561], atol=5e-5)
    assert m[0, 0].item() == pytest.approx(0.0032, abs=5e-5)
    np.testing.assert_allclose(m.numpy(), np_gaussian2d((5, 5), 5 / 6), atol=1e-12)


def test_draw_umich_reference_map():
    m = draw_gaussian(torch.zeros(6, 8, dtype=torch.float64), (1, 1), 2)
    m = draw_gaussian(m, (6, 4), 1)  # sigma 0.5: neighbours exp(-2), diagonals exp(-4)
    assert m[4, 6] == 1 and m[4, 5].item() == pytest.approx(0.1353, abs=5e-5)
    assert m[3, 5].item() == pytest.approx(0.0183, abs=5e-5)
    want = np_draw_umich_gaussian(np_draw_umich_gaussian(np.zeros((6, 8)), (1, 1), 2), (6, 4), 1)
    np.testing.assert_allclose(m.numpy(), want, atol=1e-12)


def test_draw_gaussian_matches_port_on_random_centres_and_keeps_input():
    g = torch.Generator().manual_seed(2)
    hm = torch.rand(12, 15, generator=g, dtype=torch.float64) * 0.5
    before = hm.clone()
    for _ in range(20):
        cx, cy = (torch.rand(2, generator=g) * torch.tensor([15.0, 12.0])).tolist()
        r = int(torch.randint(0, 5, (), generator=g))
        torch.testing.assert_close(
            draw_gaussian(hm, (cx, cy), r), torch.from_numpy(np_draw_umich_gaussian(hm.numpy(), (cx, cy), r))
        )
    assert torch.equal(hm, before)


def test_draw_gaussian_clips_and_is_a_max():
    off = draw_gaussian(torch.zeros(4, 4), (10.0, 1.0), 2)
    assert off.sum() == 0
    ones = draw_gaussian(torch.ones(4, 4), (2.0, 2.0), 1)
    assert torch.equal(ones, torch.ones(4, 4))
    left = draw_gaussian(torch.zeros(3, 3), (-1.0, 1.0), 1)  # int(-1.0) = -1: only the right column shows
    assert left[:, 1:].sum() == 0 and left[1, 0].item() == pytest.approx(math.exp(-2), rel=1e-6)


def test_draw_gaussian_errors():
    with pytest.raises(TypeError, match="heatmap"):
        draw_gaussian(torch.zeros(3, 3, dtype=torch.long), (1, 1), 1)
    with pytest.raises(ValueError, match="heatmap"):
        draw_gaussian(torch.zeros(1, 3, 3), (1, 1), 1)
    with pytest.raises(ValueError, match="center"):
        draw_gaussian(torch.zeros(3, 3), (float("inf"), 1), 1)
    with pytest.raises(TypeError, match="center"):
        draw_gaussian(torch.zeros(3, 3), (1, 2, 3), 1)
    with pytest.raises(TypeError, match="radius"):
        draw_gaussian(torch.zeros(3, 3), (1, 1), 1.5)
    with pytest.raises(ValueError, match="radius"):
        draw_gaussian(torch.zeros(3, 3), (1, 1), -1)


# ----------------------------------------------------------------------------- corner pooling


def test_top_pool_reference_column():
    assert corner_pool(torch.tensor([[1.0], [3.0], [2.0]]), "top").flatten().tolist() == [3.0, 3.0, 2.0]


@pytest.mark.parametrize("direction", ["top", "left", "bottom", "right"])
def test_corner_pool_matches_loop(direction):
    x = torch.randn(2, 3, 5, 7, generator=torch.Generator().manual_seed(3))
    torch.testing.assert_close(corner_pool(x, direction), corner_pool_loop(x, direction))


@pytest.mark.parametrize("direction", ["top", "left", "bottom", "right"])
def test_corner_pool_gradcheck(direction):
    x = torch.randn(1, 2, 4, 5, dtype=torch.float64, generator=torch.Generator().manual_seed(4), requires_grad=True)
    assert torch.autograd.gradcheck(lambda t: corner_pool(t, direction), (x,))


def test_corner_pool_properties():
    x = torch.randn(3, 6, 6, generator=torch.Generator().manual_seed(5))
    for d in ("top", "left", "bottom", "right"):
        once = corner_pool(x, d)
        assert torch.equal(corner_pool(once, d), once)  # idempotent
        assert bool((once >= x).all())
    # top on the flipped map = bottom, flipped back
    assert torch.equal(corner_pool(x.flip(-2), "top").flip(-2), corner_pool(x, "bottom"))


def test_corner_pooling_module_shapes_and_gradients():
    torch.manual_seed(0)
    for corner in ("top_left", "bottom_right"):
        m = CornerPooling(4, 6, corner=corner)
        x = torch.randn(2, 4, 9, 7, requires_grad=True)
        y = m(x)
        assert y.shape == (2, 4, 9, 7)
        y.sum().backward()
        assert x.grad is not None and torch.isfinite(x.grad).all()
    with pytest.raises(ValueError, match="corner"):
        CornerPooling(4, corner="top")
    with pytest.raises(TypeError, match="channels"):
        CornerPooling(4.0)


def test_corner_pool_errors():
    with pytest.raises(ValueError, match="direction"):
        corner_pool(torch.zeros(3, 3), "up")
    with pytest.raises(TypeError, match="x"):
        corner_pool(torch.zeros(3, 3, dtype=torch.long), "top")
    with pytest.raises(ValueError, match="x"):
        corner_pool(torch.zeros(3), "top")


# ----------------------------------------------------------------------------- losses


def test_focal_loss_reference_value():
    p = torch.tensor([[0.8, 0.3], [0.1, 0.6]], dtype=torch.float64)
    gt = torch.tensor([[1.0, 0.5], [0.0, 0.0]], dtype=torch.float64)
    assert focal_loss(torch.logit(p), gt).item() == pytest.approx(0.341850, abs=5e-7)


def test_focal_loss_matches_port_and_handles_no_positive():
    g = torch.Generator().manual_seed(6)
    logits = torch.randn(2, 3, 8, 8, generator=g, dtype=torch.float64) * 3
    gt = torch.rand(2, 3, 8, 8, generator=g, dtype=torch.float64) * 0.9
    gt[0, 1, 2, 3] = gt[1, 2, 5, 5] = 1.0
    p = torch.sigmoid(logits).clamp(1e-4, 1 - 1e-4).numpy()
    assert focal_loss(logits, gt).item() == pytest.approx(np_neg_loss(p, gt.numpy()), rel=1e-10)
    gt_neg = gt.clamp(max=0.99)
    assert focal_loss(logits, gt_neg).item() == pytest.approx(np_neg_loss(p, gt_neg.numpy()), rel=1e-10)


def test_focal_loss_gradcheck():
    g = torch.Generator().manual_seed(7)
    logits = torch.randn(1, 1, 4, 4, generator=g, dtype=torch.float64, requires_grad=True)
    gt = torch.rand(1, 1, 4, 4, generator=g, dtype=torch.float64)
    gt[0, 0, 1, 1] = 1.0
    assert torch.autograd.gradcheck(lambda t: focal_loss(t, gt), (logits,))


def test_focal_loss_errors():
    with pytest.raises(ValueError, match="gt_heatmap"):
        focal_loss(torch.zeros(2, 2), torch.zeros(2, 3))
    with pytest.raises(TypeError, match="pred_logits"):
        focal_loss(torch.zeros(2, 2, dtype=torch.long), torch.zeros(2, 2))


def test_embedding_loss_reference_values():
    pull, push = embedding_loss(
        torch.tensor([0.0, 1.0, 0.2], dtype=torch.float64), torch.tensor([0.2, 0.6, 0.3], dtype=torch.float64)
    )
    assert pull.item() == pytest.approx(0.0350, abs=5e-5)
    assert push.item() == pytest.approx(0.53334, abs=5e-6)


def test_embedding_loss_matches_port_with_mask():
    g = torch.Generator().manual_seed(8)
    tl, br = torch.randn(2, 3, 5, generator=g, dtype=torch.float64)
    mask = torch.tensor(
        [[True, True, True, False, False], [True, True, True, True, False], [True, False, False, False, False]]
    )
    pull, push = embedding_loss(tl, br, mask=mask)
    want_pull, want_push = np_ae_loss(tl.numpy(), br.numpy(), mask.numpy())
    assert pull.item() == pytest.approx(want_pull, rel=1e-10)
    assert push.item() == pytest.approx(want_push, rel=1e-10, abs=1e-12)


def test_embedding_loss_properties_and_gradcheck():
    tl, br = torch.tensor([0.0, 2.0, 5.0]), torch.tensor([0.0, 2.0, 5.0])
    pull, push = embedding_loss(tl, br)  # equal pairs, means >= 1 apart: both terms (almost) 0
    assert pull.item() == 0 and abs(push.item()) < 1e-4
    perm = torch.tensor([2, 0, 1])
    a, b = torch.randn(2, 4, generator=torch.Generator().manual_seed(9))
    for x, y in zip(
        embedding_loss(a, b), embedding_loss(a[perm[[0, 1, 2]].tolist() + [3]], b[perm[[0, 1, 2]].tolist() + [3]])
    ):
        assert x.item() == pytest.approx(y.item(), rel=1e-6)
    t = torch.tensor([0.1, 0.9, 0.35], dtype=torch.float64, requires_grad=True)
    u = torch.tensor([0.3, 0.4, 1.2], dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda p, q: sum(embedding_loss(p, q)), (t, u))


def test_embedding_loss_errors():
    with pytest.raises(ValueError, match="br"):
        embedding_loss(torch.zeros(3), torch.zeros(4))
    with pytest.raises(TypeError, match="mask"):
        embedding_loss(torch.zeros(1, 3), torch.zeros(1, 3), mask=torch.ones(1, 3))
    with pytest.raises(ValueError, match="tl"):
        embedding_loss(torch.zeros(1, 1, 3), torch.zeros(1, 1, 3))


# ----------------------------------------------------------------------------- decoding


def _corner_maps(points, size=(10, 12), classes=1):
    """Peaks (x, y, class, score, embedding) -> heat (1, C, H, W) and emb (1, 1, H, W)."""
    heat, emb = torch.zeros(1, classes, *size), torch.zeros(1, 1, *size)
    for x, y, c, s, e in points:
        heat[0, c, y, x], emb[0, 0, y, x] = s, e
    return heat, emb


def test_decode_corners_hand_case_and_embedding_boundary():
    tl, tle = _corner_maps([(1, 1, 0, 0.9, 0.0), (5, 2, 0, 0.8, 1.0)])
    br, bre = _corner_maps([(4, 5, 0, 0.7, 0.5), (9, 8, 0, 0.6, 1.0)])
    dets = decode_corners(tl, br, tle, bre, k=2)
    kept = dets.scores[0] > 0
    boxes = {tuple(b) for b in dets.boxes[0][kept].tolist()}
    # (1,1)-(4,5): distance exactly 0.5 is kept; (5,2)-(9,8) matches; (1,1)-(9,8): distance 1 rejected;
    # (5,2)-(4,5): br_x < tl_x rejected
    assert boxes == {(1.0, 1.0, 4.0, 5.0), (5.0, 2.0, 9.0, 8.0)}
    assert sorted(dets.scores[0][kept].tolist()) == pytest.approx([0.7, 0.8])
    bre2 = bre.clone()
    bre2[0, 0, 5, 4] = 0.5001
    assert (decode_corners(tl, br, tle, bre2, k=2).scores[0] > 0).sum() == 1


def test_decode_corners_rejects_other_classes_and_keeps_equal_coordinates():
    tl, tle = _corner_maps([(2, 2, 0, 0.9, 0.0)], classes=2)
    br, bre = _corner_maps([(2, 6, 1, 0.9, 0.0), (2, 7, 0, 0.5, 0.0)], classes=2)
    dets = decode_corners(tl, br, tle, bre, k=2)
    kept = dets.scores[0] > 0.45  # the second top-left "corner" is an empty pixel (score 0)
    assert dets.boxes[0][kept].tolist() == [[2.0, 2.0, 2.0, 7.0]]  # br_x == tl_x is valid
    assert dets.labels[0][kept].tolist() == [0]


def test_decode_corners_matches_slow_loop():
    g = torch.Generator().manual_seed(10)
    tl, br = torch.rand(2, 1, 2, 9, 11, generator=g)
    tle, bre = torch.rand(2, 1, 1, 9, 11, generator=g) * 2
    tlo, bro = torch.rand(2, 1, 2, 9, 11, generator=g)
    k = 6
    dets = decode_corners(tl, br, tle, bre, tlo, bro, k=k, num_dets=k * k)

    def corners(heat):
        hmax = torch.nn.functional.max_pool2d(heat, 3, 1, 1)
        kept = heat * (hmax == heat)
        flat = kept[0].flatten()
        top = flat.topk(k).indices.tolist()
        return [(flat[i].item(), i // 99, (i % 99) // 11, i % 11) for i in top]

    want = []
    for s1, c1, y1, x1 in corners(tl):
        for s2, c2, y2, x2 in corners(br):
            box = (
                x1 + tlo[0, 0, y1, x1].item(),
                y1 + tlo[0, 1, y1, x1].item(),
                x2 + bro[0, 0, y2, x2].item(),
                y2 + bro[0, 1, y2, x2].item(),
            )
            ok = (
                c1 == c2 and abs(tle[0, 0, y1, x1] - bre[0, 0, y2, x2]) <= 0.5 and box[2] >= box[0] and box[3] >= box[1]
            )
            if ok:
                want.append(((s1 + s2) / 2, box))
    got = [(s, tuple(b)) for s, b in zip(dets.scores[0].tolist(), dets.boxes[0].tolist()) if s > -1]
    assert sorted(got) == pytest.approx(sorted(want))


def test_heatmap_nms_keeps_local_maxima():
    heat = torch.zeros(1, 1, 5, 5)
    heat[0, 0, 1, 1], heat[0, 0, 1, 2], heat[0, 0, 4, 4] = 0.9, 0.5, 0.3
    out = heatmap_nms(heat)
    assert out[0, 0, 1, 1] == 0.9 and out[0, 0, 1, 2] == 0 and out[0, 0, 4, 4] == 0.3
    with pytest.raises(ValueError, match="kernel"):
        heatmap_nms(heat, 2)


def test_decode_centers_hand_case():
    heat = torch.zeros(1, 2, 8, 8)
    heat[0, 1, 3, 4] = 0.9
    wh = torch.zeros(1, 2, 8, 8)
    wh[0, :, 3, 4] = torch.tensor([4.0, 2.0])
    off = torch.zeros(1, 2, 8, 8)
    off[0, :, 3, 4] = torch.tensor([0.5, 0.25])
    dets = decode_centers(heat, wh, off, k=1)
    assert dets.boxes[0, 0].tolist() == [2.5, 2.25, 6.5, 4.25]
    assert dets.labels[0, 0].item() == 1 and dets.scores[0, 0].item() == pytest.approx(0.9)


def test_central_region_and_triplet_check_boundary():
    box = torch.tensor([0.0, 0.0, 9.0, 9.0])
    assert central_region(box, 3).tolist() == [3.0, 3.0, 6.0, 6.0]
    assert central_region(box, 5).tolist() == pytest.approx([3.6, 3.6, 5.4, 5.4])
    dets = Detections(box.reshape(1, 1, 4).repeat(1, 3, 1), torch.tensor([[0.8, 0.6, 0.4]]), torch.tensor([[0, 0, 1]]))
    centres = torch.tensor([[[4.5, 4.5], [3.0, 4.5]]])  # inside; exactly on the region's edge (strict: no)
    out = triplet_check(dets, centres, torch.tensor([[0.5, 0.9]]), torch.tensor([[0, 1]]))
    assert out.scores[0].tolist() == pytest.approx([(1.6 + 0.5) / 3, (1.2 + 0.5) / 3, -1.0])
    with pytest.raises(ValueError, match="center_scores"):
        triplet_check(dets, centres, torch.zeros(1, 3), torch.zeros(1, 2))


def test_decode_errors():
    heat = torch.zeros(1, 1, 4, 4)
    with pytest.raises(ValueError, match="tl_emb"):
        decode_corners(heat, heat, torch.zeros(1, 2, 4, 4), heat)
    with pytest.raises(ValueError, match="br_heat"):
        decode_corners(heat, torch.zeros(1, 2, 4, 4), heat, heat)
    with pytest.raises(ValueError, match="ae_threshold"):
        decode_corners(heat, heat, heat, heat, ae_threshold=-1)
    with pytest.raises(ValueError, match="k"):
        decode_centers(heat, torch.zeros(1, 2, 4, 4), k=0)
    with pytest.raises(ValueError, match="wh"):
        decode_centers(heat, torch.zeros(1, 1, 4, 4))


# ----------------------------------------------------------------------------- AP-lite

GT = [torch.tensor([[0.0, 0.0, 10.0, 10.0], [20.0, 20.0, 30.0, 30.0]])]


def test_ap_perfect_and_empty():
    assert average_precision([GT[0].clone()], [torch.tensor([0.9, 0.8])], GT) == 1.0
    assert average_precision([torch.zeros(0, 4)], [torch.zeros(0)], GT) == 0.0
    assert math.isnan(average_precision([torch.zeros(0, 4)], [torch.zeros(0)], [torch.zeros(0, 4)]))


def test_ap_hand_ranking_duplicates_and_threshold_boundary():
    # ranks: hit (P 1, R .5), duplicate of the same box = FP (P .5), hit (P 2/3, R 1)
    preds = torch.tensor([[0.0, 0.0, 10.0, 10.0], [0.0, 0.0, 10.0, 10.0], [20.0, 20.0, 30.0, 30.0]])
    ap = average_precision([preds], [torch.tensor([0.9, 0.8, 0.7])], GT)
    assert ap == pytest.approx(0.5 * 1 + 0.5 * 2 / 3)
    half = torch.tensor([[0.0, 0.0, 10.0, 5.0]])  # IoU exactly 0.5 with the first box
    assert average_precision([half], [torch.tensor([1.0])], GT[:1] and [GT[0][:1]], iou_threshold=0.5) == 1.0
    assert average_precision([half], [torch.tensor([1.0])], [GT[0][:1]], iou_threshold=0.75) == 0.0
    inverted = torch.tensor([[10.0, 10.0, 0.0, 0.0]])
    assert average_precision([inverted], [torch.tensor([1.0])], [GT[0][:1]]) == 0.0


def test_ap_per_class_mean():
    preds = GT[0].clone()
    ap = average_precision(
        [preds], [torch.tensor([0.9, 0.8])], GT, pred_labels=[torch.tensor([0, 0])], gt_labels=[torch.tensor([0, 1])]
    )
    assert ap == pytest.approx((1.0 + 0.0) / 2)


def test_ap_errors():
    with pytest.raises(TypeError, match="pred_boxes"):
        average_precision(torch.zeros(1, 4), [torch.zeros(1)], GT)
    with pytest.raises(ValueError, match="iou_threshold"):
        average_precision([GT[0]], [torch.zeros(2)], GT, iou_threshold=0)
    with pytest.raises(ValueError, match="pred_scores"):
        average_precision([GT[0]], [torch.zeros(3)], GT)
    with pytest.raises(ValueError, match="gt_labels"):
        average_precision([GT[0]], [torch.zeros(2)], GT, pred_labels=[torch.zeros(2)])
    with pytest.raises(ValueError, match="gt_boxes"):
        average_precision([GT[0]], [torch.zeros(2)], [torch.full((1, 4), float("nan"))])

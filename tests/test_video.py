"""lessons.video: warping, fusion, the track head's scores and ids, tube IoU and VPQ.

Each function is checked against an independent reference: ``grid_sample`` and a pixel loop for
the warp, the formulas written out for attention, fusion and the track scores, a loop for the id
assignment, and a slow VPQ written from the definition (Kim et al. 2020, with panopticapi's rules).
"""

import math

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from torch.autograd import gradcheck

from lessons.panoptic_quality import panoptic_quality
from lessons.video import (
    TemporalFusion,
    TrackHead,
    TrackMemory,
    assign_ids,
    empty_memory,
    fuse,
    match_scores,
    temporal_attention,
    track_loss,
    track_scores,
    track_step,
    tube_iou,
    video_panoptic_quality,
    warp,
    warping_layer,
)


def _gen(seed):
    return torch.Generator().manual_seed(seed)


# ------------------------------------------------------------------ warp


def _warp_loop(feat, flow):
    """out(p) = bilinear(feat, p + flow(p)), zero outside, one pixel at a time."""
    b, c, h, w = feat.shape
    out = torch.zeros_like(feat)
    for bi in range(b):
        for y in range(h):
            for x in range(w):
                sx, sy = x + float(flow[bi, 0, y, x]), y + float(flow[bi, 1, y, x])
                x0, y0 = math.floor(sx), math.floor(sy)
                for yy, wy in ((y0, 1 - (sy - y0)), (y0 + 1, sy - y0)):
                    for xx, wx in ((x0, 1 - (sx - x0)), (x0 + 1, sx - x0)):
                        if 0 <= xx < w and 0 <= yy < h:
                            out[bi, :, y, x] += wx * wy * feat[bi, :, yy, xx]
    return out


def test_warp_zero_flow_is_exact_identity():
    g = _gen(0)
    for h, w in ((1, 1), (5, 7), (33, 20), (37, 29)):
        feat = torch.randn(2, 3, h, w, generator=g)
        assert torch.equal(warp(feat, torch.zeros(2, 2, h, w)), feat)
    x = torch.arange(12.0).view(3, 2, 2)  # a (C, H, W) tensor with a (2, H, W) flow
    assert torch.equal(warp(x, torch.zeros(2, 2, 2)), x)


@settings(max_examples=25, deadline=None)
@given(dx=st.integers(-4, 4), dy=st.integers(-4, 4), seed=st.integers(0, 1000))
def test_warp_integer_shift_is_exact_with_zero_padding(dx, dy, seed):
    feat = torch.randn(1, 2, 6, 7, generator=_gen(seed))
    flow = torch.zeros(1, 2, 6, 7)
    flow[:, 0], flow[:, 1] = dx, dy
    expected = torch.zeros_like(feat)
    for y in range(6):
        for x in range(7):
            if 0 <= x + dx < 7 and 0 <= y + dy < 6:
                expected[..., y, x] = feat[..., y + dy, x + dx]
    assert torch.equal(warp(feat, flow), expected)


def test_warp_hand_case_integer_shift():
    # arange(16) as 4x4 and u = +1: out[y, x] = in[y, x + 1], last column 0 (zero padding)
    x = torch.arange(16.0).view(1, 1, 4, 4)
    flow = torch.zeros(1, 2, 4, 4)
    flow[:, 0] = 1
    out = warp(x, flow)
    assert torch.equal(out[0, 0, :, :3], x[0, 0, :, 1:]) and torch.equal(out[0, 0, :, 3], torch.zeros(4))
    flow = torch.zeros(1, 2, 4, 4)
    flow[:, 1] = -1  # look one row up: first row 0
    assert torch.equal(warp(x, flow)[0, 0, 1:], x[0, 0, :3]) and not warp(x, flow)[0, 0, 0].any()
    # half a pixel to the right: the mean of two neighbours
    flow = torch.zeros(1, 2, 4, 4)
    flow[:, 0] = 0.5
    assert torch.allclose(warp(x, flow)[0, 0, :, 0], x[0, 0, :, :2].mean(1))


def test_warp_matches_grid_sample_and_loop():
    g = _gen(1)
    feat = torch.randn(2, 3, 5, 6, generator=g, dtype=torch.float64)
    flow = torch.randn(2, 2, 5, 6, generator=g, dtype=torch.float64) * 2
    ys, xs = torch.meshgrid(torch.arange(5.0), torch.arange(6.0), indexing="ij")
    grid = torch.stack([2 * (xs + flow[:, 0]) / 5 - 1, 2 * (ys + flow[:, 1]) / 4 - 1], dim=-1)
    reference = F.grid_sample(feat, grid, mode="bilinear", padding_mode="zeros", align_corners=True)
    out = warp(feat, flow)
    torch.testing.assert_close(out, reference)
    torch.testing.assert_close(out, _warp_loop(feat, flow))


def test_warp_gradcheck():
    g = _gen(2)
    feat = torch.randn(1, 2, 4, 5, generator=g, dtype=torch.float64, requires_grad=True)
    flow = (torch.rand(1, 2, 4, 5, generator=g, dtype=torch.float64) * 3 - 1.5 + 0.137).requires_grad_()
    assert gradcheck(warp, (feat, flow))


def test_warp_property_shift_then_back_is_identity_inside():
    """Warping by +d then by -d gives the input back wherever nothing fell off the map."""
    feat = torch.randn(1, 2, 8, 9, generator=_gen(3))
    flow = torch.zeros(1, 2, 8, 9)
    flow[:, 0], flow[:, 1] = 2, -1
    back = warp(warp(feat, flow), -flow)
    torch.testing.assert_close(back[..., :7, 2:], feat[..., :7, 2:])  # rows 0..6, columns 2..8 survive


def test_warping_layer_align_corners_trap():
    x = torch.arange(16.0).view(1, 1, 4, 4)
    zero = torch.zeros(1, 2, 4, 4)
    torch.testing.assert_close(warping_layer(x, zero, align_corners=True), x, atol=1e-5, rtol=0)
    wrong = warping_layer(x, zero, align_corners=False)
    expected_row = torch.tensor([0.0, 5 / 12, 13 / 12, 0.75])  # computed by hand from grid_sample's rule
    torch.testing.assert_close(wrong[0, 0, 0], expected_row, atol=1e-4, rtol=0)
    flow = torch.randn(1, 2, 4, 4, generator=_gen(4))
    torch.testing.assert_close(warping_layer(x, flow), warp(x, flow), atol=1e-5, rtol=0)


def test_warp_bad_inputs():
    feat = torch.zeros(1, 3, 8, 8)
    with pytest.raises(ValueError, match=r"flow: expected shape \(1, 2, 8, 8\)"):
        warp(feat, torch.zeros(1, 2, 4, 4))
    with pytest.raises(ValueError, match="flow: expected finite"):
        warp(feat, torch.full((1, 2, 8, 8), float("nan")))
    with pytest.raises(TypeError, match="flow"):
        warp(feat, torch.zeros(1, 2, 8, 8, dtype=torch.long))
    with pytest.raises(TypeError, match="features"):
        warp([1.0], torch.zeros(1, 2, 8, 8))
    with pytest.raises(ValueError, match="features"):
        warp(torch.zeros(8, 8), torch.zeros(2, 8, 8))
    with pytest.raises(TypeError, match="align_corners"):
        warping_layer(feat, torch.zeros(1, 2, 8, 8), align_corners=1)


# ------------------------------------------------------------------ fusion


def test_temporal_attention_formula_and_hand_case():
    e = torch.tensor([[[[1.0]], [[2.0]]]])  # (1, 2, 1, 1)
    r = torch.tensor([[[[0.5]], [[-1.0]]]])
    assert torch.allclose(temporal_attention(e, r), torch.sigmoid(torch.tensor(0.5 - 2.0)).view(1, 1, 1, 1))
    g = _gen(5)
    e, r = torch.randn(2, 4, 3, 5, generator=g), torch.randn(2, 4, 3, 5, generator=g)
    loop = torch.empty(2, 1, 3, 5)
    for b in range(2):
        for y in range(3):
            for x in range(5):
                loop[b, 0, y, x] = 1 / (1 + math.exp(-float(sum(e[b, c, y, x] * r[b, c, y, x] for c in range(4)))))
    torch.testing.assert_close(temporal_attention(e, r), loop)


def test_fuse_matches_formula_and_gradcheck():
    g = _gen(6)
    b, c, e, h, w = 2, 3, 4, 5, 6
    args = [torch.randn(b, c, h, w, generator=g, dtype=torch.float64) for _ in range(2)]
    args += [torch.randn(b, e, h, w, generator=g, dtype=torch.float64) for _ in range(3)]
    weight = torch.randn(c, 2 * c, 1, 1, generator=g, dtype=torch.float64)
    bias = torch.randn(c, generator=g, dtype=torch.float64)
    fused, attention = fuse(*args, weight, bias)
    cur, warped, e_cur, e_warp, e_ref = args
    a_cur = torch.sigmoid((e_cur * e_ref).sum(1, keepdim=True))
    a_warp = torch.sigmoid((e_warp * e_ref).sum(1, keepdim=True))
    stacked = torch.cat([cur * a_cur, warped * a_warp], 1)
    linear = torch.einsum("oi,bihw->bohw", weight[:, :, 0, 0], stacked) + bias[None, :, None, None]
    expected = torch.where(linear > 0, linear, 0.1 * linear)
    torch.testing.assert_close(fused, expected)
    torch.testing.assert_close(attention, torch.cat([a_cur, a_warp], 1))
    small = [a[:1, :, :2, :3].clone().requires_grad_() for a in args]
    assert gradcheck(lambda *xs: fuse(*xs, weight, bias)[0], small)


def test_temporal_fusion_module_shapes_and_identical_inputs():
    torch.manual_seed(0)
    module = TemporalFusion(4, 3)
    x = torch.randn(2, 4, 5, 5)
    fused, attention = module(x, x)
    assert fused.shape == (2, 4, 5, 5) and attention.shape == (2, 2, 5, 5)
    assert torch.equal(attention[:, 0], attention[:, 1])  # the same frame twice gets the same weight
    assert ((attention > 0) & (attention < 1)).all()


def test_fuse_bad_inputs():
    x = torch.zeros(1, 2, 3, 3)
    e = torch.zeros(1, 4, 3, 3)
    w = torch.zeros(2, 4, 1, 1)
    with pytest.raises(ValueError, match="warped"):
        fuse(x, torch.zeros(1, 2, 3, 4), e, e, e, w)
    with pytest.raises(ValueError, match="weight"):
        fuse(x, x, e, e, e, torch.zeros(2, 3, 1, 1))
    with pytest.raises(ValueError, match="reference"):
        temporal_attention(e, torch.zeros(1, 3, 3, 3))
    with pytest.raises(TypeError, match="current"):
        fuse(x.long(), x, e, e, e, w)


# ------------------------------------------------------------------ track scores and ids


def test_track_scores_hand_case_and_dummy_column():
    out = track_scores(torch.tensor([[1.0, 2.0], [0.0, 1.0]]), torch.tensor([[3.0, 0.0], [0.0, -1.0]]))
    assert torch.equal(out, torch.tensor([[0.0, 3.0, -2.0], [0.0, 0.0, -1.0]]))
    empty = track_scores(torch.randn(3, 4), torch.zeros(0, 4))
    assert empty.shape == (3, 1) and torch.equal(empty, torch.zeros(3, 1))  # no memory: only "new"
    g = _gen(7)
    e, r = torch.randn(4, 5, generator=g, dtype=torch.float64), torch.randn(3, 5, generator=g, dtype=torch.float64)
    loop = torch.tensor(
        [[0.0] + [sum(float(e[i, d] * r[j, d]) for d in range(5)) for j in range(3)] for i in range(4)],
        dtype=torch.float64,
    )
    torch.testing.assert_close(track_scores(e, r), loop)
    assert gradcheck(track_scores, (e.clone().requires_grad_(), r.clone().requires_grad_()))


def test_track_loss_is_cross_entropy_of_the_rows():
    scores = torch.tensor([[0.0, 2.0, -1.0], [0.0, -3.0, 0.5]])
    targets = torch.tensor([1, 0])
    by_hand = (
        -(math.log(math.exp(2) / (1 + math.exp(2) + math.exp(-1))) + math.log(1 / (1 + math.exp(-3) + math.exp(0.5))))
        / 2
    )
    assert abs(track_loss(scores, targets).item() - by_hand) < 1e-6
    with pytest.raises(ValueError, match="targets"):
        track_loss(scores, torch.tensor([3, 0]))


def test_match_scores_formula_and_reference_ordering():
    g = _gen(8)
    scores = torch.cat([torch.zeros(3, 1), torch.randn(3, 2, generator=g)], 1)
    cls = torch.tensor([0.9, 0.5, 1.0])
    ious = torch.rand(3, 2, generator=g)
    same = torch.tensor([[True, False], [False, False], [True, True]])
    comp = match_scores(scores, cls, ious, same)
    for i in range(3):
        logz = math.log(sum(math.exp(float(s)) for s in scores[i]))
        for k in range(3):
            iou = 0.0 if k == 0 else float(ious[i, k - 1])
            label = 1.0 if k == 0 else float(same[i, k - 1])
            want = float(scores[i, k]) - logz + math.log(float(cls[i])) + 2 * iou + 10 * label
            assert abs(float(comp[i, k]) - want) < 1e-5
    # a same-label match with IoU 0.6 beats a cross-label match whose logit is up to 10 larger
    row = torch.tensor([[-1e9, 0.0, 9.9]])  # dummy column ruled out to compare the two references
    comp = match_scores(row, torch.tensor([0.8]), torch.tensor([[0.6, 0.6]]), torch.tensor([[True, False]]))
    assert comp.argmax().item() == 1
    # the class term shifts a whole row: it never changes the row's argmax
    base = match_scores(scores, torch.ones(3), ious, same)
    assert torch.equal(base.argmax(1), match_scores(scores, cls, ious, same).argmax(1))


def test_match_scores_bad_inputs():
    s = torch.zeros(2, 3)
    ok = dict(cls_prob=torch.ones(2), ious=torch.zeros(2, 2), same_label=torch.zeros(2, 2, dtype=torch.bool))
    with pytest.raises(ValueError, match="cls_prob"):
        match_scores(s, **{**ok, "cls_prob": torch.tensor([0.0, 1.0])})
    with pytest.raises(ValueError, match="ious"):
        match_scores(s, **{**ok, "ious": torch.zeros(2, 3)})
    with pytest.raises(ValueError, match="ious"):
        match_scores(s, **{**ok, "ious": torch.full((2, 2), float("inf"))})
    with pytest.raises(TypeError, match="match_coeff"):
        match_scores(s, **ok, match_coeff=(1.0, 2.0))


def _assign_loop(comp):
    """From the rule: argmax per row; 0 -> new ids in order; a contested id goes to the highest."""
    n, m1 = comp.shape
    best = [max(range(m1), key=lambda k: (float(comp[i, k]), -k)) for i in range(n)]
    ids, new = [-1] * n, m1 - 1
    for i in range(n):
        if best[i] == 0:
            ids[i], new = new, new + 1
    for j in range(1, m1):
        claim = [i for i in range(n) if best[i] == j]
        if claim:
            top = max(float(comp[i, j]) for i in claim)
            ids[min(i for i in claim if float(comp[i, j]) == top)] = j - 1
    return torch.tensor(ids, dtype=torch.int64)


def test_assign_ids_against_loop_and_properties():
    g = _gen(9)
    for n, m in ((1, 0), (4, 0), (5, 3), (6, 2), (3, 5)):
        comp = torch.randn(n, m + 1, generator=g).round(decimals=1)  # ties happen
        ids = assign_ids(comp)
        assert torch.equal(ids, _assign_loop(comp))
        valid = ids[ids >= 0]
        assert len(set(valid.tolist())) == len(valid)  # an id is given at most once
    assert torch.equal(assign_ids(torch.zeros(3, 1)), torch.tensor([0, 1, 2]))  # empty memory: all new
    # contested: the higher score wins; on a tie the earlier detection
    assert torch.equal(assign_ids(torch.tensor([[0.0, 5.0], [0.0, 7.0]])), torch.tensor([-1, 0]))
    assert torch.equal(assign_ids(torch.tensor([[0.0, 5.0], [0.0, 5.0]])), torch.tensor([0, -1]))
    with pytest.raises(ValueError, match="comp"):
        assign_ids(torch.tensor([[float("nan"), 1.0]]))


def test_track_step_keeps_ids_of_a_moving_pair():
    memory = empty_memory(2)
    emb = torch.tensor([[5.0, 0.0], [0.0, 5.0]])
    boxes = torch.tensor([[0.0, 0.0, 4.0, 4.0], [10.0, 10.0, 14.0, 14.0]])
    labels = torch.tensor([1, 2])
    ids, memory = track_step(memory, emb, boxes, labels, torch.ones(2))
    assert ids.tolist() == [0, 1] and memory.embeddings.shape == (2, 2)
    # next frame: the detections come in the other order and have moved by one pixel
    ids, memory = track_step(memory, emb.flip(0), (boxes + 1).flip(0), labels.flip(0), torch.ones(2))
    assert ids.tolist() == [1, 0]
    assert torch.equal(memory.boxes, boxes + 1)  # matched objects take the new boxes
    # a third object appears: a new id, appended
    ids, memory = track_step(
        memory, torch.tensor([[0.0, -5.0]]), torch.tensor([[20.0, 0, 24, 4]]), torch.tensor([3]), torch.ones(1)
    )
    assert ids.tolist() == [2] and len(memory.labels) == 3
    with pytest.raises(TypeError, match="memory"):
        track_step((), emb, boxes, labels, torch.ones(2))
    with pytest.raises(ValueError, match="boxes"):
        track_step(TrackMemory(*empty_memory(2)), emb, boxes[:1], labels, torch.ones(2))


def test_track_head_shapes_and_no_relu_after_last_layer():
    torch.manual_seed(0)
    head = TrackHead(3, 7, hidden=16, out_channels=8)
    out = head(torch.randn(5, 3, 7, 7))
    assert out.shape == (5, 8) and (out < 0).any()
    assert len(head.fcs) == 2
    with pytest.raises(ValueError, match="num_fcs"):
        TrackHead(3, num_fcs=0)


# ------------------------------------------------------------------ tube IoU and VPQ


def test_tube_iou_hand_case_and_not_a_mean_of_frames():
    gt = torch.tensor([[[1, 1, 0]], [[1, 1, 0]]])
    pred = torch.tensor([[[5, 5, 5]], [[5, 0, 0]]])
    assert tube_iou(pred, gt, 5, 1) == 0.75  # inter 3, |p| 4, |g| 4, p on void 1
    gt = torch.tensor([[[1, 1, 1, 1]], [[1, 1, 2, 2]]])
    pred = torch.tensor([[[7, 7, 7, 7]], [[7, 0, 0, 0]]])
    per_frame = (1.0 + 0.5) / 2
    assert tube_iou(pred, gt, 7, 1) == 5 / 6 != per_frame
    assert tube_iou(pred, gt, 9, 9) == 0.0


def _slow_vpq(pred, pred_segments, gt, gt_segments, categories, k):
    """VPQ^k from the definition: loop over windows, tubes and rules; areas counted in the maps."""
    isthing = {c["id"]: c["isthing"] for c in categories}
    pcat = {s["id"]: s["category_id"] for s in pred_segments}
    gcat = {s["id"]: s["category_id"] for s in gt_segments}
    crowd = {s["id"] for s in gt_segments if s.get("iscrowd", 0)}
    stats = {c: [0, 0, 0, 0.0] for c in isthing}
    for s in range(pred.shape[0] - k + 1):
        P, G = pred[s : s + k], gt[s : s + k]
        pids = [i for i in torch.unique(P).tolist() if i != 0]
        gids = [i for i in torch.unique(G).tolist() if i != 0]
        pm, gm = set(), set()
        for g in gids:
            for p in pids:
                if g in crowd or pcat[p] != gcat[g]:
                    continue
                inter = int(((P == p) & (G == g)).sum())
                union = int((P == p).sum()) + int((G == g).sum()) - inter - int(((P == p) & (G == 0)).sum())
                if inter and inter / union > 0.5:
                    stats[gcat[g]][0] += 1
                    stats[gcat[g]][3] += inter / union
                    pm.add(p)
                    gm.add(g)
        for g in gids:
            if g not in gm and g not in crowd:
                stats[gcat[g]][2] += 1
        for p in pids:
            if p in pm:
                continue
            area = int((P == p).sum())
            ignored = int(((P == p) & (G == 0)).sum())
            ignored += sum(int(((P == p) & (G == c)).sum()) for c in crowd if gcat[c] == pcat[p])
            if ignored / area <= 0.5:
                stats[pcat[p]][1] += 1
    pqs = [st[3] / (st[0] + st[1] / 2 + st[2] / 2) for st in stats.values() if st[0] + st[1] + st[2] > 0]
    return sum(pqs) / len(pqs)


def _random_clip(seed):
    g = _gen(seed)
    gt = torch.randint(1, 4, (5, 6, 7), generator=g)
    gt[:, :2] = 1
    gt[:, 2:4, :3] = 2
    gt[:, 4:, 3:] = 3
    gt[torch.rand(5, 6, 7, generator=g) < 0.1] = 0  # void
    gt[:, 5, 0] = 4  # a small crowd region
    pred = gt.clone() + 10
    pred[pred == 10] = 0
    pred[pred == 14] = 13  # the crowd region is predicted as thing 13
    flip = torch.rand(5, generator=g) < 0.5
    pred[flip] = torch.where(pred[flip] == 12, torch.full_like(pred[flip], 15), pred[flip])  # id switch
    noise = torch.rand(5, 6, 7, generator=g) < 0.15
    pred[noise] = torch.tensor([11, 12, 13, 15])[torch.randint(4, (int(noise.sum()),), generator=g)]
    cats = [{"id": 0, "isthing": 0}, {"id": 1, "isthing": 1}, {"id": 2, "isthing": 1}]
    gsegs = [
        {"id": 1, "category_id": 0},
        {"id": 2, "category_id": 1},
        {"id": 3, "category_id": 2},
        {"id": 4, "category_id": 2, "iscrowd": 1},
    ]
    psegs = [
        {"id": 11, "category_id": 0},
        {"id": 12, "category_id": 1},
        {"id": 13, "category_id": 2},
        {"id": 15, "category_id": 1},
    ]
    return pred, psegs, gt, gsegs, cats


@pytest.mark.parametrize("seed", range(6))
def test_vpq_matches_slow_reference(seed):
    pred, psegs, gt, gsegs, cats = _random_clip(seed)
    for k in range(1, 6):
        got = video_panoptic_quality(pred, psegs, gt, gsegs, cats, k)
        assert got["window"] == k and got["n_windows"] == 6 - k
        assert abs(got["All"]["pq"] - _slow_vpq(pred, psegs, gt, gsegs, cats, k)) < 1e-9


@pytest.mark.parametrize("seed", range(3))
def test_vpq_window_one_is_per_frame_pq(seed):
    pred, psegs, gt, gsegs, cats = _random_clip(seed)
    present = lambda segs, m: [s for s in segs if bool((m == s["id"]).any())]  # noqa: E731
    pq = panoptic_quality(
        list(pred), [present(psegs, p) for p in pred], list(gt), [present(gsegs, g) for g in gt], cats
    )
    vpq = video_panoptic_quality(pred, psegs, gt, gsegs, cats, 1)
    for group in ("All", "Things", "Stuff"):
        assert vpq[group]["pq"] == pq[group]["pq"]
    assert vpq["per_class"] == pq["per_class"]


def test_vpq_id_switch_hand_case_and_areas_from_maps():
    gt = torch.ones(2, 2, 2, dtype=torch.long)
    gt[:, :, 1] = 2
    pred = gt.clone()
    pred[1][pred[1] == 2] = 3  # the thing's id switches in frame 1
    cats = [{"id": 0, "isthing": 0}, {"id": 1, "isthing": 1}]
    segs = [{"id": 1, "category_id": 0}, {"id": 2, "category_id": 1}, {"id": 3, "category_id": 1}]
    gsegs = [{"id": 1, "category_id": 0, "area": 999}, {"id": 2, "category_id": 1, "area": 999}]
    one = video_panoptic_quality(pred, segs, gt, gsegs, cats, 1)
    two = video_panoptic_quality(pred, segs, gt, gsegs, cats, 2)
    assert one["Things"]["pq"] == 1.0  # every frame is right on its own (the 'area' keys are ignored)
    # window 2: tube 2 covers half the gt tube (IoU 0.5, not > 0.5): 1 FN and 2 FPs for the thing
    assert two["per_class"][1]["tp"] == 0 and two["per_class"][1]["fn"] == 1 and two["per_class"][1]["fp"] == 2
    assert two["Stuff"]["pq"] == 1.0
    # per-frame segment lists give the same result
    per_frame = [[segs[0], segs[1]], [segs[0], segs[2]]]
    assert video_panoptic_quality(pred, per_frame, gt, gsegs, cats, 2)["All"] == two["All"]


def test_vpq_bad_inputs():
    pred, psegs, gt, gsegs, cats = _random_clip(0)
    with pytest.raises(ValueError, match="window"):
        video_panoptic_quality(pred, psegs, gt, gsegs, cats, 6)
    with pytest.raises(TypeError, match="window"):
        video_panoptic_quality(pred, psegs, gt, gsegs, cats, 1.0)
    with pytest.raises(ValueError, match="gt"):
        video_panoptic_quality(pred, psegs, gt[:, :5], gsegs, cats, 1)
    with pytest.raises(TypeError, match="pred"):
        video_panoptic_quality(pred.float(), psegs, gt, gsegs, cats, 1)
    with pytest.raises(ValueError, match="pred: frame 0 has segment ids"):
        video_panoptic_quality(pred, psegs[:2], gt, gsegs, cats, 1)
    with pytest.raises(ValueError, match="pred_segments: expected one segment list per frame"):
        video_panoptic_quality(pred, [psegs] * 3, gt, gsegs, cats, 1)
    with pytest.raises(ValueError, match="segment ids must be >= 0"):
        video_panoptic_quality(pred - 20, psegs, gt, gsegs, cats, 1)


def test_vpq_lives_in_its_own_module_and_is_re_exported():
    import lessons.video
    import lessons.video_quality

    assert lessons.video.video_panoptic_quality is lessons.video_quality.video_panoptic_quality
    assert lessons.video.tube_iou is lessons.video_quality.tube_iou

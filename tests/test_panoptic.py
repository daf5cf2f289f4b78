"""Tests for lessons.panoptic: UPSNet's panoptic logits, the merges, and Panoptic Quality."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from lessons.panoptic import (
    crop_thing_logits,
    heuristic_merge,
    mask_removal,
    panoptic_from_logits,
    panoptic_quality,
    paste_mask_logits,
    unknown_logits,
    upsnet_inference,
    upsnet_panoptic_logits,
)

# ---------------------------------------------------------------------------------------------
# independent references
# ---------------------------------------------------------------------------------------------


def bilinear_resize_np(src: np.ndarray, h: int, w: int) -> np.ndarray:
    """Bilinear resize with half-pixel centres (align_corners=False), written out per pixel."""
    sh, sw = src.shape
    out = np.zeros((h, w))
    for i in range(h):
        for j in range(w):
            y = max((i + 0.5) * sh / h - 0.5, 0.0)
            x = max((j + 0.5) * sw / w - 0.5, 0.0)
            y0, x0 = min(int(math.floor(y)), sh - 1), min(int(math.floor(x)), sw - 1)
            y1, x1 = min(y0 + 1, sh - 1), min(x0 + 1, sw - 1)
            ly, lx = y - y0, x - x0
            out[i, j] = (
                (1 - ly) * (1 - lx) * src[y0, x0]
                + (1 - ly) * lx * src[y0, x1]
                + ly * (1 - lx) * src[y1, x0]
                + ly * lx * src[y1, x1]
            )
    return out


def paste_reference(mask: np.ndarray, box, height: int, width: int) -> np.ndarray:
    """UPSNet MaskTerm on the inclusive box (x2 - 1, y2 - 1), per pixel."""
    x1, y1, x2, y2 = box[0], box[1], box[2] - 1, box[3] - 1
    a, b, c, d = int(x1), int(y1), int(x2), int(y2)
    h, w = max(d - b + 1, 1), max(c - a + 1, 1)
    resized = bilinear_resize_np(mask, h, w)
    out = np.zeros((height, width))
    for r in range(height):
        for col in range(width):
            if b <= r <= d and a <= col <= c:  # UPSNet writes rows b..d, cols a..c (maybe none)
                out[r, col] = resized[r - b, col - a]
    return out


def slow_pq(preds, pred_segs_list, gts, gt_segs_list, categories):
    """panopticapi's algorithm, one boolean mask per segment pair, in NumPy."""
    isthing = {c["id"]: bool(c["isthing"]) for c in categories}
    tp = {c: 0 for c in isthing}
    fp = dict(tp)
    fn = dict(tp)
    iou_sum = {c: 0.0 for c in isthing}
    for pred, pred_segs, gt, gt_segs in zip(preds, pred_segs_list, gts, gt_segs_list):
        pred, gt = np.asarray(pred), np.asarray(gt)
        void = gt == 0
        p_area = {s["id"]: int((pred == s["id"]).sum()) for s in pred_segs}
        g_area = {s["id"]: int(s.get("area", (gt == s["id"]).sum())) for s in gt_segs}
        gm, pm = set(), set()
        for g in gt_segs:
            if g.get("iscrowd", 0):
                continue
            for p in pred_segs:
                if p["category_id"] != g["category_id"]:
                    continue
                inter = int(((gt == g["id"]) & (pred == p["id"])).sum())
                if inter == 0:
                    continue
                union = p_area[p["id"]] + g_area[g["id"]] - inter - int(((pred == p["id"]) & void).sum())
                if inter / union > 0.5:
                    tp[g["category_id"]] += 1
                    iou_sum[g["category_id"]] += inter / union
                    gm.add(g["id"])
                    pm.add(p["id"])
        crowd = {}
        for g in gt_segs:
            if g["id"] in gm:
                continue
            if g.get("iscrowd", 0):
                crowd[g["category_id"]] = g["id"]
            else:
                fn[g["category_id"]] += 1
        for p in pred_segs:
            if p["id"] in pm:
                continue
            ignored = int(((pred == p["id"]) & void).sum())
            if p["category_id"] in crowd:
                ignored += int(((pred == p["id"]) & (gt == crowd[p["category_id"]])).sum())
            if ignored / p_area[p["id"]] > 0.5:
                continue
            fp[p["category_id"]] += 1
    per = {}
    for c in isthing:
        den = tp[c] + fp[c] / 2 + fn[c] / 2
        per[c] = (iou_sum[c] / den if den else 0.0, iou_sum[c] / tp[c] if tp[c] else 0.0, tp[c] / den if den else 0.0)
    means = {}
    for group, want in (("All", None), ("Things", True), ("Stuff", False)):
        cs = [c for c in isthing if (want is None or isthing[c] == want) and tp[c] + fp[c] + fn[c] > 0]
        means[group] = tuple(sum(per[c][k] for c in cs) / len(cs) if cs else float("nan") for k in range(3))
    return per, means, (tp, fp, fn)


def random_panoptic_pair(rng: np.random.Generator, h: int = 8, w: int = 9):
    """A blocky ground truth, a prediction that perturbs it, and random categories and crowds."""
    n_gt = int(rng.integers(1, 6))
    coarse = rng.integers(0, n_gt + 1, size=(3, 3))  # 0 = void
    gt = np.kron(coarse, np.ones((3, 3), dtype=np.int64))[:h, :w]
    gt = np.pad(gt, ((0, max(0, h - gt.shape[0])), (0, max(0, w - gt.shape[1]))), mode="edge")
    pred = gt.copy()
    flip = rng.random((h, w)) < rng.uniform(0.0, 0.5)
    pred[flip] = rng.integers(0, n_gt + 2, size=int(flip.sum()))
    perm = rng.permutation(n_gt + 2)  # relabel predicted ids, keep 0 = void
    perm = perm[perm != 0]
    pred = np.where(pred > 0, perm[np.clip(pred - 1, 0, len(perm) - 1)] + 10, 0)
    cats = [{"id": c, "isthing": int(c >= 2)} for c in range(4)]
    gt_segs = [
        {"id": int(i), "category_id": int(rng.integers(0, 4)), "iscrowd": int(rng.random() < 0.2)}
        for i in np.unique(gt)
        if i != 0
    ]
    pred_segs = [{"id": int(i), "category_id": int(rng.integers(0, 4))} for i in np.unique(pred) if i != 0]
    # make a good share of the categories agree so that matches happen
    cat_of_gt = {s["id"]: s["category_id"] for s in gt_segs}
    for s in pred_segs:
        src = np.bincount(gt[pred == s["id"]], minlength=1)
        best = int(src.argmax())
        if best in cat_of_gt and rng.random() < 0.8:
            s["category_id"] = cat_of_gt[best]
    return torch.from_numpy(pred), pred_segs, torch.from_numpy(gt), gt_segs, cats


# ---------------------------------------------------------------------------------------------
# A 1 x 4 example worked by hand: channels [S0, S1, T0, T1], one instance of class 2 over pixels 1..2
# ---------------------------------------------------------------------------------------------

# channels [S0, S1, T0, T1] per pixel: px0 = [2,0,1,0], px1 = [0,0,3,1], px2 = [0,1,.5,2], px3 = [0,0,4,0]
X14 = torch.tensor([[2.0, 0, 1, 0], [0, 0, 3, 1], [0, 1, 0.5, 2], [0, 0, 4, 0]]).T[:, None, :]  # (4, 1, 4)
MASK14 = torch.tensor([[[2.0, -1.0]]])  # (1, 1, 2): pastes to (0, 2, -1, 0) on a box over px1..px2
BOX14 = torch.tensor([[1.0, 0.0, 3.0, 1.0]])
LABEL14 = torch.tensor([2])


def test_references_1x4_channels():
    pasted = paste_mask_logits(MASK14, BOX14, (1, 4))
    assert torch.equal(pasted[0, 0], torch.tensor([0.0, 2.0, -1.0, 0.0]))
    y_c = crop_thing_logits(X14, BOX14, LABEL14, num_stuff=2)
    assert torch.equal(y_c[0, 0], torch.tensor([0.0, 3.0, 0.5, 0.0]))
    z = upsnet_panoptic_logits(X14, MASK14, BOX14, LABEL14, num_stuff=2)
    assert z.shape == (4, 1, 4)
    assert torch.equal(z[2, 0], torch.tensor([0.0, 5.0, -0.5, 0.0]))  # Y = Yc + X_mask
    assert torch.equal(z[3, 0], torch.tensor([1.0, 0.0, 1.5, 4.0]))  # unknown = max T - max Yc
    assert torch.equal(z.argmax(0)[0], torch.tensor([0, 2, 3, 3]))  # S0, instance, void, void


def test_references_1x4_panoptic_map():
    z = upsnet_panoptic_logits(X14, MASK14, BOX14, LABEL14, num_stuff=2)
    pan, segs = panoptic_from_logits(z, LABEL14, num_stuff=2, scores=torch.tensor([0.9]))
    assert pan[0].tolist() == [1, 2, 0, 0]
    assert segs == [
        {"id": 1, "area": 1, "category_id": 0, "isthing": False},
        {"id": 2, "area": 1, "category_id": 2, "isthing": True, "instance_id": 0, "score": pytest.approx(0.9)},
    ]
    # without the unknown channel the void pixels must go somewhere: px2 to S1, and px3 ties at 0
    # between S0, S1 and the instance (outside its box), so argmax takes the lowest channel, S0
    z0 = upsnet_panoptic_logits(X14, MASK14, BOX14, LABEL14, num_stuff=2, void=False)
    assert z0.shape == (3, 1, 4)
    pan0, segs0 = panoptic_from_logits(z0, LABEL14, num_stuff=2, void=False)
    assert [s["category_id"] for s in segs0] == [0, 1, 2]
    assert pan0[0].tolist() == [1, 3, 2, 1]


# ---------------------------------------------------------------------------------------------
# pasting and cropping
# ---------------------------------------------------------------------------------------------


def test_paste_upsample_hand_values():
    # 1 x 2 -> 1 x 4 with half-pixel centres: [a, .75a + .25b, .25a + .75b, b]
    pasted = paste_mask_logits(torch.tensor([[[0.0, 4.0]]]), torch.tensor([[0.0, 0.0, 4.0, 1.0]]), (1, 4))
    assert torch.allclose(pasted[0, 0], torch.tensor([0.0, 1.0, 3.0, 4.0]))


def test_paste_fractional_box_truncates_like_upsnet():
    # continuous (2.3, 3.2, 6.6, 5.5) -> inclusive (2.3, 3.2, 5.6, 4.5) -> ints (2, 3, 5, 4)
    pasted = paste_mask_logits(torch.ones(1, 28, 28), torch.tensor([[2.3, 3.2, 6.6, 5.5]]), 10)
    rows, cols = pasted[0].nonzero().unbind(1)
    assert (rows.min(), rows.max(), cols.min(), cols.max()) == (3, 4, 2, 5)
    assert torch.allclose(pasted[0, 3:5, 2:6], torch.ones(2, 4))


def test_crop_fractional_box_rounds_far_edge_like_upsnet():
    # SegTerm: x0 = int(2.3) = 2, x1 = round(5.6) + 1 = 7; y0 = 3, y1 = round(4.5) + 1 = 5 (half to even)
    sem = torch.arange(3 * 10 * 10, dtype=torch.float32).view(3, 10, 10) + 1
    y_c = crop_thing_logits(sem, torch.tensor([[2.3, 3.2, 6.6, 5.5]]), torch.tensor([2]), num_stuff=1)
    inside = torch.zeros(10, 10, dtype=torch.bool)
    inside[3:5, 2:7] = True
    assert torch.equal(y_c[0] != 0, inside)
    assert torch.equal(y_c[0][inside], sem[2][inside])


def test_paste_matches_loop_reference_on_random_boxes():
    g = torch.Generator().manual_seed(0)
    for _ in range(20):
        m = int(torch.randint(1, 7, (1,), generator=g))
        mask = torch.randn(2, m, m + 1, generator=g, dtype=torch.float64)
        xy = torch.rand(2, 2, generator=g, dtype=torch.float64) * 12 - 2
        wh = torch.rand(2, 2, generator=g, dtype=torch.float64) * 9
        boxes = torch.cat([xy, xy + wh], dim=1)
        got = paste_mask_logits(mask, boxes, (11, 13))
        for i in range(2):
            want = paste_reference(mask[i].numpy(), boxes[i].tolist(), 11, 13)
            np.testing.assert_allclose(got[i].numpy(), want, atol=1e-12)


def test_paste_box_partly_outside_and_tiny_box():
    pasted = paste_mask_logits(torch.full((1, 4, 4), 3.0), torch.tensor([[-2.0, -2.0, 2.0, 2.0]]), (5, 5))
    assert torch.equal(pasted[0] != 0, torch.nn.functional.pad(torch.ones(2, 2), (0, 3, 0, 3)).bool())
    tiny = paste_mask_logits(torch.full((1, 4, 4), 3.0), torch.tensor([[1.2, 1.2, 2.4, 2.4]]), (4, 4))
    assert tiny[0, 1, 1] == 3.0 and int((tiny != 0).sum()) == 1
    # narrower than a pixel: the inclusive box (1.2, 1.2, 0.4, 0.4) truncates to an empty region
    empty = paste_mask_logits(torch.full((1, 4, 4), 3.0), torch.tensor([[1.2, 1.2, 1.4, 1.4]]), (4, 4))
    assert not bool(empty.any())


def test_gradients_flow_to_both_heads():
    sem = torch.randn(3, 3, 4, dtype=torch.float64, requires_grad=True)
    mask = torch.randn(2, 2, 2, dtype=torch.float64, requires_grad=True)
    boxes = torch.tensor([[0.5, 0.5, 3.0, 2.0], [1.0, 1.0, 4.0, 3.0]], dtype=torch.float64)
    labels = torch.tensor([1, 2])
    torch.autograd.gradcheck(lambda s, m: upsnet_panoptic_logits(s, m, boxes, labels, num_stuff=1), (sem, mask))


# ---------------------------------------------------------------------------------------------
# the unknown channel
# ---------------------------------------------------------------------------------------------


def test_unknown_matches_formula_written_out():
    g = torch.Generator().manual_seed(1)
    sem = torch.randn(5, 6, 7, generator=g)
    boxes = torch.tensor([[0.0, 0.0, 4.0, 4.0], [2.0, 2.0, 7.0, 6.0], [1.0, 3.0, 3.0, 6.0]])
    labels = torch.tensor([2, 4, 3])
    y_c = crop_thing_logits(sem, boxes, labels, num_stuff=2)
    got = unknown_logits(sem, y_c, num_stuff=2)
    for r in range(6):
        for c in range(7):
            things = max(sem[k, r, c].item() for k in (2, 3, 4))
            inst = []
            for (x1, y1, x2, y2), lab in zip(boxes.tolist(), labels.tolist()):
                inside = int(x1) <= c <= round(x2 - 1) and int(y1) <= r <= round(y2 - 1)
                inst.append(sem[lab, r, c].item() if inside else 0.0)  # zeros outside count
            assert got[r, c].item() == pytest.approx(things - max(inst))


def test_unknown_inside_single_box_is_not_clamped_at_zero():
    sem = torch.tensor([[[0.0]], [[-3.0]], [[-1.0]]])  # one stuff, two things; thing logits negative
    y_c = crop_thing_logits(sem, torch.tensor([[0.0, 0.0, 1.0, 1.0]]), torch.tensor([1]), num_stuff=1)
    assert unknown_logits(sem, y_c, num_stuff=1).item() == pytest.approx(-1.0 - (-3.0))


def test_no_instances():
    sem = torch.randn(3, 4, 5)
    z = upsnet_panoptic_logits(
        sem, torch.zeros(0, 28, 28), torch.zeros(0, 4), torch.zeros(0, dtype=torch.long), num_stuff=1
    )
    assert z.shape == (2, 4, 5)
    assert torch.equal(z[1], sem[1:].max(0).values)  # instance maximum taken as 0
    pan, segs = panoptic_from_logits(z, torch.zeros(0, dtype=torch.long), num_stuff=1)
    assert all(not s["isthing"] for s in segs)


# ---------------------------------------------------------------------------------------------
# UPSNet mask removal and inference
# ---------------------------------------------------------------------------------------------


def _box_masks(boxes, size=(6, 10)):
    """Mask logits that are +5 on the whole box (so each pasted mask is exactly its box)."""
    return torch.full((len(boxes), 4, 4), 5.0), torch.tensor(boxes, dtype=torch.float32)


def test_mask_removal_same_class_overlap_and_empty():
    # box 0: cols 0..3 (24 px); box 1: cols 2..5 overlaps 2/4 = 0.5 > 0.3; box 2 like 1 but another class
    # box 3: cols 7..9 overlaps box 0 by 0; box 4 has all-negative logits (empty mask)
    logits, boxes = _box_masks([[0, 0, 4, 6], [2, 0, 6, 6], [2, 0, 6, 6], [7, 0, 10, 6], [7, 0, 10, 6]])
    logits[4] = -1.0
    labels = torch.tensor([3, 3, 4, 3, 3])
    scores = torch.tensor([0.9, 0.8, 0.7, 0.6, 0.95])
    keep = mask_removal(logits, boxes, labels, scores, (6, 10))
    assert keep.tolist() == [0, 2, 3]


def test_mask_removal_threshold_is_strict():
    # overlap exactly 3/10 = 0.3 is kept, 4/10 is dropped
    logits, boxes = _box_masks([[0, 0, 3, 1], [0, 0, 10, 1]], size=(1, 10))
    assert mask_removal(logits, boxes, torch.tensor([2, 2]), torch.tensor([0.9, 0.8]), (1, 10)).tolist() == [0, 1]
    logits, boxes = _box_masks([[0, 0, 4, 1], [0, 0, 10, 1]], size=(1, 10))
    assert mask_removal(logits, boxes, torch.tensor([2, 2]), torch.tensor([0.9, 0.8]), (1, 10)).tolist() == [0]


def test_upsnet_inference_filters_scores_and_reports_input_indices():
    sem = torch.zeros(3, 6, 10)
    sem[0] = 1.0  # stuff everywhere
    sem[2, :, 6:] = 4.0  # a thing on the right
    logits, boxes = _box_masks([[6, 0, 10, 6], [0, 0, 3, 3]])
    labels = torch.tensor([2, 2])
    pan, segs = upsnet_inference(sem, logits, boxes, labels, torch.tensor([0.55, 0.9]), num_stuff=2)
    things = [s for s in segs if s["isthing"]]
    assert [s["instance_id"] for s in things] == [1]  # 0.55 <= 0.6 dropped
    assert torch.equal(pan == things[0]["id"], pan == pan[0, 0])
    # the right half: thing logit 4 but no instance kept there -> unknown -> void
    assert bool((pan[:, 6:] == 0).all())
    pan2, segs2 = upsnet_inference(sem, logits, boxes, labels, torch.tensor([0.65, 0.9]), num_stuff=2)
    assert sorted(s["instance_id"] for s in segs2 if s["isthing"]) == [0, 1]
    assert bool((pan2[:, 6:] != 0).all())


# ---------------------------------------------------------------------------------------------
# panoptic_from_logits
# ---------------------------------------------------------------------------------------------


def test_stuff_area_thresh_turns_small_stuff_into_void():
    z = torch.zeros(3, 2, 5)
    z[0, :, :4] = 1.0  # stuff 0: 8 px
    z[1, :, 4] = 1.0  # stuff 1: 2 px
    pan, segs = panoptic_from_logits(z, torch.zeros(0, dtype=torch.long), num_stuff=2, void=True, stuff_area_thresh=3)
    assert [s["category_id"] for s in segs] == [0]
    assert bool((pan[:, 4] == 0).all()) and bool((pan[:, :4] == 1).all())


@settings(max_examples=25, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    num_stuff=st.integers(0, 3),
    n=st.integers(0, 4),
    void=st.booleans(),
)
def test_every_pixel_gets_exactly_one_segment(seed, num_stuff, n, void):
    assume(num_stuff + n + int(void) > 0)
    g = torch.Generator().manual_seed(seed)
    num_things = 2
    sem = torch.randn(num_stuff + num_things, 9, 11, generator=g) * 3
    xy = torch.rand(n, 2, generator=g) * 9
    boxes = torch.cat([xy, xy + 1 + torch.rand(n, 2, generator=g) * 6], 1)
    labels = torch.randint(num_stuff, num_stuff + num_things, (n,), generator=g)
    mask = torch.randn(n, 5, 5, generator=g) * 3
    z = upsnet_panoptic_logits(sem, mask, boxes, labels, num_stuff=num_stuff, void=void)
    assert z.shape[0] == num_stuff + n + int(void)
    pan, segs = panoptic_from_logits(z, labels, num_stuff=num_stuff, void=void)
    ids = [s["id"] for s in segs]
    assert len(ids) == len(set(ids)) and 0 not in ids
    assert set(pan.unique().tolist()) - {0} == set(ids)  # every listed id is present, no stray ids
    assert sum(s["area"] for s in segs) + int((pan == 0).sum()) == pan.numel()
    for s in segs:
        assert int((pan == s["id"]).sum()) == s["area"]
    winner = z.argmax(0)
    assert torch.equal(pan == 0, winner == z.shape[0] - 1) if void else not bool((pan == 0).any())
    # heuristic merge on the same inputs: ids unique, never overlapping, areas consistent
    hpan, hsegs = heuristic_merge(
        sem.argmax(0),
        paste_mask_logits(mask, boxes, (9, 11)) > 0,
        labels,
        torch.rand(n, generator=g),
        num_stuff=num_stuff,
        stuff_area_thresh=3,
    )
    hids = [s["id"] for s in hsegs]
    assert len(hids) == len(set(hids)) and set(hpan.unique().tolist()) - {0} == set(hids)
    for s in hsegs:
        assert int((hpan == s["id"]).sum()) == s["area"]


# ---------------------------------------------------------------------------------------------
# detectron2's heuristic merge
# ---------------------------------------------------------------------------------------------


def test_heuristic_merge_breaks_at_first_low_score():
    sem = torch.zeros(4, 6, dtype=torch.long)
    masks = torch.zeros(3, 4, 6, dtype=torch.bool)
    masks[0, :, 0:2] = masks[1, :, 2:4] = masks[2, :, 4:6] = True
    pan, segs = heuristic_merge(
        sem, masks, torch.tensor([1, 1, 1]), torch.tensor([0.9, 0.49, 0.8]), num_stuff=1, stuff_area_thresh=0
    )
    things = [s for s in segs if s["isthing"]]
    assert [s["instance_id"] for s in things] == [0, 2]  # sorted 0.9, 0.8, then 0.49 stops the loop
    assert [s["id"] for s in things] == [1, 2]
    assert bool((pan[:, 2:4] == 3).all())  # instance 1's pixels went to stuff class 0 (id 3)
    assert segs[-1] == {"id": 3, "category_id": 0, "isthing": False, "area": 8}


def test_heuristic_merge_overlap_rule():
    sem = torch.ones(1, 8, dtype=torch.long)  # all "thing" in the semantic map (num_stuff=1)
    masks = torch.zeros(3, 1, 8, dtype=torch.bool)
    masks[0, 0, 0:4] = True
    masks[1, 0, 2:6] = True  # overlap 2/4 = 0.5: not > 0.5, kept with its free pixels only
    masks[2, 0, 1:5] = True  # overlap 4/4 with 0 and 1: skipped
    pan, segs = heuristic_merge(sem, masks, torch.tensor([1, 1, 1]), torch.tensor([0.9, 0.8, 0.7]), num_stuff=1)
    assert pan[0].tolist() == [1, 1, 1, 1, 2, 2, 0, 0]
    assert [(s["instance_id"], s["area"]) for s in segs] == [(0, 4), (1, 2)]


def test_heuristic_merge_stuff_area_4096_kept_4095_dropped():
    for thing_px, kept in ((64, True), (65, False)):
        sem = torch.zeros(64, 65, dtype=torch.long)  # 4160 px
        sem.view(-1)[:thing_px] = 1
        pan, segs = heuristic_merge(
            sem,
            torch.zeros(0, 64, 65, dtype=torch.bool),
            torch.zeros(0, dtype=torch.long),
            torch.zeros(0),
            num_stuff=1,
        )
        assert (len(segs) == 1) is kept
        assert int((pan > 0).sum()) == (4096 if kept else 0)


def test_heuristic_merge_empty_mask_skipped_and_thing_pixels_stay_void():
    sem = torch.tensor([[0, 0, 2, 2]])
    masks = torch.zeros(2, 1, 4, dtype=torch.bool)
    masks[1, 0, 3] = True
    pan, segs = heuristic_merge(
        sem, masks, torch.tensor([2, 2]), torch.tensor([0.99, 0.6]), num_stuff=2, stuff_area_thresh=1
    )
    assert pan[0].tolist() == [2, 2, 0, 1]
    assert [s.get("instance_id") for s in segs] == [1, None]


# ---------------------------------------------------------------------------------------------
# Panoptic Quality
# ---------------------------------------------------------------------------------------------


def _references_pq_case():
    gt = torch.zeros(4, 6, dtype=torch.long)
    gt[1:, :3] = 1
    gt[1:, 3:] = 2
    pred = torch.full((4, 6), 6)
    pred[:, :4] = 5
    pred[3, 5] = 0
    gt_segs = [{"id": 1, "category_id": 1, "area": 9}, {"id": 2, "category_id": 2, "area": 9}]
    pred_segs = [{"id": 5, "category_id": 1}, {"id": 6, "category_id": 2}]
    cats = [{"id": 1, "isthing": 1}, {"id": 2, "isthing": 0}]
    return pred, pred_segs, gt, gt_segs, cats


def test_pq_references_case():
    r = panoptic_quality(*_references_pq_case())
    assert r["per_class"][1]["pq"] == pytest.approx(0.75)
    assert r["per_class"][1]["sq"] == pytest.approx(0.75)
    assert r["per_class"][1]["rq"] == pytest.approx(1.0)
    assert r["per_class"][2]["pq"] == pytest.approx(5 / 9)
    assert r["Things"]["pq"] == pytest.approx(0.75) and r["Stuff"]["pq"] == pytest.approx(5 / 9)
    assert r["All"]["pq"] == pytest.approx((0.75 + 5 / 9) / 2) and r["All"]["n"] == 2


def test_pq_iou_exactly_half_does_not_match():
    gt = torch.tensor([[1, 1, 0, 0]])
    pred = torch.tensor([[7, 7, 7, 7]])
    gt = torch.tensor([[1, 1, 2, 2]])  # IoU(7, 1) = 2 / 4 = 0.5
    cats = [{"id": 0, "isthing": 1}, {"id": 1, "isthing": 1}]
    r = panoptic_quality(
        pred, [{"id": 7, "category_id": 0}], gt, [{"id": 1, "category_id": 0}, {"id": 2, "category_id": 1}], cats
    )
    assert (r["per_class"][0]["tp"], r["per_class"][0]["fp"], r["per_class"][0]["fn"]) == (0, 1, 1)
    assert r["per_class"][0]["pq"] == 0.0


def test_pq_void_rules():
    cats = [{"id": 0, "isthing": 1}]
    # a false positive with 60 % of its area on void is ignored; with 40 % it counts
    gt = torch.tensor([[0, 0, 0, 1, 1, 1, 1, 1, 1, 1]])
    pred = torch.tensor([[3, 3, 3, 3, 3, 0, 0, 0, 0, 0]])  # 3 of 5 on void
    r = panoptic_quality(pred, [{"id": 3, "category_id": 0}], gt, [{"id": 1, "category_id": 0}], cats)
    assert (r["per_class"][0]["fp"], r["per_class"][0]["fn"]) == (0, 1)
    pred = torch.tensor([[0, 3, 3, 3, 3, 3, 0, 0, 0, 0]])  # 2 of 5 on void, IoU 3/7
    r = panoptic_quality(pred, [{"id": 3, "category_id": 0}], gt, [{"id": 1, "category_id": 0}], cats)
    assert (r["per_class"][0]["fp"], r["per_class"][0]["fn"]) == (1, 1)
    # void is removed from the union: IoU = 4 / (6 + 4 - 4 - 2) = 1 instead of 4 / 6
    gt = torch.tensor([[0, 0, 1, 1, 1, 1]])
    pred = torch.tensor([[3, 3, 3, 3, 3, 3]])
    r = panoptic_quality(pred, [{"id": 3, "category_id": 0}], gt, [{"id": 1, "category_id": 0}], cats)
    assert r["per_class"][0]["sq"] == pytest.approx(1.0)


def test_pq_crowd_rules():
    cats = [{"id": 0, "isthing": 1}, {"id": 1, "isthing": 1}]
    gt = torch.tensor([[5, 5, 5, 5, 6, 6]])
    gt_segs = [{"id": 5, "category_id": 0, "iscrowd": 1}, {"id": 6, "category_id": 0}]
    # a crowd region never gives FN; a same-category prediction mostly on it is not an FP
    pred = torch.tensor([[0, 1, 1, 1, 2, 2]])
    r = panoptic_quality(pred, [{"id": 1, "category_id": 0}, {"id": 2, "category_id": 0}], gt, gt_segs, cats)
    assert (r["per_class"][0]["tp"], r["per_class"][0]["fp"], r["per_class"][0]["fn"]) == (1, 0, 0)
    # a prediction of another category on the crowd region is an FP
    r = panoptic_quality(pred, [{"id": 1, "category_id": 1}, {"id": 2, "category_id": 0}], gt, gt_segs, cats)
    assert r["per_class"][1]["fp"] == 1 and r["All"]["n"] == 2


def test_pq_categories_without_segments_are_left_out_and_empty_group_is_nan():
    pred, pred_segs, gt, gt_segs, cats = _references_pq_case()
    cats = cats + [{"id": 9, "isthing": 1}]
    r = panoptic_quality(pred, pred_segs, gt, gt_segs, cats)
    assert r["Things"]["n"] == 1 and r["Things"]["pq"] == pytest.approx(0.75)
    assert r["per_class"][9] == {"pq": 0.0, "sq": 0.0, "rq": 0.0, "tp": 0, "fp": 0, "fn": 0, "iou": 0.0}
    r = panoptic_quality(pred, pred_segs, gt, gt_segs, [{"id": 1, "isthing": 1}, {"id": 2, "isthing": 1}])
    assert math.isnan(r["Stuff"]["pq"]) and r["Stuff"]["n"] == 0


def test_pq_gt_area_comes_from_the_segment_list():
    pred, pred_segs, gt, gt_segs, cats = _references_pq_case()
    gt_segs = [dict(gt_segs[0], area=12), gt_segs[1]]  # as panopticapi: the JSON area wins
    r = panoptic_quality(pred, pred_segs, gt, gt_segs, cats)
    assert r["per_class"][1]["sq"] == pytest.approx(9 / (16 + 12 - 9 - 4))


def test_pq_matches_slow_panopticapi_on_random_maps():
    rng = np.random.default_rng(0)
    matched = 0
    for trial in range(60):
        images = [random_panoptic_pair(rng) for _ in range(int(rng.integers(1, 4)))]
        cats = images[0][4]
        preds, pred_segs, gts, gt_segs = (list(x) for x in zip(*[im[:4] for im in images]))
        got = panoptic_quality(preds, pred_segs, gts, gt_segs, cats)
        per, means, (tp, fp, fn) = slow_pq(preds, pred_segs, gts, gt_segs, cats)
        for c in per:
            assert (got["per_class"][c]["tp"], got["per_class"][c]["fp"], got["per_class"][c]["fn"]) == (
                tp[c],
                fp[c],
                fn[c],
            )
            for k, key in enumerate(("pq", "sq", "rq")):
                assert got["per_class"][c][key] == pytest.approx(per[c][k], abs=1e-12)
        for group in ("All", "Things", "Stuff"):
            for k, key in enumerate(("pq", "sq", "rq")):
                assert got[group][key] == pytest.approx(means[group][k], abs=1e-12, nan_ok=True)
        matched += sum(tp.values())
    assert matched > 30  # the random maps do produce matches, so the IoU path is exercised


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 2**31 - 1))
def test_pq_equals_sq_times_rq_and_is_bounded(seed):
    rng = np.random.default_rng(seed)
    pred, pred_segs, gt, gt_segs, cats = random_panoptic_pair(rng)
    r = panoptic_quality(pred, pred_segs, gt, gt_segs, cats)
    for c, v in r["per_class"].items():
        assert v["pq"] == pytest.approx(v["sq"] * v["rq"], abs=1e-12)
        assert 0.0 <= v["pq"] <= 1.0 and 0.0 <= v["sq"] <= 1.0 and 0.0 <= v["rq"] <= 1.0
        if v["tp"]:
            assert v["sq"] > 0.5  # every match has IoU > 0.5


def test_pq_perfect_prediction_and_batch_tensor_input():
    pred, pred_segs, gt, gt_segs, cats = _references_pq_case()
    r = panoptic_quality(gt, gt_segs, gt, gt_segs, cats)
    assert r["All"]["pq"] == pytest.approx(1.0)
    both = panoptic_quality(
        torch.stack([pred, gt]), [pred_segs, gt_segs], torch.stack([gt, gt]), [gt_segs, gt_segs], cats
    )
    assert both["per_class"][1]["tp"] == 2 and both["per_class"][1]["iou"] == pytest.approx(1.75)


# ---------------------------------------------------------------------------------------------
# error paths
# ---------------------------------------------------------------------------------------------


def test_errors_panoptic_logits():
    sem = torch.randn(4, 5, 6)
    boxes = torch.tensor([[0.0, 0.0, 3.0, 3.0]])
    with pytest.raises(ValueError, match=r"labels: expected values in \[2, 4\)"):
        upsnet_panoptic_logits(sem, torch.zeros(1, 3, 3), boxes, torch.tensor([1]), num_stuff=2)
    with pytest.raises(ValueError, match="labels.*got labels\\[0\\] = 4"):
        upsnet_panoptic_logits(sem, torch.zeros(1, 3, 3), boxes, torch.tensor([4]), num_stuff=2)
    with pytest.raises(ValueError, match="num_stuff: expected 0 <= num_stuff < C = 4"):
        upsnet_panoptic_logits(sem, torch.zeros(1, 3, 3), boxes, torch.tensor([3]), num_stuff=4)
    with pytest.raises(TypeError, match="num_stuff: expected an int"):
        crop_thing_logits(sem, boxes, torch.tensor([3]), num_stuff=2.0)
    with pytest.raises(ValueError, match=r"boxes: expected shape \(1, 4\)"):
        upsnet_panoptic_logits(sem, torch.zeros(1, 3, 3), torch.zeros(2, 4), torch.tensor([3]), num_stuff=2)
    with pytest.raises(ValueError, match="labels: expected shape"):
        upsnet_panoptic_logits(sem, torch.zeros(1, 3, 3), boxes, torch.tensor([3, 3]), num_stuff=2)
    with pytest.raises(TypeError, match="labels: expected an integer tensor"):
        upsnet_panoptic_logits(sem, torch.zeros(1, 3, 3), boxes, torch.tensor([3.0]), num_stuff=2)
    with pytest.raises(ValueError, match="semantic_logits: expected a tensor of shape \\(C, H, W\\)"):
        upsnet_panoptic_logits(sem[None], torch.zeros(1, 3, 3), boxes, torch.tensor([3]), num_stuff=2)
    with pytest.raises(TypeError, match="semantic_logits: expected a floating-point tensor"):
        upsnet_panoptic_logits(sem.long(), torch.zeros(1, 3, 3), boxes, torch.tensor([3]), num_stuff=2)
    with pytest.raises(ValueError, match=r"boxes: expected x1 <= x2 and y1 <= y2 in every row, got row 0"):
        paste_mask_logits(torch.zeros(1, 3, 3), torch.tensor([[3.0, 0.0, 1.0, 3.0]]), 5)
    with pytest.raises(ValueError, match="boxes: expected finite"):
        paste_mask_logits(torch.zeros(1, 3, 3), torch.tensor([[0.0, 0.0, float("nan"), 3.0]]), 5)
    with pytest.raises(ValueError, match=r"cropped_thing_logits: expected shape \(N, 5, 6\)"):
        unknown_logits(sem, torch.zeros(1, 5, 7), num_stuff=2)


def test_errors_panoptic_from_logits_and_merge():
    with pytest.raises(ValueError, match=r"expected num_stuff \+ N \+ void = 2 \+ 1 \+ 1 = 4 channels, got 3"):
        panoptic_from_logits(torch.zeros(3, 2, 2), torch.tensor([2]), num_stuff=2)
    with pytest.raises(ValueError, match=r"= 3 channels, got 4"):
        panoptic_from_logits(torch.zeros(4, 2, 2), torch.tensor([2]), num_stuff=2, void=False)
    with pytest.raises(ValueError, match="nothing to assign"):
        panoptic_from_logits(torch.zeros(0, 2, 2), torch.zeros(0, dtype=torch.long), num_stuff=0, void=False)
    with pytest.raises(ValueError, match=r"masks: expected shape \(N, 4, 5\), like semantic_labels"):
        heuristic_merge(
            torch.zeros(4, 5, dtype=torch.long),
            torch.zeros(1, 4, 6, dtype=torch.bool),
            torch.tensor([1]),
            torch.tensor([0.9]),
            num_stuff=1,
        )
    with pytest.raises(ValueError, match="scores: expected shape"):
        heuristic_merge(
            torch.zeros(4, 5, dtype=torch.long),
            torch.zeros(1, 4, 5, dtype=torch.bool),
            torch.tensor([1]),
            torch.tensor([0.9, 0.1]),
            num_stuff=1,
        )
    with pytest.raises(TypeError, match="semantic_labels: expected an integer tensor"):
        heuristic_merge(
            torch.zeros(4, 5),
            torch.zeros(1, 4, 5, dtype=torch.bool),
            torch.tensor([1]),
            torch.tensor([0.9]),
            num_stuff=1,
        )


def test_errors_panoptic_quality():
    pred, pred_segs, gt, gt_segs, cats = _references_pq_case()
    with pytest.raises(
        ValueError, match=r"gt_panoptic: expected the same shape as pred_panoptic \(\(4, 6\)\), got \(4, 5\)"
    ):
        panoptic_quality(pred, pred_segs, gt[:, :5], gt_segs, cats)
    with pytest.raises(ValueError, match="pred_panoptic: segment id 6 appears in the map but not in pred_segments"):
        panoptic_quality(pred, pred_segs[:1], gt, gt_segs, cats)
    with pytest.raises(ValueError, match=r"pred_segments: segment ids \[8\] are listed but absent"):
        panoptic_quality(pred, pred_segs + [{"id": 8, "category_id": 1}], gt, gt_segs, cats)
    with pytest.raises(ValueError, match="gt_panoptic: segment id 2 appears in the map but not in gt_segments"):
        panoptic_quality(pred, pred_segs, gt, gt_segs[:1], cats)
    with pytest.raises(ValueError, match="pred_segments: segment 6 has category_id 7, which is not in categories"):
        panoptic_quality(pred, [pred_segs[0], {"id": 6, "category_id": 7}], gt, gt_segs, cats)
    with pytest.raises(ValueError, match="segment ids must be unique, got id 5 twice"):
        panoptic_quality(pred, pred_segs + [pred_segs[0]], gt, gt_segs, cats)
    with pytest.raises(ValueError, match="segment id 0 is reserved for void"):
        panoptic_quality(pred, pred_segs + [{"id": 0, "category_id": 1}], gt, gt_segs, cats)
    with pytest.raises(TypeError, match="pred_panoptic: expected an integer tensor"):
        panoptic_quality(pred.float(), pred_segs, gt, gt_segs, cats)
    with pytest.raises(ValueError, match="categories: every entry needs keys 'id' and 'isthing'"):
        panoptic_quality(pred, pred_segs, gt, gt_segs, [{"id": 1}])
    with pytest.raises(ValueError, match="pred_panoptic: got 2 maps but 1 segment lists"):
        panoptic_quality([pred, pred], [pred_segs], [gt, gt], [gt_segs, gt_segs], cats)
    with pytest.raises(ValueError, match=r"pred_panoptic\[1\]: segment id 6 appears in the map"):
        panoptic_quality([pred, pred], [pred_segs, pred_segs[:1]], [gt, gt], [gt_segs, gt_segs], cats)


# ---------------------------------------------------------------------------------------------
# exercise checks (notebook 04)
# ---------------------------------------------------------------------------------------------

from lessons.exercises import ExerciseFailure  # noqa: E402
from lessons.exercises.panoptic import (  # noqa: E402
    check_category_pq,
    check_paste_instance_logits,
    check_unknown_channel,
)


# independent answers to the three exercises, from the definitions (not the library itself)
def _paste_written_out(mask_logits, box, size):
    height, width = size
    out = paste_reference(mask_logits.double().numpy(), box.tolist(), height, width)
    return torch.from_numpy(out).to(mask_logits.dtype)


def _unknown_written_out(semantic_logits, cropped_thing_logits, num_stuff):
    _, height, width = semantic_logits.shape
    out = torch.empty(height, width, dtype=semantic_logits.dtype)
    for y in range(height):
        for x in range(width):
            thing = max(float(v) for v in semantic_logits[num_stuff:, y, x])
            inst = max((float(v) for v in cropped_thing_logits[:, y, x]), default=0.0)
            out[y, x] = thing - inst
    return out


def _category_pq_written_out(pred_panoptic, pred_segments, gt_panoptic, gt_segments, category_id):
    cats = {int(seg["category_id"]) for seg in list(pred_segments) + list(gt_segments)} | {int(category_id)}
    per, _, _ = slow_pq(
        [pred_panoptic.numpy()],
        [pred_segments],
        [gt_panoptic.numpy()],
        [gt_segments],
        [{"id": c, "isthing": 1} for c in sorted(cats)],
    )
    return per[int(category_id)]


def _stub(*args, **kwargs):
    raise NotImplementedError("Exercise 4.x: not attempted")


def _crash(*args, **kwargs):
    raise IndexError("oops")


@pytest.mark.parametrize(
    "check, reference",
    [
        (check_paste_instance_logits, _paste_written_out),
        (check_unknown_channel, _unknown_written_out),
        (check_category_pq, _category_pq_written_out),
    ],
)
def test_exercise_checks_pass_reference_stub_and_crash(check, reference, capsys):
    assert check(reference).passed
    assert "✅" in capsys.readouterr().out
    report = check(_stub)
    assert report.status == "not attempted" and "not attempted" in capsys.readouterr().out
    with pytest.raises(ExerciseFailure, match="your function raised IndexError"):
        check(_crash)


def test_exercise_4_1_rejects_plausible_mistakes():
    def rounded(mask_logits, box, size):  # rounds the box instead of truncating it
        return paste_mask_logits(mask_logits[None], box.round()[None], size)[0]

    def corners(mask_logits, box, size):  # align_corners=True
        h, w = size
        out = torch.zeros(h, w)
        x1, y1, x2, y2 = (int(v) for v in (box[0], box[1], box[2] - 1, box[3] - 1))
        m = torch.nn.functional.interpolate(
            mask_logits[None, None], size=(y2 - y1 + 1, x2 - x1 + 1), mode="bilinear", align_corners=True
        )[0, 0]
        ys, xs = slice(max(y1, 0), min(y2 + 1, h)), slice(max(x1, 0), min(x2 + 1, w))
        out[ys, xs] = m[ys.start - y1 : ys.stop - y1, xs.start - x1 : xs.stop - x1]
        return out

    def inclusive(mask_logits, box, size):  # forgets that x2, y2 are one past the last pixel
        return paste_mask_logits(mask_logits[None], (box + torch.tensor([0.0, 0, 1, 1]))[None], size)[0]

    with pytest.raises(ExerciseFailure, match="case 3 of .*fractional box"):
        check_paste_instance_logits(rounded)
    with pytest.raises(ExerciseFailure, match="case 2 of .*stretched"):
        check_paste_instance_logits(corners)
    with pytest.raises(ExerciseFailure, match="case 1 of .*land unchanged"):
        check_paste_instance_logits(inclusive)


def test_exercise_4_2_rejects_plausible_mistakes():
    def with_stuff(sem, cropped, num_stuff):  # max over all channels
        return sem.max(0).values - (cropped.max(0).values if len(cropped) else 0)

    def clamped(sem, cropped, num_stuff):  # clamps the instance term at 0
        inst = cropped.max(0).values.clamp_min(0) if len(cropped) else torch.zeros(sem.shape[1:])
        return sem[num_stuff:].max(0).values - inst

    def no_empty(sem, cropped, num_stuff):  # forgets N = 0
        return sem[num_stuff:].max(0).values - cropped.max(0).values

    with pytest.raises(ExerciseFailure, match="case 1 of .*hand-worked"):
        check_unknown_channel(with_stuff)
    with pytest.raises(ExerciseFailure, match="case 2 of .*negative"):
        check_unknown_channel(clamped)
    with pytest.raises(ExerciseFailure, match="(?s)case 5 of .*no detections.*raised IndexError"):
        check_unknown_channel(no_empty)


def test_exercise_4_3_rejects_plausible_mistakes():
    def pq_from(pred, pred_segs, gt, gt_segs, cat, *, geq=False, keep_void=False, void_fp=True):
        pcat = {s["id"]: s["category_id"] for s in pred_segs}
        gcat = {s["id"]: s["category_id"] for s in gt_segs}
        tp, iou_sum, pm, gm = 0, 0.0, set(), set()
        for g_id in gcat:
            for p_id in pcat:
                if gcat[g_id] != cat or pcat[p_id] != cat:
                    continue
                p, g = pred == p_id, gt == g_id
                inter = int((p & g).sum())
                union = int((p | g).sum()) - (0 if keep_void else int((p & (gt == 0)).sum()))
                iou = inter / union if union else 0.0
                if iou > 0.5 or (geq and iou >= 0.5):
                    tp, iou_sum = tp + 1, iou_sum + iou
                    pm.add(p_id)
                    gm.add(g_id)
        fn = sum(1 for g_id in gcat if gcat[g_id] == cat and g_id not in gm)
        fp = 0
        for p_id in pcat:
            if pcat[p_id] == cat and p_id not in pm:
                p = pred == p_id
                if void_fp or int((p & (gt == 0)).sum()) / int(p.sum()) <= 0.5:
                    fp += 1
        den = tp + fp / 2 + fn / 2
        return (iou_sum / den if den else 0.0, iou_sum / tp if tp else 0.0, tp / den if den else 0.0)

    correct = lambda *a: pq_from(*a, void_fp=False)  # noqa: E731
    assert check_category_pq(correct).passed  # the written-out algorithm agrees with the library
    with pytest.raises(ExerciseFailure, match="case 1 of .*hand-worked"):
        check_category_pq(lambda *a: pq_from(*a, keep_void=True, void_fp=False))
    with pytest.raises(ExerciseFailure, match="case 3 of .*exactly 0.5"):
        check_category_pq(lambda *a: pq_from(*a, geq=True, void_fp=False))
    with pytest.raises(ExerciseFailure, match="case 4 of .*void is not a false positive"):
        check_category_pq(lambda *a: pq_from(*a))


def test_upsnet_inference_checks_semantic_logits_once(monkeypatch):
    import lessons.panoptic as module

    seen = []
    original = module.check_floating

    def counting(name, value):
        seen.append(name)
        return original(name, value)

    monkeypatch.setattr(module, "check_floating", counting)
    g = torch.Generator().manual_seed(0)
    sem = torch.randn(5, 12, 14, generator=g)
    xy = torch.rand(3, 2, generator=g) * 6
    boxes = torch.cat([xy, xy + 2 + torch.rand(3, 2, generator=g) * 5], 1)
    upsnet_inference(
        sem,
        torch.randn(3, 6, 6, generator=g),
        boxes,
        torch.tensor([2, 3, 4]),
        torch.tensor([0.9, 0.8, 0.7]),
        num_stuff=2,
    )
    assert seen.count("semantic_logits") == 1  # at the door only: the steps after it run private cores
    assert seen.count("mask_logits") == 1 and seen.count("scores") == 1


def test_panoptic_quality_lives_in_its_own_module_and_is_re_exported():
    import lessons.panoptic
    import lessons.panoptic_quality

    assert lessons.panoptic.panoptic_quality is lessons.panoptic_quality.panoptic_quality
    assert lessons.panoptic.VOID == lessons.panoptic_quality.VOID == 0

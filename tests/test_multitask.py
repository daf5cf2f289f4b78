"""Tests for lessons.multitask (RetinaFace's anchors, coding, matching and loss) and for the face
boxes of lessons.data.faces.

References: torchvision's ``box_iou`` and ``box_convert``, and the loss of RetinaFace's Eq. 1
written out anchor by anchor with an explicit log-softmax and smooth-L1.
"""

from __future__ import annotations

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torchvision.ops import box_convert
from torchvision.ops import box_iou as tv_box_iou

from lessons.data.faces import FaceBoxes, make_face_boxes
from lessons.data.landmarks import make_landmark_faces
from lessons.multitask import (
    PAPER_WEIGHTS,
    TinyRetinaFace,
    best_detection,
    decode_boxes,
    decode_landmarks,
    encode_boxes,
    encode_landmarks,
    landmark_nme,
    make_anchors,
    match_anchors,
    retinaface_loss,
)

# ----------------------------------------------------------------------------- references


def smooth_l1(d):
    d = abs(d)
    return 0.5 * d * d if d < 1 else d - 0.5


def loss_loop(cls_logits, box, lm, labels, box_t, lm_t, weights=PAPER_WEIGHTS):
    """Eq. 1 of RetinaFace without the dense term, one anchor at a time."""
    cls_logits, box, lm = (x.reshape(-1, x.shape[-1]).double() for x in (cls_logits, box, lm))
    box_t, lm_t, labels = box_t.reshape(-1, 4).double(), lm_t.reshape(-1, 10).double(), labels.reshape(-1)
    ce, n_cls, l_box, l_pts, n_pos = 0.0, 0, 0.0, 0.0, 0
    for i in range(len(labels)):
        p = int(labels[i])
        if p < 0:
            continue
        z = cls_logits[i].tolist()
        ce += math.log(math.exp(z[0]) + math.exp(z[1])) - z[p]
        n_cls += 1
        if p == 1:  # p_i* = 1: the box and landmark terms count
            n_pos += 1
            l_box += sum(smooth_l1(float(box[i, j] - box_t[i, j])) for j in range(4))
            l_pts += sum(smooth_l1(float(lm[i, j] - lm_t[i, j])) for j in range(10))
    cls = ce / n_cls if n_cls else 0.0
    if n_pos == 0:
        return cls, cls, 0.0, 0.0
    b, p = weights[0] * l_box / n_pos, weights[1] * l_pts / n_pos
    return cls + b + p, cls, b, p


def random_batch(b=2, a=12, seed=0, dtype=torch.float32):
    g = torch.Generator().manual_seed(seed)
    labels = torch.randint(-1, 2, (b, a), generator=g)
    labels[0, 0] = 1
    return (
        torch.randn(b, a, 2, generator=g, dtype=dtype),
        torch.randn(b, a, 4, generator=g, dtype=dtype),
        torch.randn(b, a, 10, generator=g, dtype=dtype) * 2,
        labels,
        torch.randn(b, a, 4, generator=g, dtype=dtype),
        torch.randn(b, a, 10, generator=g, dtype=dtype) * 2,
    )


# ----------------------------------------------------------------------------- anchors and coding


def test_anchors_hand_case_and_loop():
    anchors = make_anchors((2, 3), 4, [8.0, 12.0])
    assert anchors.shape == (12, 4)
    k = 0
    for i in range(2):
        for j in range(3):
            for size in (8.0, 12.0):
                assert anchors[k].tolist() == [(j + 0.5) * 4 - 0.5, (i + 0.5) * 4 - 0.5, size, size]
                k += 1


def test_encode_boxes_is_the_formula_and_decode_inverts_it():
    g = torch.Generator().manual_seed(0)
    anchors = torch.cat([torch.rand(7, 2, generator=g) * 30, torch.rand(7, 2, generator=g) * 10 + 5], 1)
    xy = torch.rand(3, 7, 2, generator=g) * 20
    boxes = torch.cat([xy, xy + torch.rand(3, 7, 2, generator=g) * 15 + 1], -1)  # (3, 7, 4)
    cxcywh = box_convert(boxes.reshape(-1, 4), "xyxy", "cxcywh").reshape(3, 7, 4)
    want = torch.cat(
        [
            (cxcywh[..., :2] - anchors[:, :2]) / (0.1 * anchors[:, 2:]),
            torch.log(cxcywh[..., 2:] / anchors[:, 2:]) / 0.2,
        ],
        -1,
    )
    got = encode_boxes(boxes, anchors)
    assert torch.allclose(got, want, atol=1e-5)
    assert torch.allclose(decode_boxes(got, anchors), boxes, atol=1e-4)


def test_landmark_coding_hand_case_and_round_trip():
    anchors = torch.tensor([[5.0, 6.0, 10.0, 20.0]])
    lm = torch.tensor([[[6.0, 4.0], [0.0, 16.0]]])  # (A=1, L=2, 2)
    # ((6 - 5) / 1, (4 - 6) / 2, (0 - 5) / 1, (16 - 6) / 2)
    assert encode_landmarks(lm, anchors).tolist() == [[1.0, -1.0, -5.0, 5.0]]
    assert torch.allclose(decode_landmarks(encode_landmarks(lm, anchors), anchors), lm)


# ----------------------------------------------------------------------------- matching


def test_match_anchors_against_torchvision_iou_and_a_loop():
    anchors = make_anchors(6, 4, [8.0, 14.0])
    boxes = torch.tensor([[3.0, 2.0, 15.0, 13.0], [10.0, 9.0, 22.0, 23.0]])
    labels, matched = match_anchors(anchors, boxes)
    iou = tv_box_iou(box_convert(anchors, "cxcywh", "xyxy"), boxes)
    for a in range(len(anchors)):
        best = float(iou[a].max())
        want = 1 if best >= 0.5 else (0 if best < 0.3 else -1)
        if a in iou.argmax(0).tolist():
            want = 1
        assert int(labels[a]) == want
        if want == 1 and a not in iou.argmax(0).tolist():
            assert int(matched[a]) == int(iou[a].argmax())
    for g, a in enumerate(iou.argmax(0).tolist()):
        assert int(matched[a]) == g


def test_match_thresholds_at_the_boundary():
    # anchor 8x8 at (4, 4) = box (0, 0, 8, 8); a face (0, 0, 8, 16) has IoU exactly 64 / 128 = 0.5
    anchors = torch.tensor([[3.5, 3.5, 8.0, 8.0], [100.0, 100.0, 8.0, 8.0], [3.5, 3.5, 8.0, 8.0]])
    anchors[0, :2] = 4.0
    face = torch.tensor([[0.0, 0.0, 8.0, 16.0]])
    labels, _ = match_anchors(anchors[:2], face, pos_iou=0.5)
    assert labels.tolist() == [1, 0]  # IoU == 0.5 is positive (>=)
    # IoU exactly 0.3 is not negative (< 0.3): ignored, unless it is the face's best anchor
    face = torch.tensor([[0.0, 0.0, 8.0, 8.0]])
    exact = torch.tensor([[4.0, 4.0, 8.0, 8.0], [4.0, 4.0 + 8 * (1 - 0.6 / 1.3) / 1.0, 8.0, 8.0]])
    iou = tv_box_iou(box_convert(exact, "cxcywh", "xyxy"), face)[1, 0].item()
    assert iou == pytest.approx(0.3, abs=1e-6)
    labels, _ = match_anchors(exact, face, neg_iou=iou)
    assert labels.tolist() == [1, -1]


def test_no_face_makes_every_anchor_negative():
    labels, matched = match_anchors(make_anchors(2, 4, [8.0]), torch.zeros(0, 4))
    assert labels.tolist() == [0, 0, 0, 0] and matched.tolist() == [0, 0, 0, 0]


# ----------------------------------------------------------------------------- loss


@pytest.mark.parametrize("weights", [PAPER_WEIGHTS, (2.0, 1.0), (0.25, 0.0)])
def test_loss_matches_the_formula_written_out(weights):
    batch = random_batch()
    got = retinaface_loss(*batch, weights=weights)
    want = loss_loop(*batch, weights=weights)
    for g, w in zip(got, want):
        assert g.item() == pytest.approx(w, rel=1e-5, abs=1e-7)


def test_only_cls_counts_without_positives():
    cls, box, lm, labels, box_t, lm_t = random_batch()
    labels = labels.clamp(max=0)
    loss = retinaface_loss(cls, box, lm, labels, box_t, lm_t)
    assert loss.box.item() == 0.0 and loss.landmarks.item() == 0.0
    assert loss.total.item() == pytest.approx(loss.cls.item())
    assert not math.isnan(loss.total.item())


def test_doubling_the_landmark_loss_adds_a_tenth_of_the_change():
    cls, box, lm, labels, box_t, lm_t = random_batch(seed=3)
    lm_t = lm.clone()
    lm_t[labels == 1] += 0.3  # all errors below 1: smooth-L1 = 0.5 d^2, so d * sqrt(2) doubles it
    base = retinaface_loss(cls, box, lm, labels, box_t, lm_t)
    lm2 = lm_t.clone()
    lm2[labels == 1] -= 0.3 * math.sqrt(2)
    doubled = retinaface_loss(cls, box, lm2, labels, box_t, lm_t)
    raw = base.landmarks.item() / 0.1
    assert doubled.total.item() - base.total.item() == pytest.approx(0.1 * raw, rel=1e-4)


def test_loss_gradcheck_float64():
    cls, box, lm, labels, box_t, lm_t = random_batch(b=1, a=5, seed=1, dtype=torch.float64)

    def f(c, b, l):
        return retinaface_loss(c, b, l, labels, box_t, lm_t).total

    assert torch.autograd.gradcheck(f, tuple(t.clone().requires_grad_() for t in (cls, box, lm)))


@settings(max_examples=20, deadline=None)
@given(st.integers(0, 10_000))
def test_loss_ignores_the_order_of_anchors_and_the_batch_split(seed):
    batch = random_batch(b=2, a=6, seed=seed)
    perm = torch.randperm(12, generator=torch.Generator().manual_seed(seed))
    flat = tuple(t.reshape(12, *t.shape[2:])[perm] for t in batch)
    assert torch.allclose(retinaface_loss(*batch).total, retinaface_loss(*flat).total, rtol=1e-5)


# ----------------------------------------------------------------------------- model, detection, metric


def test_model_shapes_and_anchor_order():
    model = TinyRetinaFace(num_anchors=2, channels=8)
    cls, box, lm = model(torch.zeros(2, 1, 32, 32))
    assert cls.shape == (2, 128, 2) and box.shape == (2, 128, 4) and lm.shape == (2, 128, 10)
    # the box head's channel a*4 + c at cell (i, j) is anchor (i*8 + j)*2 + a
    features = model.backbone(torch.zeros(1, 1, 32, 32))
    raw = model.box_head(features)  # (1, 8, 8, 8)
    i, j, a, c = 3, 5, 1, 2
    assert raw[0, a * 4 + c, i, j].item() == pytest.approx(box[0, (i * 8 + j) * 2 + a, c].item())


def test_best_detection_and_nme_hand_cases():
    anchors = make_anchors(2, 4, [8.0])
    logits = torch.zeros(1, 4, 2)
    logits[0, 3, 1] = 5.0
    deltas = torch.zeros(1, 4, 4)
    deltas[0, 3, 0] = 1.0  # shift x by 0.1 * 8 = 0.8
    box, score, lm = best_detection(logits, deltas, torch.zeros(1, 4, 10), anchors)
    assert box[0].tolist() == pytest.approx([2.3, 1.5, 10.3, 9.5])
    assert score.item() == pytest.approx(math.exp(5) / (1 + math.exp(5)))
    assert lm[0].tolist() == [[5.5, 5.5]] * 5
    nme = landmark_nme(
        torch.tensor([[[3.0, 4.0], [0.0, 0.0]]]), torch.zeros(1, 2, 2), torch.tensor([[0.0, 0.0, 5.0, 20.0]])
    )
    assert nme.item() == pytest.approx((5 / 10 + 0) / 2)


# ----------------------------------------------------------------------------- face boxes


def test_face_boxes_are_the_landmark_faces_plus_tight_boxes():
    faces = make_face_boxes(16, seed=4)
    assert isinstance(faces, FaceBoxes)
    images, landmarks, _ = make_landmark_faces(16, seed=4)
    assert torch.equal(faces.images, images) and torch.equal(faces.landmarks, landmarks)
    inside = (faces.landmarks >= faces.boxes[:, None, :2]) & (faces.landmarks <= faces.boxes[:, None, 2:])
    assert bool(inside.all())


def test_face_box_is_tight_on_the_pixels():
    """Without noise the background is a plane: every pixel off the face (beyond the box) lies on it."""
    faces = make_face_boxes(8, noise=0.0, seed=2)
    h = w = 32
    ys, xs = torch.meshgrid(torch.arange(h, dtype=torch.float64), torch.arange(w, dtype=torch.float64), indexing="ij")
    for k in range(8):
        x1, y1, x2, y2 = faces.boxes[k].tolist()
        image = faces.images[k, 0].double()
        outside = (xs < x1 - 1) | (xs > x2 + 1) | (ys < y1 - 1) | (ys > y2 + 1)
        design = torch.stack([torch.ones_like(xs), xs, ys], -1)[outside]
        coef = torch.linalg.lstsq(design, image[outside][:, None]).solution
        assert (design @ coef - image[outside][:, None]).abs().max() < 1e-5
        # and the box is not loose: the face reaches within a pixel of every side
        face = (image - (torch.stack([torch.ones_like(xs), xs, ys], -1) @ coef)[..., 0]).abs() > 0.05
        cols, rows = xs[face], ys[face]
        assert cols.min() < x1 + 1.5 and cols.max() > x2 - 1.5 and rows.min() < y1 + 1.5 and rows.max() > y2 - 1.5


def test_blank_face_stays_off_the_face_box():
    plain = make_face_boxes(16, noise=0.0, seed=5)
    blank = make_face_boxes(16, noise=0.0, blank=True, seed=5)
    assert torch.equal(plain.boxes, blank.boxes) and torch.equal(plain.landmarks, blank.landmarks)
    changed = (plain.images != blank.images)[:, 0]
    ys, xs = torch.meshgrid(torch.arange(32.0), torch.arange(32.0), indexing="ij")
    for k in range(16):
        x1, y1, x2, y2 = plain.boxes[k].tolist()
        in_box = (xs >= x1) & (xs <= x2) & (ys >= y1) & (ys <= y2)
        assert not bool((changed[k] & in_box).any())
    assert changed.flatten(1).any(1).float().mean() > 0.8


def test_bad_inputs_name_the_argument():
    anchors = make_anchors(2, 4, [8.0])
    with pytest.raises(ValueError, match="anchors"):
        encode_boxes(torch.zeros(4, 4), torch.zeros(4, 3))
    with pytest.raises(ValueError, match="boxes"):
        encode_boxes(torch.tensor([[0.0, 0.0, 0.0, 4.0]] * 4), anchors)
    with pytest.raises(ValueError, match="boxes"):
        match_anchors(anchors, torch.tensor([[0.0, 0.0, math.nan, 4.0]]))
    with pytest.raises(ValueError, match="neg_iou"):
        match_anchors(anchors, torch.zeros(0, 4), neg_iou=0.6)
    batch = list(random_batch())
    with pytest.raises(ValueError, match="labels"):
        retinaface_loss(*batch[:3], batch[3].float().long() + 2, *batch[4:])
    with pytest.raises(ValueError, match="labels"):
        retinaface_loss(*batch[:3], batch[3].int(), *batch[4:])
    with pytest.raises(ValueError, match="landmark_deltas"):
        retinaface_loss(batch[0], batch[1], batch[2][..., :8], *batch[3:])
    with pytest.raises(ValueError, match="cls_logits"):
        retinaface_loss(batch[0][..., :1], *batch[1:])
    with pytest.raises(ValueError, match="weights"):
        retinaface_loss(*batch, weights=(0.25, -0.1))
    with pytest.raises(TypeError, match="sizes"):
        make_anchors(2, 4, 8.0)
    with pytest.raises(ValueError, match="boxes"):
        landmark_nme(torch.zeros(1, 5, 2), torch.zeros(1, 5, 2), torch.zeros(1, 4))
    with pytest.raises(ValueError, match="n"):
        make_face_boxes(0)
    with pytest.raises(TypeError, match="seed"):
        make_face_boxes(2, seed="0")

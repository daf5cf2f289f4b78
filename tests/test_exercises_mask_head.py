"""The checks of notebook 02's exercises: pass correct answers, say "not attempted" for the stub,
and name the classic mistake of each wrong answer."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from lessons.exercises import ExerciseFailure
from lessons.exercises.mask_head import check_gt_class_mask_loss, check_paste_mask, check_select_mask

# ---- 2.1 the loss ---------------------------------------------------------------------------------


def loss_correct(mask_logits, labels, mask_targets):
    if mask_targets.numel() == 0:
        return mask_logits.sum() * 0
    chosen = mask_logits[torch.arange(labels.shape[0]), labels]
    return F.binary_cross_entropy_with_logits(chosen, mask_targets)


def loss_all_channels(mask_logits, labels, mask_targets):
    if mask_targets.numel() == 0:
        return mask_logits.sum() * 0
    return F.binary_cross_entropy_with_logits(mask_logits, mask_targets[:, None].expand_as(mask_logits))


def loss_softmax(mask_logits, labels, mask_targets):
    if mask_targets.numel() == 0:
        return mask_logits.sum() * 0
    probs = mask_logits.softmax(dim=1)[torch.arange(labels.shape[0]), labels]
    return F.binary_cross_entropy(probs, mask_targets)


def loss_sum(mask_logits, labels, mask_targets):
    chosen = mask_logits[torch.arange(labels.shape[0]), labels]
    return F.binary_cross_entropy_with_logits(chosen, mask_targets, reduction="sum")


def loss_binarized(mask_logits, labels, mask_targets):
    return loss_correct(mask_logits, labels, (mask_targets >= 0.5).float())


def loss_minus_one(mask_logits, labels, mask_targets):
    return loss_correct(mask_logits, labels - 1, mask_targets)


def loss_nan_when_empty(mask_logits, labels, mask_targets):
    chosen = mask_logits[torch.arange(labels.shape[0]), labels]
    return F.binary_cross_entropy_with_logits(chosen, mask_targets)


# ---- 2.2 selection --------------------------------------------------------------------------------


def select_correct(mask_logits, class_logits):
    labels = class_logits.argmax(dim=1)
    return mask_logits[torch.arange(len(labels)), labels].sigmoid()


def select_loop(mask_logits, class_logits):
    out = torch.zeros(mask_logits.shape[0], *mask_logits.shape[2:])
    for n in range(mask_logits.shape[0]):
        out[n] = torch.sigmoid(mask_logits[n, int(class_logits[n].argmax())])
    return out


def select_softmax(mask_logits, class_logits):
    labels = class_logits.argmax(dim=1)
    return mask_logits.softmax(dim=1)[torch.arange(len(labels)), labels]


def select_thresholded(mask_logits, class_logits):
    return (select_correct(mask_logits, class_logits) >= 0.5).float()


def select_most_confident_mask(mask_logits, class_logits):
    probs = mask_logits.sigmoid()
    labels = probs.mean(dim=(2, 3)).argmax(dim=1)
    return probs[torch.arange(len(labels)), labels]


def select_logits(mask_logits, class_logits):
    labels = class_logits.argmax(dim=1)
    return mask_logits[torch.arange(len(labels)), labels]


def select_keeps_channel(mask_logits, class_logits):
    return select_correct(mask_logits, class_logits)[:, None]


# ---- 2.3 pasting ----------------------------------------------------------------------------------


def paste_correct(mask, box, image_shape, *, plus=1, threshold_first=False, rounding="trunc", pad=True, clip=True):
    height, width = image_shape
    m = mask.shape[-1]
    if threshold_first:
        mask = (mask >= 0.5).float()
    if pad:
        mask = F.pad(mask, (1, 1, 1, 1))
        scale = (m + 2) / m
        cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
        hw, hh = (box[2] - box[0]) / 2 * scale, (box[3] - box[1]) / 2 * scale
        box = torch.stack([cx - hw, cy - hh, cx + hw, cy + hh])
    if rounding == "floor":
        box = box.floor()
    x1, y1, x2, y2 = (int(v) for v in box)
    w, h = max(x2 - x1 + plus, 1), max(y2 - y1 + plus, 1)
    resized = F.interpolate(mask[None, None], size=(h, w), mode="bilinear", align_corners=False)[0, 0]
    out = torch.zeros(height, width)
    if not clip:
        out[y1 : y1 + h, x1 : x1 + w] = resized
        return out
    xa, xb, ya, yb = max(x1, 0), min(x1 + w, width), max(y1, 0), min(y1 + h, height)
    if xb > xa and yb > ya:
        out[ya:yb, xa:xb] = resized[ya - y1 : yb - y1, xa - x1 : xb - x1]
    return out


CORRECT = [
    (check_gt_class_mask_loss, loss_correct),
    (check_select_mask, select_correct),
    (check_select_mask, select_loop),
    (check_paste_mask, paste_correct),
]


@pytest.mark.parametrize("check, answer", CORRECT)
def test_correct_answers_pass(check, answer, capsys):
    assert check(answer).passed
    assert "✅" in capsys.readouterr().out


@pytest.mark.parametrize("check", [check_gt_class_mask_loss, check_select_mask, check_paste_mask])
def test_stub_is_not_attempted_and_does_not_raise(check, capsys):
    def stub(*args):
        raise NotImplementedError("Exercise 2.x: stub (see the hint above)")

    assert check(stub).status == "not attempted"
    assert "not attempted" in capsys.readouterr().out


WRONG = [
    (check_gt_class_mask_loss, loss_all_channels, "Only the ground-truth class's channel"),
    (check_gt_class_mask_loss, loss_softmax, "softmax over the class channels"),
    (check_gt_class_mask_loss, loss_sum, "not a sum"),
    (check_gt_class_mask_loss, loss_binarized, "do not threshold them"),
    (check_gt_class_mask_loss, loss_minus_one, "no -1"),
    (check_gt_class_mask_loss, loss_nan_when_empty, "mask_logits.sum() * 0"),
    (check_select_mask, select_softmax, "not a softmax"),
    (check_select_mask, select_thresholded, "threshold only after pasting"),
    (check_select_mask, select_most_confident_mask, "predicted class"),
    (check_select_mask, select_logits, "apply the sigmoid"),
    (check_select_mask, select_keeps_channel, "without a channel dimension"),
    (check_paste_mask, lambda m, b, s: paste_correct(m, b, s, plus=0), "inclusive"),
    (check_paste_mask, lambda m, b, s: paste_correct(m, b, s, threshold_first=True), "Resize the soft mask first"),
    (check_paste_mask, lambda m, b, s: paste_correct(m, b, s, pad=False), "Pad the mask"),
    (check_paste_mask, lambda m, b, s: paste_correct(m, b, s, rounding="floor"), "toward zero"),
    (check_paste_mask, lambda m, b, s: paste_correct(m, b, s, clip=False), "clip the region"),
]


@pytest.mark.parametrize("check, answer, hint", WRONG, ids=[h for _, _, h in WRONG])
def test_wrong_answers_get_their_targeted_hint(check, answer, hint):
    with pytest.raises(ExerciseFailure) as failure:
        check(answer)
    assert hint in str(failure.value)

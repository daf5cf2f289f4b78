"""The checks of notebook 08's exercises: pass the reference, say "not attempted" for the stub, and
fail each classic wrong answer with the hint that targets it."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from lessons.exercises import ExerciseFailure
from lessons.exercises.densepose import check_iuv_from_head, check_multitask_loss, check_uv_point_loss

# ---- correct answers written independently of the library -------------------------------------


def uv_loss_loop(u_points, v_points, gt_i, gt_u, gt_v):
    """A correct answer with a Python loop over the points."""
    total = u_points.new_zeros(())
    for m in range(len(gt_i)):
        k = int(gt_i[m])
        if k <= 0:
            continue
        for pred, gt in ((u_points[m, k], gt_u[m]), (v_points[m, k], gt_v[m])):
            d = (pred - gt).abs()
            total = total + (0.5 * d**2 if d < 1 else d - 0.5)
    return 0.01 * total


def multitask_loss_masks(cls_logits, box_deltas, landmark_deltas, labels, box_targets, landmark_targets):
    """A correct answer with boolean masks."""
    keep, pos = labels >= 0, labels == 1
    cls = F.cross_entropy(cls_logits[keep], labels[keep])
    n = pos.sum()
    if n == 0:
        return cls
    box = F.smooth_l1_loss(box_deltas[pos], box_targets[pos], reduction="sum") / n
    lm = F.smooth_l1_loss(landmark_deltas[pos], landmark_targets[pos], reduction="sum") / n
    return cls + 0.25 * box + 0.1 * lm


def iuv_loops(fine_segm, u, v):
    """A correct answer, one pixel at a time."""
    _, s1, s2 = fine_segm.shape
    out = torch.zeros(3, s1, s2, dtype=fine_segm.dtype)
    for i in range(s1):
        for j in range(s2):
            k = int(fine_segm[:, i, j].argmax())
            if k > 0:
                out[:, i, j] = torch.stack([torch.tensor(float(k)), u[k, i, j].clamp(0, 1), v[k, i, j].clamp(0, 1)])
    return out


def stub(*args):
    raise NotImplementedError("Exercise 8.x: stub (see the hint above)")


@pytest.mark.parametrize(
    "check, answer",
    [
        (check_uv_point_loss, uv_loss_loop),
        (check_multitask_loss, multitask_loss_masks),
        (check_iuv_from_head, iuv_loops),
    ],
)
def test_correct_answers_pass_and_stub_is_not_attempted(check, answer, capsys):
    assert check(answer).passed
    assert "✅" in capsys.readouterr().out
    report = check(stub)
    assert report.status == "not attempted"
    assert "not attempted yet" in capsys.readouterr().out


# ---- 8.1 wrong answers ---------------------------------------------------------------------------


def _smooth(d):
    return torch.where(d.abs() < 1, 0.5 * d**2, d.abs() - 0.5)


def uv_all_channels(u_points, v_points, gt_i, gt_u, gt_v):
    fg = gt_i > 0
    return 0.01 * (_smooth(u_points[fg] - gt_u[fg, None]).sum() + _smooth(v_points[fg] - gt_v[fg, None]).sum())


def _pick(x, gt_i):
    return x.gather(1, gt_i.clamp_min(0)[:, None])[:, 0]


def uv_squared(u_points, v_points, gt_i, gt_u, gt_v):
    fg = gt_i > 0
    return 0.01 * (((_pick(u_points, gt_i) - gt_u)[fg] ** 2).sum() + ((_pick(v_points, gt_i) - gt_v)[fg] ** 2).sum())


def uv_with_background(u_points, v_points, gt_i, gt_u, gt_v):
    keep = gt_i >= 0
    return 0.01 * (
        _smooth(_pick(u_points, gt_i) - gt_u)[keep].sum() + _smooth(_pick(v_points, gt_i) - gt_v)[keep].sum()
    )


def uv_no_linear_part(u_points, v_points, gt_i, gt_u, gt_v):
    fg = gt_i > 0
    return (
        0.01 * 0.5 * (((_pick(u_points, gt_i) - gt_u)[fg] ** 2).sum() + ((_pick(v_points, gt_i) - gt_v)[fg] ** 2).sum())
    )


def uv_mean(u_points, v_points, gt_i, gt_u, gt_v):
    fg = gt_i > 0
    return 0.01 * (_smooth(_pick(u_points, gt_i) - gt_u)[fg].mean() + _smooth(_pick(v_points, gt_i) - gt_v)[fg].mean())


def uv_direct_index(u_points, v_points, gt_i, gt_u, gt_v):
    rows = torch.arange(len(gt_i))
    fg = gt_i > 0
    u = u_points[rows, gt_i]  # -1 silently reads the last channel
    v = v_points[rows, gt_i]
    return 0.01 * (_smooth(u - gt_u)[fg | (gt_i < 0)].sum() + _smooth(v - gt_v)[fg | (gt_i < 0)].sum())


@pytest.mark.parametrize(
    "wrong, hint",
    [
        (uv_squared, "the factor 0.5"),
        (uv_all_channels, "Only the channel of the ground-truth part counts"),
        (uv_with_background, "keep the points with gt_i > 0"),
        (uv_direct_index, "-1 marks padding"),
        (uv_no_linear_part, "costs |d| - 0.5"),
        (uv_mean, "reduction='sum'"),
    ],
)
def test_uv_loss_wrong_answers_get_their_hint(wrong, hint):
    with pytest.raises(ExerciseFailure) as info:
        check_uv_point_loss(wrong)
    assert hint in str(info.value)


# ---- 8.2 wrong answers ---------------------------------------------------------------------------


def _mt(
    cls_logits,
    box_deltas,
    landmark_deltas,
    labels,
    box_targets,
    landmark_targets,
    *,
    cls_mode="softmax",
    weights=(0.25, 0.1),
    mask=True,
    ignore=True,
    guard=True,
):
    cls_logits, box_deltas, landmark_deltas = (
        x.reshape(-1, x.shape[-1]) for x in (cls_logits, box_deltas, landmark_deltas)
    )
    box_targets, landmark_targets = box_targets.reshape(-1, 4), landmark_targets.reshape(-1, 10)
    labels = labels.reshape(-1)
    keep = labels >= 0 if ignore else torch.ones_like(labels, dtype=torch.bool)
    target = labels.clamp_min(0)
    if cls_mode == "softmax":
        cls = F.cross_entropy(cls_logits[keep], target[keep])
    else:
        cls = F.binary_cross_entropy_with_logits(cls_logits[keep, 1], target[keep].float())
    pos = labels == 1 if mask else torch.ones_like(labels, dtype=torch.bool)
    n = (labels == 1).sum()
    if guard and n == 0:
        return cls
    box = F.smooth_l1_loss(box_deltas[pos], box_targets[pos], reduction="sum") / n
    lm = F.smooth_l1_loss(landmark_deltas[pos], landmark_targets[pos], reduction="sum") / n
    return cls + weights[0] * box + weights[1] * lm


@pytest.mark.parametrize(
    "options, hint",
    [
        (dict(cls_mode="sigmoid"), "softmax cross-entropy"),
        (dict(weights=(2.0, 1.0)), "lambda_1 = 0.25"),
        (dict(weights=(0.25, 1.0)), "lambda_2 = 0.1"),
        (dict(mask=False), "only positive anchors (label 1) count"),
        (dict(ignore=False), "Label -1 means 'ignore'"),
        (dict(guard=False), "guard the division"),
    ],
)
def test_multitask_wrong_answers_get_their_hint(options, hint):
    def wrong(*args):
        return _mt(*args, **options)

    with pytest.raises(ExerciseFailure) as info:
        check_multitask_loss(wrong)
    assert hint in str(info.value)


def test_multitask_mean_over_all_anchors_is_caught():
    def wrong(cls_logits, box_deltas, landmark_deltas, labels, box_targets, landmark_targets):
        keep, pos = labels >= 0, (labels == 1).float()[..., None]
        cls = F.cross_entropy(cls_logits[keep], labels[keep])
        a = labels.numel()
        box = (F.smooth_l1_loss(box_deltas, box_targets, reduction="none") * pos).sum() / a
        lm = (F.smooth_l1_loss(landmark_deltas, landmark_targets, reduction="none") * pos).sum() / a
        return cls + 0.25 * box + 0.1 * lm

    with pytest.raises(ExerciseFailure, match="divided by the number of positives"):
        check_multitask_loss(wrong)


# ---- 8.3 wrong answers ---------------------------------------------------------------------------


def iuv_u_argmax(fine_segm, u, v):
    parts = fine_segm.argmax(0)
    fg = (parts > 0).to(u.dtype)
    return torch.stack([parts.to(u.dtype), u.amax(0).clamp(0, 1) * fg, v.amax(0).clamp(0, 1) * fg])


def iuv_no_clamp(fine_segm, u, v):
    parts = fine_segm.argmax(0, keepdim=True)
    fg = (parts > 0).to(u.dtype)
    return torch.cat([parts.to(u.dtype), u.gather(0, parts) * fg, v.gather(0, parts) * fg])


def iuv_background_kept(fine_segm, u, v):
    parts = fine_segm.argmax(0, keepdim=True)
    return torch.cat([parts.to(u.dtype), u.gather(0, parts).clamp(0, 1), v.gather(0, parts).clamp(0, 1)])


@pytest.mark.parametrize(
    "wrong, hint",
    [
        (iuv_u_argmax, "not from the channel where u itself is largest"),
        (iuv_background_kept, "On the background (I = 0), U = V = 0"),
        (iuv_no_clamp, "Clamp U and V to [0, 1]"),
    ],
)
def test_iuv_wrong_answers_get_their_hint(wrong, hint):
    with pytest.raises(ExerciseFailure) as info:
        check_iuv_from_head(wrong)
    assert hint in str(info.value)


def test_a_crash_is_reported_with_its_case():
    def crash(*args):
        raise IndexError("index -1 is out of bounds")

    with pytest.raises(ExerciseFailure, match="case 1 of") as info:
        check_uv_point_loss(crash)
    assert isinstance(info.value.__cause__, IndexError)

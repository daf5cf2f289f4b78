"""The checks of notebook 05: the right answers pass, a stub is "not attempted", and each classic
mistake fails with the hint that names it."""

import pytest
import torch
import torch.nn.functional as F

from lessons.exercises import ExerciseFailure
from lessons.exercises.video import check_backward_warp, check_track_score_row, check_tube_iou


def stub(*args):
    raise NotImplementedError("Exercise 5.x: stub (see the hint above)")


# ----------------------------------------------------------------------------- 5.1


def grid_sample_warp(features, flow, sign=1.0, align_corners=True, padding_mode="zeros", mode="bilinear", swap=False):
    """A student's answer through grid_sample, with the switches a student gets wrong."""
    b, _, h, w = features.shape
    dx, dy = (flow[:, 1], flow[:, 0]) if swap else (flow[:, 0], flow[:, 1])
    ys, xs = torch.meshgrid(torch.arange(h, dtype=flow.dtype), torch.arange(w, dtype=flow.dtype), indexing="ij")
    gx = 2 * (xs + sign * dx) / (w - 1) - 1
    gy = 2 * (ys + sign * dy) / (h - 1) - 1
    return F.grid_sample(
        features, torch.stack([gx, gy], -1), mode=mode, padding_mode=padding_mode, align_corners=align_corners
    )


def test_warp_right_answers_pass(capsys):
    assert check_backward_warp(grid_sample_warp).passed
    from lessons.video import warp

    assert check_backward_warp(warp).passed
    assert "✅ Exercise 5.1" in capsys.readouterr().out


def test_warp_stub_is_not_attempted(capsys):
    assert check_backward_warp(stub).status == "not attempted"
    assert "not attempted yet" in capsys.readouterr().out


@pytest.mark.parametrize(
    "kwargs, hint",
    [
        (dict(sign=-1.0), "p - flow(p)"),
        (dict(align_corners=False), "outer EDGES"),
        (dict(swap=True), "you swapped them"),
        (dict(padding_mode="border"), "zero padding"),
        (dict(mode="nearest"), "bilinearly"),
    ],
)
def test_warp_mistakes_get_their_hint(kwargs, hint):
    with pytest.raises(ExerciseFailure, match="likely mistake") as info:
        check_backward_warp(lambda f, fl: grid_sample_warp(f, fl, **kwargs))
    assert hint in str(info.value)


# ----------------------------------------------------------------------------- 5.2


def right_scores(e, r):
    return torch.cat([torch.zeros(len(e), 1), e @ r.T], dim=1)


def test_scores_right_answer_passes_and_stub_is_not_attempted(capsys):
    assert check_track_score_row(right_scores).passed
    assert check_track_score_row(stub).status == "not attempted"
    out = capsys.readouterr().out
    assert "✅ Exercise 5.2" in out and "not attempted yet" in out


@pytest.mark.parametrize(
    "wrong, hint",
    [
        (lambda e, r: e @ r.T, "column of zeros IN FRONT"),
        (lambda e, r: torch.cat([e @ r.T, torch.zeros(len(e), 1)], 1), "dummy column comes first"),
        (lambda e, r: right_scores(F.normalize(e, dim=1), F.normalize(r, dim=1)), "no cosine"),
        (lambda e, r: torch.softmax(right_scores(e, r), 1), "softmax belongs to the loss"),
        (lambda e, r: torch.cat([torch.ones(len(e), 1), e @ r.T], 1), "fixed at 0"),
    ],
)
def test_scores_mistakes_get_their_hint(wrong, hint):
    with pytest.raises(ExerciseFailure, match="likely mistake") as info:
        check_track_score_row(wrong)
    assert hint in str(info.value)


def test_missing_dummy_column_reports_shapes_first():
    with pytest.raises(ExerciseFailure) as info:
        check_track_score_row(lambda e, r: e @ r.T)
    text = str(info.value)
    assert "case 1 of" in text and "shapes differ" in text


# ----------------------------------------------------------------------------- 5.3


def right_tube_iou(pred, gt, pred_id, gt_id):
    p, g = pred == pred_id, gt == gt_id
    inter = int((p & g).sum())
    union = int(p.sum()) + int(g.sum()) - inter - int((p & (gt == 0)).sum())
    return inter / union if union else 0.0


def test_tube_iou_right_answer_passes_and_stub_is_not_attempted(capsys):
    assert check_tube_iou(right_tube_iou).passed
    assert check_tube_iou(stub).status == "not attempted"


def mean_of_frames(pred, gt, pred_id, gt_id):
    return sum(right_tube_iou(p[None], g[None], pred_id, gt_id) for p, g in zip(pred, gt)) / len(pred)


def no_void(pred, gt, pred_id, gt_id):
    p, g = pred == pred_id, gt == gt_id
    union = int((p | g).sum())
    return int((p & g).sum()) / union if union else 0.0


def all_void(pred, gt, pred_id, gt_id):
    p, g = pred == pred_id, gt == gt_id
    inter = int((p & g).sum())
    union = int(p.sum()) + int(g.sum()) - inter - int((gt == 0).sum())
    return inter / union if union > 0 else 0.0


@pytest.mark.parametrize(
    "wrong, hint",
    [(mean_of_frames, "not the mean"), (no_void, "out of the union"), (all_void, "|p & void|")],
)
def test_tube_iou_mistakes_get_their_hint(wrong, hint):
    with pytest.raises(ExerciseFailure, match="likely mistake") as info:
        check_tube_iou(wrong)
    assert hint in str(info.value)


def test_a_crash_is_reported_not_diagnosed():
    with pytest.raises(ExerciseFailure, match="your function raised") as info:
        check_tube_iou(lambda pred, gt, a, b: 1 / 0)
    assert "likely mistake" not in str(info.value)

"""The checks of notebook 09's exercises: pass correct answers, say "not attempted" for the stub, and
fail each classic wrong answer with the hint that targets it."""

from __future__ import annotations

import pytest
import torch

from lessons.exercises import ExerciseFailure
from lessons.exercises.keypoint_detection import check_cornernet_focal_loss, check_cornernet_radius, check_top_pool

# ---- correct answers, written independently of the library ------------------------------------


def top_pool_loop(x):
    out = x.clone()
    for i in range(x.shape[-2]):
        out[..., i, :] = x[..., i:, :].amax(dim=-2)
    return out


def radius_written_out(height, width, min_overlap):
    h, w, o = height, width, min_overlap
    r1 = ((h + w) - torch.sqrt((h + w) ** 2 - 4 * w * h * (1 - o) / (1 + o))) / 2
    r2 = (2 * (h + w) - torch.sqrt(4 * (h + w) ** 2 - 16 * (1 - o) * w * h)) / 8
    r3 = (-2 * o * (h + w) + torch.sqrt(4 * o**2 * (h + w) ** 2 - 16 * o * (o - 1) * w * h)) / (8 * o)
    return torch.minimum(torch.minimum(r1, r2), r3)


def focal_written_out(pred_logits, gt):
    p = torch.sigmoid(pred_logits).clamp(1e-4, 1 - 1e-4)
    pos = gt == 1
    loss = (torch.log(p) * (1 - p) ** 2 * pos).sum() + (torch.log(1 - p) * p**2 * (1 - gt) ** 4 * ~pos).sum()
    n = pos.sum()
    return -loss / n if n > 0 else -loss


def stub(*args):
    raise NotImplementedError("Exercise 9.x: stub (see the hint above)")


@pytest.mark.parametrize(
    "check, answer",
    [
        (check_top_pool, top_pool_loop),
        (check_cornernet_radius, radius_written_out),
        (check_cornernet_focal_loss, focal_written_out),
    ],
)
def test_correct_answers_pass_and_stub_is_not_attempted(check, answer, capsys):
    assert check(answer).passed
    assert "✅" in capsys.readouterr().out
    report = check(stub)
    assert report.status == "not attempted"
    assert "not attempted yet" in capsys.readouterr().out


# ---- classic wrong answers and the hint each must get ----------------------------------------

WRONG = [
    (check_top_pool, lambda x: torch.cummax(x, dim=-2).values, "BottomPool"),
    (check_top_pool, lambda x: torch.cummax(x.flip(-1), dim=-1).values.flip(-1), "along H"),
    (check_top_pool, lambda x: torch.cummax(x.flip(-2), dim=-2).values, "flip the result back"),
    (check_top_pool, lambda x: x.amax(dim=-2, keepdim=True).expand_as(x).clone(), "whole column"),
    (check_top_pool, lambda x: torch.cummax(x.flip(-2), dim=-2), "(values, indices)"),
    (check_top_pool, lambda x: torch.cummax(x.flip(-2).clamp(min=0), dim=-2).values.flip(-2), "negative"),
]


def centernet(height, width, o):
    h, w = height, width
    b1, c1 = h + w, w * h * (1 - o) / (1 + o)
    b2, c2 = 2 * (h + w), (1 - o) * w * h
    a3, b3, c3 = 4 * o, -2 * o * (h + w), (o - 1) * w * h
    r1 = (b1 + torch.sqrt(b1**2 - 4 * c1)) / 2
    r2 = (b2 + torch.sqrt(b2**2 - 16 * c2)) / 2
    r3 = (b3 + torch.sqrt(b3**2 - 4 * a3 * c3)) / 2
    return torch.minimum(torch.minimum(r1, r2), r3)


def only_case_2(height, width, o):
    """Not wrong: the shrinking case always gives the smallest of CornerNet's three roots."""
    b2, c2 = 2 * (height + width), (1 - o) * width * height
    return (b2 - torch.sqrt(b2**2 - 16 * c2)) / 8


def largest_root(height, width, o):
    h, w = height, width
    r1 = ((h + w) - torch.sqrt((h + w) ** 2 - 4 * w * h * (1 - o) / (1 + o))) / 2
    r2 = (2 * (h + w) - torch.sqrt(4 * (h + w) ** 2 - 16 * (1 - o) * w * h)) / 8
    r3 = (-2 * o * (h + w) + torch.sqrt(4 * o**2 * (h + w) ** 2 - 16 * o * (o - 1) * w * h)) / (8 * o)
    return torch.maximum(torch.maximum(r1, r2), r3)


def test_case_2_alone_is_accepted(capsys):
    assert check_cornernet_radius(only_case_2).passed


WRONG += [
    (check_cornernet_radius, centernet, "CenterNet"),
    (check_cornernet_radius, largest_root, "smaller root"),
    (check_cornernet_radius, lambda h, w, o: radius_written_out(h, w, 0.7), "min_overlap"),
    (check_cornernet_radius, lambda h, w, o: radius_written_out(h, w, o).floor(), "no int()"),
]


def focal_mean(x, gt):
    p = torch.sigmoid(x).clamp(1e-4, 1 - 1e-4)
    pos = gt == 1
    loss = (torch.log(p) * (1 - p) ** 2 * pos).sum() + (torch.log(1 - p) * p**2 * (1 - gt) ** 4 * ~pos).sum()
    return -loss / gt.numel()


def focal_ge(x, gt):
    p = torch.sigmoid(x).clamp(1e-4, 1 - 1e-4)
    pos = gt >= 0.5
    loss = (torch.log(p) * (1 - p) ** 2 * pos).sum() + (torch.log(1 - p) * p**2 * (1 - gt) ** 4 * ~pos).sum()
    return -loss / pos.sum()


def focal_unweighted(x, gt):
    p = torch.sigmoid(x).clamp(1e-4, 1 - 1e-4)
    pos = gt == 1
    loss = (torch.log(p) * (1 - p) ** 2 * pos).sum() + (torch.log(1 - p) * p**2 * ~pos).sum()
    return -loss / pos.sum()


def focal_divides_always(x, gt):
    p = torch.sigmoid(x).clamp(1e-4, 1 - 1e-4)
    pos = gt == 1
    loss = (torch.log(p) * (1 - p) ** 2 * pos).sum() + (torch.log(1 - p) * p**2 * (1 - gt) ** 4 * ~pos).sum()
    return -loss / pos.sum()


def focal_no_clamp(x, gt):
    p = torch.sigmoid(x)
    pos = gt == 1
    loss = (torch.log(p[pos]) * (1 - p[pos]) ** 2).sum() + (
        torch.log(1 - p[~pos]) * p[~pos] ** 2 * (1 - gt[~pos]) ** 4
    ).sum()
    n = pos.sum()
    return -loss / n if n > 0 else -loss


WRONG += [
    (check_cornernet_focal_loss, focal_mean, "number of positives"),
    (check_cornernet_focal_loss, focal_ge, "Only gt == 1"),
    (check_cornernet_focal_loss, focal_unweighted, "(1 - gt)^4"),
    (check_cornernet_focal_loss, focal_divides_always, "nothing to divide by"),
    (check_cornernet_focal_loss, focal_no_clamp, "Clamp"),
]


@pytest.mark.parametrize("check, wrong, hint", WRONG, ids=[f"{c.__name__}-{h[:16]}" for c, _, h in WRONG])
def test_wrong_answers_fail_with_their_hint(check, wrong, hint):
    with pytest.raises(ExerciseFailure, match="❌") as info:
        check(wrong)
    assert hint in str(info.value)


def test_a_crash_in_the_student_code_is_reported_with_its_case():
    def crashes(x):
        return x[10]

    with pytest.raises(ExerciseFailure, match="raised IndexError"):
        check_top_pool(crashes)

"""The checks of notebook 07's exercises: the right answers pass, the stub is "not attempted", and
each classic wrong answer fails with the hint aimed at it."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from lessons.exercises import ExerciseFailure
from lessons.exercises.hourglass import (
    blocks_of,
    check_hourglass_forward,
    check_receptive_field_size,
    check_stacked_loss,
)
from lessons.hourglass import Hourglass

# ----------------------------------------------------------------------------- right answers


def receptive_field_size(layers):
    r, jump = 1, 1
    for kernel, stride in layers:
        r += (kernel - 1) * jump
        jump *= stride
    return r


def hourglass_forward(x, depth, res):
    up1 = res(depth, "up1", x)
    low1 = res(depth, "low1", F.max_pool2d(x, 2, stride=2))
    low2 = hourglass_forward(low1, depth - 1, res) if depth > 1 else res(depth, "low2", low1)
    low3 = res(depth, "low3", low2)
    return up1 + F.interpolate(low3, scale_factor=2)


def stacked_loss(outputs, target, visible):
    w = visible.float()
    total = 0
    for out in outputs:
        per_map = 0.5 * ((out - target) ** 2).mean(dim=(-2, -1))
        total = total + (per_map * w).sum() / w.sum()
    return total


# ----------------------------------------------------------------------------- wrong answers


def rf_no_jump(layers):
    return 1 + sum(k - 1 for k, _ in layers)


def rf_jump_after(layers):
    r, jump = 1, 1
    for k, s in layers:
        jump *= s
        r += (k - 1) * jump
    return r


def rf_kernel_sum(layers):
    return sum(k for k, _ in layers)


def hg_variant(**change):
    def forward(x, depth, res):
        pool = F.avg_pool2d if change.get("pool") == "avg" else F.max_pool2d
        low1 = res(depth, "low1", pool(x, 2))
        low2 = forward(low1, depth - 1, res) if depth > 1 else res(depth, "low2", low1)
        low3 = low2 if change.get("no_low3") else res(depth, "low3", low2)
        up2 = F.interpolate(low3, scale_factor=2, mode=change.get("mode", "nearest"))
        if change.get("skip") == "none":
            return up2
        if change.get("skip") == "identity":
            return x + up2
        if change.get("skip") == "concat":
            return torch.cat([res(depth, "up1", x), up2], dim=1)
        return res(depth, "up1", x) + up2

    return forward


def loss_variant(reduce="sum", half=True, all_maps=False):
    def loss(outputs, target, visible):
        terms = []
        for out in outputs[-1:] if reduce == "last" else outputs:
            per_map = ((out - target) ** 2).mean(dim=(-2, -1)) * (0.5 if half else 1.0)
            w = visible.float()
            terms.append((per_map * w).sum() / (w.numel() if all_maps else w.sum()))
        total = torch.stack(terms)
        return total.mean() if reduce == "mean" else total.sum()

    return loss


CHECKS = [
    (check_receptive_field_size, receptive_field_size, "7.1"),
    (check_hourglass_forward, hourglass_forward, "7.2"),
    (check_stacked_loss, stacked_loss, "7.3"),
]


@pytest.mark.parametrize("check,answer,number", CHECKS)
def test_right_answer_passes(check, answer, number, capsys):
    assert check(answer).passed
    assert f"✅ Exercise {number}" in capsys.readouterr().out


@pytest.mark.parametrize("check,answer,number", CHECKS)
def test_stub_is_not_attempted(check, answer, number, capsys):
    def stub(*args):
        raise NotImplementedError(f"Exercise {number}: stub (see the hint above)")

    report = check(stub)
    assert report.status == "not attempted"
    assert "not attempted yet" in capsys.readouterr().out


@pytest.mark.parametrize(
    "check,wrong,hint",
    [
        (check_receptive_field_size, rf_no_jump, "product of the strides"),
        (check_receptive_field_size, rf_jump_after, "after you add the layer's k - 1"),
        (check_receptive_field_size, rf_kernel_sum, "counts the centre pixel once per layer"),
        (check_hourglass_forward, hg_variant(skip="none"), "no skip branch"),
        (check_hourglass_forward, hg_variant(skip="identity"), "its own block"),
        (check_hourglass_forward, hg_variant(skip="concat"), "concatenating them doubles the channels"),
        (check_hourglass_forward, hg_variant(pool="avg"), "max pooling"),
        (check_hourglass_forward, hg_variant(mode="bilinear"), "nearest neighbour"),
        (check_hourglass_forward, hg_variant(no_low3=True), "one more block"),
        (check_stacked_loss, loss_variant(reduce="mean"), "do not average them"),
        (check_stacked_loss, loss_variant(reduce="last"), "*every* stack's output"),
        (check_stacked_loss, loss_variant(half=False), "factor 0.5"),
        (check_stacked_loss, loss_variant(all_maps=True), "Unlabelled keypoints should not count"),
    ],
)
def test_wrong_answer_gets_its_hint(check, wrong, hint):
    with pytest.raises(ExerciseFailure) as info:
        check(wrong)
    assert hint in str(info.value)


def test_crash_is_reported_with_its_case():
    def crashing(x, depth, res):
        return res(depth + 1, "up1", x)  # a level that does not exist

    with pytest.raises(ExerciseFailure, match="level: expected 1..1"):
        check_hourglass_forward(crashing)


def test_blocks_of_matches_the_module_and_rejects_other_merges():
    torch.manual_seed(0)
    hg = Hourglass(2, 4).eval()
    res = blocks_of(hg)
    x = torch.randn(1, 4, 4, 4)
    torch.testing.assert_close(hourglass_forward(x, 2, res), hg(x))
    with pytest.raises(ValueError, match="branch"):
        res(2, "low2", x)
    with pytest.raises(TypeError, match="hourglass"):
        blocks_of(Hourglass(2, 4, merge="concat"))


def test_checks_leave_the_global_rng_alone():
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    check_hourglass_forward(hourglass_forward)
    assert torch.equal(torch.rand(3), expected)

"""The checks of notebook 10's exercises: pass the reference, say "not attempted" for the stub, and
fail each classic wrong answer with the hint written for it."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from lessons.exercises import ExerciseFailure
from lessons.exercises.gan import check_conditional_input, check_pix2pix_generator_loss, check_receptive_field_size

# ---- correct answers -------------------------------------------------------------------------


def loss_right(pred_fake, fake_b, real_b, lambda_l1):
    return (
        F.binary_cross_entropy_with_logits(pred_fake, torch.ones_like(pred_fake))
        + lambda_l1 * (fake_b - real_b).abs().mean()
    )


def cat_right(a, b):
    return torch.cat([a, b], dim=1)


def field_right(layers):
    r = 1
    for k, s in reversed(layers):
        r = (r - 1) * s + k
    return r


def stub(*args):
    raise NotImplementedError("Exercise 10.x: stub (see the hint above)")


# ---- classic wrong answers, each with the words its hint must contain ---------------------------------

LOSS_WRONG = [
    (
        lambda p, f, r, lam: F.binary_cross_entropy_with_logits(p, torch.zeros_like(p)) + lam * (f - r).abs().mean(),
        "label for the generator's loss is 1",
    ),
    (
        lambda p, f, r, lam: F.binary_cross_entropy(torch.sigmoid(p), torch.ones_like(p)) + lam * ((f - r) ** 2).mean(),
        "not squared",
    ),
    (
        lambda p, f, r, lam: lam * F.binary_cross_entropy_with_logits(p, torch.ones_like(p)) + (f - r).abs().mean(),
        "λ weighs the L1 term",
    ),
    (
        lambda p, f, r, lam: F.binary_cross_entropy_with_logits(p, torch.ones_like(p)) + lam * (f - r).abs().sum(),
        "not a sum",
    ),
    (lambda p, f, r, lam: -p.mean() + lam * (f - r).abs().mean(), "binary cross-entropy on logits"),
]

CAT_WRONG = [
    (
        lambda a, b: torch.cat([a.expand_as(b), b], dim=0) if a.shape[1] == 1 else torch.cat([a, b], dim=0),
        "not along the batch",
    ),
    (lambda a, b: torch.cat([b, a], dim=1), "cat(A, B)"),
    (lambda a, b: a + b, "do not add"),
]


def field_forward(layers):  # walks input -> output
    r = 1
    for k, s in layers:
        r = (r - 1) * s + k
    return r


def field_product(layers):  # multiplies kernels
    r = 1
    for k, _ in layers:
        r *= k
    return r if layers else 1


def field_sum(layers):  # adds kernels, forgets strides
    return 1 + sum(k - 1 for k, _ in layers)


def field_from_zero(layers):
    r = 0
    for k, s in reversed(layers):
        r = (r - 1) * s + k
    return r


FIELD_WRONG = [
    (field_forward, "stride multiplies"),
    (field_product, "do not multiply"),
    (field_sum, "stride multiplies"),
    (field_from_zero, "Start from a field of 1"),
]


@pytest.mark.parametrize(
    "check, right",
    [
        (check_pix2pix_generator_loss, loss_right),
        (check_conditional_input, cat_right),
        (check_receptive_field_size, field_right),
    ],
)
def test_correct_answer_passes_and_stub_is_not_attempted(check, right, capsys):
    assert check(right).passed
    report = check(stub)
    assert report.status == "not attempted"
    assert "not attempted" in capsys.readouterr().out


@pytest.mark.parametrize(
    "check, wrong, words",
    [(check_pix2pix_generator_loss, w, h) for w, h in LOSS_WRONG]
    + [(check_conditional_input, w, h) for w, h in CAT_WRONG]
    + [(check_receptive_field_size, w, h) for w, h in FIELD_WRONG],
)
def test_classic_mistakes_fail_with_their_hint(check, wrong, words):
    with pytest.raises(ExerciseFailure, match="❌") as info:
        check(wrong)
    assert words in str(info.value)


def test_passing_the_call_instead_of_the_function_is_a_type_error():
    with pytest.raises(TypeError, match="pass the function itself"):
        check_conditional_input(cat_right(torch.zeros(1, 1, 2, 2), torch.zeros(1, 1, 2, 2)))

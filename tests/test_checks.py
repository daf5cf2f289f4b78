"""The shared input checks and the course's thread and randomness conventions."""

import os
import subprocess
import sys

import pytest
import torch

from lessons._checks import (
    as_generator,
    check_boxes,
    check_finite,
    check_int,
    check_int_tensor,
    check_labels,
    check_non_negative,
    check_positive,
)


def test_check_int_accepts_ints_and_rejects_bools_floats_and_small_values():
    assert check_int("n", 3, minimum=1) == 3
    with pytest.raises(TypeError, match="n: expected an int, got bool"):
        check_int("n", True)
    with pytest.raises(TypeError, match="n: expected an int, got float"):
        check_int("n", 2.0)
    with pytest.raises(ValueError, match=r"n: expected an int >= 1, got 0"):
        check_int("n", 0, minimum=1)


def test_check_positive_and_non_negative_refuse_nan_and_inf():
    check_positive("sigma", 0.5)
    check_non_negative("noise", 0)
    for bad in (0, -1.0, float("nan"), float("inf")):
        with pytest.raises(ValueError, match="sigma: expected a positive number"):
            check_positive("sigma", bad)
    for bad in (-1e-9, float("nan"), float("inf")):
        with pytest.raises(ValueError, match="noise: expected a non-negative number"):
            check_non_negative("noise", bad)
    with pytest.raises(TypeError, match="sigma: expected a number, got str"):
        check_positive("sigma", "1")


def test_check_finite_names_the_argument_and_counts_bad_values():
    check_finite("boxes", torch.zeros(2, 4))
    check_finite("boxes", torch.zeros(0, 4))
    check_finite("labels", torch.tensor([1, 2]))  # integers are always finite
    bad = torch.tensor([[0.0, float("nan"), 1.0, float("inf")]])
    with pytest.raises(ValueError, match=r"boxes: expected finite values, got 2 NaN/inf"):
        check_finite("boxes", bad)


def test_check_boxes_accepts_ordered_finite_rows_and_names_the_argument():
    check_boxes("boxes", torch.tensor([[0.0, 0.0, 2.0, 1.0], [1.0, 1.0, 1.0, 1.0]]))  # zero-area ok
    check_boxes("boxes", torch.zeros(0, 4))
    check_boxes("rois", torch.zeros(3, 4, dtype=torch.float64), n=3)
    with pytest.raises(TypeError, match="boxes: expected a torch.Tensor, got list"):
        check_boxes("boxes", [[0.0, 0.0, 1.0, 1.0]])
    for dtype in (torch.int64, torch.bool, torch.complex64):
        with pytest.raises(TypeError, match="gt_boxes: expected a floating-point tensor"):
            check_boxes("gt_boxes", torch.zeros(2, 4, dtype=dtype))
    with pytest.raises(ValueError, match=r"boxes: expected shape \(N, 4\) with rows"):
        check_boxes("boxes", torch.zeros(2, 5))
    with pytest.raises(ValueError, match=r"boxes: expected shape \(3, 4\)"):
        check_boxes("boxes", torch.zeros(2, 4), n=3)
    with pytest.raises(ValueError, match="boxes: expected at least one box"):
        check_boxes("boxes", torch.zeros(0, 4), allow_empty=False)
    for bad in (float("nan"), float("inf"), -float("inf")):
        with pytest.raises(ValueError, match="boxes: expected finite values, got 1 NaN/inf"):
            check_boxes("boxes", torch.tensor([[0.0, 0.0, bad, 1.0]]))


def test_check_boxes_swapped_rows_are_refused_unless_allowed():
    swapped = torch.tensor([[0.0, 0.0, 2.0, 2.0], [3.0, 0.0, 1.0, 1.0]])
    with pytest.raises(ValueError, match=r"boxes: expected x1 <= x2 and y1 <= y2 .* row 1 = \[3.0"):
        check_boxes("boxes", swapped)
    with pytest.raises(ValueError, match="row 0"):
        check_boxes("boxes", torch.tensor([[0.0, 2.0, 1.0, 1.0]]))  # y1 > y2
    check_boxes("boxes", swapped, allow_swapped=True)
    with pytest.raises(ValueError, match="boxes: expected finite"):  # NaN is refused even then
        check_boxes("boxes", torch.tensor([[float("nan"), 0.0, 1.0, 1.0]]), allow_swapped=True)


def test_check_int_tensor_and_check_labels():
    check_int_tensor("labels", torch.tensor([0, 1], dtype=torch.uint8))
    for bad in (torch.tensor([True]), torch.tensor([1.0]), torch.tensor([1j]), [1, 2]):
        with pytest.raises(TypeError, match="labels: expected"):
            check_int_tensor("labels", bad)
    check_labels("labels", torch.tensor([0, 2]), n=2, high=3)
    check_labels("labels", torch.zeros(0, dtype=torch.long), high=3)
    with pytest.raises(ValueError, match=r"labels: expected shape \(2,\)"):
        check_labels("labels", torch.tensor([[0, 1]]), n=2)
    with pytest.raises(ValueError, match=r"labels: expected values in \[1, 3\), got labels\[1\] = 3"):
        check_labels("labels", torch.tensor([1, 3]), low=1, high=3)
    with pytest.raises(ValueError, match=r"labels: expected values >= 0, got labels\[0\] = -1"):
        check_labels("labels", torch.tensor([-1]))


def test_as_generator_int_gives_the_same_draws_and_a_generator_advances():
    a = torch.rand(3, generator=as_generator("seed", 5))
    b = torch.rand(3, generator=as_generator("seed", 5))
    assert torch.equal(a, b)
    g = torch.Generator().manual_seed(5)
    assert as_generator("seed", g) is g
    first, second = torch.rand(3, generator=g), torch.rand(3, generator=g)
    assert torch.equal(first, a) and not torch.equal(first, second)
    for bad in (1.5, "0", None, True):
        with pytest.raises(TypeError, match="seed: expected an int or a torch.Generator"):
            as_generator("seed", bad)


def _threads_after_import(env_value):
    env = {k: v for k, v in os.environ.items() if k != "LESSONS_NUM_THREADS"}
    env["OMP_NUM_THREADS"] = "2"  # what a student's kernel may have: lessons overrides it
    if env_value is not None:
        env["LESSONS_NUM_THREADS"] = env_value
    code = "import lessons, torch; print(torch.get_num_threads())"
    return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)


def test_importing_lessons_sets_one_thread_unless_told_otherwise():
    assert _threads_after_import(None).stdout.strip() == "1"
    assert _threads_after_import("2").stdout.strip() == "2"
    bad = _threads_after_import("many")
    assert bad.returncode != 0 and "LESSONS_NUM_THREADS: expected a positive int" in bad.stderr


def test_check_floating_pair_names_the_second_argument():
    from lessons._checks import check_floating_pair

    check_floating_pair("target", torch.zeros(2, 3), "pred", torch.ones(2, 3))
    with pytest.raises(ValueError, match=r"pred: expected the shape of target \(2, 3\), got \(3, 2\)"):
        check_floating_pair("target", torch.zeros(2, 3), "pred", torch.zeros(3, 2))
    with pytest.raises(TypeError, match="pred"):
        check_floating_pair("target", torch.zeros(2, 3), "pred", torch.zeros(2, 3, dtype=torch.long))
    with pytest.raises(TypeError, match="target"):
        check_floating_pair("target", [0.0], "pred", torch.zeros(1))

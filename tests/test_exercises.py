"""The check mechanism itself, on correct, wrong, wrong-shape, wrong-dtype, crashing, mutating and
unattempted functions — and the box-IoU battery of notebook 00."""

import pytest
import torch

from lessons.boxes import box_iou
from lessons.exercises import Case, ExerciseFailure, check_function, compare_outputs
from lessons.exercises.boxes import box_iou_cases, check_box_iou


def reference(x):
    return x * 2


CASES = [
    Case("a scalar-like tensor", (torch.tensor([1.0]),)),
    Case("a matrix", (torch.arange(6.0).reshape(2, 3),), hint="Multiply every entry by two."),
]


def run(student, **kw):
    return check_function(student, reference, CASES, exercise="9.9", name="double", **kw)


def test_correct_function_passes_and_prints_tick(capsys):
    report = run(lambda x: x + x)
    assert report.passed and report.status == "passed" and report.cases == 2
    assert "✅ Exercise 9.9 (double)" in capsys.readouterr().out


def test_unattempted_stub_prints_and_does_not_raise(capsys):
    def stub(x):
        raise NotImplementedError("Exercise 9.9: double (see the hint above)")

    report = run(stub)
    assert report.status == "not attempted" and not report.passed
    assert "not attempted yet" in capsys.readouterr().out


def test_wrong_values_name_case_errors_location_and_hint():
    def wrong(x):
        return x * 2 + (x > 3).float()  # only wrong in the second case

    with pytest.raises(ExerciseFailure) as info:
        run(wrong)
    text = str(info.value)
    assert "case 2 of 2: a matrix" in text
    assert "max abs error 1 at (1, 1): expected 8, got 9" in text
    assert "max rel error" in text
    assert "2 of 6 values are off" in text
    assert "hint: Multiply every entry by two." in text
    assert "arg 0: tensor([[0., 1., 2.]," in text  # the inputs are shown


def test_wrong_shape_is_reported_with_both_shapes():
    with pytest.raises(ExerciseFailure) as info:
        run(lambda x: (x * 2).reshape(-1))
    text = str(info.value)
    assert "case 2 of 2" in text
    assert "expected  Tensor[2, 3] torch.float32" in text and "got       Tensor[6] torch.float32" in text
    assert "shapes differ" in text


def test_transposed_output_gets_a_transposed_note():
    with pytest.raises(ExerciseFailure, match="the shape is transposed"):
        run(lambda x: (x * 2).mT if x.ndim == 2 else x * 2)


def test_wrong_dtype_is_reported():
    with pytest.raises(ExerciseFailure, match="dtypes differ"):
        run(lambda x: (x * 2).double())


def test_crash_is_reported_with_its_case_and_chained():
    def crashing(x):
        return x[5]

    with pytest.raises(ExerciseFailure) as info:
        run(crashing)
    assert "case 1 of 2: a scalar-like tensor" in str(info.value)
    assert "your function raised IndexError" in str(info.value)
    assert isinstance(info.value.__cause__, IndexError)


def test_forgotten_return_says_so():
    with pytest.raises(ExerciseFailure, match="did you forget to return"):
        run(lambda x: None)


def test_in_place_mutation_is_caught():
    def mutating(x):
        x.mul_(2)
        return x

    with pytest.raises(ExerciseFailure, match="changed its input arg 0 in place"):
        run(mutating)


def test_passing_a_call_result_instead_of_the_function():
    with pytest.raises(TypeError, match="pass the function itself"):
        run(reference(torch.ones(1)))


def test_compare_outputs_nested_and_numbers():
    assert compare_outputs((torch.ones(2), 3.0), (torch.ones(2), 3.0)) is None
    assert "output[1]: expected 3.0, got 4.0" in compare_outputs((torch.ones(2), 3.0), (torch.ones(2), 4.0))
    assert compare_outputs(torch.tensor([float("nan")]), torch.tensor([float("nan")])) is None
    assert "values differ" in compare_outputs(torch.tensor([1, 2]), torch.tensor([1, 3]))
    assert "expected a tuple of 2 items" in compare_outputs((1, 2), 3)
    assert compare_outputs({"a": 1.0}, {"a": 1.0}) is None


def test_box_iou_check_passes_for_library_and_fails_for_classic_slips(capsys):
    assert check_box_iou(box_iou).passed

    def no_clamp(b1, b2):  # disjoint boxes get a positive "intersection"
        tl = torch.maximum(b1[:, None, :2], b2[None, :, :2])
        br = torch.minimum(b1[:, None, 2:], b2[None, :, 2:])
        inter = (br - tl).prod(-1)
        a1 = (b1[:, 2:] - b1[:, :2]).prod(-1)
        a2 = (b2[:, 2:] - b2[:, :2]).prod(-1)
        return inter / (a1[:, None] + a2[None, :] - inter)

    with pytest.raises(ExerciseFailure) as info:
        check_box_iou(no_clamp)
    assert "case 3 of 11: disjoint boxes" in str(info.value)
    assert "Clamp the intersection" in str(info.value)

    def float64_always(b1, b2):
        return box_iou(b1.double(), b2.double())

    with pytest.raises(ExerciseFailure, match="dtypes differ"):
        check_box_iou(float64_always)

    def loop_without_empty(b1, b2):
        return torch.stack([box_iou(b[None], b2)[0] for b in b1])  # fails for N = 0

    with pytest.raises(ExerciseFailure, match="empty boxes1.*\n(.*\n)*.*raised RuntimeError"):
        check_box_iou(loop_without_empty)


def test_box_iou_cases_are_seeded():
    a, b = box_iou_cases(0), box_iou_cases(0)
    assert all(torch.equal(x.args[0], y.args[0]) for x, y in zip(a, b))


def test_report_displays_nothing_in_a_notebook(capsys):
    report = run(lambda x: x + x)
    capsys.readouterr()
    assert report._ipython_display_() is None
    assert capsys.readouterr().out == ""

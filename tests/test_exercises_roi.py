"""The checks of notebook 01's exercises: pass the reference, fail plausible wrong answers,
say "not attempted" for the stub, and report a crash with its case."""

from __future__ import annotations

import math

import pytest
import torch

from lessons.exercises import ExerciseFailure
from lessons.exercises.roi import check_bilinear_interpolate, check_roi_align_single, check_roi_pool_single
from lessons.roi import bilinear_interpolate, roi_align_single, roi_pool_single

CHECKS = [
    (check_bilinear_interpolate, bilinear_interpolate, "1.1"),
    (check_roi_pool_single, roi_pool_single, "1.2"),
    (check_roi_align_single, roi_align_single, "1.3"),
]


# ---- plausible student answers -------------------------------------------------------------------


def bilinear_float(feature, y, x):
    """A correct answer written with Python floats, returning a float where the point is outside."""
    height, width = feature.shape
    if y < -1 or y > height or x < -1 or x > width:
        return 0.0
    y, x = max(y, 0.0), max(x, 0.0)
    y0, x0 = int(y), int(x)
    if y0 >= height - 1:
        y0 = y1 = height - 1
        y = float(y0)
    else:
        y1 = y0 + 1
    if x0 >= width - 1:
        x0 = x1 = width - 1
        x = float(x0)
    else:
        x1 = x0 + 1
    ly, lx = y - y0, x - x0
    return (
        (1 - ly) * (1 - lx) * feature[y0, x0]
        + (1 - ly) * lx * feature[y0, x1]
        + ly * (1 - lx) * feature[y1, x0]
        + ly * lx * feature[y1, x1]
    )


def bilinear_no_edge_rules(feature, y, x):
    """Wrong: plain bilinear interpolation with index clamping, no 'outside reads 0' rule."""
    height, width = feature.shape
    y0, x0 = math.floor(y), math.floor(x)
    ly, lx = y - y0, x - x0

    def at(i, j):
        return feature[min(max(i, 0), height - 1), min(max(j, 0), width - 1)]

    return (
        (1 - ly) * (1 - lx) * at(y0, x0)
        + (1 - ly) * lx * at(y0, x0 + 1)
        + ly * (1 - lx) * at(y0 + 1, x0)
        + ly * lx * at(y0 + 1, x0 + 1)
    )


def round_half_away(v):
    return math.floor(v + 0.5) if v >= 0 else -math.floor(-v + 0.5)


def roi_pool_loops(feature, box, output_size, rounding=round_half_away):
    """A correct answer with explicit loops over bins and cells (rounding halves away from zero)."""
    height, width = feature.shape
    pooled_h, pooled_w = output_size
    x1, y1, x2, y2 = (rounding(v) for v in box)
    roi_w, roi_h = max(x2 - x1 + 1, 1), max(y2 - y1 + 1, 1)
    out = torch.zeros(pooled_h, pooled_w, dtype=feature.dtype)
    for ph in range(pooled_h):
        hs = min(max(math.floor(ph * roi_h / pooled_h) + y1, 0), height)
        he = min(max(math.ceil((ph + 1) * roi_h / pooled_h) + y1, 0), height)
        for pw in range(pooled_w):
            ws = min(max(math.floor(pw * roi_w / pooled_w) + x1, 0), width)
            we = min(max(math.ceil((pw + 1) * roi_w / pooled_w) + x1, 0), width)
            best = None
            for h in range(hs, he):
                for w in range(ws, we):
                    if best is None or feature[h, w] > best:
                        best = feature[h, w]
            out[ph, pw] = 0.0 if best is None else best
    return out


def roi_pool_bankers_rounding(feature, box, output_size):
    """Wrong: Python's round() (halves to even)."""
    return roi_pool_loops(feature, box, output_size, rounding=round)


def roi_align_loops(feature, box, output_size, sampling_ratio=2, aligned=False, offset=None):
    """A correct answer built on the library's bilinear_interpolate (as the notebook suggests)."""
    pooled_h, pooled_w = output_size
    off = (0.5 if aligned else 0.0) if offset is None else offset
    x1, y1, x2, y2 = (v - off for v in box)
    roi_w, roi_h = x2 - x1, y2 - y1
    if not aligned:
        roi_w, roi_h = max(roi_w, 1.0), max(roi_h, 1.0)
    bin_h, bin_w = roi_h / pooled_h, roi_w / pooled_w
    n = sampling_ratio
    out = torch.zeros(pooled_h, pooled_w, dtype=feature.dtype)
    for ph in range(pooled_h):
        for pw in range(pooled_w):
            total = 0.0
            for iy in range(n):
                for ix in range(n):
                    y = y1 + ph * bin_h + (iy + 0.5) * bin_h / n
                    x = x1 + pw * bin_w + (ix + 0.5) * bin_w / n
                    total = total + bilinear_interpolate(feature, y, x)
            out[ph, pw] = total / (n * n)
    return out


def roi_align_no_offset(feature, box, output_size, sampling_ratio=2, aligned=False):
    """Wrong: ignores the -0.5 shift of aligned=True."""
    return roi_align_loops(feature, box, output_size, sampling_ratio, aligned, offset=0.0)


# ---- the three required behaviours, plus crashes ------------------------------------------------


@pytest.mark.parametrize("check, reference, number", CHECKS)
def test_reference_passes(check, reference, number, capsys):
    report = check(reference)
    assert report.passed and report.exercise == number and report.cases >= 10
    assert "✅" in capsys.readouterr().out


@pytest.mark.parametrize(
    "check, answer",
    [
        (check_bilinear_interpolate, bilinear_float),
        (check_roi_pool_single, roi_pool_loops),
        (check_roi_align_single, roi_align_loops),
    ],
)
def test_a_correct_student_style_answer_passes(check, answer):
    assert check(answer).passed


@pytest.mark.parametrize(
    "check, wrong, match",
    [
        (
            check_bilinear_interpolate,
            bilinear_no_edge_rules,
            r"case 5 of \d+: y = -1.25: outside[\s\S]*expected 0, got 2[\s\S]*hint: Apply the rules",
        ),
        (check_roi_pool_single, roi_pool_bankers_rounding, r"case 2 of \d+: box \(0.5, 0.5, 2.5, 2.5\)[\s\S]*banker"),
        (check_roi_align_single, roi_align_no_offset, r"case 2 of \d+: the same box with aligned=True[\s\S]*-0.5"),
    ],
)
def test_wrong_answer_fails_with_its_case_and_hint(check, wrong, match):
    with pytest.raises(ExerciseFailure, match=match):
        check(wrong)


@pytest.mark.parametrize("check, reference, number", CHECKS)
def test_stub_is_reported_as_not_attempted(check, reference, number, capsys):
    def stub(*args, **kwargs):
        raise NotImplementedError(f"Exercise {number}: write your code here")

    report = check(stub)
    assert report.status == "not attempted"
    assert f"Exercise {number}" in capsys.readouterr().out and "not attempted" in report.status


@pytest.mark.parametrize("check, reference, number", CHECKS)
def test_crash_is_reported_with_its_case(check, reference, number):
    def crashes(*args, **kwargs):
        raise IndexError("index 7 is out of bounds")

    with pytest.raises(ExerciseFailure, match=r"case 1 of \d+[\s\S]*raised IndexError"):
        check(crashes)


@pytest.mark.parametrize("check, reference, number", CHECKS)
def test_passing_a_call_instead_of_the_function(check, reference, number):
    with pytest.raises(TypeError, match="pass the function itself"):
        check(torch.zeros(2))


def test_wrong_shape_is_explained():
    with pytest.raises(ExerciseFailure, match=r"shapes differ\n  \(same number of elements"):
        check_roi_pool_single(lambda feature, box, output_size: roi_pool_single(feature, box, output_size).flatten())

"""Checks for the exercises of notebook 01 (RoIPool vs RoIAlign).

- Exercise 1.1 :func:`check_bilinear_interpolate` — read a feature map at one continuous point,
  with RoIAlign's edge rules.
- Exercise 1.2 :func:`check_roi_pool_single` — RoIPool of one box on one channel, with loops.
- Exercise 1.3 :func:`check_roi_align_single` — RoIAlign of one box, ``sampling_ratio=2``.

Each check compares the student's function with the library's definition in :mod:`lessons.roi`
on fixed edge cases first (in the order a student meets the traps), then seeded random ones.
The features are float64, so plain Python arithmetic on floats is exact enough.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import torch

from lessons.exercises import Case, CheckReport, Hint, Mistake, check_function
from lessons.roi import bilinear_interpolate, roi_align_single, roi_pool_single

__all__ = ["check_bilinear_interpolate", "check_roi_pool_single", "check_roi_align_single"]


def _grid(height: int = 5, width: int = 5) -> torch.Tensor:
    """``arange(H*W)`` as an ``(H, W)`` float64 map: every value tells its cell (row*W + col)."""
    return torch.arange(height * width, dtype=torch.float64).reshape(height, width)


def _random_map(gen: torch.Generator, height: int, width: int) -> torch.Tensor:
    return torch.randn(height, width, generator=gen, dtype=torch.float64)


def _random_boxes(
    gen: torch.Generator, count: int, *, corner: tuple[float, float], side: tuple[float, float]
) -> list[tuple[tuple[float, float, float, float], tuple[int, int]]]:
    """``count`` seeded ``(box, output_size)`` pairs: corners and sides drawn uniformly, 2 decimals."""
    pairs = []
    for _ in range(count):
        x1, y1 = (float(v) for v in torch.empty(2).uniform_(*corner, generator=gen))
        w, h = (float(v) for v in torch.empty(2).uniform_(*side, generator=gen))
        out = tuple(int(v) for v in torch.randint(1, 5, (2,), generator=gen))
        pairs.append(((round(x1, 2), round(y1, 2), round(x1 + w, 2), round(y1 + h, 2)), out))
    return pairs


def _numbers_as_tensors(student: Callable[..., Any]) -> Callable[..., Any]:
    """Accept a Python number where a 0-d tensor is expected (``return 0.0`` is a fine answer)."""
    if not callable(student):
        return student  # check_function explains the mistake

    def wrapped(feature, *args, **kwargs):
        result = student(feature, *args, **kwargs)
        if isinstance(result, (int, float)) and not isinstance(result, bool):
            return torch.tensor(float(result), dtype=feature.dtype)
        return result

    return wrapped


def check_bilinear_interpolate(student: Callable[..., Any]) -> CheckReport:
    """Exercise 1.1: ``bilinear_interpolate(feature, y, x)`` on a float64 ``(H, W)`` map."""
    grid = _grid()
    edge = "Apply the rules in order: outside [-1, H] x [-1, W] -> 0; clamp to >= 0; at or past H-1 use the last row."
    cases = [
        Case(
            "a point exactly on cell (row 2, col 3)",
            (grid, 2.0, 3.0),
            hint="At integer coordinates only one of the four weights is non-zero.",
        ),
        Case(
            "a point between four cells (y=1.5, x=2.25)",
            (grid, 1.5, 2.25),
            hint="Weights: (1-ly)(1-lx), (1-ly)lx, ly(1-lx), ly*lx with ly = y - floor(y).",
        ),
        Case("y = -0.5, inside the 1-cell margin: clamped to row 0", (grid, -0.5, 1.5), hint=edge),
        Case(
            "y = -1 exactly: still inside (and clamped to row 0)",
            (grid, -1.0, 2.5),
            hint="The test is y >= -1, not y > -1.",
        ),
        Case("y = -1.25: outside, reads 0", (grid, -1.25, 2.0), hint=edge),
        Case("x = 5.5 on a 5-wide map: outside, reads 0", (grid, 2.0, 5.5), hint=edge),
        Case(
            "y = 4.6, between the last row and H: reads the last row",
            (grid, 4.6, 1.3),
            hint="When floor(y) >= H - 1, use y_low = y_high = H - 1 (there is no row H).",
        ),
        Case("y = H = 5 exactly: kept, reads the last row", (grid, 5.0, 2.5), hint=edge),
        Case(
            "x = -1 exactly: still inside (and clamped to column 0)",
            (grid, 2.5, -1.0),
            hint="The test is x >= -1, not x > -1: the same rule as for y.",
        ),
        Case(
            "x = W = 5 exactly: kept, reads the last column",
            (grid, 1.5, 5.0),
            hint="The test is x <= W, not x < W: a point exactly on the margin's edge is kept.",
        ),
        Case(
            "y = H - 1 = 4 exactly: the last row itself",
            (grid, 4.0, 1.5),
            hint="'At or past H - 1' includes y = H - 1: test floor(y) >= H - 1 (not >), so there is no row H to read.",
        ),
        Case("x = 4.75, past the last column", (grid, 2.5, 4.75), hint=edge),
    ]
    gen = torch.Generator().manual_seed(101)
    feature = _random_map(gen, 4, 6)
    for _ in range(10):
        y = float(torch.empty(()).uniform_(-1.5, 4.5, generator=gen))
        x = float(torch.empty(()).uniform_(-1.5, 6.5, generator=gen))
        cases.append(Case(f"random point (y={y:.3f}, x={x:.3f}) on a random 4 x 6 map", (feature, y, x)))
    return check_function(
        _numbers_as_tensors(student),
        bilinear_interpolate,
        cases,
        exercise="1.1",
        name="bilinear_interpolate",
        atol=1e-9,
        rtol=1e-9,
        hint="Return a 0-d tensor (or a float): the weighted sum of the four neighbouring cells.",
    )


def _round_half_away(v: float) -> int:
    return math.floor(v + 0.5) if v >= 0 else -math.floor(-v + 0.5)


def _roi_pool_variant(feature, box, output_size, *, rounding=_round_half_away, plus_one: int = 1, empty: float = 0.0):
    """RoIPool of one box with one step changed (the wrong answers of exercise 1.2)."""
    height, width = feature.shape
    pooled_h, pooled_w = output_size
    x1, y1, x2, y2 = (rounding(float(v)) for v in box)
    roi_w, roi_h = max(x2 - x1 + plus_one, 1), max(y2 - y1 + plus_one, 1)
    out = torch.zeros(pooled_h, pooled_w, dtype=feature.dtype)
    for ph in range(pooled_h):
        hs = min(max(math.floor(ph * roi_h / pooled_h) + y1, 0), height)
        he = min(max(math.ceil((ph + 1) * roi_h / pooled_h) + y1, 0), height)
        for pw in range(pooled_w):
            ws = min(max(math.floor(pw * roi_w / pooled_w) + x1, 0), width)
            we = min(max(math.ceil((pw + 1) * roi_w / pooled_w) + x1, 0), width)
            out[ph, pw] = feature[hs:he, ws:we].max() if he > hs and we > ws else empty
    return out


ROI_POOL_MISTAKES = [
    Mistake(
        "Python's round() (halves to even)",
        lambda f, b, o: _roi_pool_variant(f, b, o, rounding=round),
        Hint(
            "Python's round(0.5) == 0 and round(2.5) == 2 (banker's rounding); the C++ reference rounds "
            "halves away from zero (1 and 3).",
            "Use math.floor(v + 0.5) for v >= 0 (and -math.floor(-v + 0.5) below 0).",
        ),
    ),
    Mistake(
        "the rounded box taken as exclusive (no + 1)",
        lambda f, b, o: _roi_pool_variant(f, b, o, plus_one=0),
        Hint(
            "RoIPool's rounded box is inclusive: it covers cells x1 .. x2, that is x2 - x1 + 1 of them.",
            "roi_w = max(x2 - x1 + 1, 1) and roi_h = max(y2 - y1 + 1, 1).",
        ),
    ),
    Mistake(
        "an empty bin gives -inf",
        lambda f, b, o: _roi_pool_variant(f, b, o, empty=float("-inf")),
        Hint("A bin that covers no cell (end <= start after clamping) gives 0, not the max of nothing."),
    ),
]


def check_roi_pool_single(student: Callable[..., Any]) -> CheckReport:
    """Exercise 1.2: ``roi_pool_single(feature, box, output_size)`` on a float64 ``(H, W)`` map."""
    grid = _grid()
    cases = [
        Case(
            "box (0, 0, 4, 4) over the whole 5 x 5 map, 2 x 2 output",
            (grid, (0.0, 0.0, 4.0, 4.0), (2, 2)),
            hint="The box is inclusive: roi_w = x2 - x1 + 1 = 5 cells; bins are [floor(p*bin), ceil((p+1)*bin)).",
        ),
        Case(
            "box (0.5, 0.5, 2.5, 2.5): halves round away from zero",
            (grid, (0.5, 0.5, 2.5, 2.5), (2, 2)),
            hint="Python's round(0.5) == 0 and round(2.5) == 2 (banker's rounding); C++ std::round "
            "gives 1 and 3. Use math.floor(v + 0.5) for v >= 0.",
        ),
        Case(
            "3 x 3 output: neighbouring bins overlap",
            (grid, (0.0, 0.0, 4.0, 4.0), (3, 3)),
            hint="bin = 5/3: bin 0 is rows [0, 2), bin 1 is [1, 4), bin 2 is [3, 5).",
        ),
        Case(
            "non-square output (3, 2)",
            (grid, (0.0, 0.0, 4.0, 4.0), (3, 2)),
            hint="output_size is (PH, PW): rows first.",
        ),
        Case(
            "inverted box (3, 3, 1, 1) becomes one cell",
            (grid, (3.0, 3.0, 1.0, 1.0), (2, 2)),
            hint="roi_w = max(x2 - x1 + 1, 1).",
        ),
        Case(
            "box fully outside the map: every bin is empty and gives 0",
            (grid - 30, (10.0, 10.0, 12.0, 12.0), (2, 2)),
            hint="Clamp the bin edges to [0, H] / [0, W]; an empty bin (end <= start) gives 0, not -inf.",
        ),
        Case(
            "box partly outside the map",
            (grid, (-2.0, 1.0, 3.4, 6.6), (3, 2)),
            hint="Add x1r/y1r to the bin edges, then clamp them to the map.",
        ),
    ]
    gen = torch.Generator().manual_seed(102)
    feature = _random_map(gen, 7, 8)
    for box, out in _random_boxes(gen, 6, corner=(-1.0, 5.0), side=(0.5, 6.0)):
        cases.append(Case(f"random box {box}, output {out}, on a random 7 x 8 map", (feature, box, out)))
    return check_function(
        student,
        roi_pool_single,
        cases,
        exercise="1.2",
        name="roi_pool_single",
        atol=1e-12,
        rtol=0.0,
        hint="Round the box, make it inclusive, cut it into PH x PW bins with floor/ceil, take each bin's max.",
        mistakes=ROI_POOL_MISTAKES,
    )


ROI_ALIGN_MISTAKES = [
    Mistake(
        "transposed output (bins indexed [pw, ph])",
        lambda f, b, o, **k: roi_align_single(f, b, o, **k).mT,
        Hint(
            "Each bin's value is right but it sits at the transposed place: out[ph, pw] has the bin "
            "row ph (along y, output_size[0] of them) first and the bin column pw (along x) second.",
            "out = torch.zeros(PH, PW); for ph in range(PH): for pw in range(PW): the samples of bin "
            "(ph, pw) sit at y = y1 + ph * bin_h + (iy + 0.5) * bin_h / 2 and x = x1 + pw * bin_w + "
            "(ix + 0.5) * bin_w / 2, read with bilinear_interpolate(feature, y, x) (y first).",
        ),
    ),
    Mistake(
        "the bins' samples read at (x, y) instead of (y, x)",
        lambda f, b, o, **k: roi_align_single(f.mT, b, o, **k),  # feature[x, y] read at every sample
        Hint("bilinear_interpolate(feature, y, x) takes the row coordinate first; you passed x first."),
    ),
]


def check_roi_align_single(student: Callable[..., Any]) -> CheckReport:
    """Exercise 1.3: ``roi_align_single(feature, box, output_size, sampling_ratio=2, aligned=...)``."""
    grid = _grid()

    def case(description, box, out, aligned, hint="", feature=grid):
        return Case(description, (feature, box, out), dict(sampling_ratio=2, aligned=aligned), hint)

    cases = [
        case(
            "box (0.5, 0.5, 2.5, 2.5), aligned=False, 2 x 2 output",
            (0.5, 0.5, 2.5, 2.5),
            (2, 2),
            False,
            "bin = roi / output; the 2 x 2 samples of bin (ph, pw) sit at y1 + ph*bin_h + (iy + 0.5)*bin_h/2.",
        ),
        case(
            "the same box with aligned=True (shift by -0.5 cell)",
            (0.5, 0.5, 2.5, 2.5),
            (2, 2),
            True,
            "aligned=True subtracts 0.5 from every (scaled) box coordinate before sampling.",
        ),
        case("box (1, 1, 3, 3), 4 x 4 output (detectron2's test)", (1.0, 1.0, 3.0, 3.0), (4, 4), False),
        case(
            "box (3.5, 3.5, 6, 6): samples beyond H read 0 but still count",
            (3.5, 3.5, 6.0, 6.0),
            (2, 2),
            False,
            "Divide by the number of samples (4), including those that read 0.",
        ),
        case(
            "zero-size box, aligned=False: forced to 1 x 1 cell",
            (2.0, 2.0, 2.0, 2.0),
            (2, 2),
            False,
            "With aligned=False, roi_w = max(x2 - x1, 1).",
        ),
        case(
            "zero-size box, aligned=True: every sample at the same point",
            (2.0, 2.0, 2.0, 2.0),
            (2, 2),
            True,
            "With aligned=True the size is not raised to 1: all samples land on (1.5, 1.5).",
        ),
        case("box partly outside the map (negative corner)", (-1.7, -0.4, 2.2, 3.1), (3, 2), False),
    ]
    gen = torch.Generator().manual_seed(103)
    feature = _random_map(gen, 6, 7)
    for i, (box, out) in enumerate(_random_boxes(gen, 6, corner=(-1.5, 5.0), side=(0.3, 5.0))):
        aligned = bool(i % 2)
        cases.append(case(f"random box {box}, output {out}, aligned={aligned}", box, out, aligned, feature=feature))
    return check_function(
        student,
        roi_align_single,
        cases,
        exercise="1.3",
        name="roi_align_single",
        atol=1e-9,
        rtol=1e-9,
        hint=Hint(
            "Average bilinear_interpolate over a 2 x 2 grid of points in every bin; no rounding anywhere.",
            "Scale nothing (spatial_scale 1); offset = 0.5 if aligned else 0; x1, y1, x2, y2 = box minus offset; "
            "roi_w = x2 - x1 and roi_h = y2 - y1, raised to at least 1 only when aligned=False; bin_h = roi_h / PH, "
            "bin_w = roi_w / PW; out[ph, pw] = mean over iy, ix in {0, 1} of bilinear_interpolate(feature, "
            "y1 + ph * bin_h + (iy + 0.5) * bin_h / 2, x1 + pw * bin_w + (ix + 0.5) * bin_w / 2).",
        ),
        mistakes=ROI_ALIGN_MISTAKES,
    )

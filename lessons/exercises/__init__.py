"""Exercise checks: run a student's function against the library's reference and explain the result.

Every exercise in a notebook is a function the student writes, followed by a check cell such as
``check_box_iou(box_iou)``. A check (see :func:`check_function`) calls the student's function and
the reference on the same battery of cases — fixed edge cases first, then seeded random ones — and

* prints ``✅`` and returns a :class:`CheckReport` when every case matches;
* prints ``⏳ ... not attempted yet`` and returns (without raising) when the function still raises
  the ``NotImplementedError`` stub, so a student notebook always runs top to bottom;
* raises :class:`ExerciseFailure` otherwise, naming the first failing case, its inputs, the expected
  and received shape and dtype, the largest absolute and relative errors and where they occur, and
  one targeted hint. An exception raised inside the student's code is reported with its case and
  chained, so the traceback still points at the student's line.

The checks for each notebook live in a submodule named after its topic
(``lessons.exercises.boxes`` for notebook 00, ``lessons.exercises.roi`` for 01, ...).
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import Tensor

__all__ = ["Case", "CheckReport", "ExerciseFailure", "check_function", "compare_outputs"]


@dataclass(frozen=True)
class Case:
    """One input on which the student's function is compared with the reference.

    Args:
        description (str): what the case is, in words a student recognizes
            ("two boxes that only touch along an edge").
        args (tuple): positional arguments passed to both functions (deep-copied for each call).
        kwargs (Mapping[str, Any]): keyword arguments, likewise. Default: none.
        hint (str): what to look at when this case fails. Default: ``""`` (use the check's hint).
    """

    description: str
    args: tuple = ()
    kwargs: Mapping[str, Any] = field(default_factory=dict)
    hint: str = ""


@dataclass(frozen=True)
class CheckReport:
    """What a check found: ``status`` is ``"passed"`` or ``"not attempted"``."""

    exercise: str
    name: str
    status: str
    cases: int

    @property
    def passed(self) -> bool:
        return self.status == "passed"

    def _ipython_display_(self) -> None:
        """Show nothing when a check cell ends with the call: the check printed its verdict."""


class ExerciseFailure(AssertionError):
    """Raised by a check when the student's function disagrees with the reference or crashes."""


def check_function(
    student: Callable[..., Any],
    reference: Callable[..., Any],
    cases: Sequence[Case],
    *,
    exercise: str,
    name: str,
    atol: float = 1e-5,
    rtol: float = 1e-4,
    hint: str = "",
) -> CheckReport:
    """Compare ``student`` with ``reference`` on every case and report the first disagreement.

    Args:
        student (Callable): the function the student wrote.
        reference (Callable): the library's tested implementation with the same signature.
        cases (Sequence[Case]): the battery; edge cases first, so the first failure is the simplest.
        exercise (str): the exercise number shown to the student, e.g. ``"0.1"``.
        name (str): the function's name as the notebook asks for it, e.g. ``"box_iou"``.
        atol (float): absolute tolerance for floating-point outputs. Default: ``1e-5``.
        rtol (float): relative tolerance for floating-point outputs. Default: ``1e-4``.
        hint (str): the hint shown when a failing case has none of its own. Default: ``""``.

    Returns:
        CheckReport: with ``status`` ``"passed"`` or ``"not attempted"``.

    Raises:
        ExerciseFailure: on the first case whose output differs, or on which the student's code
            raises anything other than ``NotImplementedError``.
        TypeError: if ``student`` is not callable (for example the result of calling it).
    """
    if not callable(student):
        raise TypeError(
            f"Exercise {exercise}: pass the function itself, e.g. check(...)({name}) -> "
            f"check({name}), not {name}(...); got {type(student).__name__}"
        )
    if not cases:
        raise ValueError("cases: expected at least one Case, got an empty battery")

    for index, case in enumerate(cases, start=1):
        where = f"case {index} of {len(cases)}: {case.description}"
        expected = reference(*copy.deepcopy(case.args), **copy.deepcopy(dict(case.kwargs)))
        args, kwargs = copy.deepcopy(case.args), copy.deepcopy(dict(case.kwargs))
        try:
            got = student(*args, **kwargs)
        except NotImplementedError:
            print(
                f"⏳ Exercise {exercise} ({name}): not attempted yet. Replace the "
                f"`raise NotImplementedError(...)` line with your code and run the cell again."
            )
            return CheckReport(exercise, name, "not attempted", len(cases))
        except Exception as exc:  # the student's own error, reported with its case
            raise ExerciseFailure(
                _message(
                    exercise,
                    name,
                    where,
                    case,
                    f"your function raised {type(exc).__name__}: {exc}",
                    case.hint or hint,
                )
            ) from exc

        mutated = _mutated_argument(case, args, kwargs)
        if mutated is not None:
            raise ExerciseFailure(
                _message(
                    exercise,
                    name,
                    where,
                    case,
                    f"your function changed its input {mutated} in place",
                    "Work on a copy (x = x.clone()) or use out-of-place operations "
                    "(x = x + 1 rather than x += 1).",
                )
            )

        problem = compare_outputs(expected, got, atol=atol, rtol=rtol)
        if problem is not None:
            raise ExerciseFailure(_message(exercise, name, where, case, problem, case.hint or hint))

    print(f"✅ Exercise {exercise} ({name}): correct on {len(cases)}/{len(cases)} cases.")
    return CheckReport(exercise, name, "passed", len(cases))


def compare_outputs(
    expected: Any, got: Any, *, atol: float = 1e-5, rtol: float = 1e-4, path: str = "output"
) -> str | None:
    """Describe the first difference between two outputs, or return ``None`` when they match.

    Tensors must agree in shape and dtype, then in value within ``atol + rtol * |expected|``
    (NaN matches NaN; integer and bool tensors must be equal). Numbers, tuples, lists and dicts are
    compared element by element.
    """
    if isinstance(expected, Tensor):
        if not isinstance(got, Tensor):
            return (
                f"{path}: expected a Tensor of shape {tuple(expected.shape)} and dtype "
                f"{expected.dtype}, got {_kind(got)}"
            )
        return _compare_tensors(expected, got, atol, rtol, path)
    if isinstance(expected, (tuple, list)):
        if not isinstance(got, (tuple, list)):
            return f"{path}: expected a {type(expected).__name__} of {len(expected)} items, got {_kind(got)}"
        if len(got) != len(expected):
            return f"{path}: expected {len(expected)} items, got {len(got)}"
        for i, (e, g) in enumerate(zip(expected, got)):
            problem = compare_outputs(e, g, atol=atol, rtol=rtol, path=f"{path}[{i}]")
            if problem is not None:
                return problem
        return None
    if isinstance(expected, Mapping):
        if not isinstance(got, Mapping) or set(got) != set(expected):
            return f"{path}: expected a dict with keys {sorted(expected)}, got {_kind(got)}"
        for key in expected:
            problem = compare_outputs(
                expected[key], got[key], atol=atol, rtol=rtol, path=f"{path}[{key!r}]"
            )
            if problem is not None:
                return problem
        return None
    if isinstance(expected, bool) or expected is None or isinstance(expected, str):
        return None if got == expected and type(got) is type(expected) else (
            f"{path}: expected {expected!r}, got {_kind(got)}"
        )
    if isinstance(expected, (int, float)):
        if isinstance(got, Tensor) and got.numel() == 1:
            got = got.item()
        if isinstance(got, bool) or not isinstance(got, (int, float)):
            return f"{path}: expected the number {expected!r}, got {_kind(got)}"
        if math.isnan(expected) and math.isnan(got):
            return None
        if abs(got - expected) <= atol + rtol * abs(expected):
            return None
        return f"{path}: expected {expected!r}, got {got!r} (error {abs(got - expected):.3g})"
    return None if got == expected else f"{path}: expected {expected!r}, got {_kind(got)}"


def _compare_tensors(expected: Tensor, got: Tensor, atol: float, rtol: float, path: str) -> str | None:
    header = (
        f"{path}:\n"
        f"  expected  Tensor{list(expected.shape)} {expected.dtype}\n"
        f"  got       Tensor{list(got.shape)} {got.dtype}"
    )
    if got.shape != expected.shape:
        note = ""
        if got.ndim == expected.ndim == 2 and got.shape == expected.shape[::-1]:
            note = "\n  (the shape is transposed)"
        elif got.numel() == expected.numel():
            note = "\n  (same number of elements: a reshape or a missing/extra dimension?)"
        return f"{header}\n  shapes differ{note}"
    if got.dtype != expected.dtype:
        return f"{header}\n  dtypes differ"
    e = expected.detach().cpu()
    g = got.detach().cpu()
    if not e.is_floating_point() and not e.is_complex():
        wrong = e != g
        if not bool(wrong.any()):
            return None
        idx = _first_index(wrong)
        return (
            f"{header}\n  {int(wrong.sum())} of {e.numel()} values differ; first at {idx}: "
            f"expected {e[idx].item()!r}, got {g[idx].item()!r}"
        )
    e64, g64 = e.double(), g.double()
    both_nan = torch.isnan(e64) & torch.isnan(g64)
    abs_err = (g64 - e64).abs().masked_fill(both_nan, 0.0)
    abs_err = torch.where(torch.isnan(abs_err), torch.full_like(abs_err, math.inf), abs_err)
    bad = abs_err > atol + rtol * e64.abs()
    if not bool(bad.any()):
        return None
    rel_err = abs_err / e64.abs().clamp_min(1e-12)
    ia = _first_index(abs_err == abs_err.max())
    ir = _first_index(rel_err == rel_err.max())
    return (
        f"{header}\n"
        f"  {int(bad.sum())} of {e.numel()} values are off (tolerance {atol:g} + {rtol:g}·|expected|)\n"
        f"  max abs error {abs_err[ia].item():.4g} at {ia}: expected {e[ia].item():.6g}, got {g[ia].item():.6g}\n"
        f"  max rel error {rel_err[ir].item():.4g} at {ir}: expected {e[ir].item():.6g}, got {g[ir].item():.6g}"
    )


def _first_index(mask: Tensor) -> tuple[int, ...]:
    flat = int(mask.reshape(-1).nonzero()[0].item())
    return tuple(int(i) for i in torch.unravel_index(torch.tensor(flat), mask.shape)) if mask.ndim else ()


def _kind(value: Any) -> str:
    if isinstance(value, Tensor):
        return f"a Tensor of shape {tuple(value.shape)} and dtype {value.dtype}"
    if value is None:
        return "None (did you forget to return the result?)"
    if isinstance(value, (tuple, list)):
        return f"a {type(value).__name__} of {len(value)} items"
    return f"{type(value).__name__} {value!r}"


def _show(value: Any) -> str:
    if isinstance(value, Tensor):
        if value.numel() <= 12:
            return repr(value.detach().cpu()).replace("\n", " ")
        return f"Tensor{list(value.shape)} {value.dtype}"
    if isinstance(value, (list, tuple)) and len(value) > 6:
        return f"{type(value).__name__} of {len(value)} items"
    return repr(value)


def _message(exercise: str, name: str, where: str, case: Case, problem: str, hint: str) -> str:
    lines = [f"❌ Exercise {exercise} ({name}) — {where}"]
    shown = [f"arg {i}: {_show(a)}" for i, a in enumerate(case.args)]
    shown += [f"{k}={_show(v)}" for k, v in case.kwargs.items()]
    if shown:
        lines.append("inputs:")
        lines += [f"  {s}" for s in shown]
    lines.append(problem)
    if hint:
        lines.append(f"hint: {hint}")
    return "\n".join(lines)


def _mutated_argument(case: Case, args: tuple, kwargs: dict) -> str | None:
    for i, (before, after) in enumerate(zip(case.args, args)):
        if compare_outputs(before, after, atol=0.0, rtol=0.0) is not None:
            return f"arg {i}"
    for key, before in case.kwargs.items():
        if compare_outputs(before, kwargs[key], atol=0.0, rtol=0.0) is not None:
            return f"{key!r}"
    return None

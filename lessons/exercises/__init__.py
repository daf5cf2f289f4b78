"""Exercise checks: run a student's function against the library's reference and explain the result.

Every exercise in a notebook is a function the student writes, followed by a check cell such as
``check_box_iou(box_iou)``. A check (see :func:`check_function`) calls the student's function and
the reference on the same battery of cases — fixed edge cases first, then seeded random ones — and

* prints ``✅`` and returns a :class:`CheckReport` when every case matches;
* prints ``⏳ ... not attempted yet`` and returns (without raising) when the function still raises
  the ``NotImplementedError`` stub, so a student notebook always runs top to bottom;
* raises :class:`ExerciseFailure` otherwise, naming the first failing case, its inputs (summarized:
  ``Tensor[5, 5] float64`` and a few values, one line per entry of a dict, list or tuple), the
  expected and received shape and dtype, the largest absolute and relative errors and where they
  occur, and one targeted hint. An exception raised inside the student's code is reported with its
  case and chained, so the traceback still points at the student's line.

**Diagnosing the mistake.** A check may declare the classic wrong answers of its exercise as
:class:`Mistake` objects (on the check, or on one :class:`Case`). When a case fails, every declared
mistake is run on the same inputs; if the student's output equals one of them (same shape, values
within the tolerance), the message names that mistake and gives its hint instead of the case's
generic one. A transposed output is recognized for every exercise without being declared.

**Tiered hints.** A hint may be a :class:`Hint` with two tiers: a conceptual ``nudge``, shown with
the first failures, and a ``recipe`` that spells the answer out. The recipe is shown only on
request, ``hint("3.1")`` (exercise numbers as the notebooks show them), or from the third failure
of the same exercise in the same kernel on.

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

__all__ = [
    "Case",
    "CheckReport",
    "ExerciseFailure",
    "Hint",
    "Mistake",
    "check_function",
    "compare_outputs",
    "hint",
]

#: From this failure of the same exercise in the same kernel on, a failure also shows the recipe.
RECIPE_AFTER_FAILURES = 3


@dataclass(frozen=True)
class Hint:
    """A hint in two tiers.

    Args:
        nudge (str): the conceptual pointer shown when a case fails ("which axis is the row?").
        recipe (str): the step-by-step answer, shown only by ``hint("<exercise>")`` or from the
            third failure of the exercise on. Default: ``""`` (the nudge is all there is).
    """

    nudge: str
    recipe: str = ""

    def __bool__(self) -> bool:
        return bool(self.nudge or self.recipe)


@dataclass(frozen=True)
class Mistake:
    """A classic wrong answer of an exercise, recognized by its output.

    Args:
        name (str): the mistake in a few words ("transposed output", "``<`` instead of ``<=``").
        wrong (Callable): computes the wrong answer; same signature as the exercise's function.
        hint (str | Hint): what to do about it.
        atol (float | None): absolute tolerance when comparing the student's output with the wrong
            answer. Default: ``None`` (the check's, at least ``1e-7``).
        rtol (float | None): relative tolerance, likewise. Default: ``None`` (the check's, at
            least ``1e-6``).
    """

    name: str
    wrong: Callable[..., Any]
    hint: str | Hint
    atol: float | None = None
    rtol: float | None = None

    def _tolerance(self, atol: float, rtol: float) -> dict[str, float]:
        return dict(
            atol=max(atol, 1e-7) if self.atol is None else self.atol,
            rtol=max(rtol, 1e-6) if self.rtol is None else self.rtol,
        )


@dataclass(frozen=True)
class Case:
    """One input on which the student's function is compared with the reference.

    Args:
        description (str): what the case is, in words a student recognizes
            ("two boxes that only touch along an edge").
        args (tuple): positional arguments passed to both functions (deep-copied for each call).
        kwargs (Mapping[str, Any]): keyword arguments, likewise. Default: none.
        hint (str | Hint): what to look at when this case fails. Default: ``""`` (use the check's hint).
        mistakes (Sequence[Mistake]): wrong answers tried on this case only, before the check's
            own. Default: none.
    """

    description: str
    args: tuple = ()
    kwargs: Mapping[str, Any] = field(default_factory=dict)
    hint: str | Hint = ""
    mistakes: Sequence[Mistake] = ()


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
    hint: str | Hint = "",
    mistakes: Sequence[Mistake] = (),
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
        hint (str | Hint): the hint shown when a failing case has none of its own; its recipe is
            the exercise's recipe for :func:`hint`. Default: ``""``.
        mistakes (Sequence[Mistake]): the exercise's classic wrong answers, tried on a failing
            case after the case's own (see :class:`Mistake`). Default: none.

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
    general = _as_hint(hint)
    state = _FEEDBACK.setdefault(exercise, _Feedback(name, general))
    state.name, state.general = name, general

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
                _failure(
                    state,
                    exercise,
                    where,
                    case,
                    f"your function raised {type(exc).__name__}: {exc}",
                    _as_hint(case.hint) or general,
                )
            ) from exc

        mutated = _mutated_argument(case, args, kwargs)
        if mutated is not None:
            raise ExerciseFailure(
                _failure(
                    state,
                    exercise,
                    where,
                    case,
                    f"your function changed its input {mutated} in place",
                    Hint(
                        "Work on a copy (x = x.clone()) or use out-of-place operations (x = x + 1 rather than x += 1)."
                    ),
                )
            )

        problem = compare_outputs(expected, got, atol=atol, rtol=rtol)
        if problem is not None:
            found = _diagnose(
                case,
                expected,
                got,
                [*case.mistakes, *mistakes],
                atol=atol,
                rtol=rtol,
                student=student,
                others=[c for c in cases if c is not case],
            )
            chosen = _as_hint(found.hint) if found is not None else (_as_hint(case.hint) or general)
            raise ExerciseFailure(_failure(state, exercise, where, case, problem, chosen, found.name if found else ""))

    print(f"✅ Exercise {exercise} ({name}): correct on {len(cases)}/{len(cases)} cases.")
    return CheckReport(exercise, name, "passed", len(cases))


# ----------------------------------------------------------------------------- feedback


@dataclass
class _Feedback:
    """What this kernel knows about one exercise: its general hint, its failures, the last one."""

    name: str
    general: Hint
    failures: int = 0
    last: tuple[str, Hint, str] | None = None  # (where, the hint shown, the mistake's name)


_FEEDBACK: dict[str, _Feedback] = {}


def _as_hint(value: str | Hint) -> Hint:
    return value if isinstance(value, Hint) else Hint(str(value or ""))


def _reset_feedback() -> None:
    """Forget every failure counted so far (a fresh kernel; used by the tests)."""
    _FEEDBACK.clear()


def hint(exercise: str | float) -> None:
    """Print the full recipe of an exercise: ``hint("3.1")``.

    Shows the hint of the case your function failed last (or of the mistake it was recognized as)
    with its recipe, then the exercise's own recipe. Run the exercise's check cell first: the check
    is what tells this function about the exercise.

    Args:
        exercise (str | float): the exercise number as the notebook shows it, e.g. ``"3.1"``.
    """
    key = str(exercise).strip()
    state = _FEEDBACK.get(key)
    if state is None:
        known = ", ".join(sorted(_FEEDBACK, key=_exercise_order)) or "none yet"
        print(
            f"No check of exercise {key} has run in this kernel yet (checked so far: {known}). "
            f"Run the exercise's check cell, then hint({key!r}) again."
        )
        return
    lines = [f"💡 Exercise {key} ({state.name})"]
    if state.last is not None:
        where, shown, mistake = state.last
        lines.append(f"your last failure: {where}" + (f" (likely mistake: {mistake})" if mistake else ""))
        if shown.nudge:
            lines.append(f"hint: {shown.nudge}")
        if shown.recipe:
            lines.append(f"recipe: {shown.recipe}")
    general = state.general
    if state.last is None or general != state.last[1]:
        if general.nudge:
            lines.append(f"the exercise: {general.nudge}")
        if general.recipe:
            lines.append(f"recipe: {general.recipe}")
    if not any(line.startswith("recipe: ") for line in lines):
        lines.append(
            "no recipe beyond this hint: work the failing case's inputs by hand and compare "
            "each step with the expected output."
        )
    print("\n".join(lines))


def _exercise_order(key: str) -> tuple:
    return tuple(int(p) if p.isdigit() else 0 for p in key.split("."))


def _diagnose(
    case: Case,
    expected: Any,
    got: Any,
    mistakes: Sequence[Mistake],
    *,
    atol: float,
    rtol: float,
    student: Callable[..., Any] | None = None,
    others: Sequence[Case] = (),
) -> Mistake | None:
    """The mistake whose output on ``case`` equals ``got`` (and differs from ``expected``).

    When several do, the student's function also runs on the ``others`` cases, and the first
    mistake that reproduces its output there too is the one named.
    """
    tol = dict(atol=max(atol, 1e-7), rtol=max(rtol, 1e-6))
    if _has_nan(got) and not _has_nan(expected):
        return None  # NaN is its own mistake (a mean over nothing ...): the case's hint says which

    def run(function: Callable[..., Any], on: Case) -> Any:
        return function(*copy.deepcopy(on.args), **copy.deepcopy(dict(on.kwargs)))

    found = []
    for mistake in mistakes:
        try:
            wrong = run(mistake.wrong, case)
        except Exception:  # a variant that cannot run on these inputs cannot be the one
            continue
        if compare_outputs(expected, wrong, atol=atol, rtol=rtol) is None:
            continue  # this mistake gives the right answer here: it does not explain the failure
        if compare_outputs(wrong, got, **mistake._tolerance(atol, rtol)) is None:
            found.append(mistake)
    if len(found) > 1 and student is not None:
        for other in others:
            try:
                theirs = run(student, other)
            except Exception:  # the failure being reported is the one that counts
                break
            agree = []
            for mistake in found:
                try:
                    if compare_outputs(run(mistake.wrong, other), theirs, **mistake._tolerance(atol, rtol)) is None:
                        agree.append(mistake)
                except Exception:
                    continue
            if len(agree) == 1:
                return agree[0]
            found = agree or found
    if found:
        return found[0]
    if (
        isinstance(expected, Tensor)
        and isinstance(got, Tensor)
        and got.ndim >= 2
        and tuple(got.shape[-2:]) == tuple(expected.shape[-2:])[::-1]
        and tuple(got.shape[:-2]) == tuple(expected.shape[:-2])
        and compare_outputs(expected, got.transpose(-2, -1), **tol) is None
    ):
        return TRANSPOSED
    return None


def _has_nan(value: Any) -> bool:
    if isinstance(value, Tensor):
        return value.is_floating_point() and bool(value.isnan().any())
    if isinstance(value, float):
        return math.isnan(value)
    if isinstance(value, (tuple, list)):
        return any(_has_nan(v) for v in value)
    if isinstance(value, Mapping):
        return any(_has_nan(v) for v in value.values())
    return False


#: Recognized for every exercise: the right values with the last two axes swapped.
TRANSPOSED = Mistake(
    "transposed output",
    lambda *args, **kwargs: None,  # recognized from the expected output itself, see _diagnose
    Hint(
        "Your values are right but rows and columns are swapped: in a (..., H, W) tensor the row "
        "index (y) comes before the column index (x). Look for the step where you build or index "
        "the result with the two axes in the other order.",
    ),
)


def _failure(
    state: _Feedback, exercise: str, where: str, case: Case, problem: str, shown: Hint, mistake: str = ""
) -> str:
    """Count the failure and write its message: the case, the inputs, the problem, the hint tier."""
    state.failures += 1
    state.last = (where, shown, mistake)
    lines = [f"❌ Exercise {exercise} ({state.name}) — {where}"]
    shown_inputs = [(f"arg {i}", a) for i, a in enumerate(case.args)] + [(f"{k}=", v) for k, v in case.kwargs.items()]
    if shown_inputs:
        lines.append("inputs:")
        for label, value in shown_inputs:
            head, *rest = _summary(value)
            lines.append(f"  {label}{'' if label.endswith('=') else ': '}{head}")
            lines += [f"    {line}" for line in rest]
    lines.append(problem)
    if mistake:
        lines.append(f"likely mistake: {mistake}")
    if shown.nudge:
        lines.append(f"hint: {shown.nudge}")
    recipe = shown.recipe or state.general.recipe
    if recipe and state.failures >= RECIPE_AFTER_FAILURES:
        lines.append(f"recipe (failure {state.failures} of this exercise): {recipe}")
    elif recipe:
        lines.append(f'more help: hint("{exercise}") shows the full recipe (from lessons.exercises import hint)')
    return "\n".join(lines)


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
            problem = compare_outputs(expected[key], got[key], atol=atol, rtol=rtol, path=f"{path}[{key!r}]")
            if problem is not None:
                return problem
        return None
    if isinstance(expected, bool) or expected is None or isinstance(expected, str):
        return (
            None
            if got == expected and type(got) is type(expected)
            else (f"{path}: expected {expected!r}, got {_kind(got)}")
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
        if (
            got.ndim == expected.ndim >= 2
            and got.shape[:-2] == expected.shape[:-2]
            and got.shape[-2:] == expected.shape[-2:][::-1]
        ):
            note = "\n  (the shape is transposed)" if got.ndim == 2 else "\n  (the shape's last two axes are swapped)"
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


_MAX_ENTRIES = 8  # entries of a dict, list or tuple shown one per line
_FEW_VALUES = 4  # values shown after a large tensor's shape and dtype


def _summary(value: Any, depth: int = 0) -> list[str]:
    """A short description of an input: a head line, then one indented line per entry of a container.

    Small tensors (12 values or fewer) print in full on one line; larger ones as
    ``Tensor[5, 5] float64 [v0, v1, v2, v3, …] min … max …``. Dicts, lists, tuples and NamedTuples
    get one line per entry (nested containers one line each), modules their class and size.
    """
    if isinstance(value, Tensor):
        return [_tensor_line(value)]
    if isinstance(value, torch.nn.Module):
        count = sum(p.numel() for p in value.parameters())
        return [f"{type(value).__name__} module ({count} parameters)"]
    fields = getattr(type(value), "_fields", None)
    if isinstance(value, tuple) and fields is not None:  # a NamedTuple
        entries = [(f"{f}=", v) for f, v in zip(fields, value)]
        head = f"{type(value).__name__} (NamedTuple of {_count(len(value), 'field')})"
    elif isinstance(value, Mapping):
        text = repr(dict(value))
        if all(_is_plain(v) for v in value.values()) and len(text) <= 80:
            return [text]
        entries = [(f"{k!r}: ", v) for k, v in value.items()]
        head = f"{type(value).__name__} of {_count(len(value), 'entry', 'entries')}"
    elif isinstance(value, (list, tuple)):
        text = repr(value)
        if all(_is_plain(v) for v in value) and len(text) <= 80:
            return [text]
        entries = [(f"[{i}] ", v) for i, v in enumerate(value)]
        head = f"{type(value).__name__} of {_count(len(value), 'item')}"
    else:
        if callable(value) and hasattr(value, "__name__"):
            return [f"function {value.__name__}"]
        text = repr(value).replace("\n", " ")
        return [text if len(text) <= 100 else text[:97] + "..."]
    if depth > 0:  # a container inside a container: its head line only
        return [head]
    lines = [head + ":"]
    for label, entry in entries[:_MAX_ENTRIES]:
        lines.append(f"{label}{_summary(entry, depth + 1)[0]}")
    if len(entries) > _MAX_ENTRIES:
        lines.append(f"... and {len(entries) - _MAX_ENTRIES} more")
    return lines


def _count(n: int, one: str, many: str = "") -> str:
    return f"{n} {one if n == 1 else (many or one + 's')}"


def _is_plain(value: Any) -> bool:
    return (
        value is None
        or isinstance(value, (bool, int, float, str))
        or (
            isinstance(value, (list, tuple)) and all(v is None or isinstance(v, (bool, int, float, str)) for v in value)
        )
    )


def _tensor_line(value: Tensor) -> str:
    v = value.detach().cpu()
    if v.numel() <= 12:
        return " ".join(repr(v).split())
    flat = v.reshape(-1)
    few = ", ".join(_number(x) for x in flat[:_FEW_VALUES].tolist())
    line = f"Tensor{list(v.shape)} {str(v.dtype).replace('torch.', '')} [{few}, …]"
    if v.dtype != torch.bool and not v.is_complex():
        finite = flat[torch.isfinite(flat)] if v.is_floating_point() else flat
        if finite.numel():
            line += f" min {_number(finite.min().item())} max {_number(finite.max().item())}"
    return line


def _number(x: Any) -> str:
    return f"{x:.4g}" if isinstance(x, float) else str(x)


def _mutated_argument(case: Case, args: tuple, kwargs: dict) -> str | None:
    for i, (before, after) in enumerate(zip(case.args, args)):
        if compare_outputs(before, after, atol=0.0, rtol=0.0) is not None:
            return f"arg {i}"
    for key, before in case.kwargs.items():
        if compare_outputs(before, kwargs[key], atol=0.0, rtol=0.0) is not None:
            return f"{key!r}"
    return None

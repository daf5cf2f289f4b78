"""Shared input checks for the public functions of :mod:`lessons`.

Every public function validates what it is given and raises :class:`TypeError` (wrong kind of
object or dtype) or :class:`ValueError` (right kind, wrong shape or value). The message always names
the argument, says what was expected and what was received, for example::

    >>> check_boxes("boxes", torch.tensor([[0.0, 0.0, 2.0, 1.0], [3.0, 0.0, 1.0, 1.0]]))
    Traceback (most recent call last):
        ...
    ValueError: boxes: expected x1 <= x2 and y1 <= y2 in every row, got row 1 = [3.0, 0.0, 1.0, 1.0]

The ``check_*`` helpers only raise (``check_int`` and ``check_int_pair`` also return the
normalized value); they are private to the package. A public function calls them once, at its
door, then hands the checked values to a private core (``_name``) that does not check again.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import Tensor

__all__ = [
    "describe",
    "check_tensor",
    "check_floating",
    "check_ndim",
    "check_shape",
    "check_same_dtype",
    "check_same_device",
    "check_floating_pair",
    "check_positive",
    "check_non_negative",
    "check_choice",
    "check_int_pair",
    "check_int",
    "check_finite",
    "check_boxes",
    "check_int_tensor",
    "check_labels",
    "as_generator",
]


def describe(value: object) -> str:
    """A short description of ``value`` for error messages: type, and shape/dtype for tensors."""
    if isinstance(value, Tensor):
        return f"Tensor of shape {tuple(value.shape)} and dtype {value.dtype}"
    if isinstance(value, (list, tuple)) and len(value) <= 6:
        return f"{type(value).__name__} {value!r}"
    if isinstance(value, (list, tuple)):
        return f"{type(value).__name__} of length {len(value)}"
    return f"{type(value).__name__} {value!r}"


def check_tensor(name: str, value: object) -> None:
    """Raise ``TypeError`` unless ``value`` is a :class:`torch.Tensor`."""
    if not isinstance(value, Tensor):
        raise TypeError(f"{name}: expected a torch.Tensor, got {describe(value)}")


def check_floating(name: str, value: object) -> None:
    """Raise ``TypeError`` unless ``value`` is a floating-point tensor."""
    check_tensor(name, value)
    if not value.is_floating_point():  # type: ignore[union-attr]
        raise TypeError(
            f"{name}: expected a floating-point tensor (float16/bfloat16/float32/float64), got dtype {value.dtype}"  # type: ignore[union-attr]
        )


def check_ndim(name: str, value: Tensor, ndim: int | Sequence[int], layout: str = "") -> None:
    """Raise ``ValueError`` unless ``value.ndim`` is ``ndim`` (or one of them).

    ``layout`` is a human-readable shape such as ``"(B, C, H, W)"`` used in the message.
    """
    allowed = (ndim,) if isinstance(ndim, int) else tuple(ndim)
    if value.ndim not in allowed:
        want = layout or " or ".join(f"{d}-D" for d in allowed)
        raise ValueError(f"{name}: expected a tensor of shape {want}, got shape {tuple(value.shape)} ({value.ndim}-D)")


def check_shape(name: str, value: Tensor, shape: Sequence[int | None], layout: str = "") -> None:
    """Raise ``ValueError`` unless ``value.shape`` matches ``shape``; ``None`` matches any size."""
    ok = value.ndim == len(shape) and all(want is None or got == want for got, want in zip(value.shape, shape))
    if not ok:
        want = layout or "(" + ", ".join("*" if s is None else str(s) for s in shape) + ")"
        raise ValueError(f"{name}: expected shape {want}, got shape {tuple(value.shape)}")


def check_same_dtype(name: str, value: Tensor, other_name: str, other: Tensor) -> None:
    """Raise ``TypeError`` unless two tensors share a dtype."""
    if value.dtype != other.dtype:
        raise TypeError(f"{name}: expected the same dtype as {other_name} ({other.dtype}), got {value.dtype}")


def check_same_device(name: str, value: Tensor, other_name: str, other: Tensor) -> None:
    """Raise ``ValueError`` unless two tensors live on the same device."""
    if value.device != other.device:
        raise ValueError(f"{name}: expected the same device as {other_name} ({other.device}), got {value.device}")


def check_floating_pair(name_a: str, a: object, name_b: str, b: object) -> None:
    """Raise unless ``a`` and ``b`` are floating-point tensors of the same shape (``b`` is named).

    Example:
        >>> check_floating_pair("target", torch.zeros(2, 3), "pred", torch.zeros(3, 2))
        Traceback (most recent call last):
        ...
        ValueError: pred: expected the shape of target (2, 3), got (3, 2)
    """
    check_floating(name_a, a)
    check_floating(name_b, b)
    if a.shape != b.shape:
        raise ValueError(f"{name_b}: expected the shape of {name_a} {tuple(a.shape)}, got {tuple(b.shape)}")


def _check_real(name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{name}: expected a number, got {describe(value)}")
    return float(value)


def check_positive(name: str, value: object) -> None:
    """Raise unless ``value`` is a finite real number > 0 (NaN and inf are refused)."""
    if not 0 < _check_real(name, value) < math.inf:
        raise ValueError(f"{name}: expected a positive number, got {value!r}")


def check_non_negative(name: str, value: object) -> None:
    """Raise unless ``value`` is a finite real number >= 0 (NaN and inf are refused)."""
    if not 0 <= _check_real(name, value) < math.inf:
        raise ValueError(f"{name}: expected a non-negative number, got {value!r}")


def check_choice(name: str, value: object, choices: Sequence[str]) -> None:
    """Raise ``ValueError`` unless ``value`` is one of ``choices``."""
    if value not in choices:
        raise ValueError(f"{name}: expected one of {list(choices)}, got {value!r}")


def check_int_pair(name: str, value: object, *, minimum: int = 1) -> tuple[int, int]:
    """Normalize an ``int`` or a pair of ints (e.g. ``output_size``) to ``(h, w)``.

    Raises ``TypeError`` for anything that is not an int or a pair of ints, and ``ValueError``
    when a value is below ``minimum``.
    """
    if isinstance(value, int) and not isinstance(value, bool):
        pair = (value, value)
    elif (
        isinstance(value, (tuple, list))
        and len(value) == 2
        and all(isinstance(v, int) and not isinstance(v, bool) for v in value)
    ):
        pair = (int(value[0]), int(value[1]))
    else:
        raise TypeError(f"{name}: expected an int or a pair of ints (h, w), got {describe(value)}")
    if min(pair) < minimum:
        raise ValueError(f"{name}: expected values >= {minimum}, got {value!r}")
    return pair


def check_int(name: str, value: object, *, minimum: int | None = None) -> int:
    """Return ``value`` if it is an ``int`` (not a ``bool``) that is at least ``minimum``.

    Raises ``TypeError`` for anything else (floats, bools, tensors) and ``ValueError`` below
    ``minimum``.
    """
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name}: expected an int, got {describe(value)}")
    if minimum is not None and value < minimum:
        raise ValueError(f"{name}: expected an int >= {minimum}, got {value!r}")
    return value


def check_finite(name: str, value: Tensor) -> None:
    """Raise ``ValueError`` if a tensor holds NaN or inf (for coordinates, sizes, boxes, flows).

    Feature maps and losses are not checked this way: a full scan of every activation would cost
    more than the operation itself.
    """
    if value.is_floating_point() and value.numel() and not bool(torch.isfinite(value).all()):
        bad = int((~torch.isfinite(value)).sum())
        raise ValueError(f"{name}: expected finite values, got {bad} NaN/inf value(s) in shape {tuple(value.shape)}")


def check_boxes(
    name: str,
    boxes: object,
    *,
    n: int | None = None,
    allow_swapped: bool = False,
    allow_empty: bool = True,
) -> None:
    """Raise unless ``boxes`` is a floating ``Tensor[N, 4]`` of finite ``(x1, y1, x2, y2)`` rows.

    Args:
        name (str): the argument's name, used in every message.
        boxes (object): the value to check.
        n (int | None): the number of rows required; ``None`` (default) accepts any ``N``.
        allow_swapped (bool): accept rows with ``x1 > x2`` or ``y1 > y2`` (for functions that
            order the corners themselves); default ``False``: every row must have
            ``x1 <= x2`` and ``y1 <= y2``.
        allow_empty (bool): accept ``N = 0``; default ``True``.

    Raises:
        TypeError: not a tensor, or not floating point (integer, bool and complex boxes).
        ValueError: wrong shape, empty when ``allow_empty=False``, a NaN/inf coordinate, or a
            swapped row when ``allow_swapped=False``.
    """
    check_floating(name, boxes)
    assert isinstance(boxes, Tensor)
    layout = f"({'N' if n is None else n}, 4) with rows (x1, y1, x2, y2)"
    check_shape(name, boxes, (n, 4), layout)
    if not allow_empty and boxes.shape[0] == 0:
        raise ValueError(f"{name}: expected at least one box, got shape {tuple(boxes.shape)}")
    values = boxes.detach()
    check_finite(name, values)
    if not allow_swapped and values.shape[0]:
        bad = (values[:, 2] < values[:, 0]) | (values[:, 3] < values[:, 1])  # (N,)
        if bool(bad.any()):
            row = int(bad.nonzero()[0])
            raise ValueError(
                f"{name}: expected x1 <= x2 and y1 <= y2 in every row, got row {row} = {values[row].tolist()}"
            )


_INTEGER_DTYPES = (torch.int64, torch.int32, torch.int16, torch.int8, torch.uint8)


def check_int_tensor(name: str, value: object) -> None:
    """Raise ``TypeError`` unless ``value`` is an integer tensor (bool, float, complex are refused)."""
    check_tensor(name, value)
    if value.dtype not in _INTEGER_DTYPES:  # type: ignore[union-attr]
        raise TypeError(
            f"{name}: expected an integer tensor (int64/int32/int16/int8/uint8), got dtype {value.dtype}"  # type: ignore[union-attr]
        )


def check_labels(
    name: str,
    labels: object,
    *,
    n: int | None = None,
    low: int | None = 0,
    high: int | None = None,
) -> None:
    """Raise unless ``labels`` is an integer ``Tensor[N]`` with every value in ``[low, high)``.

    Args:
        name (str): the argument's name, used in every message.
        labels (object): the value to check (class indices, part indices ...).
        n (int | None): the required length; ``None`` (default) accepts any.
        low (int | None): the smallest valid value; ``None``: no lower bound. Default: ``0``.
        high (int | None): one past the largest valid value; ``None`` (default): no upper bound.
    """
    check_int_tensor(name, labels)
    assert isinstance(labels, Tensor)
    check_shape(name, labels, (n,), f"({'N' if n is None else n},)")
    if labels.numel() and (low is not None or high is not None):
        bad = torch.zeros_like(labels, dtype=torch.bool)
        if low is not None:
            bad |= labels < low
        if high is not None:
            bad |= labels >= high
        if bool(bad.any()):
            i = int(bad.nonzero()[0])
            if low is None:
                want = f"< {high}"
            else:
                want = f"in [{low}, {high})" if high is not None else f">= {low}"
            raise ValueError(f"{name}: expected values {want}, got {name}[{i}] = {int(labels[i])}")


def as_generator(name: str, seed: object) -> torch.Generator:
    """The course's one randomness convention: ``seed`` is an ``int`` or a ``torch.Generator``.

    An int gives a fresh CPU generator seeded with it (the same data every call); a generator is
    used as it is and advances, so consecutive calls draw different data.
    """
    if isinstance(seed, torch.Generator):
        return seed
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise TypeError(f"{name}: expected an int or a torch.Generator, got {describe(seed)}")
    return torch.Generator().manual_seed(seed)

"""Shared input checks for the public functions of :mod:`lessons`.

Every public function validates what it is given and raises :class:`TypeError` (wrong kind of
object or dtype) or :class:`ValueError` (right kind, wrong shape or value). The message always names
the argument, says what was expected and what was received, for example::

    ValueError: boxes: expected a Tensor of shape (K, 5) with rows (batch_index, x1, y1, x2, y2),
    got shape (3, 4). Pass a list of (L, 4) tensors, one per image, to give boxes without a batch index.

These helpers return nothing useful and only raise; they are private to the package.
"""

from __future__ import annotations

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
    "check_positive",
    "check_non_negative",
    "check_choice",
    "check_int_pair",
    "check_int",
    "check_finite",
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
            f"{name}: expected a floating-point tensor (float16/bfloat16/float32/float64), "
            f"got dtype {value.dtype}"  # type: ignore[union-attr]
        )


def check_ndim(name: str, value: Tensor, ndim: int | Sequence[int], layout: str = "") -> None:
    """Raise ``ValueError`` unless ``value.ndim`` is ``ndim`` (or one of them).

    ``layout`` is a human-readable shape such as ``"(B, C, H, W)"`` used in the message.
    """
    allowed = (ndim,) if isinstance(ndim, int) else tuple(ndim)
    if value.ndim not in allowed:
        want = layout or " or ".join(f"{d}-D" for d in allowed)
        raise ValueError(
            f"{name}: expected a tensor of shape {want}, got shape {tuple(value.shape)} "
            f"({value.ndim}-D)"
        )


def check_shape(name: str, value: Tensor, shape: Sequence[int | None], layout: str = "") -> None:
    """Raise ``ValueError`` unless ``value.shape`` matches ``shape``; ``None`` matches any size."""
    ok = value.ndim == len(shape) and all(
        want is None or got == want for got, want in zip(value.shape, shape)
    )
    if not ok:
        want = layout or "(" + ", ".join("*" if s is None else str(s) for s in shape) + ")"
        raise ValueError(f"{name}: expected shape {want}, got shape {tuple(value.shape)}")


def check_same_dtype(name: str, value: Tensor, other_name: str, other: Tensor) -> None:
    """Raise ``TypeError`` unless two tensors share a dtype."""
    if value.dtype != other.dtype:
        raise TypeError(
            f"{name}: expected the same dtype as {other_name} ({other.dtype}), got {value.dtype}"
        )


def check_same_device(name: str, value: Tensor, other_name: str, other: Tensor) -> None:
    """Raise ``ValueError`` unless two tensors live on the same device."""
    if value.device != other.device:
        raise ValueError(
            f"{name}: expected the same device as {other_name} ({other.device}), "
            f"got {value.device}"
        )


def _check_real(name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{name}: expected a number, got {describe(value)}")
    return float(value)


def check_positive(name: str, value: object) -> None:
    """Raise unless ``value`` is a real number > 0."""
    if not _check_real(name, value) > 0:
        raise ValueError(f"{name}: expected a positive number, got {value!r}")


def check_non_negative(name: str, value: object) -> None:
    """Raise unless ``value`` is a real number >= 0."""
    if not _check_real(name, value) >= 0:
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

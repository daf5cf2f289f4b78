"""Checks for the exercises of notebook 07 (stacked hourglass).

* 7.1 :func:`check_receptive_field_size` — the textbook receptive field of a conv stack.
* 7.2 :func:`check_hourglass_forward` — the recursive hourglass forward pass, given the blocks.
* 7.3 :func:`check_stacked_loss` — intermediate supervision: the heatmap MSE summed over stacks.

Each compares the student's function with :mod:`lessons.hourglass` on a battery of cases (edge
cases first). When a case fails, the student's output on it is compared with the
classic wrong answers; when it matches one, the failure message carries that mistake's hint.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import Tensor

from lessons.exercises import Case, CheckReport, Mistake, check_function
from lessons.hourglass import Hourglass, conv_receptive_field, intermediate_loss

__all__ = ["blocks_of", "check_receptive_field_size", "check_hourglass_forward", "check_stacked_loss"]


# ----------------------------------------------------------------------------- 7.1


def _rf_no_jump(layers):
    return 1 + sum(k - 1 for k, _ in layers)


def _rf_jump_after(layers):
    r, jump = 1, 1
    for k, s in layers:
        jump *= s
        r += (k - 1) * jump
    return r


def _rf_kernel_sum(layers):
    return sum(k for k, _ in layers)


def check_receptive_field_size(student: Callable[[list], int]) -> CheckReport:
    """Exercise 7.1: ``receptive_field_size(layers) -> int`` for ``(kernel, stride)`` pairs."""
    g = torch.Generator().manual_seed(71)
    cases = [
        Case(
            "no layers at all: one pixel sees itself",
            ([],),
            hint="Start from r = 1 (an output pixel of 'no layer' is the input pixel itself).",
        ),
        Case("one 3x3 convolution", ([(3, 1)],)),
        Case(
            "two 3x3 convolutions, stride 1",
            ([(3, 1), (3, 1)],),
            hint="Each 3x3 layer adds k - 1 = 2 pixels: r = 1 + 2 + 2.",
        ),
        Case("a 2x2 max pool (stride 2) then a 3x3 convolution", ([(2, 2), (3, 1)],)),
        Case("a stride-2 layer *last*: its stride does not widen its own field", ([(3, 1), (3, 2)],)),
        Case("the hourglass stem: 7x7 stride 2, 2x2 pool, 3x3", ([(7, 2), (2, 2), (3, 1)],)),
    ]
    for n in (3, 5):
        layers = [
            (int(torch.randint(1, 6, (), generator=g)), int(torch.randint(1, 3, (), generator=g))) for _ in range(n)
        ]
        cases.append(Case(f"{n} random layers", (layers,)))
    variants = [
        Mistake(
            "no jump (strides ignored)",
            _rf_no_jump,
            "A layer after a stride-2 layer moves in steps of 2 input pixels: multiply its k - 1 by "
            "the product of the strides *before* it (the jump).",
        ),
        Mistake(
            "the jump updated before the layer",
            _rf_jump_after,
            "Update the jump after you add the layer's k - 1: a layer's own stride only affects "
            "the layers that come after it.",
        ),
        Mistake(
            "the kernel sizes added up",
            _rf_kernel_sum,
            "Adding the kernel sizes counts the centre pixel once per layer; each layer adds "
            "k - 1 pixels to r, starting from r = 1.",
        ),
    ]
    return check_function(
        student,
        conv_receptive_field,
        cases,
        mistakes=variants,
        exercise="7.1",
        name="receptive_field_size",
        atol=0.0,
        rtol=0.0,
        hint="Keep r (the field so far) and jump (input pixels between neighbouring outputs); return an int.",
    )


# ----------------------------------------------------------------------------- 7.2


def blocks_of(hourglass: Hourglass) -> Callable[[int, str, Tensor], Tensor]:
    """The blocks of an ``merge="add"`` :class:`Hourglass` as a function ``res(level, branch, t)``.

    ``level`` counts down from ``hourglass.depth`` (the outermost level) to 1 (the innermost);
    ``branch`` is ``"up1"`` (the skip branch), ``"low1"`` (after the pool), ``"low3"`` (before the
    upsampling) or, at level 1 only, ``"low2"`` (the innermost block). The returned function
    carries the module as ``res.hourglass``.
    """
    if not isinstance(hourglass, Hourglass) or hourglass.merge != "add":
        raise TypeError("hourglass: expected a lessons.hourglass.Hourglass with merge='add'")
    by_level = {}
    level = hourglass
    while isinstance(level, Hourglass):
        by_level[level.depth] = level
        level = level.low2

    def res(level: int, branch: str, t: Tensor) -> Tensor:
        if level not in by_level:
            raise ValueError(
                f"level: expected 1..{hourglass.depth} (the outermost is {hourglass.depth}), got {level!r}"
            )
        allowed = ("up1", "low1", "low3") + (("low2",) if level == 1 else ())
        if branch not in allowed:
            raise ValueError(f"branch: expected one of {list(allowed)} at level {level}, got {branch!r}")
        return getattr(by_level[level], branch)(t)

    res.hourglass = hourglass  # type: ignore[attr-defined]
    return res


def reference_hourglass_forward(x: Tensor, depth: int, res: Callable[..., Tensor]) -> Tensor:
    """The library's forward pass of the hourglass whose blocks ``res`` applies."""
    return res.hourglass(x)  # type: ignore[attr-defined]


def _hourglass_variant(x, depth, res, *, skip="res", pool="max", up="nearest", low3=True):
    """The recursion with one classic mistake switched on."""
    pooled = F.max_pool2d(x, 2) if pool == "max" else F.avg_pool2d(x, 2)
    low1 = res(depth, "low1", pooled)
    low2 = (
        _hourglass_variant(low1, depth - 1, res, skip=skip, pool=pool, up=up, low3=low3)
        if depth > 1
        else res(depth, "low2", low1)
    )
    low3_ = res(depth, "low3", low2) if low3 else low2
    up2 = F.interpolate(low3_, scale_factor=2, mode=up)
    if skip == "none":
        return up2
    if skip == "identity":
        return x + up2
    if skip == "concat":
        return torch.cat([res(depth, "up1", x), up2], dim=1)
    return res(depth, "up1", x) + up2


def _hourglass_case(
    description: str, depth: int, channels: int, size: tuple[int, int], seed: int, num_blocks: int = 1, hint: str = ""
) -> Case:
    with torch.random.fork_rng():  # seed the blocks' initial weights, leave the caller's RNG alone
        torch.manual_seed(seed)
        hg = Hourglass(depth, channels, num_blocks=num_blocks).eval()
    with torch.no_grad():  # move the BatchNorm statistics away from the identity
        for m in hg.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.copy_(0.3 * torch.randn(m.num_features, generator=torch.Generator().manual_seed(seed)))
                m.running_var.fill_(0.8)
    x = torch.randn(2, channels, *size, generator=torch.Generator().manual_seed(seed))
    return Case(description, (x, depth, blocks_of(hg)), hint=hint)


def check_hourglass_forward(student: Callable[..., Tensor]) -> CheckReport:
    """Exercise 7.2: ``hourglass_forward(x, depth, res) -> Tensor`` (same shape as ``x``)."""
    cases = [
        _hourglass_case(
            "depth 1 on a 2x2 map: one pool, one upsampling",
            1,
            4,
            (2, 2),
            720,
            hint="out = up1 + upsample(low3) with up1 = res(depth, 'up1', x).",
        ),
        _hourglass_case(
            "depth 2 on a 4x4 map: the recursion goes one level down",
            2,
            4,
            (4, 4),
            721,
            hint="At depth > 1, low2 is hourglass_forward(low1, depth - 1, res); at depth 1 it is "
            "res(1, 'low2', low1).",
        ),
        _hourglass_case("depth 3 on a non-square 8x16 map", 3, 6, (8, 16), 722),
        _hourglass_case("depth 2, two residual modules per block", 2, 4, (8, 8), 723, num_blocks=2),
        _hourglass_case("depth 4 on a 16x16 map", 4, 8, (16, 16), 724),
    ]
    variants = [
        Mistake(
            "no skip branch",
            lambda x, d, r: _hourglass_variant(x, d, r, skip="none"),
            "Your output has no skip branch: every level adds res(depth, 'up1', x), computed at the input's "
            "resolution, to the upsampled coarse path; that is where the precise detail comes from.",
        ),
        Mistake(
            "the bare input as the skip",
            lambda x, d, r: _hourglass_variant(x, d, r, skip="identity"),
            "The skip branch is not the bare input: it passes through its own block, res(depth, 'up1', x), "
            "before it is added.",
        ),
        Mistake(
            "concatenation instead of a sum",
            lambda x, d, r: _hourglass_variant(x, d, r, skip="concat"),
            "The hourglass adds the two branches; concatenating them doubles the channels.",
        ),
        Mistake(
            "average pooling",
            lambda x, d, r: _hourglass_variant(x, d, r, pool="avg"),
            "Downsample with max pooling (F.max_pool2d(x, 2)), not average pooling.",
        ),
        Mistake(
            "bilinear upsampling",
            lambda x, d, r: _hourglass_variant(x, d, r, up="bilinear"),
            "Upsample with nearest neighbour (F.interpolate(t, scale_factor=2), whose default mode is 'nearest').",
        ),
        Mistake(
            "no low3 block",
            lambda x, d, r: _hourglass_variant(x, d, r, low3=False),
            "After the inner hourglass (or the innermost block) comes one more block, res(depth, 'low3', ...), "
            "before the upsampling.",
        ),
    ]
    return check_function(
        student,
        reference_hourglass_forward,
        cases,
        mistakes=variants,
        exercise="7.2",
        name="hourglass_forward",
        atol=1e-5,
        rtol=1e-4,
        hint="Follow the four lines of the recursion: up1, low1 (after a 2x2 max pool), low2, low3; "
        "then out = up1 + upsample(low3).",
    )


# ----------------------------------------------------------------------------- 7.3


def reference_stacked_loss(outputs: list[Tensor], target: Tensor, visible: Tensor) -> Tensor:
    """Sum over stacks of ``0.5 * mean_pixels((out - target)^2)``, averaged over labelled keypoints."""
    return intermediate_loss(outputs, target, visible)


def _loss_variant(outputs, target, visible, *, reduce="sum", half=True, weighting="labelled"):
    per_stack = []
    for out in outputs[-1:] if reduce == "last" else outputs:
        per_map = ((out - target) ** 2).mean(dim=(-2, -1)) * (0.5 if half else 1.0)  # (B, K)
        w = visible.to(per_map.dtype)
        per_stack.append((per_map * w).sum() / (w.sum() if weighting == "labelled" else w.numel()))
    total = torch.stack(per_stack)
    return total.mean() if reduce == "mean" else total.sum()


def check_stacked_loss(student: Callable[..., Tensor]) -> CheckReport:
    """Exercise 7.3: ``stacked_loss(outputs, target, visible) -> Tensor[]``."""
    g = torch.Generator().manual_seed(73)
    t = torch.zeros(1, 1, 2, 2)
    all_vis = torch.ones(1, 1, dtype=torch.bool)

    def rand(*shape):
        return torch.rand(*shape, generator=g)

    target3 = rand(2, 3, 4, 4)
    some = torch.tensor([[True, False, True], [True, True, False]])
    cases = [
        Case(
            "one stack, one keypoint, every pixel off by 1",
            ([t + 1.0], t, all_vis),
            hint="The loss of one map is 0.5 * mean over its pixels of (out - target)**2.",
        ),
        Case(
            "two stacks off by 1 and by 3: the stacks' losses add up",
            ([t + 1.0, t + 3.0], t, all_vis),
            hint="Each stack's output is compared with the same target, and the losses are summed.",
        ),
        Case(
            "one stack, three keypoints, two labelled",
            ([rand(2, 3, 4, 4)], target3, some),
            hint="Average over the labelled (visible) keypoints only: divide by visible.sum().",
        ),
        Case("three stacks, two labelled of three", ([rand(2, 3, 4, 4) for _ in range(3)], target3, some)),
        Case(
            "two stacks, every keypoint labelled, 6x5 maps",
            ([rand(3, 2, 6, 5), rand(3, 2, 6, 5)], rand(3, 2, 6, 5), torch.ones(3, 2, dtype=torch.bool)),
        ),
    ]
    variants = [
        Mistake(
            "the mean over stacks",
            lambda o, tg, v: _loss_variant(o, tg, v, reduce="mean"),
            "Sum the stacks' losses, do not average them: each stack is supervised as fully as a single network.",
        ),
        Mistake(
            "the last stack only",
            lambda o, tg, v: _loss_variant(o, tg, v, reduce="last"),
            "That is the loss of the last stack only: intermediate supervision compares *every* stack's output "
            "with the target.",
        ),
        Mistake(
            "no factor 0.5",
            lambda o, tg, v: _loss_variant(o, tg, v, half=False),
            "pytorch-pose's JointsMSELoss has a factor 0.5 in front of the mean squared error.",
        ),
        Mistake(
            "unlabelled keypoints counted",
            lambda o, tg, v: _loss_variant(o, tg, v, weighting="all"),
            "Unlabelled keypoints should not count in the average: divide by the number of labelled maps.",
        ),
    ]
    return check_function(
        student,
        reference_stacked_loss,
        cases,
        mistakes=variants,
        exercise="7.3",
        name="stacked_loss",
        atol=1e-6,
        rtol=1e-5,
        hint="Return a 0-d tensor: sum over stacks of the per-map loss 0.5 * mean((out - target)**2), "
        "averaged over the labelled keypoints.",
    )

"""Claims of notebook 07 (stacked hourglass), each with the threshold the notebook asserts.

The experiments train six small networks per seed; each is run once per seed and shared by the
claims that read it.
"""

from __future__ import annotations

from functools import cache

from lessons.experiments.hourglass import experiment_merges, experiment_stacks

# the notebook's thresholds
SKIP_ERROR_GAP = 0.3  # px: removing the skip branches costs at least this much mean error on seen joints
MERGE_PCK_GAP = 0.1  # add and concat end within this PCK of each other
UNSUPERVISED_FIRST = 0.5  # PCK of the first stack's output without intermediate supervision stays below
SUPERVISED_FIRST = 0.7  # ... and with it, exceeds
STACKS_PCK_GAP = 0.1  # one stack vs two at about the same compute end within this PCK


@cache
def merges(seed: int):
    return experiment_merges(seed=seed)


@cache
def stacks(seed: int):
    return experiment_stacks(seed=seed)


def claim_skip_branch_localizes(seed: int):
    """Without skip branches the mean error on visible joints grows by more than 0.3 px."""
    r = merges(seed)
    gap = r["none"]["error_seen"] - r["add"]["error_seen"]
    return gap - SKIP_ERROR_GAP, f"error seen: add {r['add']['error_seen']:.2f}, none {r['none']['error_seen']:.2f} px"


def claim_add_close_to_concat_with_fewer_parameters(seed: int):
    """Adding ends within 0.1 PCK of concatenating, with fewer parameters."""
    r = merges(seed)
    gap = abs(r["add"]["pck"] - r["concat"]["pck"])
    fewer = r["concat"]["parameters"] - r["add"]["parameters"]
    return min(MERGE_PCK_GAP - gap, float(fewer)), (
        f"PCK add {r['add']['pck']:.3f}, concat {r['concat']['pck']:.3f}; params "
        f"{r['add']['parameters']} vs {r['concat']['parameters']}"
    )


def claim_intermediate_supervision_makes_stack_one_a_predictor(seed: int):
    """The first stack's output locates joints (PCK > 0.7) only with intermediate supervision (< 0.5 without)."""
    r = stacks(seed)
    with_is = r["2 stacks, intermediate"]["stacks"][0]["pck"]
    without = r["2 stacks, last only"]["stacks"][0]["pck"]
    return min(with_is - SUPERVISED_FIRST, UNSUPERVISED_FIRST - without), (
        f"stack-1 PCK with {with_is:.3f}, without {without:.3f}"
    )


def claim_one_or_two_stacks_close_at_equal_compute(seed: int):
    """At about the same compute, one stack and two stacks end within 0.1 PCK of each other."""
    r = stacks(seed)
    one = r["1 stack"]["stacks"][-1]["pck"]
    two = r["2 stacks, intermediate"]["stacks"][-1]["pck"]
    return STACKS_PCK_GAP - abs(one - two), f"PCK 1 stack {one:.3f}, 2 stacks {two:.3f}"

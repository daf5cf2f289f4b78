"""The shared input checks and the course's thread and randomness conventions."""

import os
import subprocess
import sys

import pytest
import torch

from lessons._checks import as_generator, check_finite, check_int


def test_check_int_accepts_ints_and_rejects_bools_floats_and_small_values():
    assert check_int("n", 3, minimum=1) == 3
    with pytest.raises(TypeError, match="n: expected an int, got bool"):
        check_int("n", True)
    with pytest.raises(TypeError, match="n: expected an int, got float"):
        check_int("n", 2.0)
    with pytest.raises(ValueError, match=r"n: expected an int >= 1, got 0"):
        check_int("n", 0, minimum=1)


def test_check_finite_names_the_argument_and_counts_bad_values():
    check_finite("boxes", torch.zeros(2, 4))
    check_finite("boxes", torch.zeros(0, 4))
    check_finite("labels", torch.tensor([1, 2]))  # integers are always finite
    bad = torch.tensor([[0.0, float("nan"), 1.0, float("inf")]])
    with pytest.raises(ValueError, match=r"boxes: expected finite values, got 2 NaN/inf"):
        check_finite("boxes", bad)


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

"""Tests for lessons.data.pairs: one-to-many strokes, ring mixtures, edge/shape pairs, SR pairs."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

import lessons.data as data
from lessons.data.pairs import (
    make_edge_shape_pairs,
    make_one_to_many,
    make_ring_mixture,
    make_sr_pairs,
    make_stroke_answers,
)


def test_reexported_from_lessons_data():
    for name in ("make_one_to_many", "make_ring_mixture", "make_edge_shape_pairs", "make_sr_pairs", "STROKE_COLOURS"):
        assert hasattr(data, name)


def test_stroke_answers_hand_case_and_mean_median():
    answers = make_stroke_answers()  # 3 positions x 3 colours, 1x9 strips
    assert answers.shape == (9, 3, 1, 9)
    assert answers[0, :, 0, 1].tolist() == [1.0, -1.0, -1.0]  # red stroke at columns 1-2
    assert answers[4, :, 0, 4].tolist() == [-1.0, 1.0, -1.0]  # green at columns 4-5
    assert len({tuple(a.flatten().tolist()) for a in answers}) == 9  # all different
    assert torch.equal(answers.median(dim=0).values, torch.full((3, 1, 9), -1.0))  # the median is blank
    with pytest.raises(ValueError, match="n_positions"):
        make_stroke_answers(n_positions=4)
    with pytest.raises(ValueError, match="n_colours"):
        make_stroke_answers(n_colours=5)


def test_one_to_many_targets_are_answers_and_seeded():
    r = make_one_to_many(50, seed=1)
    assert torch.equal(r.targets, r.answers[r.labels])
    assert torch.equal(make_one_to_many(50, seed=1).labels, r.labels)
    with pytest.raises(TypeError, match="seed"):
        make_one_to_many(5, seed=1.5)


def test_ring_mixture_points_near_their_mode():
    m = make_ring_mixture(400, n_modes=6, std=0.05, seed=0)
    assert m.points.shape == (400, 2) and m.centres.shape == (6, 2)
    assert torch.allclose(m.centres.norm(dim=1), torch.ones(6))
    nearest = torch.cdist(m.points, m.centres).argmin(dim=1)
    assert torch.equal(nearest, m.modes)  # std 0.05 << spacing 1
    with pytest.raises(ValueError, match="std"):
        make_ring_mixture(3, std=0.0)


def test_edge_pairs_outline_and_stripes():
    p = make_edge_shape_pairs(20, 16, period=4, seed=0)
    assert p.edges.shape == p.images.shape == (20, 1, 16, 16)
    outline = p.edges[:, 0] > 0
    assert bool((outline <= p.masks).all())  # the outline lies on the shape
    eroded = -F.max_pool2d(-p.masks[:, None].float(), 3, stride=1, padding=1)[:, 0] > 0
    assert torch.equal(outline, p.masks & ~eroded)  # a slow definition: shape minus its erosion
    assert bool((p.images[:, 0][~p.masks] == 1).all())
    inside = p.images[:, 0][p.masks]
    assert set(inside.unique().tolist()) == {-1.0, 0.0}
    # along a row inside a shape the stripes alternate every period / 2 = 2 columns
    row = p.images[0, 0, 8]
    cols = p.masks[0, 8].nonzero()[:, 0]
    values = row[cols]
    assert all(values[i] == values[i + 1] or values[i + 1] == values[i + 2] for i in range(len(values) - 2))
    with pytest.raises(ValueError, match="period"):
        make_edge_shape_pairs(2, period=3)


def test_sr_pairs_low_resolution_is_block_average():
    r = make_sr_pairs(6, 32, scale=4, seed=0)
    assert r.hr.shape == (6, 3, 32, 32) and r.lr.shape == (6, 3, 8, 8)
    slow = r.hr.reshape(6, 3, 8, 4, 8, 4).mean(dim=(3, 5))
    assert torch.allclose(r.lr, slow, atol=1e-6)
    assert 0 <= r.hr.min() and r.hr.max() <= 1
    with pytest.raises(ValueError, match="size"):
        make_sr_pairs(2, 30, scale=4)
    with pytest.raises(ValueError, match="photo_fraction"):
        make_sr_pairs(2, photo_fraction=1.5)

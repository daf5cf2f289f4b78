"""Tests for lessons.data.bodies: the procedural body, its part index and its UV charts."""

from __future__ import annotations

import math

import pytest
import torch

from lessons.data.bodies import (
    BODY_PARTS,
    POSE_FIELDS,
    Bodies,
    body_chart_to_image,
    make_bodies,
    random_body_poses,
    render_bodies,
)


def test_shapes_dtypes_ranges_and_named_fields():
    bodies = make_bodies(5, 64, seed=3)
    assert isinstance(bodies, Bodies)
    images, parts, uv, boxes, poses = bodies
    assert images.shape == (5, 3, 64, 64) and images.dtype == torch.float32
    assert parts.shape == (5, 64, 64) and parts.dtype == torch.int64
    assert uv.shape == (5, 2, 64, 64) and uv.dtype == torch.float32
    assert boxes.shape == (5, 4) and poses.shape == (5, len(POSE_FIELDS))
    assert 0 <= images.min() and images.max() <= 1
    assert set(parts.unique().tolist()) <= set(range(len(BODY_PARTS) + 1))
    assert 0 <= uv.min() and uv.max() <= 1
    assert bool((uv[:, 0][parts == 0] == 0).all()) and bool((uv[:, 1][parts == 0] == 0).all())


def test_every_part_is_visible_and_the_body_stays_inside_the_image():
    bodies = make_bodies(32, 64, seed=0)
    for k in range(1, len(BODY_PARTS) + 1):
        assert bool(((bodies.parts == k).flatten(1).sum(1) > 0).float().mean() > 0.9), BODY_PARTS[k - 1]
    # no body pixel on the image border: the figure fits
    border = torch.cat([bodies.parts[:, 0], bodies.parts[:, -1], bodies.parts[:, :, 0], bodies.parts[:, :, -1]], 1)
    assert bool((border == 0).float().mean() > 0.99)


def test_seeded_and_deterministic():
    a, b = make_bodies(3, seed=7), make_bodies(3, seed=7)
    assert all(torch.equal(x, y) for x, y in zip(a, b))
    c = make_bodies(3, seed=8)
    assert not torch.equal(a.poses, c.poses)
    g = torch.Generator().manual_seed(7)
    first, second = make_bodies(2, seed=g), make_bodies(2, seed=g)
    assert not torch.equal(first.poses, second.poses)


def test_tiny_hand_computed_torso_chart():
    """A body at (32, 30), scale 8, upright, limbs out of the way: the torso's chart is written out."""
    pose = torch.zeros(1, len(POSE_FIELDS), dtype=torch.float64)
    pose[0, :3] = torch.tensor([32.0, 30.0, 8.0])
    pose[0, 5] = pose[0, 7] = 2.6  # arms raised away from the torso
    bodies = render_bodies(pose, 64, noise=0.0)
    # pixel (row 30, col 33) has its centre at (33.5, 30.5): 1.5 px right of and 0.5 px below the centre
    a, b = 1.3 * 8, 0.75 * 8  # torso semi-axes along (down) and across
    assert bodies.parts[0, 30, 33] == 1
    # bone direction d = (0, 1) (down), across direction d_perp = (d_y, -d_x) = (1, 0): the offset
    # (1.5, 0.5) is 0.5 along the bone and 1.5 across it
    u_expected = (0.5 / a + 1) / 2
    v_expected = (1.5 / b + 1) / 2
    assert bodies.uv[0, 0, 30, 33].item() == pytest.approx(u_expected, abs=1e-6)
    assert bodies.uv[0, 1, 30, 33].item() == pytest.approx(v_expected, abs=1e-6)
    # the crown of the torso (neck) is U = 0, the hips U = 1
    assert bodies.uv[0, 0, 30 - 10, 32].item() < 0.1 and bodies.uv[0, 0, 30 + 9, 32].item() > 0.9


def test_chart_to_image_inverts_the_rendering():
    bodies = make_bodies(4, 64, seed=1)
    for k in range(4):
        rows, cols = (bodies.parts[k] > 0).nonzero(as_tuple=True)
        parts = bodies.parts[k, rows, cols][None]
        uv = bodies.uv[k, :, rows, cols].T[None].double()
        xy = body_chart_to_image(bodies.poses[k : k + 1], parts, uv)[0]
        centres = torch.stack([cols + 0.5, rows + 0.5], dim=1).double()
        assert torch.allclose(xy, centres, atol=1e-4)


def test_uv_ids_survive_a_change_of_pose():
    """The lecture's mesh-id invariance: a body point keeps its (I, U, V) when the body moves."""
    poses = random_body_poses(6, seed=2)
    moved = random_body_poses(6, seed=5)
    moved[:, :3] = poses[:, :3]  # same place and size, every joint different
    before, after = render_bodies(poses), render_bodies(moved)
    checked = 0
    for k in range(6):
        rows, cols = (before.parts[k] > 0).nonzero(as_tuple=True)
        parts = before.parts[k, rows, cols]
        uv = before.uv[k, :, rows, cols].T
        xy = body_chart_to_image(moved[k : k + 1], parts[None], uv[None].double())[0]  # where they went
        r, c = xy[:, 1].floor().long(), xy[:, 0].floor().long()
        inside = (r >= 0) & (r < 64) & (c >= 0) & (c < 64)
        r, c, parts, uv = r[inside], c[inside], parts[inside], uv[inside]
        same_part = after.parts[k, r, c] == parts  # not hidden behind another part
        assert same_part.float().mean() > 0.7
        # the pixel the point moved to shows (nearly) the same chart coordinates: within one pixel
        err = (after.uv[k, :, r, c].T - uv)[same_part].abs()
        scale = float(moved[k, 2])
        assert err.median() < 1.0 / scale
        checked += int(same_part.sum())
    assert checked > 1000


def test_bad_inputs_name_the_argument():
    with pytest.raises(ValueError, match="n"):
        make_bodies(0)
    with pytest.raises(TypeError, match="seed"):
        make_bodies(2, seed=1.5)
    with pytest.raises(ValueError, match="size"):
        make_bodies(2, 16)
    with pytest.raises(ValueError, match="noise"):
        make_bodies(2, noise=-1.0)
    with pytest.raises(ValueError, match="poses"):
        render_bodies(torch.zeros(2, 5, dtype=torch.float64))
    with pytest.raises(TypeError, match="poses"):
        render_bodies(torch.zeros(2, 13, dtype=torch.int64))
    bad = random_body_poses(1)
    bad[0, 0] = math.nan
    with pytest.raises(ValueError, match="poses"):
        render_bodies(bad)
    bad = random_body_poses(1)
    bad[0, 2] = 0.0
    with pytest.raises(ValueError, match="scale"):
        render_bodies(bad)
    poses = random_body_poses(1)
    with pytest.raises(ValueError, match="parts"):
        body_chart_to_image(poses, torch.tensor([[0]]), torch.zeros(1, 1, 2))
    with pytest.raises(ValueError, match="uv"):
        body_chart_to_image(poses, torch.tensor([[1]]), torch.zeros(1, 2, 2))
    with pytest.raises(ValueError, match="uv"):
        body_chart_to_image(poses, torch.tensor([[1]]), torch.full((1, 1, 2), math.inf))

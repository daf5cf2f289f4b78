"""Tests for lessons.data.scenes: instance scenes and moving clips with a known flow."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from lessons.data import (
    SHAPE_KINDS,
    InstanceScene,
    MovingClip,
    clip_flow,
    make_instance_scene,
    make_instance_scenes,
    make_moving_clip,
    mask_to_box,
)
from lessons.yolact import warp_features


def _check_targets(image, masks, boxes, labels, size):
    n = masks.shape[0]
    assert image.shape == (3, *size) and image.dtype == torch.float32
    assert masks.shape == (n, *size) and masks.dtype == torch.bool
    assert boxes.shape == (n, 4) and boxes.dtype == torch.float32
    assert labels.shape == (n,) and labels.dtype == torch.int64
    assert bool((image >= 0).all() and (image <= 1).all())
    assert int(masks.sum(0).max()) <= 1  # visible masks are disjoint
    assert bool((masks.flatten(1).sum(1) >= 9).all())  # every instance stays visible
    assert torch.equal(boxes, mask_to_box(masks))
    assert bool(((labels >= 0) & (labels < len(SHAPE_KINDS))).all())


@settings(max_examples=10, deadline=None)
@given(seed=st.integers(0, 10_000), n=st.integers(1, 4))
def test_scene_targets_are_consistent(seed, n):
    scene = make_instance_scene((40, 56), n, seed=seed)
    assert isinstance(scene, InstanceScene) and scene.masks.shape[0] == n
    _check_targets(*scene, (40, 56))


def test_scene_pixels_show_their_instance():
    scene = make_instance_scene(64, 4, seed=3, noise=0.0)
    background = ~scene.masks.any(0)
    for n in range(4):
        colours = scene.image[:, scene.masks[n]]  # (3, pixels): one flat colour per instance
        assert float(colours.std(dim=1).max()) == 0.0
        # far from the background colour next to it
        assert float((colours[:, 0] - scene.image[:, background].mean(1)).norm()) > 0.3


def test_scenes_are_seeded_and_counted():
    a = make_instance_scene(32, (2, 4), seed=7)
    b = make_instance_scene(32, (2, 4), seed=7)
    c = make_instance_scene(32, (2, 4), seed=8)
    assert all(torch.equal(x, y) for x, y in zip(a, b))
    assert not torch.equal(a.image, c.image)
    scenes = make_instance_scenes(6, 32, (2, 3), seed=1)
    assert len(scenes) == 6 and all(2 <= s.masks.shape[0] <= 3 for s in scenes)
    again = make_instance_scenes(6, 32, (2, 3), seed=1)
    assert all(torch.equal(s.image, t.image) for s, t in zip(scenes, again))
    assert len({s.image.sum().item() for s in scenes}) == 6  # all different
    g = torch.Generator().manual_seed(5)
    assert not torch.equal(make_instance_scene(32, seed=g).image, make_instance_scene(32, seed=g).image)


def test_scene_occlusion_later_shapes_on_top():
    # a scene with heavy overlap allowed: the union of visible masks is what was painted
    scene = make_instance_scene(48, 4, seed=11, radius=(0.2, 0.3), min_visible=0.2, noise=0.0)
    painted = scene.masks.any(0)
    assert int(scene.masks.sum()) == int(painted.sum())
    _check_targets(*scene, (48, 48))


def test_clip_shapes_motion_and_flow():
    clip = make_moving_clip(8, 48, 3, seed=2, max_speed=1.5)
    assert isinstance(clip, MovingClip)
    t_frames, n = 8, 3
    assert clip.frames.shape == (t_frames, 3, 48, 48)
    assert clip.masks.shape == (t_frames, n, 48, 48) and clip.boxes.shape == (t_frames, n, 4)
    assert clip.labels.shape == (n,) and clip.velocities.shape == (n, 2) and clip.centers.shape == (t_frames, n, 2)
    for t in range(t_frames):
        _check_targets(clip.frames[t], clip.masks[t], clip.boxes[t], clip.labels, (48, 48))
    # constant velocity within the speed limit, centres inside the image
    steps = clip.centers[1:] - clip.centers[:-1]
    torch.testing.assert_close(steps, clip.velocities[None].expand_as(steps))
    assert bool((clip.velocities.abs() <= 1.5).all())
    assert bool(((clip.centers >= 0) & (clip.centers <= 48)).all())


@settings(max_examples=10, deadline=None)
@given(seed=st.integers(0, 1000), t=st.integers(0, 5), s=st.integers(0, 5))
def test_clip_flow_maps_each_pixel_to_the_same_point_of_its_shape(seed, t, s):
    clip = make_moving_clip(6, 40, 2, seed=seed)
    flow = clip_flow(clip, t, s)
    assert flow.shape == (2, 40, 40) and flow.dtype == torch.float32
    ys, xs = torch.meshgrid(torch.arange(40.0), torch.arange(40.0), indexing="ij")
    background = ~clip.masks[t].any(0)
    assert bool((flow[:, background] == 0).all())
    for n in range(2):
        m = clip.masks[t, n]
        # position relative to the shape's centre is preserved: p + flow - c_s == p - c_t
        rel_t = torch.stack([xs[m], ys[m]]) - clip.centers[t, n][:, None]
        rel_s = torch.stack([xs[m], ys[m]]) + flow[:, m] - clip.centers[s, n][:, None]
        torch.testing.assert_close(rel_s, rel_t, atol=1e-4, rtol=0)
    assert bool((clip_flow(clip, t, t) == 0).all())


def test_clip_flow_warps_the_reference_frame_onto_the_frame():
    # without noise, warping frame s by the flow t -> s reproduces frame t inside every shape,
    # except near shape borders (bilinear mixing) and where frame s hides the point
    clip = make_moving_clip(6, 48, 2, seed=4, noise=0.0, max_speed=2.0, radius=(0.15, 0.22))
    t, s = 4, 0
    warped = warp_features(clip.frames[s][None], clip_flow(clip, t, s)[None])[0]
    interior = torch.zeros(48, 48, dtype=torch.bool)
    for n in range(2):
        m = clip.masks[t, n].float()[None, None]
        core = -torch.nn.functional.max_pool2d(-m, 5, 1, 2)[0, 0] > 0.5  # eroded by 2 pixels
        # the same points, eroded, must also be visible in frame s
        moved = warp_features(clip.masks[s, n].float()[None, None], clip_flow(clip, t, s)[None])
        interior |= core & (moved[0, 0] > 0.999)
    assert int(interior.sum()) > 50
    torch.testing.assert_close(warped[:, interior], clip.frames[t][:, interior], atol=1e-5, rtol=0)


def test_clip_is_seeded_and_fast_clips_are_drawable():
    a, b = make_moving_clip(5, 32, 2, seed=9), make_moving_clip(5, 32, 2, seed=9)
    assert all(torch.equal(x, y) for x, y in zip(a, b))
    fast = make_moving_clip(16, 64, 3, seed=0, max_speed=4.0)
    assert bool((fast.velocities.abs() <= 4.0).all())
    assert make_moving_clip(1, 32, 1, seed=0).frames.shape == (1, 3, 32, 32)


def test_scene_and_clip_errors():
    with pytest.raises(ValueError, match="size: expected values >= 8"):
        make_instance_scene(4)
    with pytest.raises(ValueError, match="num_instances: expected 1 <= low <= high"):
        make_instance_scene(32, (3, 2))
    with pytest.raises(TypeError, match="num_instances: expected an int or a pair"):
        make_instance_scene(32, 2.5)
    with pytest.raises(ValueError, match="radius: expected 0 < low <= high < 0.5"):
        make_instance_scene(32, radius=(0.1, 0.6))
    with pytest.raises(TypeError, match="seed: expected an int or a torch.Generator"):
        make_instance_scene(32, seed="a")
    with pytest.raises(ValueError, match="n: expected an int >= 0"):
        make_instance_scenes(-1)
    with pytest.raises(ValueError, match="num_frames: expected an int >= 1"):
        make_moving_clip(0)
    with pytest.raises(ValueError, match="max_speed: expected a positive number"):
        make_moving_clip(4, max_speed=0.0)
    clip = make_moving_clip(3, 32, 1, seed=0)
    with pytest.raises(ValueError, match=r"reference: expected a frame index in \[0, 3\)"):
        clip_flow(clip, 0, 3)
    with pytest.raises(TypeError, match="clip: expected a MovingClip"):
        clip_flow(tuple(clip), 0, 1)
    with pytest.raises(RuntimeError, match="could not place"):
        make_instance_scene(16, 4, radius=(0.45, 0.49), min_visible=0.9)

"""Tests for lessons.data.figures: stick figures with clutter and occluded joints."""

from __future__ import annotations

import pytest
import torch

import lessons.data as data
from lessons.data.figures import FIGURE_JOINTS, StickFigures, make_stick_figures


def test_shapes_dtypes_ranges_and_named_fields():
    figs = make_stick_figures(30, (48, 56), seed=0)
    assert isinstance(figs, StickFigures)
    images, keypoints, visible, occluded = figs  # unpackable
    assert images.shape == (30, 1, 48, 56) and images.dtype == torch.float32
    assert keypoints.shape == (30, len(FIGURE_JOINTS), 2) and keypoints.dtype == torch.float32
    assert visible.shape == occluded.shape == (30, 7) and visible.dtype == occluded.dtype == torch.bool
    assert visible.all() and images.min() >= 0 and images.max() <= 1
    assert (keypoints[..., 0] >= 0).all() and (keypoints[..., 0] <= 55).all()
    assert (keypoints[..., 1] >= 0).all() and (keypoints[..., 1] <= 47).all()


def test_reexported_and_deterministic():
    assert data.make_stick_figures is make_stick_figures and data.FIGURE_JOINTS == FIGURE_JOINTS
    a, b, c = make_stick_figures(4, seed=3), make_stick_figures(4, seed=3), make_stick_figures(4, seed=4)
    assert all(torch.equal(x, y) for x, y in zip(a, b))
    assert not torch.equal(a.keypoints, c.keypoints)
    g = torch.Generator().manual_seed(3)
    first, second = make_stick_figures(4, seed=g), make_stick_figures(4, seed=g)  # a generator advances
    assert torch.equal(first.images, a.images) and not torch.equal(second.images, a.images)


def test_body_geometry():
    kp = make_stick_figures(300, seed=1).keypoints
    head, neck, pelvis, lh, rh, lf, rf = kp.unbind(dim=1)
    assert (head[:, 1] < neck[:, 1]).all() and (neck[:, 1] < pelvis[:, 1]).all()  # upright (tilt <= 0.3 rad)
    # left as seen in the image: left of the body axis
    axis = pelvis - neck

    def side(p, origin):
        d = p - origin
        return axis[:, 0] * d[:, 1] - axis[:, 1] * d[:, 0]  # > 0: to the image's left of the axis

    assert (side(lh, neck) > 0).all() and (side(rh, neck) < 0).all()
    assert (side(lf, pelvis) > 0).all() and (side(rf, pelvis) < 0).all()
    torso = axis.norm(dim=1)
    for hand in (lh, rh):
        ratio = (hand - neck).norm(dim=1) / torso
        assert (ratio > 0.79).all() and (ratio < 1.01).all()  # arms: 0.8 to 1 torso
    assert kp[:, 2, 0].std() > 2 and kp[:, 2, 1].std() > 2  # figures move around


def test_strokes_are_drawn_and_occluders_hide_the_joint():
    figs = make_stick_figures(200, noise=0.0, clutter=0, occlusion=0.0, seed=2)
    n = torch.arange(200)
    mid = (figs.keypoints[:, 1] + figs.keypoints[:, 2]) / 2  # middle of the torso: on a stroke
    ink = figs.images[n, 0, mid[:, 1].round().long(), mid[:, 0].round().long()]
    assert (ink > 0.6).all() and not figs.occluded.any()

    occ = make_stick_figures(200, noise=0.0, clutter=0, occlusion=1.0, seed=2)
    assert occ.occluded[:, 3:].any(dim=1).all()  # every image hides a hand or a foot
    hidden = occ.occluded[:, 3:].float().argmax(dim=1) + 3
    xy = occ.keypoints[n, hidden].round().long()
    dark = occ.images[n, 0, xy[:, 1], xy[:, 0]]
    assert (dark < 0.4).all()  # the ink at the hidden joint is covered
    # the same figures as without occluders: occlusion draws from the generator after the figure
    assert torch.equal(occ.keypoints, figs.keypoints)


def test_occlusion_probability():
    occ = make_stick_figures(400, occlusion=0.5, seed=5).occluded
    share = occ.any(dim=1).float().mean().item()
    assert 0.4 < share < 0.6


def test_bad_inputs():
    with pytest.raises(ValueError, match="n"):
        make_stick_figures(0)
    with pytest.raises(TypeError, match="n"):
        make_stick_figures(2.0)
    with pytest.raises(ValueError, match="size"):
        make_stick_figures(2, 16)
    with pytest.raises(ValueError, match="occlusion"):
        make_stick_figures(2, occlusion=1.5)
    with pytest.raises(ValueError, match="noise"):
        make_stick_figures(2, noise=-0.1)
    with pytest.raises(ValueError, match="clutter"):
        make_stick_figures(2, clutter=-1)
    with pytest.raises(TypeError, match="seed"):
        make_stick_figures(2, seed="zero")

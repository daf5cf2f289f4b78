"""Tests for lessons.data.landmarks: procedural faces with five landmarks."""

from __future__ import annotations

import pytest
import torch

import lessons.data as data
from lessons.data.landmarks import FACE_LANDMARKS, make_landmark_faces


def test_shapes_dtypes_ranges():
    images, keypoints, visible = make_landmark_faces(40, (32, 40), seed=0)
    assert images.shape == (40, 1, 32, 40) and images.dtype == torch.float32
    assert keypoints.shape == (40, len(FACE_LANDMARKS), 2) and keypoints.dtype == torch.float32
    assert visible.shape == (40, 5) and visible.dtype == torch.bool and visible.all()
    assert images.min() >= 0 and images.max() <= 1
    # every landmark inside the image, x within the width and y within the height
    assert (keypoints[..., 0] >= 0).all() and (keypoints[..., 0] <= 39).all()
    assert (keypoints[..., 1] >= 0).all() and (keypoints[..., 1] <= 31).all()


def test_reexported_and_deterministic():
    assert data.make_landmark_faces is make_landmark_faces and data.FACE_LANDMARKS == FACE_LANDMARKS
    a = make_landmark_faces(5, seed=3)
    b = make_landmark_faces(5, seed=3)
    c = make_landmark_faces(5, seed=4)
    assert all(torch.equal(x, y) for x, y in zip(a, b))
    assert not torch.equal(a.keypoints, c.keypoints)
    # seed=int is a fresh generator seeded with it: the same draws as an explicit generator
    g = torch.Generator().manual_seed(3)
    assert torch.equal(make_landmark_faces(5, seed=g).images, a.images)
    assert not torch.equal(make_landmark_faces(5, seed=g).images, a.images)  # a generator advances


def test_landmark_geometry():
    _, kp, _ = make_landmark_faces(200, seed=1)
    left_eye, right_eye, nose, mouth_left, mouth_right = kp.unbind(dim=1)
    assert (left_eye[:, 0] < right_eye[:, 0]).all()  # left as seen in the image
    assert (mouth_left[:, 0] < mouth_right[:, 0]).all()
    eyes_y = (left_eye[:, 1] + right_eye[:, 1]) / 2
    mouth_y = (mouth_left[:, 1] + mouth_right[:, 1]) / 2
    assert (eyes_y < nose[:, 1]).all() and (nose[:, 1] < mouth_y).all()  # top to bottom
    # the faces move around: landmark positions spread over the image
    assert kp[:, 2, 0].std() > 2 and kp[:, 2, 1].std() > 2


def test_landmarks_sit_on_the_drawn_features():
    """Eyes and mouth corners are dark spots on a brighter face: sample the noiseless image there."""
    images, kp, _ = make_landmark_faces(100, noise=0.0, seed=2)
    n = torch.arange(100)

    def at(k):
        x, y = kp[:, k, 0].round().long(), kp[:, k, 1].round().long()
        return images[n, 0, y, x]

    cheek = (kp[:, 0] + kp[:, 3]) / 2  # between the left eye and the left mouth corner: skin
    skin = images[n, 0, cheek[:, 1].round().long(), cheek[:, 0].round().long()]
    assert (skin > 0.5).all()
    for k in (0, 1):
        assert (at(k) < skin - 0.3).float().mean() > 0.9


def test_errors():
    with pytest.raises(ValueError, match="n: expected an int >= 1"):
        make_landmark_faces(0)
    with pytest.raises(TypeError, match="n: expected an int"):
        make_landmark_faces(2.0)
    with pytest.raises(ValueError, match="size: expected values >= 16"):
        make_landmark_faces(2, 8)
    with pytest.raises(ValueError, match="noise: expected a non-negative number"):
        make_landmark_faces(2, noise=-0.1)
    with pytest.raises(TypeError, match="seed: expected an int or a torch.Generator"):
        make_landmark_faces(2, seed=None)

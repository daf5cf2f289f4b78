"""Tests for lessons.data.box_scenes: shapes, determinism, boxes inside the margin, corners on background."""

import pytest
import torch

from lessons.data import make_box_scenes, mask_to_box, shape_mask


def test_shapes_types_and_determinism():
    a = make_box_scenes(3, (24, 40), (2, 3), seed=4)
    b = make_box_scenes(3, (24, 40), (2, 3), seed=4)
    assert a.images.shape == (3, 3, 24, 40) and a.images.dtype == torch.float32
    assert all(x.shape == (len(y), 4) and y.dtype == torch.int64 for x, y in zip(a.boxes, a.labels))
    assert torch.equal(a.images, b.images) and all(torch.equal(x, y) for x, y in zip(a.boxes, b.boxes))
    assert not torch.equal(a.images, make_box_scenes(3, (24, 40), (2, 3), seed=5).images)
    g = torch.Generator().manual_seed(0)
    assert not torch.equal(make_box_scenes(1, seed=g).images, make_box_scenes(1, seed=g).images)


def test_boxes_keep_the_margin_and_corners_are_pixels():
    s = make_box_scenes(20, 32, 1, margin=2, seed=1)
    boxes = torch.cat(s.boxes)
    assert bool((boxes[:, :2] >= 2).all()) and bool((boxes[:, 2:] <= 30).all())


def test_corners_of_disks_and_triangles_lie_on_background():
    """The property the notebook relies on: the top-left corner pixel is not part of the shape."""
    for kind in ("disk", "triangle"):
        m = shape_mask(kind, (16.0, 16.0), 9.0, 32, angle=0.4)
        x1, y1 = (int(v) for v in mask_to_box(m)[:2].tolist())
        assert not bool(m[y1, x1])


def test_labels_index_the_kinds():
    s = make_box_scenes(10, 32, (1, 2), kinds=("square",), seed=3)
    assert all(bool((lb == 0).all()) for lb in s.labels)


def test_errors():
    with pytest.raises(TypeError, match="n"):
        make_box_scenes(1.5)
    with pytest.raises(ValueError, match="objects"):
        make_box_scenes(1, 32, 0)
    with pytest.raises(ValueError, match="kinds"):
        make_box_scenes(1, kinds=("circle",))
    with pytest.raises(ValueError, match="radius"):
        make_box_scenes(1, radius=(0.3, 0.6))
    with pytest.raises(TypeError, match="seed"):
        make_box_scenes(1, seed=1.0)

"""Tests for lessons.data.images: matplotlib's bundled photos and the procedural textures."""

from __future__ import annotations

import math
from pathlib import Path

import matplotlib
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

import lessons.data as data
import lessons.data.images as images
from lessons.data.images import SAMPLE_IMAGES, TEXTURE_KINDS, load_sample_image, make_texture
from lessons.data.shapes import shape_mask

SAMPLE_DIR = Path(matplotlib.get_data_path()) / "sample_data"


def test_reexported_from_lessons_data():
    for name in ("load_sample_image", "make_texture", "SAMPLE_IMAGES", "TEXTURE_KINDS"):
        assert getattr(data, name) is getattr(images, name)


@pytest.mark.parametrize("name", list(SAMPLE_IMAGES))
def test_sample_images_ship_inside_matplotlib(name):
    assert (SAMPLE_DIR / SAMPLE_IMAGES[name]).is_file()  # offline: read from the installed package
    image = load_sample_image(name)
    assert image.dtype == torch.float32 and image.ndim == 3 and image.shape[0] == 3
    assert 0.0 <= image.min().item() and image.max().item() <= 1.0
    assert image.std().item() > 0.05  # a real picture, not a constant


def test_grace_hopper_matches_pil():
    image = load_sample_image("grace_hopper")
    assert image.shape == (3, 600, 512)
    with Image.open(SAMPLE_DIR / "grace_hopper.jpg") as pil:
        reference = torch.from_numpy(np.asarray(pil.convert("RGB"), dtype=np.float32) / 255.0).permute(2, 0, 1)
    torch.testing.assert_close(image, reference)


def test_rgba_is_composited_onto_white():
    with Image.open(SAMPLE_DIR / SAMPLE_IMAGES["present"]) as pil:
        rgba = np.asarray(pil.convert("RGBA"), dtype=np.float32) / 255.0
    alpha = rgba[..., 3:]
    want = torch.from_numpy(rgba[..., :3] * alpha + (1.0 - alpha)).permute(2, 0, 1)
    got = load_sample_image("present")
    torch.testing.assert_close(got, want, atol=1e-6, rtol=0)
    assert rgba[0, 0, 3] == 0.0 and got[:, 0, 0].tolist() == [1.0, 1.0, 1.0]  # transparent corner


def test_crop_then_resize():
    full = load_sample_image("grace_hopper")
    crop = load_sample_image("grace_hopper", crop=(10, 20, 30, 40))
    torch.testing.assert_close(crop, full[:, 10:40, 20:60])
    small = load_sample_image("grace_hopper", size=96)  # shorter side (width 512) -> 96
    assert small.shape == (3, 112, 96)
    exact = load_sample_image("grace_hopper", crop=(0, 0, 64, 64), size=(16, 16))
    # shrinking by an integer factor averages 4x4 blocks
    torch.testing.assert_close(exact, F.avg_pool2d(full[None, :, :64, :64], 4)[0], atol=1e-5, rtol=0)


def test_load_sample_image_errors():
    with pytest.raises(ValueError, match="name: expected one of"):
        load_sample_image("lena")
    with pytest.raises(ValueError, match="crop: expected a window inside the 600 x 512 image"):
        load_sample_image(crop=(590, 0, 20, 20))
    with pytest.raises(ValueError, match="crop: expected a window inside"):
        load_sample_image(crop=(0, 0, 0, 5))
    with pytest.raises(TypeError, match=r"crop: expected \(top, left, height, width\) as 4 ints"):
        load_sample_image(crop=(0, 0, 5))
    with pytest.raises(ValueError, match="size: expected an int >= 1"):
        load_sample_image(size=0)
    with pytest.raises(TypeError, match="size: expected an int or a pair of ints"):
        load_sample_image(size=(2.5, 3))


def test_stripes_and_checker_by_hand():
    navy, orange = (0.0, 0.0, 0.0), (1.0, 1.0, 1.0)
    stripes = make_texture("stripes", (2, 6), period=4.0, colors=(navy, orange))[0]
    # band = floor(2 * (j + 0.5) / 4) % 2: columns 0,1 -> 0; 2,3 -> 1; 4,5 -> 0
    assert stripes.tolist() == [[0, 0, 1, 1, 0, 0]] * 2
    checker = make_texture("checker", 4, period=2.0, colors=(navy, orange))[0]
    assert checker.tolist() == [[0, 1, 0, 1], [1, 0, 1, 0], [0, 1, 0, 1], [1, 0, 1, 0]]
    horizontal = make_texture("stripes", 4, period=2.0, angle=math.pi / 2, colors=(navy, orange))[0]
    assert horizontal.tolist() == [[0] * 4, [1] * 4, [0] * 4, [1] * 4]


def test_dots_are_shape_masks_on_a_staggered_lattice():
    texture = make_texture("dots", (16, 16), period=8.0, colors=((0.0,) * 3, (1.0,) * 3))[0].bool()
    want = torch.zeros(16, 16, dtype=torch.bool)
    for cx, cy in [(4, 4), (12, 4), (0, 12), (8, 12), (16, 12)]:  # the odd row is shifted by 4
        want |= shape_mask("disk", (cx, cy), 2.0, 16)
    assert torch.equal(texture, want)
    squares = make_texture("dots", 16, period=8.0, shape="square")
    assert not torch.equal(squares, make_texture("dots", 16, period=8.0))


@settings(max_examples=15, deadline=None)
@given(kind=st.sampled_from(TEXTURE_KINDS), period=st.integers(2, 12), size=st.integers(8, 40))
def test_textures_are_periodic_two_colour_images(kind, period, size):
    texture = make_texture(kind, size, period=float(period))
    assert texture.shape == (3, size, size) and texture.dtype == torch.float32
    colours = {tuple(round(v, 4) for v in texture[:, i, j].tolist()) for i in range(size) for j in range(size)}
    assert colours <= {(0.12, 0.16, 0.42), (0.96, 0.62, 0.12)}
    if size > period:  # shifting by one period along x gives the same texture
        assert torch.equal(texture[:, :, period:], texture[:, :, :-period])


def test_make_texture_errors():
    with pytest.raises(ValueError, match="kind: expected one of"):
        make_texture("noise")
    with pytest.raises(ValueError, match="period: expected at least 2 pixels"):
        make_texture("stripes", period=1.0)
    with pytest.raises(ValueError, match="period: expected a positive number"):
        make_texture("stripes", period=-4.0)
    with pytest.raises(ValueError, match="shape: expected one of"):
        make_texture("dots", shape="star")
    with pytest.raises(ValueError, match="colors: expected two RGB triples"):
        make_texture("checker", colors=((0, 0, 0), (2, 0, 0)))
    with pytest.raises(TypeError, match="size: expected an int or a pair"):
        make_texture("checker", size="big")


# ------------------------------------------------------------------------------------------------
# The loss network's training set
# ------------------------------------------------------------------------------------------------


def test_texture_dataset_shapes_balance_and_seed():
    from lessons.data import TEXTURE_CLASSES, TextureDataset, make_texture_dataset

    data = make_texture_dataset(23, size=16, seed=3)
    assert isinstance(data, TextureDataset)
    images, labels = data  # unpackable
    assert images.shape == (23, 3, 16, 16) and images.dtype == torch.float32 and labels.dtype == torch.int64
    assert bool(((images >= 0) & (images <= 1)).all())
    counts = torch.bincount(labels, minlength=len(TEXTURE_CLASSES)).tolist()
    assert counts == [3, 3, 3] + [2] * (len(TEXTURE_CLASSES) - 3)  # 23 = 10 * 2 + 3
    torch.testing.assert_close(make_texture_dataset(23, size=16, seed=3).images, images)
    assert not torch.equal(make_texture_dataset(23, size=16, seed=4).images, images)
    gen = torch.Generator().manual_seed(3)
    first = make_texture_dataset(5, size=16, seed=gen)
    assert not torch.equal(make_texture_dataset(5, size=16, seed=gen).images, first.images)  # it advances


def test_texture_dataset_classes_look_like_their_names():
    from lessons.data import TEXTURE_CLASSES, make_texture_dataset

    images, labels = make_texture_dataset(400, size=32, seed=0)
    gray = images.mean(1)  # (N, H, W)
    dx = (gray[:, :, 1:] - gray[:, :, :-1]).abs().mean((1, 2))  # changes along x
    dy = (gray[:, 1:, :] - gray[:, :-1, :]).abs().mean((1, 2))  # changes along y
    vertical = labels == TEXTURE_CLASSES.index("stripes 0°")  # angle 0: vertical stripes
    horizontal = labels == TEXTURE_CLASSES.index("stripes 90°")
    assert (dx[vertical] > dy[vertical]).float().mean() > 0.9
    assert (dy[horizontal] > dx[horizontal]).float().mean() > 0.9
    noise = labels == TEXTURE_CLASSES.index("noise")
    assert dx[noise].mean() > dx[~noise].mean()  # pixel noise changes most from pixel to pixel


def test_texture_dataset_errors():
    from lessons.data import make_texture_dataset

    with pytest.raises(ValueError, match="n: expected an int >= 1"):
        make_texture_dataset(0)
    with pytest.raises(TypeError, match="n: expected an int"):
        make_texture_dataset(2.0)
    with pytest.raises(ValueError, match="size: expected an int >= 8"):
        make_texture_dataset(2, size=4)
    with pytest.raises(TypeError, match="seed: expected an int or a torch.Generator"):
        make_texture_dataset(2, seed="0")

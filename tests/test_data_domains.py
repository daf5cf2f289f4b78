"""Tests for lessons.data.domains: two unpaired image domains with a known correspondence."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import lessons.data
from lessons.data.domains import (
    DOMAIN_BACKGROUNDS,
    DOMAIN_COLOURS,
    DOMAIN_PALETTES,
    decode_domain,
    make_unpaired_domains,
    render_domain,
    sample_domain_params,
    snap_to_palette,
)
from lessons.data.shapes import SHAPE_KINDS, shape_mask


def _masks(params, size=16):
    """The independent reference: one shape_mask call per scene."""
    return torch.stack(
        [
            shape_mask(SHAPE_KINDS[int(k)], tuple(c.tolist()), float(r), size, angle=float(a))
            for k, c, r, a in zip(params.kind, params.center, params.radius, params.angle)
        ]
    )


def test_exported_from_lessons_data():
    assert lessons.data.make_unpaired_domains is make_unpaired_domains
    assert set(lessons.data.domains.__all__) <= set(dir(lessons.data))


def test_shapes_dtypes_and_values():
    d = make_unpaired_domains(10, seed=0)
    assert d.x.shape == d.y.shape == (10, 3, 16, 16)
    assert d.x.dtype == d.y.dtype == torch.float32
    allowed = {(-1.0, -1.0, -1.0), (1.0, 1.0, 1.0), *DOMAIN_COLOURS}
    for images in (d.x, d.y):
        pixels = {tuple(p) for p in images.permute(0, 2, 3, 1).reshape(-1, 3).tolist()}
        assert pixels <= allowed


def test_the_two_styles_of_one_scene():
    p = sample_domain_params(6, seed=1)
    x, y = render_domain(p, "x"), render_domain(p, "y")
    masks = _masks(p)
    for i in range(6):
        colour = torch.tensor(DOMAIN_COLOURS[int(p.colour[i])])
        m = masks[i]
        assert m.any()
        # shape pixels: the same colour in both styles; background: black in X, white in Y
        assert torch.equal(x[i][:, m], colour[:, None].expand(3, int(m.sum())))
        assert torch.equal(y[i][:, m], x[i][:, m])
        assert torch.all(x[i][:, ~m] == -1) and torch.all(y[i][:, ~m] == 1)
    assert DOMAIN_BACKGROUNDS == {"x": (-1.0, -1.0, -1.0), "y": (1.0, 1.0, 1.0), "grey": (1.0, 1.0, 1.0)}


def test_true_translation_is_render_in_the_other_style():
    d = make_unpaired_domains(5, seed=2)
    truth = render_domain(d.x_params, "y")
    # swapping the background of X gives the truth
    background = (d.x == -1).all(dim=1, keepdim=True)
    assert torch.equal(truth, torch.where(background, torch.ones_like(d.x), d.x))


def test_unpaired_sets_are_independent_and_seeded():
    a, b = make_unpaired_domains(20, seed=0), make_unpaired_domains(20, seed=0)
    assert torch.equal(a.x, b.x) and torch.equal(a.y, b.y)
    assert not torch.equal(a.x_params.center, a.y_params.center)
    assert not torch.equal(render_domain(a.x_params, "y"), a.y)  # Y shows other scenes
    c = make_unpaired_domains(20, seed=1)
    assert not torch.equal(a.x, c.x)


def test_params_ranges_and_shapes_stay_inside():
    p = sample_domain_params(400, size=16, seed=3)
    assert p.kind.dtype == torch.int64 and set(p.kind.tolist()) == {0, 1, 2, 3}
    assert set(p.colour.tolist()) == {0, 1, 2}
    counts = torch.bincount(p.colour, minlength=3)
    assert counts.min() > 100  # about uniform: 133 expected each
    assert torch.all((p.radius >= 3.2) & (p.radius <= 4.8))
    assert torch.all((p.angle >= 0) & (p.angle < torch.pi / 2))
    masks = _masks(p)
    assert masks.flatten(1).sum(dim=1).min() >= 10
    inside = masks[p.kind != SHAPE_KINDS.index("square")]  # a turned square may lose a corner tip
    assert not inside[:, 0, :].any() and not inside[:, -1, :].any()
    assert not inside[:, :, 0].any() and not inside[:, :, -1].any()


def test_non_square_size():
    d = make_unpaired_domains(3, size=(12, 20), seed=4)
    assert d.x.shape == (3, 3, 12, 20)
    assert torch.equal(decode_domain(d.x, "x")[0], _masks(d.x_params, (12, 20)))


@settings(max_examples=10, deadline=None)
@given(seed=st.integers(0, 10_000), domain=st.sampled_from(["x", "y"]))
def test_decode_gives_back_mask_and_colour(seed, domain):
    p = sample_domain_params(8, seed=seed)
    mask, colour = decode_domain(render_domain(p, domain), domain)
    assert torch.equal(mask, _masks(p))
    assert torch.equal(colour, p.colour)


def test_decode_noisy_and_empty_images():
    d = make_unpaired_domains(4, seed=5)
    noisy = d.y + 0.3 * torch.randn(d.y.shape, generator=torch.Generator().manual_seed(0))
    mask, colour = decode_domain(noisy.clamp(-1, 1), "y")
    assert torch.equal(colour, d.y_params.colour)
    empty_mask, empty_colour = decode_domain(torch.ones(2, 3, 16, 16), "y")
    assert not empty_mask.any() and empty_colour.tolist() == [-1, -1]
    # read with the wrong domain, white is nearer to a shape colour than to X's black background
    assert decode_domain(torch.ones(1, 3, 4, 4), "x")[0].all()


def test_zero_images():
    d = make_unpaired_domains(0)
    assert d.x.shape == (0, 3, 16, 16) and d.y_params.kind.shape == (0,)


def test_errors():
    with pytest.raises(ValueError, match="n: expected an int >= 0, got -1"):
        make_unpaired_domains(-1)
    with pytest.raises(TypeError, match="n: expected an int"):
        sample_domain_params(2.0)
    with pytest.raises(ValueError, match="size: expected values >= 12"):
        make_unpaired_domains(2, size=8)
    with pytest.raises(TypeError, match="seed: expected an int"):
        make_unpaired_domains(2, seed="0")
    p = sample_domain_params(2)
    with pytest.raises(ValueError, match="domain: expected one of"):
        render_domain(p, "z")
    with pytest.raises(TypeError, match="params: expected a DomainParams"):
        render_domain({"kind": p.kind}, "x")
    with pytest.raises(ValueError, match=r"params.radius: expected shape \(2,\) like params.kind"):
        render_domain(p._replace(radius=p.radius[:1]), "x")
    with pytest.raises(ValueError, match="params.center: expected finite values"):
        render_domain(p._replace(center=torch.full((2, 2), float("nan"))), "x")
    with pytest.raises(ValueError, match=r"images: expected shape \(N, 3, H, W\)"):
        decode_domain(torch.zeros(2, 1, 4, 4), "x")
    with pytest.raises(TypeError, match="images: expected a floating-point tensor"):
        decode_domain(torch.zeros(2, 3, 4, 4, dtype=torch.uint8), "x")
    with pytest.raises(ValueError, match="domain: expected one of"):
        decode_domain(torch.zeros(2, 3, 4, 4), "night")


# ------------------------------------------------------------------------- the grey domain, snapping


def test_grey_domain_loses_the_colour():
    p = sample_domain_params(9, seed=6)
    grey, y = render_domain(p, "grey"), render_domain(p, "y")
    masks = _masks(p)
    assert torch.all(grey.permute(0, 2, 3, 1)[masks] == 0.0)  # every shape pixel mid-grey
    assert torch.all(grey.permute(0, 2, 3, 1)[~masks] == 1.0)  # white background, as in Y
    mask, colour = decode_domain(grey, "grey")
    assert torch.equal(mask, masks) and colour.tolist() == [0] * 9
    assert not torch.equal(grey, y)
    d = make_unpaired_domains(4, seed=3, y_domain="grey")
    assert torch.equal(d.y, render_domain(d.y_params, "grey"))
    assert torch.equal(d.x, make_unpaired_domains(4, seed=3).x)  # the X set does not depend on y_domain


def _slow_snap(images, domain):
    """Reference: pixel by pixel, the nearest of (background, *palette) by a Python min."""
    refs = [DOMAIN_BACKGROUNDS[domain], *DOMAIN_PALETTES[domain]]
    out = torch.empty_like(images)
    for n in range(images.shape[0]):
        for i in range(images.shape[2]):
            for j in range(images.shape[3]):
                px = images[n, :, i, j].tolist()
                best = min(refs, key=lambda r: sum((a - b) ** 2 for a, b in zip(px, r)))
                out[n, :, i, j] = torch.tensor(best)
    return out


@pytest.mark.parametrize("domain", ["x", "y", "grey"])
def test_snap_to_palette_against_slow_loop(domain):
    images = torch.rand(2, 3, 12, 12, generator=torch.Generator().manual_seed(4)) * 2 - 1
    snapped = snap_to_palette(images, domain)
    assert torch.equal(snapped, _slow_snap(images, domain))
    assert torch.equal(decode_domain(snapped, domain)[0], decode_domain(images, domain)[0])


def test_snap_to_palette_hand_case_and_fixed_points():
    im = torch.full((1, 3, 12, 12), 0.9)  # almost white
    im[0, :, 4:8, 4:8] = torch.tensor([0.4, -0.3, 0.1])[:, None, None]  # a red-tinted grey
    snapped = snap_to_palette(im, "grey")
    assert torch.all(snapped[0, :, 4:8, 4:8] == 0.0) and torch.all(snapped[0, :, :4] == 1.0)
    # the same pixel is nearer red than white or green/blue in Y: (0.36+0.49+1.21) < (0.36+1.69+0.81)
    assert snap_to_palette(im, "y")[0, :, 5, 5].tolist() == [1.0, -1.0, -1.0]
    d = make_unpaired_domains(5, seed=7)
    assert torch.equal(snap_to_palette(d.x, "x"), d.x) and torch.equal(snap_to_palette(d.y, "y"), d.y)


def test_seed_accepts_a_generator_that_advances():
    gen = torch.Generator().manual_seed(0)
    a, b = sample_domain_params(3, seed=gen), sample_domain_params(3, seed=gen)
    assert not torch.equal(a.center, b.center)
    assert torch.equal(sample_domain_params(3, seed=0).center, a.center)


def test_new_errors():
    with pytest.raises(ValueError, match="y_domain: expected one of"):
        make_unpaired_domains(2, y_domain="x")
    with pytest.raises(TypeError, match="seed: expected an int or a torch.Generator"):
        sample_domain_params(2, seed=1.5)
    with pytest.raises(ValueError, match=r"images: expected shape \(N, 3, H, W\)"):
        snap_to_palette(torch.zeros(3, 4, 4), "grey")
    with pytest.raises(TypeError, match="images: expected a floating-point tensor"):
        snap_to_palette(torch.zeros(1, 3, 4, 4, dtype=torch.int64), "grey")
    with pytest.raises(ValueError, match="domain: expected one of"):
        snap_to_palette(torch.zeros(1, 3, 4, 4), "day")

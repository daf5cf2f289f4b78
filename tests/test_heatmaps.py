"""Tests for lessons.heatmaps: label maps, decoding, DARK, PCK.

Independent references are NumPy ports, written here, of the lecture's code and of the reference
functions of the reference code (pytorch-pose ``draw_labelmap``, HRNet
``get_max_preds``/``get_final_preds``, DarkPose ``gaussian_blur``/``taylor``, MPII PCKh).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from lessons.heatmaps import (
    DECODE_METHODS,
    LABEL_KINDS,
    decode_heatmaps,
    draw_labelmap,
    label_patch,
    pck,
    render_heatmaps,
)

# ----------------------------------------------------------------------------- NumPy references


def np_draw_labelmap(img, pt, sigma, type="Gaussian"):
    """pytorch-pose's draw_labelmap around the lecture's patch code (copying instead of in place)."""
    img = np.array(img, dtype=np.float64, copy=True)
    ul = [int(pt[0] - 3 * sigma), int(pt[1] - 3 * sigma)]
    br = [int(pt[0] + 3 * sigma + 1), int(pt[1] + 3 * sigma + 1)]
    if ul[0] >= img.shape[1] or ul[1] >= img.shape[0] or br[0] < 0 or br[1] < 0:
        return img, 0
    size = 6 * sigma + 1
    x = np.arange(0, size, 1, float)
    y = x[:, np.newaxis]
    x0 = y0 = size // 2
    if type == "Gaussian":
        g = np.exp(-((x - x0) ** 2 + (y - y0) ** 2) / (2 * sigma**2))
    elif type == "Cauchy":
        g = sigma / (((x - x0) ** 2 + (y - y0) ** 2 + sigma**2) ** 1.5)
    g_x = max(0, -ul[0]), min(br[0], img.shape[1]) - ul[0]
    g_y = max(0, -ul[1]), min(br[1], img.shape[0]) - ul[1]
    img_x = max(0, ul[0]), min(br[0], img.shape[1])
    img_y = max(0, ul[1]), min(br[1], img.shape[0])
    img[img_y[0] : img_y[1], img_x[0] : img_x[1]] = g[g_y[0] : g_y[1], g_x[0] : g_x[1]]
    return img, 1


def np_get_max_preds(hm):
    """HRNet get_max_preds for one (H, W) map: (x, y) of the first maximum, zeroed if max <= 0."""
    width = hm.shape[1]
    idx = int(np.argmax(hm.reshape(-1)))
    maxval = float(np.amax(hm))
    pred = np.array([idx % width, np.floor(idx / width)], dtype=np.float64)
    if not maxval > 0:
        pred[:] = 0
    return pred, maxval


def np_quarter(hm):
    """HRNet get_final_preds' post-processing (before the affine transform back)."""
    coord, _ = np_get_max_preds(hm)
    height, width = hm.shape
    px, py = int(math.floor(coord[0] + 0.5)), int(math.floor(coord[1] + 0.5))
    if 1 < px < width - 1 and 1 < py < height - 1:
        diff = np.array([hm[py][px + 1] - hm[py][px - 1], hm[py + 1][px] - hm[py - 1][px]])
        coord = coord + np.sign(diff) * 0.25
    return coord


def np_gaussian_blur(hm, kernel):
    """DarkPose gaussian_blur for one map, with cv2.GaussianBlur written out as explicit sums."""
    border = (kernel - 1) // 2
    height, width = hm.shape
    origin_max = np.max(hm)
    dr = np.zeros((height + 2 * border, width + 2 * border))
    dr[border:-border, border:-border] = hm
    sigma = 0.3 * ((kernel - 1) * 0.5 - 1) + 0.8
    k = np.exp(-((np.arange(kernel) - border) ** 2) / (2 * sigma**2))
    k /= k.sum()
    out = np.zeros((height, width))
    for i in range(height):
        for j in range(width):
            win = dr[i : i + kernel, j : j + kernel]
            out[i, j] = (k[:, None] * k[None, :] * win).sum()
    return out * (origin_max / np.max(out))


def np_taylor(hm, coord):
    """DarkPose taylor (np.matrix replaced by np.linalg.inv)."""
    height, width = hm.shape
    px, py = int(coord[0]), int(coord[1])
    coord = coord.copy()
    if 1 < px < width - 2 and 1 < py < height - 2:
        dx = 0.5 * (hm[py][px + 1] - hm[py][px - 1])
        dy = 0.5 * (hm[py + 1][px] - hm[py - 1][px])
        dxx = 0.25 * (hm[py][px + 2] - 2 * hm[py][px] + hm[py][px - 2])
        dxy = 0.25 * (hm[py + 1][px + 1] - hm[py - 1][px + 1] - hm[py + 1][px - 1] + hm[py - 1][px - 1])
        dyy = 0.25 * (hm[py + 2][px] - 2 * hm[py][px] + hm[py - 2][px])
        if dxx * dyy - dxy**2 != 0:
            hessian = np.array([[dxx, dxy], [dxy, dyy]])
            coord += -np.linalg.inv(hessian) @ np.array([dx, dy])
    return coord


def np_dark(hm, kernel):
    coord, _ = np_get_max_preds(hm)
    blurred = np_gaussian_blur(hm, kernel) if kernel > 1 else hm.copy()
    return np_taylor(np.log(np.maximum(blurred, 1e-10)), coord)


def exact_gaussian(x, y, size, sigma):
    """A sampled Gaussian written out with NumPy: exp(-((j-x)^2 + (i-y)^2) / (2 sigma^2))."""
    height, width = size
    i, j = np.mgrid[0:height, 0:width]
    return np.exp(-((j - x) ** 2 + (i - y) ** 2) / (2 * sigma**2))


# ----------------------------------------------------------------------------- label_patch / draw_labelmap


def test_label_patch_is_the_lecture_code():
    for sigma in (1, 2, 1.5, 0.7):
        for kind, name in (("gaussian", "Gaussian"), ("cauchy", "Cauchy")):
            size = 6 * sigma + 1
            x = np.arange(0, size, 1, float)
            y = x[:, np.newaxis]
            x0 = y0 = size // 2
            if name == "Gaussian":
                g = np.exp(-((x - x0) ** 2 + (y - y0) ** 2) / (2 * sigma**2))
            else:
                g = sigma / (((x - x0) ** 2 + (y - y0) ** 2 + sigma**2) ** 1.5)
            got = label_patch(sigma, kind)
            assert got.dtype == torch.float64 and got.shape == g.shape
            torch.testing.assert_close(got, torch.from_numpy(g), rtol=1e-14, atol=1e-15)


def test_label_patch_peaks():
    g = label_patch(1)
    assert g.shape == (7, 7) and g[3, 3] == 1.0 and g.argmax() == 3 * 7 + 3
    c = label_patch(2, "cauchy")
    assert c.shape == (13, 13)
    assert c.max().item() == pytest.approx(0.25, abs=1e-15)  # 1 / sigma^2
    assert label_patch(4, "cauchy").max().item() == pytest.approx(1 / 16, abs=1e-15)
    # symmetric under both flips and the transpose
    for p in (g, c):
        assert torch.equal(p, p.flip(0)) and torch.equal(p, p.flip(1)) and torch.equal(p, p.T)


def _cols_with_mass(m):
    cols = torch.nonzero(m.sum(0)).flatten()
    return int(cols.min()), int(cols.max())


def test_draw_labelmap_reference_vectors():
    """pytorch-pose draw_labelmap on an 8x10 map, sigma = 1, values computed by hand."""
    z = torch.zeros(8, 10)
    m, vis = draw_labelmap(z, (5.7, 4.2), 1)
    assert vis == 1 and divmod(int(m.argmax()), 10) == (4, 5) and m.max() == 1.0
    assert _cols_with_mass(m) == (2, 8)
    m, vis = draw_labelmap(z, (2.5, 4.0), 1)
    assert divmod(int(m.argmax()), 10) == (4, 3)  # ul = int(-0.5) = 0 -> peak at col 3, not 2
    m, vis = draw_labelmap(z, (-1.5, 4), 1)
    assert vis == 1 and m.max().item() == pytest.approx(0.6065, abs=1e-4)
    assert divmod(int(m.argmax()), 10) == (4, 0)
    m, vis = draw_labelmap(z, (-3.5, 4), 1)
    assert vis == 1 and m.abs().sum() == 0  # nothing drawn but visible
    m, vis = draw_labelmap(z, (10.2, 4), 1)
    assert vis == 1 and _cols_with_mass(m) == (7, 9)
    assert m.max().item() == pytest.approx(0.6065, abs=1e-4)
    m, vis = draw_labelmap(torch.zeros(32, 32), (16.0, 16.0), 2, "cauchy")
    assert m.max().item() == pytest.approx(0.25)
    assert z.abs().sum() == 0  # the input is untouched


def test_draw_labelmap_early_return_gives_visibility_zero():
    z = torch.zeros(8, 10)
    for pt in [(-5.5, 4.0), (4.0, -5.5), (13.1, 4.0), (4.0, 11.2)]:
        m, vis = draw_labelmap(z, pt, 1)
        assert vis == 0 and m.abs().sum() == 0
        assert np_draw_labelmap(z.numpy(), pt, 1)[1] == 0
    # br == 0 exactly passes the test: vis 1, nothing drawn
    m, vis = draw_labelmap(z, (-4.5, 4.0), 1)
    assert vis == 1 and m.abs().sum() == 0


def test_draw_labelmap_assigns_rather_than_max():
    base = torch.zeros(12, 12)
    first, _ = draw_labelmap(base, (5.0, 5.0), 1)
    both, _ = draw_labelmap(first, (6.0, 5.0), 1)
    # the second patch overwrites its 7x7 window, so the first peak's value becomes exp(-1/2)
    assert both[5, 5].item() == pytest.approx(math.exp(-0.5))
    assert first[5, 5] == 1.0 and both[5, 6] == 1.0
    assert (both < torch.maximum(first, draw_labelmap(base, (6.0, 5.0), 1)[0])).any()
    # outside the second window the first patch survives
    assert both[5, 2] == first[5, 2] > 0


@pytest.mark.parametrize("kind,name", [("gaussian", "Gaussian"), ("cauchy", "Cauchy")])
def test_draw_labelmap_matches_numpy_port(kind, name):
    rng = np.random.default_rng(0)
    base = rng.random((9, 11))  # a non-zero map shows that drawing assigns
    for sigma in (1, 2, 1.5, 0.5):
        for pt in rng.uniform(-8, 18, size=(60, 2)):
            want, wvis = np_draw_labelmap(base, tuple(pt), sigma, name)
            got, vis = draw_labelmap(torch.from_numpy(base), torch.from_numpy(pt), sigma, kind)
            assert vis == wvis
            torch.testing.assert_close(got, torch.from_numpy(want), rtol=1e-13, atol=1e-15)


def test_draw_labelmap_keeps_dtype_and_accepts_tensor_point():
    m, _ = draw_labelmap(torch.zeros(5, 5, dtype=torch.float64), torch.tensor([2.0, 2.0]), 1)
    assert m.dtype == torch.float64


# ----------------------------------------------------------------------------- render_heatmaps


def _loop_render(keypoints, size, sigma, kind, visible=None):
    out = torch.zeros(*keypoints.shape[:-1], *size, dtype=keypoints.dtype)
    flat_kp = keypoints.reshape(-1, 2)
    flat_out = out.reshape(-1, *size)
    flat_vis = None if visible is None else visible.reshape(-1)
    for i, p in enumerate(flat_kp):
        if flat_vis is not None and not flat_vis[i]:
            continue
        flat_out[i] = draw_labelmap(flat_out[i], (float(p[0]), float(p[1])), sigma, kind)[0]
    return out


@pytest.mark.parametrize("kind", LABEL_KINDS)
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_render_equals_draw_labelmap_exactly(kind, dtype):
    g = torch.Generator().manual_seed(1)
    kp = (torch.rand(2, 3, 9, 2, generator=g) * 30 - 8).to(dtype)  # many points near and beyond the edges
    kp[0, 0, 0] = torch.tensor([2.5, 4.0])  # truncation shifts the peak
    kp[0, 0, 1] = torch.tensor([-4.5, 4.0])  # br == 0: visible, nothing drawn
    kp[0, 0, 2] = torch.tensor([13.1, 4.0])  # early return
    for sigma in (1, 2, 1.5):
        got = render_heatmaps(kp, (8, 10), sigma, kind=kind)
        assert got.shape == (2, 3, 9, 8, 10) and got.dtype == dtype
        assert torch.equal(got, _loop_render(kp, (8, 10), sigma, kind))


def test_render_square_size_and_invisible():
    kp = torch.tensor([[3.0, 3.0], [4.2, 1.1], [float("nan"), 2.0]])
    vis = torch.tensor([True, False, False])
    hm = render_heatmaps(kp, 7, 1, visible=vis)
    assert hm.shape == (3, 7, 7)
    assert hm[0].max() == 1.0 and hm[1:].abs().sum() == 0
    hm_sub = render_heatmaps(kp, 7, 1, visible=vis, subpixel=True)
    assert hm_sub[1:].abs().sum() == 0 and torch.isfinite(hm_sub).all()
    assert torch.equal(hm, _loop_render(kp, (7, 7), 1, "gaussian", vis))


def test_render_subpixel_matches_formula_and_peaks_at_point():
    kp = torch.tensor([[20.3, 30.8], [5.0, 7.0], [-1.2, 3.4]], dtype=torch.float64)
    hm = render_heatmaps(kp, (40, 32), 2, subpixel=True)
    for k, (x, y) in enumerate(kp.tolist()):
        want = torch.from_numpy(exact_gaussian(x, y, (40, 32), 2))
        torch.testing.assert_close(hm[k], want, rtol=1e-12, atol=1e-15)
    # the peak is the pixel nearest to the point; at an integer point it is exactly 1
    assert divmod(int(hm[0].argmax()), 32) == (31, 20)
    assert hm[1, 7, 5] == 1.0
    cauchy = render_heatmaps(kp[1:2], (40, 32), 2, kind="cauchy", subpixel=True)
    assert cauchy[0, 7, 5].item() == pytest.approx(0.25)
    # versus the truncated label: the peak moved from floor(20.3), floor(30.8) = (20, 30)
    trunc = render_heatmaps(kp[:1], (40, 32), 2)
    assert divmod(int(trunc[0].argmax()), 32) == (30, 20)


def test_render_subpixel_symmetry():
    hm = render_heatmaps(torch.tensor([[4.5, 3.0]]), (7, 10), 1.3, subpixel=True)[0]
    assert torch.allclose(hm, hm.flip(1))  # x = 4.5 is the middle of 10 columns
    assert torch.allclose(hm, hm.flip(0))  # y = 3 is the middle of 7 rows
    hm = render_heatmaps(torch.tensor([[3.0, 3.0]]), 7, 1)[0]
    assert torch.equal(hm, hm.T) and torch.equal(hm, hm.flip(0))


def test_render_subpixel_gradcheck():
    kp = torch.tensor([[[3.3, 2.7], [1.2, 4.9]]], dtype=torch.float64, requires_grad=True)
    for kind in LABEL_KINDS:
        assert torch.autograd.gradcheck(lambda p: render_heatmaps(p, (6, 7), 1.5, kind=kind, subpixel=True), (kp,))


@settings(max_examples=25, deadline=None)
@given(
    x=st.floats(0.0, 22.99),
    y=st.floats(0.0, 15.99),
    sigma=st.sampled_from([1, 2, 1.5]),
)
def test_property_peak_of_truncated_label(x, y, sigma):
    """The truncated label peaks at ul + 3 sigma with value 1, i.e. floor(p) once p >= 3 sigma."""
    hm = render_heatmaps(torch.tensor([[x, y]], dtype=torch.float64), (16, 23), sigma)[0]
    size = 6 * sigma + 1
    cx, cy = int(x - 3 * sigma) + size // 2, int(y - 3 * sigma) + size // 2
    if 0 <= cx < 23 and 0 <= cy < 16:
        assert hm.max() == 1.0
        assert divmod(int(hm.argmax()), 23) == (cy, cx)
    else:  # a fractional sigma can push the integer centre off the map (x0 = size // 2 > 3 sigma)
        assert hm.max() < 1.0
    if x >= 3 * sigma and y >= 3 * sigma and sigma != 1.5:
        assert (cx, cy) == (math.floor(x), math.floor(y))


@settings(max_examples=25, deadline=None)
@given(x=st.floats(2.0, 20.0), y=st.floats(2.0, 13.0), sigma=st.floats(0.8, 3.0))
def test_property_decode_render_roundtrip(x, y, sigma):
    """decode(render(p)) ~ p: exact for DARK on the sub-pixel label, within half a pixel for argmax."""
    kp = torch.tensor([[x, y]], dtype=torch.float64)
    hm = render_heatmaps(kp, (16, 23), sigma, subpixel=True)
    dark, score = decode_heatmaps(hm, "dark", blur_kernel=1)
    torch.testing.assert_close(dark, kp, atol=1e-8, rtol=0)
    assert 0.6 < score.item() <= 1.0
    arg, _ = decode_heatmaps(hm, "argmax")
    assert (arg - kp).abs().max() <= 0.5 + 1e-9
    quarter, _ = decode_heatmaps(hm, "quarter")
    assert (quarter - kp).abs().max() <= 0.5 + 1e-9
    if 5 <= x <= 17 and 5 <= y <= 10:  # the zero-padded blur biases points near the border
        blurred, _ = decode_heatmaps(hm, "dark")
        assert (blurred - kp).abs().max() < 0.02
    soft, _ = decode_heatmaps(hm, "soft-argmax")
    assert torch.linalg.vector_norm(soft - kp) < 1.5  # truncated by the borders, so biased inward


# ----------------------------------------------------------------------------- decode_heatmaps


def test_decode_reference_vectors():
    """DARK (Zhang et al. 2020): an exact sigma=2 Gaussian on 64x48 centred at (20.3, 30.8)."""
    hm = torch.from_numpy(exact_gaussian(20.3, 30.8, (64, 48), 2))[None]
    q, score = decode_heatmaps(hm, "quarter")
    torch.testing.assert_close(q, torch.tensor([[20.25, 30.75]], dtype=torch.float64))
    d, _ = decode_heatmaps(hm, "dark", blur_kernel=1)
    torch.testing.assert_close(d, torch.tensor([[20.3, 30.8]], dtype=torch.float64), atol=1e-10, rtol=0)
    a, _ = decode_heatmaps(hm, "argmax")
    assert a.tolist() == [[20.0, 31.0]] and score.item() == pytest.approx(hm.max().item())
    # with DarkPose's 11-tap blur the blurred map is still (nearly) a Gaussian at the same centre
    d11, _ = decode_heatmaps(hm, "dark")
    torch.testing.assert_close(d11, torch.tensor([[20.3, 30.8]], dtype=torch.float64), atol=1e-3, rtol=0)


def test_decode_matches_numpy_ports_on_noisy_maps():
    rng = np.random.default_rng(3)
    maps = []
    for _ in range(12):
        x, y = rng.uniform(-1, 17), rng.uniform(-1, 13)
        maps.append(exact_gaussian(x, y, (12, 16), rng.uniform(0.8, 2.5)) + 0.05 * rng.standard_normal((12, 16)))
    maps.append(np.zeros((12, 16)))  # max <= 0 -> (0, 0)
    maps.append(-np.ones((12, 16)))
    hm = torch.from_numpy(np.stack(maps))  # (M, H, W)
    arg, scores = decode_heatmaps(hm, "argmax")
    quarter, _ = decode_heatmaps(hm, "quarter")
    dark1, _ = decode_heatmaps(hm, "dark", blur_kernel=1)
    dark5, _ = decode_heatmaps(hm, "dark", blur_kernel=5)
    for m, h in enumerate(maps):
        want_arg, want_max = np_get_max_preds(h)
        assert arg[m].tolist() == want_arg.tolist() and scores[m].item() == want_max
        torch.testing.assert_close(quarter[m], torch.from_numpy(np_quarter(h)))
        if h.max() > 0:
            torch.testing.assert_close(dark1[m], torch.from_numpy(np_dark(h, 1)), atol=1e-9, rtol=1e-9)
            torch.testing.assert_close(dark5[m], torch.from_numpy(np_dark(h, 5)), atol=1e-9, rtol=1e-9)
        else:
            assert dark5[m].tolist() == [0.0, 0.0]


def test_decode_batch_shapes_and_dtype():
    hm = torch.rand(2, 3, 8, 6)
    for method in DECODE_METHODS:
        coords, scores = decode_heatmaps(hm, method)
        assert coords.shape == (2, 3, 2) and scores.shape == (2, 3)
        assert coords.dtype == scores.dtype == torch.float32
    coords, scores = decode_heatmaps(torch.rand(8, 6), "dark")
    assert coords.shape == (2,) and scores.shape == ()


def test_decode_argmax_ties_and_xy_order():
    hm = torch.zeros(1, 4, 6)
    hm[0, 1, 4] = 1.0
    hm[0, 3, 2] = 1.0  # a later tie in row-major order loses
    coords, _ = decode_heatmaps(hm)
    assert coords.tolist() == [[4.0, 1.0]]


def test_decode_quarter_excludes_the_second_pixel():
    """HRNet shifts only where 1 < px < W-1: a peak at px = 1 is not refined."""
    hm = torch.zeros(1, 7, 7)
    hm[0, 3, 1], hm[0, 3, 2], hm[0, 3, 0] = 1.0, 0.5, 0.1
    assert decode_heatmaps(hm, "quarter")[0].tolist() == [[1.0, 3.0]]
    hm = torch.zeros(1, 7, 7)
    hm[0, 3, 2], hm[0, 3, 3], hm[0, 3, 1] = 1.0, 0.5, 0.1
    assert decode_heatmaps(hm, "quarter")[0].tolist() == [[2.25, 3.0]]


def test_decode_soft_argmax():
    hm = render_heatmaps(torch.tensor([[10.3, 8.6]], dtype=torch.float64), (20, 24), 1.5, subpixel=True)
    soft, _ = decode_heatmaps(hm, "soft-argmax")
    torch.testing.assert_close(soft, torch.tensor([[10.3, 8.6]], dtype=torch.float64), atol=1e-4, rtol=0)
    # softmax weights written out
    beta = 5.0
    p = torch.softmax(beta * hm[0].flatten(), 0).reshape(20, 24)
    want = torch.stack(
        [(p * torch.arange(24.0, dtype=torch.float64)).sum(), (p.T * torch.arange(20.0, dtype=torch.float64)).sum()]
    )
    torch.testing.assert_close(decode_heatmaps(hm, "soft-argmax", beta=beta)[0][0], want)
    # no positive mass: (0, 0)
    assert decode_heatmaps(-torch.ones(1, 5, 5), "soft-argmax")[0].tolist() == [[0.0, 0.0]]


def test_decode_soft_argmax_gradcheck():
    hm = torch.rand(2, 5, 6, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda h: decode_heatmaps(h, "soft-argmax")[0], (hm,))
    assert torch.autograd.gradcheck(lambda h: decode_heatmaps(h, "soft-argmax", beta=3.0)[0], (hm,))


# ----------------------------------------------------------------------------- pck


def test_pck_hand_cases():
    target = torch.zeros(1, 4, 2)
    pred = torch.tensor([[[0.0, 0.0], [3.0, 4.0], [6.0, 8.0], [0.0, 20.0]]])  # errors 0, 5, 10, 20
    assert pck(pred, target, threshold=0.5, normalize=10.0).item() == 0.5  # 5 <= 5 counts
    assert pck(pred, target, threshold=1.0, normalize=10.0).item() == 0.75
    assert pck(pred, target, threshold=0.49, normalize=10.0).item() == 0.25
    vis = torch.tensor([[True, True, False, False]])
    assert pck(pred, target, threshold=0.5, normalize=10.0, visible=vis).item() == 1.0
    assert math.isnan(pck(pred, target, threshold=0.5, normalize=10.0, visible=torch.zeros(1, 4, dtype=torch.bool)))


def test_pck_head_size_boundary_uses_less_or_equal():
    """PCKh (Andriluka et al. 2014): head box diagonal 50 -> 30 px head size; a 15 px error is correct at PCKh@0.5."""
    head = 0.6 * 50.0
    pred, target = torch.tensor([[[115.0, 40.0]]]), torch.tensor([[[100.0, 40.0]]])
    assert pck(pred, target, threshold=0.5, normalize=head).item() == 1.0
    assert pck(pred, target, threshold=0.49, normalize=head).item() == 0.0


def test_pck_per_image_normalization_matches_loop():
    g = torch.Generator().manual_seed(0)
    target = torch.rand(5, 7, 2, generator=g) * 50
    pred = target + torch.randn(5, 7, 2, generator=g) * 4
    sizes = torch.rand(5, 1, generator=g) * 40 + 20
    vis = torch.rand(5, 7, generator=g) > 0.2
    correct = total = 0
    for n in range(5):
        for k in range(7):
            if vis[n, k]:
                err = math.dist(pred[n, k].tolist(), target[n, k].tolist()) / sizes[n, 0].item()
                correct += err <= 0.2
                total += 1
    got = pck(pred, target, threshold=0.2, normalize=sizes, visible=vis)
    assert got.shape == () and got.item() == pytest.approx(correct / total, abs=1e-6)


# ----------------------------------------------------------------------------- errors


def test_errors_label_maps():
    z = torch.zeros(4, 4)
    with pytest.raises(ValueError, match="sigma: expected a positive number"):
        label_patch(0)
    with pytest.raises(ValueError, match="sigma: expected a positive number"):
        draw_labelmap(z, (1.0, 1.0), -1)
    with pytest.raises(ValueError, match="sigma: expected a positive number"):
        render_heatmaps(torch.zeros(1, 2), 4, float("inf"))
    with pytest.raises(TypeError, match="sigma: expected a number"):
        render_heatmaps(torch.zeros(1, 2), 4, True)
    with pytest.raises(ValueError, match="kind: expected one of"):
        draw_labelmap(z, (1.0, 1.0), 1, "Gaussian")
    with pytest.raises(ValueError, match="kind: expected one of"):
        render_heatmaps(torch.zeros(1, 2), 4, 1, kind="laplace")
    with pytest.raises(ValueError, match=r"heatmap: expected a tensor of shape \(H, W\)"):
        draw_labelmap(torch.zeros(1, 4, 4), (1.0, 1.0), 1)
    with pytest.raises(TypeError, match="heatmap: expected a floating-point"):
        draw_labelmap(torch.zeros(4, 4, dtype=torch.long), (1.0, 1.0), 1)
    with pytest.raises(TypeError, match="point: expected"):
        draw_labelmap(z, (1.0, 1.0, 1.0), 1)
    with pytest.raises(ValueError, match=r"point: expected \(x, y\) as a Tensor of shape \(2,\)"):
        draw_labelmap(z, torch.zeros(3), 1)
    with pytest.raises(ValueError, match="point: expected finite"):
        draw_labelmap(z, (float("nan"), 1.0), 1)
    with pytest.raises(ValueError, match=r"keypoints: expected a tensor of shape \(\.\.\., K, 2\)"):
        render_heatmaps(torch.zeros(3, 3), 4, 1)
    with pytest.raises(ValueError, match=r"keypoints: expected a tensor of shape \(\.\.\., K, 2\)"):
        render_heatmaps(torch.zeros(2), 4, 1)
    with pytest.raises(TypeError, match="keypoints: expected a floating-point"):
        render_heatmaps(torch.zeros(3, 2, dtype=torch.long), 4, 1)
    with pytest.raises(ValueError, match="size: expected values >= 1"):
        render_heatmaps(torch.zeros(3, 2), (0, 4), 1)
    with pytest.raises(ValueError, match=r"visible: expected shape \(3,\)"):
        render_heatmaps(torch.zeros(3, 2), 4, 1, visible=torch.ones(2, dtype=torch.bool))
    with pytest.raises(TypeError, match="visible: expected a bool tensor"):
        render_heatmaps(torch.zeros(3, 2), 4, 1, visible=torch.ones(3))
    with pytest.raises(ValueError, match="non-finite coordinates are allowed only where visible is False"):
        render_heatmaps(torch.tensor([[float("nan"), 1.0]]), 4, 1)
    with pytest.raises(TypeError, match="subpixel: expected a bool"):
        render_heatmaps(torch.zeros(3, 2), 4, 1, subpixel=1)


def test_errors_decode_and_pck():
    with pytest.raises(ValueError, match="method: expected one of"):
        decode_heatmaps(torch.rand(3, 4, 4), "dsnt")
    with pytest.raises(ValueError, match=r"heatmaps: expected a tensor of shape \(\.\.\., H, W\)"):
        decode_heatmaps(torch.rand(4))
    with pytest.raises(ValueError, match=r"heatmaps: expected a tensor of shape \(\.\.\., H, W\)"):
        decode_heatmaps(torch.rand(2, 0, 4))
    with pytest.raises(TypeError, match="heatmaps: expected a floating-point"):
        decode_heatmaps(torch.ones(4, 4, dtype=torch.int64))
    with pytest.raises(ValueError, match="blur_kernel: expected an odd int"):
        decode_heatmaps(torch.rand(4, 4), "dark", blur_kernel=4)
    with pytest.raises(ValueError, match="beta: expected a positive number"):
        decode_heatmaps(torch.rand(4, 4), "soft-argmax", beta=0.0)
    p = torch.zeros(2, 3, 2)
    with pytest.raises(ValueError, match="target: expected the same shape as pred"):
        pck(p, torch.zeros(2, 4, 2), threshold=0.1, normalize=1.0)
    with pytest.raises(ValueError, match=r"pred: expected a tensor of shape \(\.\.\., K, 2\)"):
        pck(torch.zeros(2, 3), torch.zeros(2, 3), threshold=0.1, normalize=1.0)
    with pytest.raises(ValueError, match="threshold: expected a positive number"):
        pck(p, p, threshold=0.0, normalize=1.0)
    with pytest.raises(ValueError, match="normalize: expected a positive number"):
        pck(p, p, threshold=0.1, normalize=-2.0)
    with pytest.raises(ValueError, match="normalize: expected positive reference lengths"):
        pck(p, p, threshold=0.1, normalize=torch.tensor([[1.0], [0.0]]))
    with pytest.raises(ValueError, match="normalize: expected a number or a tensor broadcastable"):
        pck(p, p, threshold=0.1, normalize=torch.ones(4))
    with pytest.raises(ValueError, match="would change the number of keypoints"):
        pck(p, p, threshold=0.1, normalize=torch.ones(1, 2, 3))
    with pytest.raises(ValueError, match=r"visible: expected shape \(2, 3\)"):
        pck(p, p, threshold=0.1, normalize=1.0, visible=torch.ones(3, dtype=torch.bool))


# ----------------------------------------------------------------------------- exercise checks (notebook 06)

from lessons.exercises import ExerciseFailure  # noqa: E402
from lessons.exercises.heatmaps import (  # noqa: E402
    check_argmax_decode,
    check_gaussian_label_map,
    check_pck_score,
)


def good_gaussian_label_map(point, size, sigma):
    ys = torch.arange(size[0], dtype=point.dtype)[:, None]
    xs = torch.arange(size[1], dtype=point.dtype)[None, :]
    return torch.exp(-((xs - point[0]) ** 2 + (ys - point[1]) ** 2) / (2 * sigma**2))


def swapped_gaussian_label_map(point, size, sigma):  # x paired with the rows
    ys = torch.arange(size[0], dtype=point.dtype)[:, None]
    xs = torch.arange(size[1], dtype=point.dtype)[None, :]
    return torch.exp(-((xs - point[1]) ** 2 + (ys - point[0]) ** 2) / (2 * sigma**2))


def good_argmax_decode(heatmaps):
    width = heatmaps.shape[-1]
    idx = heatmaps.flatten(1).argmax(dim=1)
    return torch.stack([idx % width, idx // width], dim=1).to(heatmaps.dtype)


def wrong_argmax_decode(heatmaps):  # divides by H instead of W
    height = heatmaps.shape[-2]
    idx = heatmaps.flatten(1).argmax(dim=1)
    return torch.stack([idx % height, idx // height], dim=1).to(heatmaps.dtype)


def good_pck_score(pred, target, visible, threshold, normalize):
    err = (pred - target).norm(dim=-1) / normalize
    return ((err <= threshold) & visible).sum().float() / visible.sum()


def strict_pck_score(pred, target, visible, threshold, normalize):  # < instead of <=
    err = (pred - target).norm(dim=-1) / normalize
    return ((err < threshold) & visible).sum().float() / visible.sum()


def stub(*args, **kwargs):
    raise NotImplementedError("Exercise 6.x: (see the hint above)")


def crash(*args, **kwargs):
    raise IndexError("student bug")


@pytest.mark.parametrize(
    "check,good,wrong,hint",
    [
        (check_gaussian_label_map, good_gaussian_label_map, swapped_gaussian_label_map, "x goes with the columns"),
        (check_argmax_decode, good_argmax_decode, wrong_argmax_decode, "uses the width"),
        (check_pck_score, good_pck_score, strict_pck_score, "Use <="),
    ],
)
def test_exercise_checks(check, good, wrong, hint, capsys):
    assert check(good).passed
    assert "✅" in capsys.readouterr().out
    with pytest.raises(ExerciseFailure, match=hint):
        check(wrong)
    report = check(stub)
    assert report.status == "not attempted" and "not attempted" in capsys.readouterr().out
    with pytest.raises(ExerciseFailure, match="raised IndexError: student bug"):
        check(crash)


def loop_gaussian_label_map(point, size, sigma):
    """The label map from its definition, one pixel at a time (pixel [i, j] is the point (j, i))."""
    x, y = float(point[0]), float(point[1])
    out = torch.zeros(size, dtype=point.dtype)
    for i in range(size[0]):
        for j in range(size[1]):
            out[i, j] = math.exp(-((j - x) ** 2 + (i - y) ** 2) / (2 * sigma**2))
    return out


def loop_argmax_decode(heatmaps):
    """(x, y) of the first maximum of each map in row-major order, by scanning every pixel."""
    out = torch.zeros(heatmaps.shape[0], 2)
    for k, hm in enumerate(heatmaps):
        best, where = -math.inf, (0, 0)
        for i in range(hm.shape[0]):
            for j in range(hm.shape[1]):
                if hm[i, j] > best:
                    best, where = float(hm[i, j]), (j, i)
        out[k] = torch.tensor(where, dtype=torch.float32)
    return out


def loop_pck_score(pred, target, visible, threshold, normalize):
    """Correct visible keypoints / visible keypoints, counting one keypoint at a time."""
    correct = total = 0
    for p, t, v in zip(pred.reshape(-1, 2).tolist(), target.reshape(-1, 2).tolist(), visible.reshape(-1).tolist()):
        if v:
            total += 1
            correct += math.hypot(p[0] - t[0], p[1] - t[1]) / normalize <= threshold
    return torch.tensor(correct / total)


def test_exercise_checks_pass_for_references_written_from_the_definitions():
    # independent of lessons.heatmaps: the formulas written out as loops
    assert check_gaussian_label_map(loop_gaussian_label_map).passed
    assert check_argmax_decode(loop_argmax_decode).passed
    assert check_pck_score(loop_pck_score).passed


def test_exercise_pck_ignores_visibility_fails():
    def no_visibility(pred, target, visible, threshold, normalize):
        return (((pred - target).norm(dim=-1) / normalize) <= threshold).float().mean()

    with pytest.raises(ExerciseFailure, match="Average only over the visible keypoints"):
        check_pck_score(no_visibility)

"""Landmark heatmaps: Gaussian and Cauchy label maps, decoding with sub-pixel accuracy, and PCK.

Landmark localization (랜드마크 검출) predicts K points of interest on an object: the joints of a
body, the eyes and mouth corners of a face. There are two ways to make a network output them.

* **Coordinate regression** (DeepPose: Toshev & Szegedy, "DeepPose: Human Pose Estimation via Deep
  Neural Networks", 2014, arXiv:1312.4659): an FC layer outputs ``2K`` numbers, like box regression.
  Simple, but inaccurate and it generalizes poorly (the FC layer throws away translation
  equivariance).
* **Heatmap classification** (Tompson et al., "Joint Training of a Convolutional Network and a
  Graphical Model for Human Pose Estimation", 2014, arXiv:1406.2984; Newell et al., "Stacked
  Hourglass Networks for Human Pose Estimation", 2016, arXiv:1603.06937): one output channel per
  landmark, like semantic segmentation; each pixel says how likely the landmark is there. Much more
  accurate, at the cost of computing ``K x H x W`` outputs.

The label of a heatmap network is a **label map** (:func:`draw_labelmap`): a small Gaussian (or
Cauchy) bump of size ``6*sigma + 1`` centred on the labelled point — the lecture's code, as the
reference implementation ``bearpaw/pytorch-pose`` (``pose/utils/imutils.py : draw_labelmap``)
runs it. :func:`render_heatmaps` is the same thing vectorized over images and keypoints, plus a
sub-pixel variant. A predicted heatmap is turned back into coordinates by :func:`decode_heatmaps`
(argmax; the quarter-pixel shift of Xiao et al., "Simple Baselines for Human Pose Estimation and
Tracking", 2018, arXiv:1804.06208, kept by HRNet, arXiv:1902.09212; the Taylor refinement of DARK,
Zhang et al., "Distribution-Aware Coordinate Representation for Human Pose Estimation", 2020,
arXiv:1910.06278; and the soft-argmax of Sun et al., "Integral Human Pose Regression", 2018,
arXiv:1711.08229). Predictions are scored with :func:`pck`, the Percentage of Correct Keypoints.

Coordinates: a point is ``(x, y)`` in **heatmap pixel units with pixel centres on the integers**:
pixel ``[row=i, col=j]`` is the point ``(x=j, y=i)``. This is the convention of the reference
code's arithmetic (the bump's centre sits on a pixel index), of HRNet and of DARK. Note: the
course's raster helper :func:`lessons.data.shapes.shape_mask` puts pixel centres at ``+0.5``; add
0.5 to go from these coordinates to that one.

Deviations from the reference code, each stated again where it applies:

* :func:`draw_labelmap` returns a new map; the reference writes into its argument in place.
* ``kind`` is spelled ``"gaussian"``/``"cauchy"`` (the reference: ``'Gaussian'``/``'Cauchy'``,
  and an unknown type crashes with a ``NameError``); unknown kinds raise a ``ValueError``.
* DARK's blur always uses the Gaussian formula for its kernel (OpenCV switches to fixed tables for
  kernels of 3, 5 and 7), works on any kernel size including 1 (= no blur; the reference's
  ``dr[border:-border]`` is empty for kernel 1), and is computed in float64.

NaN policy: feature maps, logits, images and the inputs of losses are not scanned for NaN/inf (a
full scan would cost more than the operation), so a NaN there passes through to the result; boxes,
coordinates, sizes, indices and labels are checked and a NaN/inf there raises ``ValueError``.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor

from lessons._checks import (
    check_choice,
    check_floating,
    check_int,
    check_int_pair,
    check_positive,
    check_tensor,
    describe,
)

__all__ = [
    "LABEL_KINDS",
    "DECODE_METHODS",
    "label_patch",
    "draw_labelmap",
    "render_heatmaps",
    "decode_heatmaps",
    "pck",
]

#: The label-map shapes :func:`draw_labelmap` and :func:`render_heatmaps` draw.
LABEL_KINDS = ("gaussian", "cauchy")
#: The decoders of :func:`decode_heatmaps`.
DECODE_METHODS = ("argmax", "quarter", "dark", "soft-argmax")

# Coordinates beyond this are clamped before truncation to an int; they are far outside any map.
_FAR = 2.0**40


# ----------------------------------------------------------------------------- label maps


def label_patch(sigma: float, kind: str = "gaussian") -> Tensor:
    """The lecture's bump: an unnormalized Gaussian or Cauchy patch of size ``6*sigma + 1``.

    The lecture's code, line by line::

        size = 6 * sigma + 1          # the bump covers +-3 sigma around its centre
        x = np.arange(0, size, 1, float)   # column coordinates 0, 1, ..., size-1
        y = x[:, np.newaxis]          # the same as a column vector: x and y broadcast to a grid
        x0 = y0 = size // 2           # the centre pixel (= 3 sigma for an integer sigma)
        g = np.exp(-((x - x0) ** 2 + (y - y0) ** 2) / (2 * sigma ** 2))           # Gaussian
        g = sigma / (((x - x0) ** 2 + (y - y0) ** 2 + sigma ** 2) ** 1.5)          # Cauchy

    .. math::
        g_{\\text{gauss}}(d) = \\exp\\!\\left(-\\frac{d^2}{2\\sigma^2}\\right), \\qquad
        g_{\\text{cauchy}}(d) = \\frac{\\sigma}{(d^2 + \\sigma^2)^{3/2}}, \\qquad
        d^2 = (x - x_0)^2 + (y - y_0)^2

    The Gaussian peaks at 1; the Cauchy peaks at ``sigma / sigma**3 = 1 / sigma**2`` (0.25 for
    sigma = 2) and has heavy tails (it decays as ``1/d**3``, the Gaussian as ``exp(-d**2)``).

    Args:
        sigma (float): the spread in pixels, > 0. pytorch-pose uses 1 on 64x64 maps, HRNet 2.
        kind (str): ``"gaussian"`` or ``"cauchy"``. Default: ``"gaussian"``.

    Returns:
        Tensor[S, S] (float64): the patch, ``S = len(arange(0, 6*sigma + 1))``
        (``6*sigma + 1`` for an integer sigma), peak at ``[size // 2, size // 2]``.

    Example:
        >>> label_patch(1).shape, label_patch(1)[3, 3].item(), label_patch(2, "cauchy").max().item()
        (torch.Size([7, 7]), 1.0, 0.25)
    """
    _check_sigma(sigma)
    check_choice("kind", kind, LABEL_KINDS)
    size = 6 * sigma + 1
    x = torch.arange(0, size, 1, dtype=torch.float64)  # (S,)
    y = x[:, None]  # (S, 1)
    x0 = y0 = size // 2
    if kind == "gaussian":
        return torch.exp(-((x - x0) ** 2 + (y - y0) ** 2) / (2 * sigma**2))  # (S, S)
    return sigma / (((x - x0) ** 2 + (y - y0) ** 2 + sigma**2) ** 1.5)  # (S, S)


def draw_labelmap(
    heatmap: Tensor, point: tuple[float, float] | Tensor, sigma: float, kind: str = "gaussian"
) -> tuple[Tensor, int]:
    """Paste the lecture's label patch onto ``heatmap`` at ``point``: the reference, one point at a time.

    This reproduces ``draw_labelmap`` of pytorch-pose step by step:

    1. bounds ``ul = (int(x - 3 sigma), int(y - 3 sigma))`` and
       ``br = (int(x + 3 sigma + 1), int(y + 3 sigma + 1))``; ``int()`` **truncates toward zero**;
    2. if ``ul_x >= W or ul_y >= H or br_x < 0 or br_y < 0`` the map is returned unchanged with
       visibility **0**;
    3. otherwise the :func:`label_patch` is clipped to the image and **assigned** (it overwrites
       what was there; it is not a max), and the visibility is **1**.

    So the peak lands on the integer pixel ``ul + 3 sigma``: ``floor(x)`` when ``x - 3 sigma >= 0``,
    one pixel further right when ``x - 3 sigma`` is negative (truncation rounds up there). A point
    whose patch misses the image by less than the early-return test (``br == 0``) draws nothing
    and still reports visibility 1.

    Note:
        The reference writes into its argument in place (``to_numpy`` shares memory); this
        returns a new tensor and leaves ``heatmap`` unchanged.

    Args:
        heatmap (Tensor[H, W]): the map to draw on (floating point).
        point (tuple[float, float] or Tensor[2]): ``(x, y)`` in pixel units, pixel centres on the
            integers.
        sigma (float): spread in pixels, > 0.
        kind (str): ``"gaussian"`` (peak 1) or ``"cauchy"`` (peak ``1/sigma**2``).
            Default: ``"gaussian"``.

    Returns:
        tuple[Tensor[H, W], int]: the new map (``heatmap``'s dtype) and the visibility (0 or 1).

    Example:
        >>> m, vis = draw_labelmap(torch.zeros(8, 10), (5.7, 4.2), 1)
        >>> (m.argmax() // 10).item(), (m.argmax() % 10).item(), m.max().item(), vis
        (4, 5, 1.0, 1)
    """
    check_floating("heatmap", heatmap)
    if heatmap.ndim != 2:
        raise ValueError(f"heatmap: expected a tensor of shape (H, W), got shape {tuple(heatmap.shape)}")
    px, py = _point_pair(point)
    patch = label_patch(sigma, kind)  # (S, S), checks sigma and kind
    height, width = heatmap.shape
    img = heatmap.clone()

    # 1. bounds of the patch in the image; int() truncates toward zero
    ul = [int(px - 3 * sigma), int(py - 3 * sigma)]
    br = [int(px + 3 * sigma + 1), int(py + 3 * sigma + 1)]
    # 2. nothing of the patch can be inside: return the map as it is, invisible
    if ul[0] >= width or ul[1] >= height or br[0] < 0 or br[1] < 0:
        return img, 0
    # 3. the usable part of the patch, and where it goes in the image
    g_x = max(0, -ul[0]), min(br[0], width) - ul[0]
    g_y = max(0, -ul[1]), min(br[1], height) - ul[1]
    img_x = max(0, ul[0]), min(br[0], width)
    img_y = max(0, ul[1]), min(br[1], height)
    img[img_y[0] : img_y[1], img_x[0] : img_x[1]] = patch[g_y[0] : g_y[1], g_x[0] : g_x[1]].to(img.dtype)
    return img, 1


def render_heatmaps(
    keypoints: Tensor,
    size: int | tuple[int, int],
    sigma: float,
    *,
    kind: str = "gaussian",
    visible: Tensor | None = None,
    subpixel: bool = False,
) -> Tensor:
    """One label map per keypoint, for any batch of keypoints, without a Python loop.

    With ``subpixel=False`` (default) the result equals :func:`draw_labelmap` applied to each point
    on a zero map, **exactly** (same truncated bounds, same early return, same patch values): the
    patch of :func:`label_patch` is computed once and scattered into every map that shows it.

    With ``subpixel=True`` the bump is centred on the true, fractional point and evaluated on the
    whole map (no ``6*sigma+1`` window, no early return), as in DARK's unbiased encoding:

    .. math::
        h_k[i, j] = \\exp\\!\\left(-\\frac{(j - x_k)^2 + (i - y_k)^2}{2\\sigma^2}\\right)
        \\quad\\text{or}\\quad \\frac{\\sigma}{((j - x_k)^2 + (i - y_k)^2 + \\sigma^2)^{3/2}}

    Note:
        DARK keeps HRNet's ``6*sigma+1`` window around the rounded centre and shifts the bump inside
        it; here the sub-pixel map is not windowed (values beyond 3 sigma are below 0.011 for the
        Gaussian), so that decoders see an exact, symmetric bump. The sub-pixel map is
        differentiable with respect to ``keypoints``.

    Args:
        keypoints (Tensor[..., K, 2]): ``(x, y)`` per keypoint in heatmap pixel units, pixel centres
            on the integers (floating point). Any leading batch dimensions.
        size (int or tuple[int, int]): ``(H, W)`` of the maps, or one int for square maps.
        sigma (float): spread in pixels, > 0.
        kind (str): ``"gaussian"`` or ``"cauchy"``. Default: ``"gaussian"``.
        visible (Tensor[..., K] or None): bool; ``False`` gives an all-zero map (the keypoint is
            not labelled). Non-finite coordinates are allowed only where ``visible`` is ``False``.
            Default: ``None`` (all visible).
        subpixel (bool): centre the bump on the exact point instead of the truncated integer one.
            Default: ``False``.

    Returns:
        Tensor[..., K, H, W]: the label maps, in ``keypoints``' dtype and device.

    Example:
        >>> kp = torch.tensor([[[5.7, 4.2], [2.5, 4.0]]])  # (B=1, K=2, 2)
        >>> hm = render_heatmaps(kp, (8, 10), 1)
        >>> hm.shape, [divmod(int(i), 10) for i in hm.flatten(2).argmax(-1)[0]]
        (torch.Size([1, 2, 8, 10]), [(4, 5), (4, 3)])
    """
    check_floating("keypoints", keypoints)
    if keypoints.ndim < 2 or keypoints.shape[-1] != 2:
        raise ValueError(
            f"keypoints: expected a tensor of shape (..., K, 2) with (x, y) per keypoint, "
            f"got shape {tuple(keypoints.shape)}"
        )
    height, width = check_int_pair("size", size)
    _check_sigma(sigma)
    check_choice("kind", kind, LABEL_KINDS)
    if not isinstance(subpixel, bool):
        raise TypeError(f"subpixel: expected a bool, got {describe(subpixel)}")
    lead = keypoints.shape[:-1]  # (..., K)
    vis = _visible_mask(visible, lead, keypoints)  # (..., K)
    kp = keypoints.to(torch.float64)
    finite = torch.isfinite(kp).all(dim=-1)  # (..., K)
    if bool((vis & ~finite).any()):
        raise ValueError("keypoints: non-finite coordinates are allowed only where visible is False")
    kp = torch.where(finite[..., None], kp, torch.zeros_like(kp)).clamp(-_FAR, _FAR)
    x, y = kp[..., 0], kp[..., 1]  # (..., K)

    if subpixel:
        dx2 = (torch.arange(width, dtype=kp.dtype, device=kp.device) - x[..., None]) ** 2  # (..., K, W)
        dy2 = (torch.arange(height, dtype=kp.dtype, device=kp.device) - y[..., None]) ** 2  # (..., K, H)
        if kind == "gaussian":
            # the Gaussian is separable: exp(-(dx^2 + dy^2) / 2s^2) = exp(-dx^2 / 2s^2) * exp(-dy^2 / 2s^2)
            gx = torch.exp(-dx2 / (2 * sigma**2)).to(keypoints.dtype)  # (..., K, W)
            gy = (torch.exp(-dy2 / (2 * sigma**2)) * vis[..., None]).to(keypoints.dtype)  # (..., K, H)
            return gy[..., :, None] * gx[..., None, :]  # (..., K, H, W)
        d2 = dy2[..., :, None] + dx2[..., None, :]  # (..., K, H, W)
        maps = sigma / ((d2 + sigma**2) ** 1.5) * vis[..., None, None]
        return maps.to(keypoints.dtype)

    patch = label_patch(sigma, kind).to(kp.device)  # (S, S)
    s = patch.shape[0]
    # the reference's bounds, with int() = truncation toward zero
    ul_x, ul_y = torch.trunc(x - 3 * sigma).long(), torch.trunc(y - 3 * sigma).long()  # (..., K)
    br_x, br_y = torch.trunc(x + 3 * sigma + 1).long(), torch.trunc(y + 3 * sigma + 1).long()
    drawn = vis & ~((ul_x >= width) | (ul_y >= height) | (br_x < 0) | (br_y < 0))  # (..., K)

    # flat index of every patch pixel in the output; pixels that are not drawn go to a spare slot
    num_maps = math.prod(lead)
    spare = num_maps * height * width
    offsets = torch.arange(s, device=kp.device)  # (S,) patch rows / columns
    cols = ul_x[..., None] + offsets  # (..., K, S) image column of each patch column
    rows = ul_y[..., None] + offsets  # (..., K, S)
    ok_x = (cols >= 0) & (cols < br_x.clamp(max=width)[..., None])  # (..., K, S)
    ok_y = (rows >= 0) & (rows < br_y.clamp(max=height)[..., None]) & drawn[..., None]
    channel = torch.arange(num_maps, device=kp.device).reshape(lead)  # (..., K)
    row_start = torch.where(ok_y, (channel[..., None] * height + rows) * width, spare)  # (..., K, S)
    col = torch.where(ok_x, cols, spare)
    flat = (row_start[..., :, None] + col[..., None, :]).clamp_(max=spare)  # (..., K, S, S)
    values = patch.to(keypoints.dtype).expand(flat.shape)  # (..., K, S, S)
    maps = torch.zeros(spare + 1, dtype=keypoints.dtype, device=keypoints.device)
    maps.index_put_((flat.reshape(-1),), values.reshape(-1))  # one patch per map: only the spare repeats
    maps = maps[:spare]
    return maps.reshape(*lead, height, width)  # (..., K, H, W)


# ----------------------------------------------------------------------------- decoding


def decode_heatmaps(
    heatmaps: Tensor,
    method: str = "argmax",
    *,
    blur_kernel: int = 11,
    beta: float | None = None,
) -> tuple[Tensor, Tensor]:
    """Turn heatmaps back into ``(x, y)`` coordinates and scores.

    * ``"argmax"`` (HRNet ``get_max_preds``): the integer pixel of the maximum, the first one in
      row-major order: ``x = idx % W``, ``y = idx // W``.
    * ``"quarter"`` (Simple Baselines / HRNet ``get_final_preds``): argmax, then a quarter pixel
      towards the higher neighbour, ``+0.25 * sign(h[y, x+1] - h[y, x-1])`` (likewise for y), only
      where ``1 < x < W-1`` and ``1 < y < H-1``.
    * ``"dark"`` (DarkPose ``gaussian_blur`` + ``taylor``): blur each map with a
      ``blur_kernel``-sized Gaussian on a zero-padded copy, rescale it to its old maximum, take
      ``log(max(h, 1e-10))`` and make one Newton step from the argmax ``m`` (DARK's second-order
      Taylor expansion of the log-likelihood around ``m``):

      .. math::
          \\hat\\mu = m - \\mathcal{H}(m)^{-1} \\nabla(m), \\quad
          \\nabla = \\tfrac12\\begin{pmatrix} h_{y,x+1}-h_{y,x-1} \\\\ h_{y+1,x}-h_{y-1,x} \\end{pmatrix},
          \\quad \\mathcal{H} = \\tfrac14\\begin{pmatrix} h_{y,x+2}-2h_{y,x}+h_{y,x-2} &
          h_{y+1,x+1}-h_{y-1,x+1}-h_{y+1,x-1}+h_{y-1,x-1} \\\\ \\cdot & h_{y+2,x}-2h_{y,x}+h_{y-2,x}
          \\end{pmatrix}

      only where ``1 < x < W-2``, ``1 < y < H-2`` and ``det H != 0``. On the log of an exact Gaussian
      this is exact (the log is a quadratic).
    * ``"soft-argmax"`` (Integral Human Pose Regression): the expected coordinate under the map
      normalized to a distribution, ``sum_ij p_ij (j, i)`` with ``p = relu(h) / sum relu(h)``
      (``beta=None``) or ``p = softmax(beta * h)``. Differentiable.

    The score of every method is the map's maximum. Where that maximum is ``<= 0`` (nothing found)
    argmax, quarter and dark return ``(0, 0)`` as the reference does; so does soft-argmax with
    ``beta=None`` (there is no mass to average).

    Note:
        pytorch-pose's ``final_preds`` works in 1-based coordinates with the bounds ``1 < px < W``
        and adds 0.5 afterwards; HRNet (used here) is 0-based and excludes ``px = 1``. DARK's kernel
        width follows OpenCV: ``sigma = 0.3 * ((blur_kernel - 1) / 2 - 1) + 0.8`` (2.0 for 11).

    Args:
        heatmaps (Tensor[..., H, W]): the maps (floating point), e.g. ``(B, K, H, W)``.
        method (str): one of :data:`DECODE_METHODS`. Default: ``"argmax"``.
        blur_kernel (int): odd kernel size of DARK's blur; 1 means no blur. Default: ``11``
            (DarkPose's ``TEST.BLUR_KERNEL``). Used by ``"dark"`` only.
        beta (float or None): inverse temperature of soft-argmax's softmax; ``None`` normalizes the
            non-negative part instead. Default: ``None``. Used by ``"soft-argmax"`` only.

    Returns:
        tuple[Tensor[..., 2], Tensor[...]]: ``(x, y)`` per map in heatmap pixel units (pixel centres
        on the integers) and the score, both in ``heatmaps``' dtype.

    Example:
        >>> hm = render_heatmaps(torch.tensor([[20.3, 30.8]]), (64, 48), 2, subpixel=True)
        >>> decode_heatmaps(hm, "quarter")[0], decode_heatmaps(hm, "dark", blur_kernel=1)[0]
        (tensor([[20.2500, 30.7500]]), tensor([[20.3000, 30.8000]]))
    """
    check_floating("heatmaps", heatmaps)
    if heatmaps.ndim < 2 or heatmaps.shape[-1] == 0 or heatmaps.shape[-2] == 0:
        raise ValueError(
            f"heatmaps: expected a tensor of shape (..., H, W) with H, W >= 1, got shape {tuple(heatmaps.shape)}"
        )
    check_choice("method", method, DECODE_METHODS)
    if method == "dark":
        if check_int("blur_kernel", blur_kernel, minimum=1) % 2 == 0:
            raise ValueError(f"blur_kernel: expected an odd int >= 1 (1 = no blur), got {blur_kernel!r}")
    if method == "soft-argmax" and beta is not None:
        check_positive("beta", beta)

    lead, (height, width) = heatmaps.shape[:-2], heatmaps.shape[-2:]
    hm = heatmaps.reshape(-1, height, width).to(torch.float64)  # (M, H, W)
    flat = hm.reshape(hm.shape[0], height * width)  # (M, H*W)
    scores = flat.amax(dim=1)  # (M,)

    if method == "soft-argmax":
        coords = _soft_argmax(hm, beta)  # (M, 2)
    else:
        idx = flat.argmax(dim=1)  # (M,) first maximum in row-major order
        found = scores > 0
        px = torch.where(found, idx % width, 0)  # (M,)
        py = torch.where(found, idx // width, 0)
        coords = torch.stack([px, py], dim=1).to(torch.float64)  # (M, 2)
        if method == "quarter":
            coords = coords + 0.25 * _quarter_sign(hm, px, py)
        elif method == "dark":
            coords = coords + _taylor_offset(hm, px, py, blur_kernel)
    out_dtype = heatmaps.dtype
    return coords.to(out_dtype).reshape(*lead, 2), scores.to(out_dtype).reshape(lead)


def _pick(hm: Tensor, py: Tensor, px: Tensor, dy: int, dx: int) -> Tensor:
    """``hm[m, py+dy, px+dx]`` for every map m, with indices clamped into the map."""
    height, width = hm.shape[-2:]
    m = torch.arange(hm.shape[0], device=hm.device)
    return hm[m, (py + dy).clamp(0, height - 1), (px + dx).clamp(0, width - 1)]  # (M,)


def _quarter_sign(hm: Tensor, px: Tensor, py: Tensor) -> Tensor:
    """HRNet's ``0.25 * sign(diff)`` direction, zero outside ``1 < px < W-1, 1 < py < H-1``."""
    height, width = hm.shape[-2:]
    inside = (px > 1) & (px < width - 1) & (py > 1) & (py < height - 1)  # (M,)
    diff_x = _pick(hm, py, px, 0, 1) - _pick(hm, py, px, 0, -1)  # h[y, x+1] - h[y, x-1]
    diff_y = _pick(hm, py, px, 1, 0) - _pick(hm, py, px, -1, 0)  # h[y+1, x] - h[y-1, x]
    diff = torch.stack([diff_x, diff_y], dim=1)  # (M, 2)
    return torch.sign(diff) * inside[:, None]


def _dark_blur(hm: Tensor, kernel: int) -> Tensor:
    """DarkPose's ``gaussian_blur``: zero-padded separable Gaussian, rescaled to the old maximum."""
    if kernel == 1:
        return hm
    sigma = 0.3 * ((kernel - 1) * 0.5 - 1) + 0.8  # OpenCV's sigma for a given kernel size
    t = torch.arange(kernel, dtype=hm.dtype, device=hm.device) - (kernel - 1) / 2
    w = torch.exp(-(t**2) / (2 * sigma**2))
    w = w / w.sum()  # (k,)
    pad = (kernel - 1) // 2
    x = hm[:, None]  # (M, 1, H, W)
    # zero padding here = the reference's zero border around the map
    x = F.conv2d(x, w.reshape(1, 1, 1, kernel), padding=(0, pad))
    x = F.conv2d(x, w.reshape(1, 1, kernel, 1), padding=(pad, 0))[:, 0]  # (M, H, W)
    old_max = hm.flatten(1).amax(dim=1)
    new_max = x.flatten(1).amax(dim=1)
    scale = torch.where(new_max != 0, old_max / torch.where(new_max != 0, new_max, 1.0), 1.0)
    return x * scale[:, None, None]


def _taylor_offset(hm: Tensor, px: Tensor, py: Tensor, kernel: int) -> Tensor:
    """DARK's Newton step ``-H^{-1} grad`` on the log of the blurred map, zero where it does not apply."""
    height, width = hm.shape[-2:]
    h = torch.log(_dark_blur(hm, kernel).clamp_min(1e-10))  # (M, H, W)
    c = _pick(h, py, px, 0, 0)
    dx = 0.5 * (_pick(h, py, px, 0, 1) - _pick(h, py, px, 0, -1))
    dy = 0.5 * (_pick(h, py, px, 1, 0) - _pick(h, py, px, -1, 0))
    dxx = 0.25 * (_pick(h, py, px, 0, 2) - 2 * c + _pick(h, py, px, 0, -2))
    dyy = 0.25 * (_pick(h, py, px, 2, 0) - 2 * c + _pick(h, py, px, -2, 0))
    dxy = 0.25 * (_pick(h, py, px, 1, 1) - _pick(h, py, px, -1, 1) - _pick(h, py, px, 1, -1) + _pick(h, py, px, -1, -1))
    det = dxx * dyy - dxy**2
    apply = (px > 1) & (px < width - 2) & (py > 1) & (py < height - 2) & (det != 0)  # (M,)
    safe = torch.where(apply, det, 1.0)
    # -H^{-1} [dx, dy] with H^{-1} = [[dyy, -dxy], [-dxy, dxx]] / det
    off_x = -(dyy * dx - dxy * dy) / safe
    off_y = -(-dxy * dx + dxx * dy) / safe
    return torch.stack([off_x, off_y], dim=1) * apply[:, None]  # (M, 2)


def _soft_argmax(hm: Tensor, beta: float | None) -> Tensor:
    """Expected ``(x, y)`` under the normalized map; ``(0, 0)`` where a relu-normalized map has no mass."""
    m, height, width = hm.shape
    flat = hm.reshape(m, height * width)  # (M, H*W)
    if beta is None:
        mass = flat.clamp_min(0)
        total = mass.sum(dim=1, keepdim=True)  # (M, 1)
        p = mass / torch.where(total > 0, total, torch.ones_like(total))
    else:
        p = torch.softmax(beta * flat, dim=1)
    p = p.reshape(m, height, width)  # (M, H, W)
    xs = torch.arange(width, dtype=hm.dtype, device=hm.device)
    ys = torch.arange(height, dtype=hm.dtype, device=hm.device)
    ex = (p.sum(dim=1) * xs).sum(dim=1)  # (M,) marginal over rows, then E[x]
    ey = (p.sum(dim=2) * ys).sum(dim=1)
    return torch.stack([ex, ey], dim=1)  # (M, 2)


# ----------------------------------------------------------------------------- evaluation


def pck(
    pred: Tensor,
    target: Tensor,
    *,
    threshold: float,
    normalize: float | Tensor,
    visible: Tensor | None = None,
) -> Tensor:
    """Percentage of Correct Keypoints: the fraction of visible keypoints within ``threshold * normalize``.

    .. math::
        \\mathrm{PCK@}t = \\frac{\\sum_{n,k} v_{nk}\\,[\\,\\lVert \\hat p_{nk} - p_{nk}\\rVert_2 / s_n \\le t\\,]}
                               {\\sum_{n,k} v_{nk}}

    ``s`` is the reference length: the head size for PCKh (MPII: ``0.6 *`` the head box
    diagonal), the box or image size for PCK. The mean is pooled over all visible keypoints, which is
    what HRNet's MPII "Mean" computes (per-joint PCK weighted by joint counts).

    Note:
        The references disagree on the boundary: HRNet's MPII evaluation counts ``err / s <= t``,
        pytorch-pose's ``eval_PCKh.py`` counts ``err / s < t``. This uses ``<=``: with a 30 px head
        size, an error of exactly 15 px scores 1 at PCKh@0.5 here (and in HRNet), 0 in pytorch-pose.

    Args:
        pred (Tensor[..., K, 2]): predicted ``(x, y)``, finite where visible.
        target (Tensor[..., K, 2]): ground-truth ``(x, y)``, same shape and dtype, finite where visible.
        threshold (float): ``t``, > 0 (0.5 for PCKh@0.5, 0.05 or 0.1 for PCK@0.05 / @0.1).
        normalize (float or Tensor): ``s``, > 0: one number, or a tensor broadcastable to
            ``pred.shape[:-1]`` (e.g. ``Tensor[N, 1]`` for one size per image).
        visible (Tensor[..., K] or None): bool; only visible keypoints count. Default: ``None``
            (all count).

    Returns:
        Tensor[] (0-d, ``pred``'s dtype): the fraction in [0, 1]; NaN when no keypoint is visible.

    Example:
        >>> p, t = torch.tensor([[[0.0, 0.0], [3.0, 4.0]]]), torch.zeros(1, 2, 2)
        >>> pck(p, t, threshold=0.5, normalize=10.0), pck(p, t, threshold=0.4, normalize=10.0)
        (tensor(1.), tensor(0.5000))
    """
    check_floating("pred", pred)
    check_floating("target", target)
    if pred.ndim < 2 or pred.shape[-1] != 2:
        raise ValueError(f"pred: expected a tensor of shape (..., K, 2), got shape {tuple(pred.shape)}")
    if target.shape != pred.shape:
        raise ValueError(
            f"target: expected the same shape as pred {tuple(pred.shape)}, got shape {tuple(target.shape)}"
        )
    check_positive("threshold", threshold)
    lead = pred.shape[:-1]  # (..., K)
    if isinstance(normalize, Tensor):
        check_floating("normalize", normalize)
        try:
            torch.broadcast_shapes(normalize.shape, lead)
        except RuntimeError:
            raise ValueError(
                f"normalize: expected a number or a tensor broadcastable to {tuple(lead)} (pred.shape[:-1]), "
                f"got shape {tuple(normalize.shape)}"
            ) from None
        if torch.broadcast_shapes(normalize.shape, lead) != lead:
            raise ValueError(
                f"normalize: broadcasting shape {tuple(normalize.shape)} to pred.shape[:-1] = {tuple(lead)} "
                f"would change the number of keypoints; give one size per image, e.g. shape (N, 1)"
            )
        if not bool((normalize > 0).all()):
            raise ValueError("normalize: expected positive reference lengths, got a value <= 0")
    else:
        check_positive("normalize", normalize)
    vis = _visible_mask(visible, lead, pred)  # (..., K)
    for name, value in (("pred", pred), ("target", target)):
        if bool((vis & ~torch.isfinite(value).all(dim=-1)).any()):
            raise ValueError(f"{name}: expected finite coordinates for every visible keypoint, got NaN/inf")
    err = torch.linalg.vector_norm(pred - target, dim=-1) / normalize  # (..., K)
    correct = (err <= threshold) & vis
    return correct.sum().to(pred.dtype) / vis.sum().to(pred.dtype)


# ----------------------------------------------------------------------------- helpers


def _check_sigma(sigma: object) -> None:
    check_positive("sigma", sigma)  # finite too: NaN and inf are refused


def _point_pair(point: object) -> tuple[float, float]:
    if isinstance(point, Tensor):
        if point.shape != (2,):
            raise ValueError(f"point: expected (x, y) as a Tensor of shape (2,), got shape {tuple(point.shape)}")
        values = point.tolist()
    elif isinstance(point, (tuple, list)) and len(point) == 2:
        values = list(point)
    else:
        raise TypeError(f"point: expected (x, y) as a pair of numbers or a Tensor[2], got {describe(point)}")
    if any(isinstance(v, bool) or not isinstance(v, (int, float)) for v in values):
        raise TypeError(f"point: expected two numbers (x, y), got {describe(point)}")
    if not all(math.isfinite(v) for v in values):
        raise ValueError(f"point: expected finite coordinates, got {point!r}")
    return float(values[0]), float(values[1])


def _visible_mask(visible: Tensor | None, lead: torch.Size, like: Tensor) -> Tensor:
    if visible is None:
        return torch.ones(lead, dtype=torch.bool, device=like.device)
    check_tensor("visible", visible)
    if visible.dtype != torch.bool:
        raise TypeError(f"visible: expected a bool tensor, got dtype {visible.dtype}")
    if visible.shape != lead:
        raise ValueError(
            f"visible: expected shape {tuple(lead)} (one flag per keypoint), got shape {tuple(visible.shape)}"
        )
    return visible.to(like.device)

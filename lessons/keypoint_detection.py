"""Boxes as keypoints: CornerNet's corners, CenterNet's centres, and how to score them.

CornerNet (Law & Deng, "CornerNet: Detecting Objects as Paired Keypoints", 2018, arXiv:1808.01244)
finds a box from its **top-left and bottom-right corners** only: heatmaps give the corner points and
a 1-D **embedding** per corner groups the corners of one object (associative embedding, Newell et al.
2017, arXiv:1611.05424). A corner usually lies *outside* the object, hence **corner pooling**.
Duan et al., "CenterNet: Keypoint Triplets for Object Detection", 2019, arXiv:1904.08189, keeps a
pair only when a **centre keypoint** of its class falls in the box's central region; Zhou et al.,
"Objects as Points", 2019, arXiv:1904.07850 (``xingyizhou/CenterNet``) regresses boxes at centres.

Coordinates: heatmap pixel ``[row=i, col=j]`` is the point ``(x=j, y=i)`` (as in
:mod:`lessons.heatmaps`); a keypoint ``(x, y)`` is drawn at pixel ``(int(x), int(y))``, the fraction
is what the offset head regresses. Boxes are ``(x1, y1, x2, y2)``.

Deviations from the reference code (``princeton-vl/CornerNet``, ``xingyizhou/CenterNet``):

* functions return new tensors (the references draw in place); the decoders take probabilities
  (the references' ``_decode`` applies the sigmoid itself);
* :func:`draw_gaussian` clips the bump at every border, also left of or above the map;
* :func:`gaussian_radius` returns the real radius; the callers' ``max(0, int(r))`` is the caller's.

NaN policy: feature maps, logits, images and the inputs of losses are not scanned for NaN/inf (a
full scan would cost more than the operation), so a NaN there passes through to the result; boxes,
coordinates, sizes, indices and labels are checked and a NaN/inf there raises ``ValueError``.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from lessons._checks import (
    check_choice,
    check_finite,
    check_floating,
    check_int,
    check_int_tensor,
    check_ndim,
    check_positive,
    check_shape,
    check_tensor,
    describe,
)
from lessons.detection_metrics import average_precision  # re-exported: notebook 09 imports it from here
from lessons.heatmaps import render_heatmaps

__all__ = [
    "RADIUS_VARIANTS",
    "POOL_DIRECTIONS",
    "PULL_WEIGHT",
    "PUSH_WEIGHT",
    "Detections",
    "EmbeddingLoss",
    "gaussian_radius",
    "worst_case_iou",
    "draw_gaussian",
    "corner_pool",
    "CornerPooling",
    "focal_loss",
    "embedding_loss",
    "heatmap_nms",
    "decode_corners",
    "decode_centers",
    "central_region",
    "triplet_check",
    "average_precision",
]

#: The radius formulas of :func:`gaussian_radius`.
RADIUS_VARIANTS = ("cornernet", "centernet", "exact")
#: The directions of :func:`corner_pool`.
POOL_DIRECTIONS = ("top", "left", "bottom", "right")
#: CornerNet's weights of the pull and push terms (``AELoss(pull_weight=1e-1, push_weight=1e-1)``).
PULL_WEIGHT = PUSH_WEIGHT = 0.1

_ANGLES = 96  # directions per corner on which worst_case_iou looks for the worst displacement


class Detections(NamedTuple):
    """Decoded boxes ``(B, D, 4)`` in heatmap pixels, scores ``(B, D)`` (``-1`` = rejected), labels ``(B, D)``."""

    boxes: Tensor
    scores: Tensor
    labels: Tensor


# ----------------------------------------------------------------------------- targets


def gaussian_radius(height, width, min_overlap: float = 0.7, *, variant: str = "cornernet") -> Tensor:
    """The radius around each ground-truth corner within which a corner still makes a good box.

    CornerNet: *we determine the radius by the size of an object by ensuring that a pair of points
    within the radius would generate a bounding box with at least t IoU with the ground-truth
    annotation* (t = ``min_overlap`` = 0.7). With both corners off by ``r`` along x and y there are
    three cases, each a quadratic ``a r^2 - b r + c = 0`` in CornerNet's notation (o = overlap):

    1. one corner in, one out (the box moves): ``a=1, b=h+w, c=wh(1-o)/(1+o)``, root ``(b - sqrt(b^2-4ac)) / 2a``;
    2. both corners inside (the box shrinks): ``a=4, b=2(h+w), c=(1-o)wh``, root ``(b - sqrt(b^2-4ac)) / 2a``;
    3. both corners outside (the box grows): ``a=4o, b=-2o(h+w), c=(o-1)wh``, root ``(b + sqrt(b^2-4ac)) / 2a``;
    the radius is the smallest root.

    * ``"cornernet"``: the formulas above (``princeton-vl/CornerNet``); each root is exactly the
      shift that brings its case to IoU = o.
    * ``"centernet"``: ``xingyizhou/CenterNet``'s copy, ``r_i = (b_i + sqrt(b_i^2 - 4 a_i c_i)) / 2``:
      ``+`` in every case and ``/2`` instead of ``/2a``. The widely copied variant; its radii are
      several times larger.
    * ``"exact"``: the largest ``r`` such that *any* two corners, each within Euclidean distance
      ``r`` of its true corner (the disk a Gaussian bump covers), give IoU >= o in all three cases
      and their mixtures: :func:`worst_case_iou` ``= o``, solved by bisection. CornerNet's
      radius protects the square ``|dx|, |dy| <= r`` around the corner, which holds this disk, so
      ``"exact"`` is up to ``sqrt(2)`` times larger.

    Note:
        Both references use ``max(0, int(r))`` of ``(ceil(h), ceil(w))``: for a 10 x 10 box
        CornerNet's 0.82 becomes 0 (one positive pixel), CenterNet's 2.73 becomes 2.

    Args:
        height, width (float or Tensor): box sizes in heatmap pixels, > 0, broadcastable.
        min_overlap (float): the IoU o to guarantee, in (0, 1). Default: ``0.7``.
        variant (str): one of :data:`RADIUS_VARIANTS`. Default: ``"cornernet"``.

    Returns:
        Tensor (float64): the real-valued radius, broadcast shape of ``height`` and ``width``.

    Example:
        >>> [int(gaussian_radius(10, 10, variant=v)) for v in RADIUS_VARIANTS]
        [0, 2, 1]
    """
    h, w = _sizes(height, width)
    if isinstance(min_overlap, bool) or not isinstance(min_overlap, (int, float)) or not 0 < min_overlap < 1:
        raise ValueError(f"min_overlap: expected a number in (0, 1), got {describe(min_overlap)}")
    o = float(min_overlap)
    check_choice("variant", variant, RADIUS_VARIANTS)
    if variant == "exact":
        return _exact_radius(h, w, o)
    a1, b1, c1 = 1.0, h + w, w * h * (1 - o) / (1 + o)
    a2, b2, c2 = 4.0, 2 * (h + w), (1 - o) * w * h
    a3, b3, c3 = 4 * o, -2 * o * (h + w), (o - 1) * w * h
    sq1 = torch.sqrt(b1**2 - 4 * a1 * c1)
    sq2 = torch.sqrt(b2**2 - 4 * a2 * c2)
    sq3 = torch.sqrt(b3**2 - 4 * a3 * c3)
    if variant == "cornernet":
        r1, r2, r3 = (b1 - sq1) / (2 * a1), (b2 - sq2) / (2 * a2), (b3 + sq3) / (2 * a3)
    else:  # centernet: divides by 2, not 2a, and takes + everywhere
        r1, r2, r3 = (b1 + sq1) / 2, (b2 + sq2) / 2, (b3 + sq3) / 2
    return torch.minimum(torch.minimum(r1, r2), r3)


def worst_case_iou(height, width, radius) -> Tensor:
    """The smallest IoU with the true box over all corner pairs within ``radius`` of the true corners.

    Each corner moves by ``radius`` (the worst case is on the circle) in any of 96 directions, which
    include the three cases of :func:`gaussian_radius` (multiples of 45 degrees) and all mixtures;
    a box turned inside out counts as IoU 0.

    Args:
        height, width, radius (float or Tensor): box sizes > 0 and displacements >= 0, broadcastable.

    Returns:
        Tensor (float64): the worst IoU, broadcast shape of the three.

    Example:
        >>> round(worst_case_iou(10.0, 10.0, gaussian_radius(10, 10)).item(), 3)
        0.782
    """
    h, w = _sizes(height, width)
    r = _as_real("radius", radius)
    if bool((r < 0).any()):
        raise ValueError(f"radius: expected values >= 0, got {r.min().item()!r}")
    return _worst_case_iou(*torch.broadcast_tensors(h, w, r))


def _worst_case_iou(h: Tensor, w: Tensor, r: Tensor) -> Tensor:
    t = torch.arange(_ANGLES, dtype=torch.float64) * (2 * math.pi / _ANGLES)
    cos, sin = torch.cos(t), torch.sin(t)
    h, w, r = h[..., None, None], w[..., None, None], r[..., None, None]  # (..., 1, 1)
    x1, y1 = r * cos[:, None], r * sin[:, None]  # (..., A, 1) top-left displacement
    x2, y2 = w + r * cos[None, :], h + r * sin[None, :]  # (..., 1, A) bottom-right
    pw, ph = (x2 - x1).clamp(min=0), (y2 - y1).clamp(min=0)  # (..., A, A)
    iw = (torch.minimum(x2, w) - torch.maximum(x1, torch.zeros_like(x1))).clamp(min=0)
    ih = (torch.minimum(y2, h) - torch.maximum(y1, torch.zeros_like(y1))).clamp(min=0)
    inter = iw * ih
    iou = inter / (w * h + pw * ph - inter)
    return iou.flatten(-2).amin(dim=-1)  # (...,)


def _exact_radius(h: Tensor, w: Tensor, o: float) -> Tensor:
    h, w = torch.broadcast_tensors(h, w)
    low, high = torch.zeros_like(h), torch.minimum(h, w) / 2  # at r = min(h, w)/2 the box can vanish
    for _ in range(40):  # bisection: worst_case_iou decreases with r
        mid = (low + high) / 2
        ok = _worst_case_iou(h, w, mid) >= o
        low, high = torch.where(ok, mid, low), torch.where(ok, high, mid)
    return low


def draw_gaussian(heatmap: Tensor, center, radius: int) -> Tensor:
    """Draw CornerNet's / CenterNet's training bump on ``heatmap`` (``draw_umich_gaussian``).

    .. math::
        g(x, y) = \\exp\\!\\left(-\\frac{(x - c_x)^2 + (y - c_y)^2}{2\\sigma^2}\\right), \\qquad
        \\sigma = \\frac{d}{6},\\; d = 2r + 1

    on the ``(2r+1) x (2r+1)`` window around the integer centre ``(int(x), int(y))``, clipped to the
    map, combined by an **elementwise max** (overlapping bumps never exceed 1). The peak, exactly 1,
    is the only positive of :func:`focal_loss`. The bump is :func:`lessons.heatmaps.render_heatmaps`.

    Note:
        ``gaussian2D`` also zeroes values below ``eps * max``; with ``sigma = (2r+1)/6`` every value
        in the window is ``>= exp(-9)``, so that rule never fires.

    Args:
        heatmap (Tensor[H, W]): the map to draw on (floating point); it is not modified.
        center (tuple[float, float] or Tensor[2]): ``(x, y)`` in heatmap pixels, finite.
        radius (int): >= 0, e.g. ``max(0, int(gaussian_radius(h, w)))``.

    Returns:
        Tensor[H, W]: ``max(heatmap, bump)`` in ``heatmap``'s dtype.

    Example:
        >>> m = draw_gaussian(torch.zeros(3, 5), (2.7, 1.2), 1)
        >>> [round(v, 4) for v in m[1].tolist()]
        [0.0, 0.1353, 1.0, 0.1353, 0.0]
    """
    check_floating("heatmap", heatmap)
    check_ndim("heatmap", heatmap, 2, "(H, W)")
    cx, cy = _point(center)
    check_int("radius", radius, minimum=0)
    height, width = heatmap.shape
    if heatmap.numel() == 0:
        return heatmap.clone()  # nothing to draw on
    ix, iy = int(cx), int(cy)  # the reference casts the centre to int (truncation)
    sigma = (2 * radius + 1) / 6
    bump = render_heatmaps(torch.tensor([[ix, iy]], dtype=torch.float64), (height, width), sigma, subpixel=True)[0]
    xs = torch.arange(width)
    ys = torch.arange(height)
    window = ((ys[:, None] - iy).abs() <= radius) & ((xs[None, :] - ix).abs() <= radius)  # (H, W)
    return torch.maximum(heatmap, (bump * window).to(heatmap.dtype))


# ----------------------------------------------------------------------------- corner pooling


def corner_pool(x: Tensor, direction: str) -> Tensor:
    """Corner pooling: a running maximum over the feature map towards one side.

    * ``"top"``: ``out[i, j] = max_{k >= i} x[k, j]`` — the max of everything **below** (CornerNet's
      TopPool; a top-left corner looks down its column for the object's left edge);
    * ``"left"``: ``out[i, j] = max_{k >= j} x[i, k]`` — the max **to the right**;
    * ``"bottom"``: ``max_{k <= i}`` (above); ``"right"``: ``max_{k <= j}`` (to the left).

    Vectorized: a cumulative max (of the flipped map for top / left), the scan of the reference's
    C++ kernels. Gradients flow to the maximum; NaN passes through.

    Args:
        x (Tensor[..., H, W]): features, e.g. ``(B, C, H, W)``. direction (str): see above.

    Returns:
        Tensor[..., H, W]: the pooled map.

    Example:
        >>> corner_pool(torch.tensor([[1.], [3.], [2.]]), "top").flatten().tolist()
        [3.0, 3.0, 2.0]
    """
    check_floating("x", x)
    if x.ndim < 2:
        raise ValueError(f"x: expected a tensor of shape (..., H, W), got shape {tuple(x.shape)}")
    check_choice("direction", direction, POOL_DIRECTIONS)
    return _corner_pool(x, direction)


def _corner_pool(x: Tensor, direction: str) -> Tensor:
    dim = -2 if direction in ("top", "bottom") else -1
    if direction in ("bottom", "right"):
        return torch.cummax(x, dim=dim).values
    return torch.cummax(x.flip(dim), dim=dim).values.flip(dim)


class CornerPooling(nn.Module):
    """CornerNet's corner-pooling module (``models/CornerNet.py : pool``).

    ``out = conv3x3(relu(bn(conv3x3(pool_a(f_a(x)) + pool_b(f_b(x)))) + bn(conv1x1(x))))`` where
    ``f_a, f_b`` are 3x3 conv-BN-ReLU branches to ``hidden`` channels and the pools are
    ``("top", "left")`` for the top-left corner, ``("bottom", "right")`` for the bottom-right one.

    Args:
        channels (int): input and output channels.
        hidden (int): channels of the two pooled branches. Default: ``128`` (CornerNet).
        corner (str): ``"top_left"`` or ``"bottom_right"``. Default: ``"top_left"``.
    """

    def __init__(self, channels: int, hidden: int = 128, *, corner: str = "top_left") -> None:
        super().__init__()
        check_int("channels", channels, minimum=1), check_int("hidden", hidden, minimum=1)
        check_choice("corner", corner, ("top_left", "bottom_right"))
        self.directions = ("top", "left") if corner == "top_left" else ("bottom", "right")

        def conv_bn(cin: int, cout: int, k: int, relu: bool) -> nn.Sequential:
            layers = [nn.Conv2d(cin, cout, k, padding=k // 2, bias=False), nn.BatchNorm2d(cout)]
            return nn.Sequential(*layers, nn.ReLU()) if relu else nn.Sequential(*layers)

        self.branch_a = conv_bn(channels, hidden, 3, True)
        self.branch_b = conv_bn(channels, hidden, 3, True)
        self.merge = conv_bn(hidden, channels, 3, False)
        self.skip = conv_bn(channels, channels, 1, False)
        self.out = conv_bn(channels, channels, 3, True)

    def forward(self, x: Tensor) -> Tensor:
        """``x (Tensor[B, C, H, W]) -> Tensor[B, C, H, W]``."""
        check_floating("x", x)
        check_ndim("x", x, 4, "(B, C, H, W)")
        if x.shape[1] != self.skip[0].in_channels:
            raise ValueError(f"x: expected {self.skip[0].in_channels} channels, got shape {tuple(x.shape)}")
        a = _corner_pool(self.branch_a(x), self.directions[0])  # (B, hidden, H, W)
        b = _corner_pool(self.branch_b(x), self.directions[1])
        return self.out(F.relu(self.merge(a + b) + self.skip(x)))  # (B, C, H, W)


# ----------------------------------------------------------------------------- losses


def focal_loss(pred_logits: Tensor, gt_heatmap: Tensor) -> Tensor:
    """CornerNet's variant of the focal loss on keypoint heatmaps (``_neg_loss``), eq. (1) of the paper.

    .. math::
        L_{det} = \\frac{-1}{N} \\sum_{c,i,j} \\begin{cases}
            (1 - p_{cij})^{\\alpha} \\log p_{cij} & y_{cij} = 1 \\\\
            (1 - y_{cij})^{\\beta} p_{cij}^{\\alpha} \\log(1 - p_{cij}) & \\text{otherwise}
        \\end{cases}

    with ``alpha = 2``, ``beta = 4``, ``p = clamp(sigmoid(x), 1e-4, 1 - 1e-4)``, ``N`` the number of
    positives (target exactly 1; none: the negative sum alone). ``(1 - y)^4`` lowers the penalty
    near a true corner, where :func:`draw_gaussian`'s bump is close to 1.

    Args:
        pred_logits (Tensor[...]): raw outputs (before the sigmoid); NaN passes through.
        gt_heatmap (Tensor[...]): targets in [0, 1], same shape.

    Returns:
        Tensor[] (0-d): the loss, summed over the batch, divided by the batch's positives.

    Example:
        >>> p = torch.tensor([[0.8, 0.3], [0.1, 0.6]])
        >>> round(focal_loss(torch.logit(p), torch.tensor([[1.0, 0.5], [0.0, 0.0]])).item(), 6)
        0.34185
    """
    check_floating("pred_logits", pred_logits)
    check_floating("gt_heatmap", gt_heatmap)
    check_shape("gt_heatmap", gt_heatmap, tuple(pred_logits.shape))
    p = torch.sigmoid(pred_logits).clamp(1e-4, 1 - 1e-4)
    pos = gt_heatmap.eq(1)
    pos_loss = (torch.log(p) * (1 - p) ** 2)[pos].sum()
    neg_loss = (torch.log(1 - p) * p**2 * (1 - gt_heatmap) ** 4)[~pos].sum()
    num_pos = pos.sum()
    if num_pos == 0:
        return -neg_loss
    return -(pos_loss + neg_loss) / num_pos


class EmbeddingLoss(NamedTuple):
    """The two unweighted terms of :func:`embedding_loss`."""

    pull: Tensor
    push: Tensor


def embedding_loss(tl: Tensor, br: Tensor, *, mask: Tensor | None = None) -> EmbeddingLoss:
    """Associative-embedding loss of CornerNet (``_ae_loss``), eqs. (4) and (5) of the paper.

    With ``e_k = (e_tl_k + e_br_k) / 2`` the mean embedding of object ``k`` of ``N`` (per image):

    .. math::
        L_{pull} = \\frac{1}{N} \\sum_k (e_{t_k} - e_k)^2 + (e_{b_k} - e_k)^2, \\qquad
        L_{push} = \\frac{1}{N(N-1)} \\sum_k \\sum_{j \\ne k} \\max(0, \\Delta - |e_k - e_j|), \\;\\Delta = 1

    as the reference computes it: denominators ``+ 1e-4``; the push sums all ``(j, k)`` with
    ``j = k`` and subtracts ``1 / (N + 1e-4)`` per pair, which cancels the diagonal up to the eps
    terms. Summed over images; weighted by :data:`PULL_WEIGHT`, :data:`PUSH_WEIGHT` in CornerNet.

    Args:
        tl, br (Tensor[N] or Tensor[B, N]): the top-left / bottom-right embedding of each object.
        mask (Tensor[B, N] or None): bool, which slots hold an object. Default: ``None`` (all).

    Returns:
        EmbeddingLoss: ``(pull, push)``, 0-d tensors.

    Example:
        >>> pull, push = embedding_loss(torch.tensor([0.0, 1.0, 0.2]), torch.tensor([0.2, 0.6, 0.3]))
        >>> round(pull.item(), 4), round(push.item(), 5)
        (0.035, 0.53334)
    """
    check_floating("tl", tl)
    check_ndim("tl", tl, (1, 2), "(N) or (B, N)")
    check_floating("br", br)
    check_shape("br", br, tuple(tl.shape))
    mask = torch.ones(tl.shape, dtype=torch.bool) if mask is None else mask
    check_tensor("mask", mask)
    if mask.dtype != torch.bool:
        raise TypeError(f"mask: expected a bool tensor, got dtype {mask.dtype}")
    check_shape("mask", mask, tuple(tl.shape))
    if tl.ndim == 1:
        tl, br, mask = tl[None], br[None], mask[None]  # (1, N)
    num = mask.sum(dim=1, keepdim=True).to(tl.dtype)  # (B, 1)
    mean = (tl + br) / 2  # (B, N)
    pull = (((tl - mean) ** 2 + (br - mean) ** 2) / (num + 1e-4))[mask].sum()
    pair = mask[:, :, None] & mask[:, None, :]  # (B, N, N)
    dist = F.relu(1 - (mean[:, :, None] - mean[:, None, :]).abs())  # (B, N, N)
    dist = (dist - 1 / (num[:, :, None] + 1e-4)) / ((num - 1) * num + 1e-4)[:, :, None]
    return EmbeddingLoss(pull, dist[pair].sum())


# ----------------------------------------------------------------------------- decoding


def heatmap_nms(heat: Tensor, kernel: int = 3) -> Tensor:
    """``heat (Tensor[B, C, H, W])`` where it equals its ``kernel x kernel`` max-pool, else 0 (``_nms``).

    The references decode with ``kernel = 3`` (an odd int); equal neighbours all survive.
    """
    check_floating("heat", heat)
    check_ndim("heat", heat, 4, "(B, C, H, W)")
    return _nms(heat, _kernel(kernel))


def _kernel(kernel: object) -> int:
    if check_int("kernel", kernel, minimum=1) % 2 == 0:
        raise ValueError(f"kernel: expected an odd int, got {kernel!r}")
    return kernel  # type: ignore[return-value]


def _nms(heat: Tensor, kernel: int) -> Tensor:
    hmax = F.max_pool2d(heat, kernel, stride=1, padding=(kernel - 1) // 2)
    return heat * (hmax == heat)


def _topk(heat: Tensor, k: int) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """Top ``k`` over classes and pixels: scores, classes, ys, xs, each ``(B, k)``."""
    b, c, h, w = heat.shape
    scores, idx = heat.reshape(b, c * h * w).topk(min(k, c * h * w), dim=1)  # (B, K)
    return scores, idx // (h * w), (idx % (h * w)) // w, idx % w


def _gather(t: Tensor, ys: Tensor, xs: Tensor) -> Tensor:
    """``t[b, :, ys[b, k], xs[b, k]]`` -> ``(B, K, C)``."""
    b, c, h, w = t.shape
    flat = (ys * w + xs)[:, None, :].expand(b, c, ys.shape[1])  # (B, C, K)
    return t.reshape(b, c, h * w).gather(2, flat).transpose(1, 2)  # (B, K, C)


def decode_corners(
    tl_heat: Tensor,
    br_heat: Tensor,
    tl_emb: Tensor,
    br_emb: Tensor,
    tl_off: Tensor | None = None,
    br_off: Tensor | None = None,
    *,
    k: int = 100,
    kernel: int = 3,
    ae_threshold: float = 0.5,
    num_dets: int = 1000,
) -> Detections:
    """CornerNet's decoding (``kp_utils.py : _decode``): corners -> pairs -> boxes.

    :func:`heatmap_nms`, the top ``k`` corners of each type (over classes), every top-left with
    every bottom-right as a candidate scored ``(s_tl + s_br) / 2``, rejected (score ``-1``) when the
    classes differ, when ``|e_tl - e_br| > ae_threshold`` (equal is kept, as in the reference) or
    when ``br_x < tl_x`` or ``br_y < tl_y``; the best ``num_dets`` are returned.

    Args:
        tl_heat, br_heat (Tensor[B, C, H, W]): top-left / bottom-right corner **probabilities**.
        tl_emb, br_emb (Tensor[B, 1, H, W]): their embeddings.
        tl_off, br_off (Tensor[B, 2, H, W] or None): sub-pixel ``(dx, dy)`` of the corners. Default: ``None``.
        k (int): corners kept per type. Default: ``100``. kernel (int): NMS window. Default: ``3``.
        ae_threshold (float): largest embedding distance of a pair, >= 0. Default: ``0.5``.
        num_dets (int): boxes returned per image. Default: ``1000``.

    Returns:
        Detections: ``D = min(num_dets, k^2)`` candidates per image.
    """
    check_floating("tl_heat", tl_heat)
    check_ndim("tl_heat", tl_heat, 4, "(B, C, H, W)")
    b, _, h, w = tl_heat.shape
    named = {"br_heat": br_heat, "tl_emb": tl_emb, "br_emb": br_emb, "tl_off": tl_off, "br_off": br_off}
    for name, t in named.items():
        if t is not None:
            check_floating(name, t)
            check_shape(name, t, (b, tl_heat.shape[1] if name == "br_heat" else 1 if "emb" in name else 2, h, w))
    for name, v in (("k", k), ("num_dets", num_dets)):
        check_int(name, v, minimum=1)
    _kernel(kernel)
    if isinstance(ae_threshold, bool) or not isinstance(ae_threshold, (int, float)) or ae_threshold < 0:
        raise ValueError(f"ae_threshold: expected a number >= 0, got {describe(ae_threshold)}")

    tl_s, tl_c, tl_y, tl_x = _topk(_nms(tl_heat, kernel), k)  # (B, K) each
    br_s, br_c, br_y, br_x = _topk(_nms(br_heat, kernel), k)
    tl_xy = torch.stack([tl_x, tl_y], dim=2).to(tl_heat.dtype)  # (B, K, 2)
    br_xy = torch.stack([br_x, br_y], dim=2).to(tl_heat.dtype)
    if tl_off is not None:
        tl_xy = tl_xy + _gather(tl_off, tl_y, tl_x)
    if br_off is not None:
        br_xy = br_xy + _gather(br_off, br_y, br_x)
    e_tl = _gather(tl_emb, tl_y, tl_x)[..., 0]  # (B, K)
    e_br = _gather(br_emb, br_y, br_x)[..., 0]
    kk = tl_s.shape[1]
    boxes = torch.cat([tl_xy[:, :, None].expand(b, kk, kk, 2), br_xy[:, None].expand(b, kk, kk, 2)], 3)  # (B, K, K, 4)
    scores = (tl_s[:, :, None] + br_s[:, None, :]) / 2  # (B, K, K): row = top-left, column = bottom-right
    reject = (tl_c[:, :, None] != br_c[:, None, :]) | ((e_tl[:, :, None] - e_br[:, None, :]).abs() > ae_threshold)
    reject |= (boxes[..., 2] < boxes[..., 0]) | (boxes[..., 3] < boxes[..., 1])
    scores = scores.masked_fill(reject, -1)
    scores, idx = scores.reshape(b, kk * kk).topk(min(num_dets, kk * kk), dim=1)  # (B, D)
    boxes = boxes.reshape(b, kk * kk, 4).gather(1, idx[..., None].expand(*idx.shape, 4))  # (B, D, 4)
    return Detections(boxes, scores, tl_c.gather(1, idx // kk))


def decode_centers(
    heat: Tensor, wh: Tensor, offset: Tensor | None = None, *, k: int = 100, kernel: int = 3
) -> Detections:
    """Objects as Points (``ctdet_decode``): centre peaks + size + offset -> boxes.

    :func:`heatmap_nms`, the top ``k`` peaks over classes, and for a peak at ``(x, y)``
    the box ``(x + o_x - w/2, y + o_y - h/2, x + o_x + w/2, y + o_y + h/2)``.

    Args:
        heat (Tensor[B, C, H, W]): centre probabilities; wh (Tensor[B, 2, H, W]): ``(w, h)`` per
            pixel, finite.
        offset (Tensor[B, 2, H, W] or None): ``(dx, dy)``, finite. Default: ``None`` (zero).
        k (int): peaks kept. Default: ``100``. kernel (int): NMS window. Default: ``3``.

    Returns:
        Detections: ``boxes (B, k, 4)``, ``scores (B, k)``, ``labels (B, k)``.
    """
    check_floating("heat", heat)
    check_ndim("heat", heat, 4, "(B, C, H, W)")
    b, _, h, w = heat.shape
    check_floating("wh", wh)
    check_shape("wh", wh, (b, 2, h, w), "(B, 2, H, W)")
    check_finite("wh", wh)
    if offset is not None:
        check_floating("offset", offset)
        check_shape("offset", offset, (b, 2, h, w), "(B, 2, H, W)")
        check_finite("offset", offset)
    check_int("k", k, minimum=1)
    scores, cls, ys, xs = _topk(_nms(heat, _kernel(kernel)), k)  # (B, K)
    ctr = torch.stack([xs, ys], dim=2).to(heat.dtype)  # (B, K, 2)
    if offset is not None:
        ctr = ctr + _gather(offset, ys, xs)
    half = _gather(wh, ys, xs) / 2  # (B, K, 2)
    return Detections(torch.cat([ctr - half, ctr + half], dim=2), scores, cls)


def central_region(boxes: Tensor, n: int | Tensor = 3) -> Tensor:
    """The central region of each box (CenterNet triplets, eq. (1) of Duan et al.).

    ``ctl_x = ((n+1) tl_x + (n-1) br_x) / 2n``, ``cbr_x = ((n-1) tl_x + (n+1) br_x) / 2n``, likewise y:
    the middle ``1/n`` of the box on each axis.

    Args:
        boxes (Tensor[..., 4]): ``(x1, y1, x2, y2)``, finite. n (int or integer Tensor[...]): >= 2;
            3 for small boxes, 5 for large ones. Default: ``3``.

    Returns:
        Tensor[..., 4]: ``(ctl_x, ctl_y, cbr_x, cbr_y)``.
    """
    check_floating("boxes", boxes)
    if boxes.ndim < 1 or boxes.shape[-1] != 4:
        raise ValueError(f"boxes: expected a tensor of shape (..., 4), got shape {tuple(boxes.shape)}")
    check_finite("boxes", boxes)
    if isinstance(n, Tensor):
        check_int_tensor("n", n)
        if n.numel() and bool((n < 2).any()):
            raise ValueError(f"n: expected values >= 2, got {n.min().item()}")
    else:
        check_int("n", n, minimum=2)
    return _central_region(boxes, n)


def _central_region(boxes: Tensor, n: int | Tensor) -> Tensor:
    n = torch.as_tensor(n, dtype=boxes.dtype)[..., None]
    tl, br = boxes[..., :2], boxes[..., 2:]
    return torch.cat([((n + 1) * tl + (n - 1) * br) / (2 * n), ((n - 1) * tl + (n + 1) * br) / (2 * n)], dim=-1)


def triplet_check(
    dets: Detections,
    centers: Tensor,
    center_scores: Tensor,
    center_labels: Tensor,
    *,
    large_area: float = 22500.0,
) -> Detections:
    """Keep a corner pair only if a centre keypoint of its class lies in its central region.

    :func:`central_region` with ``n = 3`` (area ``< large_area``) or 5; a same-class centre strictly
    inside confirms the box, whose score becomes the mean of its three keypoints'
    ``(2 s_pair + s_center) / 3`` (best confirming centre); every other box gets score -1.

    Args:
        dets (Detections): from :func:`decode_corners`; boxes ``(B, D, 4)``.
        centers (Tensor[B, M, 2]): ``(x, y)`` of the top centre keypoints.
        center_scores, center_labels (Tensor[B, M]): their scores (<= 0 confirms nothing), classes.
        large_area (float): the box area from which ``n = 5`` is used. Default: ``22500.0``
            (150 x 150 pixels; every box of the course's small images uses ``n = 3``).

    Returns:
        Detections: the same boxes, with new scores, re-sorted best first.
    """
    if not isinstance(dets, Detections):
        raise TypeError(f"dets: expected Detections, got {type(dets).__name__}")
    b, d, _ = dets.boxes.shape
    check_floating("centers", centers)
    check_ndim("centers", centers, 3, "(B, M, 2)")
    check_shape("centers", centers, (b, None, 2), "(B, M, 2)")
    check_finite("centers", centers)
    m = centers.shape[1]
    check_floating("center_scores", center_scores)
    check_shape("center_scores", center_scores, (b, m))
    check_finite("center_scores", center_scores)
    check_int_tensor("center_labels", center_labels)
    check_shape("center_labels", center_labels, (b, m))
    check_positive("large_area", large_area)
    boxes = dets.boxes
    area = (boxes[..., 2] - boxes[..., 0]) * (boxes[..., 3] - boxes[..., 1])  # (B, D)
    region = _central_region(boxes, torch.where(area < large_area, 3, 5))  # (B, D, 4)
    cx, cy = centers[:, None, :, 0], centers[:, None, :, 1]  # (B, 1, M)
    inside = (cx > region[..., 0:1]) & (cx < region[..., 2:3]) & (cy > region[..., 1:2]) & (cy < region[..., 3:4])
    match = (
        inside & (center_labels[:, None, :] == dets.labels[..., None]) & (center_scores[:, None, :] > 0)
    )  # (B, D, M)
    best = torch.where(match, center_scores[:, None, :], torch.full_like(match, -1, dtype=center_scores.dtype)).amax(2)
    ok = match.any(dim=2) & (dets.scores > -1)  # (B, D)
    scores = torch.where(ok, (2 * dets.scores + best) / 3, torch.full_like(dets.scores, -1.0))
    scores, order = scores.sort(dim=1, descending=True)
    return Detections(boxes.gather(1, order[..., None].expand(b, d, 4)), scores, dets.labels.gather(1, order))


# ----------------------------------------------------------------------------- helpers


def _as_real(name: str, value: object) -> Tensor:
    """A number, a list of numbers or a real tensor -> a finite float64 tensor (bool and complex refused)."""
    if isinstance(value, Tensor):
        if value.dtype == torch.bool or value.is_complex():
            raise TypeError(f"{name}: expected a number or a real tensor, got dtype {value.dtype}")
    elif isinstance(value, bool) or not isinstance(value, (int, float, list, tuple)):
        raise TypeError(f"{name}: expected a number, a list of numbers or a real tensor, got {describe(value)}")
    try:
        t = torch.as_tensor(value, dtype=torch.float64)
    except (TypeError, ValueError, RuntimeError):
        raise TypeError(
            f"{name}: expected a number, a list of numbers or a real tensor, got {describe(value)}"
        ) from None
    check_finite(name, t)
    return t


def _sizes(height, width) -> tuple[Tensor, Tensor]:
    h, w = _as_real("height", height), _as_real("width", width)
    try:
        torch.broadcast_shapes(h.shape, w.shape)
    except RuntimeError:
        raise ValueError(
            f"width: expected a shape broadcastable with height's {tuple(h.shape)}, got {tuple(w.shape)}"
        ) from None
    for name, t in (("height", h), ("width", w)):
        if bool((t <= 0).any()):
            raise ValueError(f"{name}: expected sizes > 0, got {t.min().item()!r}")
    return h, w


def _point(center: object) -> tuple[float, float]:
    values = center.tolist() if isinstance(center, Tensor) and center.shape == (2,) else center
    if not (isinstance(values, (tuple, list)) and len(values) == 2) or any(
        isinstance(v, bool) or not isinstance(v, (int, float)) for v in values
    ):
        raise TypeError(f"center: expected (x, y) as two numbers or a Tensor[2], got {describe(center)}")
    if not all(math.isfinite(v) for v in values):
        raise ValueError(f"center: expected finite coordinates, got {center!r}")
    return float(values[0]), float(values[1])

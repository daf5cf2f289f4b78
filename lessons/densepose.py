"""DensePose: the UV map of the body surface, predicted per RoI by a Mask R-CNN-style head.

Güler, Neverova, Kokkinos, "DensePose: Dense Human Pose Estimation In The Wild", 2018,
arXiv:1802.00434. Reference code: ``facebookresearch/detectron2``, ``projects/DensePose``
(``densepose/modeling/predictors/chart.py``, ``densepose/modeling/losses/chart.py``).

**The IUV representation.** The body surface is cut into ``P`` patches (24 in DensePose-COCO) and each
patch is flattened onto a fixed chart, the **UV map**: a point of the chart corresponds one-to-one
to a point of the 3D body mesh, and the correspondence survives any motion of the mesh. For every
pixel of a person DensePose predicts ``I`` (which patch: 0 background, ``1..P`` the parts) and
``(U, V) in [0, 1]^2``, where on that patch's chart the pixel lies.

**The head.** DensePose R-CNN is Mask R-CNN whose mask branch is replaced by UV prediction: RoIAlign
features go through a stack of 3x3 convolutions and a predictor that upsamples (a transposed
convolution of stride 2, then bilinear x2) to three sets of maps: fine-part logits (``P + 1``
channels) and ``U``, ``V`` regressions with ``P + 1`` channels **each** — one U and one V per part,
like Mask R-CNN's one mask per class. :class:`DensePoseHead` is that head, smaller.

**The loss** (:func:`densepose_loss`). Annotations are sparse points inside the box with their
``(I, U, V)``. The head's maps are sampled **bilinearly at the points**; then

.. math::
    L = w_I\\, \\mathrm{CE}(s(p), I^*) + w_{UV} \\sum_{p: I^*_p > 0}
        \\left[\\mathrm{smooth}_{L1}\\big(u_{I^*_p}(p) - U^*_p\\big) + \\mathrm{smooth}_{L1}\\big(v_{I^*_p}(p) - V^*_p\\big)\\right]

with the reference weights ``w_I = 1`` (``PART_WEIGHTS``) and ``w_UV = 0.01``
(``POINT_REGRESSION_WEIGHTS``): cross-entropy averaged over the points, smooth-L1 **summed** and taken
**only on the ground-truth part's channel** (:func:`uv_point_loss`) — the other ``P`` U and V
channels at that point receive no gradient, as the other classes' masks in Mask R-CNN.

**Inference** (:func:`densepose_inference`): ``I = argmax`` of the part logits; ``U, V`` are read
from channel ``I`` and clamped to ``[0, 1]``. **Texture transfer** (:func:`apply_texture`): a
predicted IUV image indexes a texture atlas (one image per part, :func:`checkerboard_texture`), so
any texture can be "dressed" onto the body.

Deviations from the reference:

* no coarse segmentation head (the reference adds a 2-class body mask trained with weight 5 and masks
  ``I`` with it); instead the annotated points include background points (``I = 0``), so the fine
  part logits double as the body mask;
* points are given in box-relative coordinates ``[0, 1]`` (DensePose-COCO stores them relative to the
  box scaled to 256 x 256), and sampled with ``align_corners=False``: ``(0, 0)`` is the box's
  top-left corner, ``(1, 1)`` its bottom-right one;
* the head is small (2 convolutions of 32 channels instead of 8 of 512; 14 x 14 RoIs upsampled to
  28 x 28 rather than 28 x 28 to 112 x 112), and there is no confidence estimation.

NaN policy: feature maps, logits, images and the inputs of losses are not scanned for NaN/inf (a
full scan would cost more than the operation), so a NaN there passes through to the result; boxes,
coordinates, sizes, indices and labels are checked and a NaN/inf there raises ``ValueError``.
"""

from __future__ import annotations

from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from lessons._checks import (
    check_finite,
    check_floating,
    check_int,
    check_int_pair,
    check_non_negative,
    check_tensor,
    describe,
)

__all__ = [
    "PART_WEIGHT",
    "POINT_REGRESSION_WEIGHT",
    "DensePoseOutput",
    "DensePoseLoss",
    "DensePoseHead",
    "sample_at_points",
    "uv_point_loss",
    "densepose_loss",
    "densepose_inference",
    "checkerboard_texture",
    "apply_texture",
]

#: Weight of the part cross-entropy (detectron2 DensePose ``PART_WEIGHTS``).
PART_WEIGHT = 1.0
#: Weight of the U and V smooth-L1 sums (``POINT_REGRESSION_WEIGHTS``).
POINT_REGRESSION_WEIGHT = 0.01


class DensePoseOutput(NamedTuple):
    """What :class:`DensePoseHead` predicts for ``K`` RoIs on an ``S x S`` grid.

    Attributes:
        fine_segm (Tensor[K, P+1, S, S]): part logits, channel 0 the background.
        u (Tensor[K, P+1, S, S]): one U map per part (channel 0 unused).
        v (Tensor[K, P+1, S, S]): one V map per part.
    """

    fine_segm: Tensor
    u: Tensor
    v: Tensor


class DensePoseLoss(NamedTuple):
    """The DensePose loss and its weighted terms (0-d tensors): ``total = segm + u + v``."""

    total: Tensor
    segm: Tensor
    u: Tensor
    v: Tensor


# ----------------------------------------------------------------------------- head


class DensePoseHead(nn.Module):
    """RoI features -> part logits and per-part U, V maps, upsampled x2 (x4 with ``up_scale=2``).

    ``num_convs`` 3x3 convolutions with ReLU (the reference's ``DensePoseV1ConvXHead``: 8 x 512),
    then the predictor: one transposed convolution (kernel 4, stride 2, padding 1) per output, and
    optionally bilinear upsampling by ``up_scale`` (the reference's ``UP_SCALE = 2``).

    Args:
        in_channels (int): channels of the RoI features.
        num_parts (int): ``P``, parts without the background. Default: ``10``.
        hidden (int): channels of the convolutions. Default: ``32``.
        num_convs (int): number of 3x3 convolutions, >= 0. Default: ``2``.
        up_scale (int): bilinear upsampling after the transposed convolution, >= 1. Default: ``1``.

    Shape:
        ``(K, C, R, R) -> DensePoseOutput`` of ``(K, P+1, 2R*up_scale, 2R*up_scale)`` each.

    Example:
        >>> out = DensePoseHead(8, num_parts=10)(torch.zeros(3, 8, 14, 14))
        >>> out.fine_segm.shape, out.u.shape, out.v.shape
        (torch.Size([3, 11, 28, 28]), torch.Size([3, 11, 28, 28]), torch.Size([3, 11, 28, 28]))
    """

    def __init__(
        self, in_channels: int, num_parts: int = 10, hidden: int = 32, num_convs: int = 2, up_scale: int = 1
    ) -> None:
        super().__init__()
        check_int("in_channels", in_channels, minimum=1)
        check_int("num_parts", num_parts, minimum=1)
        check_int("hidden", hidden, minimum=1)
        check_int("num_convs", num_convs, minimum=0)
        check_int("up_scale", up_scale, minimum=1)
        layers: list[nn.Module] = []
        channels = in_channels
        for _ in range(num_convs):
            layers += [nn.Conv2d(channels, hidden, 3, padding=1), nn.ReLU()]
            channels = hidden
        self.body = nn.Sequential(*layers)
        self.num_parts = num_parts
        self.up_scale = up_scale

        def predictor() -> nn.ConvTranspose2d:
            return nn.ConvTranspose2d(channels, num_parts + 1, kernel_size=4, stride=2, padding=1)

        self.fine_segm = predictor()
        self.u = predictor()
        self.v = predictor()

    def forward(self, features: Tensor) -> DensePoseOutput:
        check_floating("features", features)
        if features.ndim != 4:
            raise ValueError(f"features: expected shape (K, C, R, R), got shape {tuple(features.shape)}")
        x = self.body(features)  # (K, hidden, R, R)
        outs = []
        for layer in (self.fine_segm, self.u, self.v):
            y = layer(x)  # (K, P+1, 2R, 2R)
            if self.up_scale > 1:
                y = F.interpolate(y, scale_factor=self.up_scale, mode="bilinear", align_corners=False)
            outs.append(y)
        return DensePoseOutput(*outs)


# ----------------------------------------------------------------------------- loss


def _check_maps(name: str, maps: object) -> None:
    check_floating(name, maps)
    if maps.ndim != 4:  # type: ignore[union-attr]
        raise ValueError(f"{name}: expected shape (K, C, S, S), got shape {tuple(maps.shape)}")  # type: ignore[union-attr]


def _check_points(points: object, num_rois: int) -> None:
    check_floating("points", points)
    if points.ndim != 3 or points.shape[0] != num_rois or points.shape[2] != 2:  # type: ignore[union-attr]
        raise ValueError(
            f"points: expected shape (K={num_rois}, M, 2) with box-relative (x, y), got {describe(points)}"
        )
    check_finite("points", points)  # type: ignore[arg-type]


def sample_at_points(maps: Tensor, points: Tensor) -> Tensor:
    """Bilinear samples of every channel at box-relative points (``align_corners=False``).

    Map cell ``(row i, col j)`` of an ``S x S`` map covers ``[j/S, (j+1)/S] x [i/S, (i+1)/S]`` of the
    box, so its centre is the point ``((j + 0.5)/S, (i + 0.5)/S)``; between centres values are
    interpolated bilinearly, and beyond the outermost centres the edge value is kept.

    Args:
        maps (Tensor[K, C, S, S]): per-RoI maps (NaN passes through).
        points (Tensor[K, M, 2]): ``(x, y)`` relative to each RoI's box, ``[0, 1]``; finite.

    Returns:
        Tensor[K, M, C]: the value of every channel at every point.

    Example:
        >>> maps = torch.arange(4.0).reshape(1, 1, 2, 2)  # centres at 0.25 and 0.75
        >>> sample_at_points(maps, torch.tensor([[[0.25, 0.25], [0.5, 0.5], [0.75, 0.25]]]))[0, :, 0]
        tensor([0.0000, 1.5000, 1.0000])
    """
    _check_maps("maps", maps)
    _check_points(points, maps.shape[0])
    return _sample_at_points(maps, points.to(maps.dtype))


def _sample_at_points(maps: Tensor, points: Tensor) -> Tensor:
    grid = (points * 2 - 1)[:, :, None, :]  # (K, M, 1, 2) in grid_sample's [-1, 1]
    samples = F.grid_sample(maps, grid, mode="bilinear", padding_mode="border", align_corners=False)  # (K, C, M, 1)
    return samples[..., 0].transpose(1, 2)  # (K, M, C)


def _check_point_targets(gt_i: object, gt_u: object, gt_v: object, shape: tuple[int, ...], num_parts: int) -> None:
    check_tensor("gt_i", gt_i)
    if gt_i.dtype != torch.int64 or tuple(gt_i.shape) != shape:  # type: ignore[union-attr]
        raise ValueError(f"gt_i: expected an int64 tensor of shape {shape}, got {describe(gt_i)}")
    if gt_i.numel() and not bool(((gt_i >= -1) & (gt_i <= num_parts)).all()):  # type: ignore[union-attr,operator]
        raise ValueError(
            f"gt_i: expected part indices in -1..{num_parts} (-1: not annotated, 0: background), "
            f"got values {gt_i.unique().tolist()}"  # type: ignore[union-attr]
        )
    for name, value in (("gt_u", gt_u), ("gt_v", gt_v)):
        check_floating(name, value)
        if tuple(value.shape) != shape:  # type: ignore[union-attr]
            raise ValueError(f"{name}: expected shape {shape}, got shape {tuple(value.shape)}")  # type: ignore[union-attr]
        check_finite(name, value)  # type: ignore[arg-type]


def uv_point_loss(
    u_points: Tensor,
    v_points: Tensor,
    gt_i: Tensor,
    gt_u: Tensor,
    gt_v: Tensor,
    *,
    weight: float = POINT_REGRESSION_WEIGHT,
) -> Tensor:
    """The U and V loss at annotated points, on the ground-truth part's channel only.

    .. math::
        L_{UV} = w \\sum_{m: I^*_m > 0} \\mathrm{smooth}_{L1}(u_{m, I^*_m} - U^*_m)
                 + \\mathrm{smooth}_{L1}(v_{m, I^*_m} - V^*_m),
        \\qquad \\mathrm{smooth}_{L1}(d) = \\begin{cases} 0.5\\,d^2 & |d| < 1 \\\\ |d| - 0.5 & |d| \\ge 1 \\end{cases}

    Background (``I* = 0``) and unannotated (``I* = -1``) points contribute nothing; the sum is not
    divided by the number of points (the reference's ``reduction="sum"``).

    Args:
        u_points (Tensor[M, P+1]): predicted U of every part at each point (e.g. from
            :func:`sample_at_points`).
        v_points (Tensor[M, P+1]): predicted V, same shape.
        gt_i (Tensor[M]): int64 ground-truth part, ``-1..P``.
        gt_u (Tensor[M]): ground-truth U, finite (any value where ``I* <= 0``).
        gt_v (Tensor[M]): ground-truth V, finite.
        weight (float): ``w``, >= 0. Default: :data:`POINT_REGRESSION_WEIGHT` ``0.01``.

    Returns:
        Tensor[] (0-d): the weighted sum.

    Example:
        >>> u = torch.tensor([[0.0, 0.2, 0.9], [0.0, 0.5, 0.5]])  # two points, P = 2
        >>> v = torch.tensor([[0.0, 0.4, 0.1], [0.0, 0.5, 0.5]])
        >>> gt_i, gt_u, gt_v = torch.tensor([1, 0]), torch.tensor([0.4, 0.0]), torch.tensor([0.4, 0.0])
        >>> uv_point_loss(u, v, gt_i, gt_u, gt_v, weight=1.0)  # 0.5 * 0.2**2: only channel 1 of point 0
        tensor(0.0200)
    """
    check_floating("u_points", u_points)
    if u_points.ndim != 2:
        raise ValueError(f"u_points: expected shape (M, P+1), got shape {tuple(u_points.shape)}")
    check_floating("v_points", v_points)
    if v_points.shape != u_points.shape:
        raise ValueError(f"v_points: expected shape {tuple(u_points.shape)} like u_points, got {tuple(v_points.shape)}")
    _check_point_targets(gt_i, gt_u, gt_v, (u_points.shape[0],), u_points.shape[1] - 1)
    check_non_negative("weight", weight)
    return _uv_point_loss(u_points, v_points, gt_i, gt_u, gt_v, weight)


def _uv_point_loss(u: Tensor, v: Tensor, gt_i: Tensor, gt_u: Tensor, gt_v: Tensor, weight: float) -> Tensor:
    fg = gt_i > 0  # (M,)
    channel = gt_i.clamp_min(0)[:, None]  # (M, 1)
    u_gt_part = u.gather(1, channel)[:, 0][fg]  # (M_fg,) the U of the ground-truth part only
    v_gt_part = v.gather(1, channel)[:, 0][fg]
    loss_u = F.smooth_l1_loss(u_gt_part, gt_u[fg].to(u.dtype), reduction="sum", beta=1.0)
    loss_v = F.smooth_l1_loss(v_gt_part, gt_v[fg].to(v.dtype), reduction="sum", beta=1.0)
    return weight * (loss_u + loss_v)


def densepose_loss(
    output: DensePoseOutput,
    points: Tensor,
    gt_i: Tensor,
    gt_u: Tensor,
    gt_v: Tensor,
    *,
    part_weight: float = PART_WEIGHT,
    point_regression_weight: float = POINT_REGRESSION_WEIGHT,
) -> DensePoseLoss:
    """The DensePose point loss: part cross-entropy and GT-channel U, V smooth-L1, sampled at the points.

    Every map is sampled at the annotated points (:func:`sample_at_points`); then
    ``segm = part_weight * CE`` averaged over the annotated points (``gt_i >= 0``, background
    points included), and ``u``, ``v`` are the two halves of :func:`uv_point_loss` with
    ``point_regression_weight``. Points of every RoI are pooled.

    Args:
        output (DensePoseOutput): the head's ``fine_segm``, ``u``, ``v``, each ``(K, P+1, S, S)``.
        points (Tensor[K, M, 2]): box-relative ``(x, y)`` of the annotated points, finite.
        gt_i (Tensor[K, M]): int64 part of each point: 0 background, ``1..P``; -1 pads an RoI
            with fewer than ``M`` points.
        gt_u (Tensor[K, M]): ground-truth U, finite.
        gt_v (Tensor[K, M]): ground-truth V, finite.
        part_weight (float): ``w_I``, >= 0. Default: :data:`PART_WEIGHT` ``1.0``.
        point_regression_weight (float): ``w_UV``, >= 0. Default: :data:`POINT_REGRESSION_WEIGHT` ``0.01``.

    Returns:
        DensePoseLoss: ``total``, ``segm``, ``u``, ``v`` (0-d, weighted).

    Example:
        >>> out = DensePoseOutput(torch.zeros(1, 3, 4, 4), torch.zeros(1, 3, 4, 4), torch.zeros(1, 3, 4, 4))
        >>> loss = densepose_loss(out, torch.full((1, 1, 2), 0.5), torch.tensor([[2]]),
        ...                       torch.tensor([[1.0]]), torch.tensor([[0.0]]))
        >>> round(loss.segm.item(), 4), round(loss.u.item(), 6), loss.v.item()  # ln 3, 0.01 * 0.5 * 1**2, 0
        (1.0986, 0.005, 0.0)
    """
    if not isinstance(output, tuple) or len(output) != 3:
        raise TypeError(f"output: expected a DensePoseOutput (fine_segm, u, v), got {describe(output)}")
    fine_segm, u, v = output
    _check_maps("output.fine_segm", fine_segm)
    for name, value in (("output.u", u), ("output.v", v)):
        _check_maps(name, value)
        if value.shape != fine_segm.shape:
            raise ValueError(
                f"{name}: expected shape {tuple(fine_segm.shape)} like fine_segm, got {tuple(value.shape)}"
            )
    _check_points(points, fine_segm.shape[0])
    _check_point_targets(gt_i, gt_u, gt_v, tuple(points.shape[:2]), fine_segm.shape[1] - 1)
    check_non_negative("part_weight", part_weight)
    check_non_negative("point_regression_weight", point_regression_weight)
    p1 = fine_segm.shape[1]
    pts = points.to(fine_segm.dtype)
    s = _sample_at_points(fine_segm, pts).reshape(-1, p1)  # (K*M, P+1)
    su = _sample_at_points(u, pts).reshape(-1, p1)
    sv = _sample_at_points(v, pts).reshape(-1, p1)
    i, gu, gv = gt_i.reshape(-1), gt_u.reshape(-1), gt_v.reshape(-1)  # (K*M,)
    annotated = i >= 0
    zero = fine_segm.sum() * 0
    segm = part_weight * F.cross_entropy(s[annotated], i[annotated]) if bool(annotated.any()) else zero
    loss_u = _uv_point_loss(su, torch.zeros_like(sv), i, gu, torch.zeros_like(gv), point_regression_weight)
    loss_v = _uv_point_loss(torch.zeros_like(su), sv, i, torch.zeros_like(gu), gv, point_regression_weight)
    return DensePoseLoss(segm + loss_u + loss_v, segm, loss_u, loss_v)


# ----------------------------------------------------------------------------- inference


def densepose_inference(
    output: DensePoseOutput, boxes: Tensor | None = None, image_size: int | tuple[int, int] | None = None
) -> Tensor:
    """Turn the head's maps into IUV images: ``I = argmax``, then U, V read from channel ``I``.

    .. math:: I = \\arg\\max_c s_c, \\quad U = \\mathrm{clamp}(u_I, 0, 1), \\quad V = \\mathrm{clamp}(v_I, 0, 1)

    and ``U = V = 0`` where ``I = 0``. With ``boxes`` and ``image_size`` the maps are first
    resampled (bilinearly, with :func:`sample_at_points`) at the centre of every image pixel inside
    each box, so each IUV image is pasted at its box in an image-sized canvas (background elsewhere).

    Args:
        output (DensePoseOutput): ``fine_segm``, ``u``, ``v`` of shape ``(K, P+1, S, S)``.
        boxes (Tensor[K, 4] or None): ``(x1, y1, x2, y2)`` of each RoI in image pixels (pixel
            centres at ``+0.5``), finite. Default: ``None`` (IUV at the head's resolution).
        image_size (int or tuple[int, int] or None): ``(H, W)`` of the canvas; required with
            ``boxes``. Default: ``None``.

    Returns:
        Tensor[K, 3, S, S] or Tensor[K, 3, H, W] (``fine_segm``'s dtype): channel 0 is ``I`` (an
        integer stored as a float), 1 is ``U``, 2 is ``V``.

    Example:
        >>> logits = torch.zeros(1, 3, 1, 1); logits[0, 2] = 1.0
        >>> u = torch.tensor([0.0, 0.3, 1.7]).reshape(1, 3, 1, 1)
        >>> densepose_inference(DensePoseOutput(logits, u, torch.full((1, 3, 1, 1), 0.25)))[0, :, 0, 0]
        tensor([2.0000, 1.0000, 0.2500])
    """
    if not isinstance(output, tuple) or len(output) != 3:
        raise TypeError(f"output: expected a DensePoseOutput (fine_segm, u, v), got {describe(output)}")
    fine_segm, u, v = output
    _check_maps("output.fine_segm", fine_segm)
    for name, value in (("output.u", u), ("output.v", v)):
        _check_maps(name, value)
        if value.shape != fine_segm.shape:
            raise ValueError(
                f"{name}: expected shape {tuple(fine_segm.shape)} like fine_segm, got {tuple(value.shape)}"
            )
    if (boxes is None) != (image_size is None):
        raise ValueError("boxes: give both boxes and image_size to paste into the image, or neither")
    if boxes is None:
        return _iuv(fine_segm, u, v)
    check_floating("boxes", boxes)
    if boxes.shape != (fine_segm.shape[0], 4):
        raise ValueError(f"boxes: expected shape ({fine_segm.shape[0]}, 4), got shape {tuple(boxes.shape)}")
    check_finite("boxes", boxes)
    if not bool((boxes[:, 2:] > boxes[:, :2]).all()):
        raise ValueError("boxes: expected x1 < x2 and y1 < y2 in every row")
    height, width = check_int_pair("image_size", image_size)
    k = fine_segm.shape[0]
    b = boxes.to(fine_segm.dtype)
    ys = torch.arange(height, dtype=b.dtype, device=b.device) + 0.5
    xs = torch.arange(width, dtype=b.dtype, device=b.device) + 0.5
    px = (xs[None, :] - b[:, 0:1]) / (b[:, 2:3] - b[:, 0:1])  # (K, W) box-relative x of each column
    py = (ys[None, :] - b[:, 1:2]) / (b[:, 3:4] - b[:, 1:2])  # (K, H)
    grid = torch.stack(torch.broadcast_tensors(px[:, None, :], py[:, :, None]), dim=-1)  # (K, H, W, 2)
    points = grid.reshape(k, height * width, 2)  # (K, H*W, 2)

    def paste(maps: Tensor) -> Tensor:
        return _sample_at_points(maps, points).transpose(1, 2).reshape(k, -1, height, width)  # (K, P+1, H, W)

    iuv = _iuv(paste(fine_segm), paste(u), paste(v))  # (K, 3, H, W)
    inside = ((grid >= 0) & (grid <= 1)).all(dim=-1)  # (K, H, W)
    return iuv * inside[:, None]


def _iuv(fine_segm: Tensor, u: Tensor, v: Tensor) -> Tensor:
    parts = fine_segm.argmax(dim=1, keepdim=True)  # (K, 1, S, S)
    fg = parts > 0
    uu = u.gather(1, parts).clamp(0, 1) * fg  # (K, 1, S, S) U of the predicted part
    vv = v.gather(1, parts).clamp(0, 1) * fg
    return torch.cat([parts.to(fine_segm.dtype), uu, vv], dim=1)  # (K, 3, S, S)


# ----------------------------------------------------------------------------- texture transfer


def checkerboard_texture(num_parts: int, size: int = 32, squares: int = 4, colours: Tensor | None = None) -> Tensor:
    """A texture atlas: one ``size x size`` checkerboard per part, alternating its colour and white.

    Args:
        num_parts (int): ``P``, >= 1.
        size (int): side of each part's texture in texels, >= 1. Default: ``32``.
        squares (int): squares per side, ``1 <= squares <= size``. Default: ``4``.
        colours (Tensor[P, 3] or None): RGB colour of each part in ``[0, 1]``; ``None`` spreads hues
            over the parts. Default: ``None``.

    Returns:
        Tensor[P, 3, size, size] (float32): texel ``[row, col]`` of part ``k`` is at ``V = (row + 0.5) /
        size``, ``U = (col + 0.5) / size``.

    Example:
        >>> checkerboard_texture(1, size=4, squares=2, colours=torch.tensor([[0.0, 0.5, 1.0]]))[0, 0]
        tensor([[1., 1., 0., 0.],
                [1., 1., 0., 0.],
                [0., 0., 1., 1.],
                [0., 0., 1., 1.]])
    """
    check_int("num_parts", num_parts, minimum=1)
    check_int("size", size, minimum=1)
    check_int("squares", squares, minimum=1)
    if squares > size:
        raise ValueError(f"squares: expected at most size = {size} squares per side, got {squares}")
    if colours is None:
        hue = torch.arange(num_parts, dtype=torch.float32) / num_parts
        colours = torch.stack([(hue + shift) % 1.0 for shift in (0.0, 1 / 3, 2 / 3)], dim=1)
        colours = (torch.sin(2 * torch.pi * colours) * 0.5 + 0.5) * 0.8  # (P, 3) distinct, not white
    check_floating("colours", colours)
    if colours.shape != (num_parts, 3):
        raise ValueError(f"colours: expected shape ({num_parts}, 3), got shape {tuple(colours.shape)}")
    cell = torch.arange(size) * squares // size  # (T,) square index of each texel
    light = ((cell[:, None] + cell[None, :]) % 2 == 0).float()  # (T, T) 1 on light squares
    texture = light[None, None] + (1 - light)[None, None] * colours.float()[:, :, None, None]
    return texture  # (P, 3, T, T)


def apply_texture(iuv: Tensor, texture: Tensor, background: Tensor | None = None) -> Tensor:
    """Dress a body with a texture: each pixel shows texel ``(V, U)`` of its part's texture.

    Pixel with part ``I > 0`` takes ``texture[I - 1, :, row, col]`` with ``col = min(floor(U T), T-1)``
    and ``row = min(floor(V T), T-1)`` (nearest texel; ``U`` runs along the texture's columns,
    ``V`` along its rows); background pixels take ``background`` (default 0).

    Args:
        iuv (Tensor[3, H, W] or Tensor[N, 3, H, W]): from :func:`densepose_inference` or the ground
            truth (``I`` as float, ``U, V`` in ``[0, 1]``); finite.
        texture (Tensor[P, C, T, T]): one texture per part.
        background (Tensor[C, H, W] or Tensor[N, C, H, W] or None): what to show where ``I = 0``.
            Default: ``None`` (zeros).

    Returns:
        Tensor[C, H, W] or Tensor[N, C, H, W] (``texture``'s dtype).

    Example:
        >>> tex = checkerboard_texture(1, size=2, squares=2, colours=torch.tensor([[0.0, 0.5, 1.0]]))
        >>> iuv = torch.tensor([[[1.0, 1.0, 0.0]], [[0.2, 0.7, 0.5]], [[0.2, 0.2, 0.5]]])  # (3, H=1, W=3)
        >>> apply_texture(iuv, tex)[1]  # green: texel (0, 0) is white, (0, 1) the part's colour, then background
        tensor([[1.0000, 0.5000, 0.0000]])
    """
    check_floating("iuv", iuv)
    if iuv.ndim not in (3, 4) or iuv.shape[-3] != 3:
        raise ValueError(f"iuv: expected shape (3, H, W) or (N, 3, H, W), got shape {tuple(iuv.shape)}")
    check_finite("iuv", iuv)
    check_floating("texture", texture)
    if texture.ndim != 4 or texture.shape[2] != texture.shape[3]:
        raise ValueError(f"texture: expected shape (P, C, T, T), got shape {tuple(texture.shape)}")
    num_parts, channels, size = texture.shape[0], texture.shape[1], texture.shape[2]
    single = iuv.ndim == 3
    batch = iuv[None] if single else iuv  # (N, 3, H, W)
    parts = batch[:, 0].round().long()  # (N, H, W)
    if not bool(((parts >= 0) & (parts <= num_parts)).all()):
        raise ValueError(f"iuv: expected part indices 0..{num_parts} in channel 0 (texture has {num_parts} parts)")
    out_shape = (batch.shape[0], channels, *batch.shape[2:])
    if background is None:
        bg = torch.zeros(out_shape, dtype=texture.dtype, device=texture.device)
    else:
        check_floating("background", background)
        bg = background[None] if single else background
        if tuple(bg.shape) != out_shape:
            want = out_shape[1:] if single else out_shape
            raise ValueError(f"background: expected shape {want}, got shape {tuple(background.shape)}")
    col = (batch[:, 1] * size).floor().long().clamp(0, size - 1)  # (N, H, W)
    row = (batch[:, 2] * size).floor().long().clamp(0, size - 1)
    texels = texture[(parts - 1).clamp_min(0), :, row, col]  # (N, H, W, C)
    out = torch.where((parts > 0)[:, None], texels.permute(0, 3, 1, 2), bg.to(texture.dtype))  # (N, C, H, W)
    return out[0] if single else out

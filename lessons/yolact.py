"""YOLACT: single-stage instance segmentation by mixing a few prototype masks; YolactEdge key frames.

Papers:
    Bolya, Zhou, Xiao, Lee. "YOLACT: Real-time Instance Segmentation", 2019, arXiv:1904.02689.
    Liu, Soto, Xiao, Lee. "YolactEdge: Real-time Instance Segmentation on the Edge", 2020,
    arXiv:2012.12259.

Summary:
    A *protonet* turns one FPN level into ``P`` prototype masks for the whole image (``P = 32`` in
    the paper, whatever the number of classes). The prediction head gives every detection ``P``
    coefficients in ``(-1, 1)`` (tanh). A detection's mask is the sigmoid of the linear combination
    of the prototypes with its coefficients (eq. 1), cropped to its box. Training uses a per-pixel
    BCE on the crop of the ground-truth box, normalized by the box area. Detections are de-duplicated
    with FastNMS, which replaces greedy NMS's sequential loop by one upper-triangular IoU matrix
    (:mod:`lessons.nms`; ``fast_nms``, ``batched_fast_nms``, ``greedy_nms`` are re-exported here).
    YolactEdge runs the full backbone only on key frames (every 5th frame); in between it runs the
    cheap early layers, warps the key frame's deeper FPN features by the optical flow and recomputes
    the rest.

Deviations from the reference code (``dbolya/yolact``, ``haotian-liu/yolact_edge``):
    * Prototypes are laid out ``(P, H, W)`` (PyTorch's channels-first), not ``(H, W, P)``. Boxes are
      ``(x1, y1, x2, y2)`` in mask-grid pixels, not relative: multiply those by ``(W, H, W, H)``.
    * :func:`yolact_mask_loss` takes mask logits and evaluates the BCE in logit form inside the crop
      (numerically stable); outside the crop it gives the reference's value for a prediction of
      exactly 0. The random subset of at most 100 positives is not taken.
    * :class:`TinyYolact` is a CPU-sized stand-in: three stride-2 stages instead of a ResNet,
      a two-level FPN (P3, P4) without the 3x3 output convs, the coefficient head on P4 only with
      one anchor per location (a box reads its coefficients at its centre, see
      :func:`select_coefficients`), no box or class branch (the notebook uses ground-truth boxes),
      a protonet with two 3x3 convs before the upsample instead of three, and BatchNorm after every
      hidden 3x3 conv (the reference has it only in the ResNet backbone).
    * YolactEdge: only P4 is warped (the reference warps P4 and P5), the flow is given (the
      notebook's clips know it) instead of predicted by FeatFlowNet, and the warped features are not
      rescaled by a learned ``scale_factor``/``bias``.
    * Boxes, flows and sizes must be finite; prototypes, coefficients, masks and features are not
      scanned for NaN (a full scan would cost more than the operation), so NaN passes through.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from lessons._checks import (
    check_boxes,
    check_choice,
    check_finite,
    check_floating,
    check_int,
    check_int_pair,
    check_ndim,
    check_non_negative,
    check_positive,
    check_same_device,
    check_shape,
    check_tensor,
)
from lessons.nms import batched_fast_nms, fast_nms, greedy_nms  # re-exported: FastNMS is YOLACT's (Sec. 3.3)
from lessons.video import _check_features_and_flow, _warp

__all__ = [
    "assemble_masks",
    "crop_masks",
    "yolact_mask_loss",
    "downsample_masks",
    "postprocess_masks",
    "mask_iou",
    "fast_nms",
    "batched_fast_nms",
    "greedy_nms",
    "ProtoNet",
    "PredictionHead",
    "TinyYolact",
    "select_coefficients",
    "warp_features",
    "resize_flow",
    "keyframe_schedule",
    "keyframe_savings",
    "yolactedge_inference",
]


# --------------------------------------------------------------------------------------------
# Prototype mixing, crop, loss
# --------------------------------------------------------------------------------------------


def assemble_masks(prototypes: Tensor, coefficients: Tensor, *, return_logits: bool = False) -> Tensor:
    """Mix ``P`` prototype masks into one mask per detection (YOLACT eq. 1).

    .. math::  M_n(y, x) = \\sigma\\Big(\\sum_{p=1}^{P} C_{n,p}\\, P_p(y, x)\\Big)
               \\qquad M = \\sigma(P\\, C^\\top)

    Args:
        prototypes (Tensor[P, H, W]): the protonet's output for one image.
        coefficients (Tensor[N, P]): one row of ``P`` coefficients per detection (tanh outputs in
            the model, but any real numbers are accepted).
        return_logits (bool): return the linear combination before the sigmoid (for a stable
            loss). Default: ``False``.

    Returns:
        Tensor[N, H, W]: masks in ``(0, 1)`` (or logits when ``return_logits``).

    Note:
        The reference stores prototypes as ``(H, W, P)`` and computes ``sigmoid(proto @ coef.T)``,
        giving ``(H, W, N)``. With ``(P, H, W)`` prototypes the same numbers come out as
        ``(N, H, W)``: ``assemble_masks(proto_hwp.permute(2, 0, 1), coef) ==
        torch.sigmoid(proto_hwp @ coef.T).permute(2, 0, 1)``.

    Example (two 1x2 prototypes ``[[1, 0]]`` and ``[[0, 1]]`` mixed with coefficients ``(2, -2)``):
        >>> assemble_masks(torch.tensor([[[1.0, 0.0]], [[0.0, 1.0]]]), torch.tensor([[2.0, -2.0]])).round(decimals=3)
        tensor([[[0.8810, 0.1190]]])
    """
    _check_prototypes(prototypes, coefficients)
    logits = _assemble_logits(prototypes, coefficients)  # (N, H, W)
    return logits if return_logits else torch.sigmoid(logits)


def _assemble_logits(prototypes: Tensor, coefficients: Tensor) -> Tensor:
    """Eq. 1 before the sigmoid, ``P C^T`` laid out ``(N, H, W)``; no checks."""
    return torch.einsum("np,phw->nhw", coefficients, prototypes)  # (N, H, W)


def _check_prototypes(prototypes: Tensor, coefficients: Tensor) -> None:
    check_floating("prototypes", prototypes)
    check_floating("coefficients", coefficients)
    check_ndim("prototypes", prototypes, 3, "(P, H, W)")
    check_ndim("coefficients", coefficients, 2, "(N, P)")
    num_prototypes = prototypes.shape[0]
    if coefficients.shape[1] != num_prototypes:
        raise ValueError(
            f"coefficients: expected shape (N, {num_prototypes}), one coefficient per prototype "
            f"(prototypes has P = {num_prototypes}), got shape {tuple(coefficients.shape)}. "
            f"Prototypes are laid out (P, H, W); permute a (H, W, P) tensor with .permute(2, 0, 1)."
        )
    check_same_device("coefficients", coefficients, "prototypes", prototypes)


def _check_binary_masks(name: str, masks: object) -> None:
    """Masks are bool or real numbers (thresholded by the caller); complex values are refused."""
    check_tensor(name, masks)
    if masks.is_complex():  # type: ignore[union-attr]
        raise TypeError(f"{name}: expected bool or real-valued masks, got dtype {masks.dtype}")  # type: ignore[union-attr]


def _crop_region(boxes: Tensor, height: int, width: int, padding: float) -> Tensor:
    """Boolean (N, H, W): pixel (r, c) is inside box n grown by ``padding`` (YOLACT's rule)."""
    x1 = torch.minimum(boxes[:, 0], boxes[:, 2]).sub(padding).clamp(min=0)  # (N,)
    x2 = torch.maximum(boxes[:, 0], boxes[:, 2]).add(padding).clamp(max=width)
    y1 = torch.minimum(boxes[:, 1], boxes[:, 3]).sub(padding).clamp(min=0)
    y2 = torch.maximum(boxes[:, 1], boxes[:, 3]).add(padding).clamp(max=height)
    cols = torch.arange(width, device=boxes.device, dtype=boxes.dtype)[None, None, :]  # (1, 1, W)
    rows = torch.arange(height, device=boxes.device, dtype=boxes.dtype)[None, :, None]  # (1, H, 1)
    keep_x = (cols >= x1[:, None, None]) & (cols < x2[:, None, None])  # (N, 1, W)
    keep_y = (rows >= y1[:, None, None]) & (rows < y2[:, None, None])  # (N, H, 1)
    return keep_x & keep_y  # (N, H, W)


def crop_masks(masks: Tensor, boxes: Tensor, padding: float = 1) -> Tensor:
    """Zero every mask outside its (padded) box, as YOLACT's ``crop``.

    Pixel ``(row r, col c)`` of mask ``n`` is kept iff ``x1 - padding <= c < x2 + padding`` and
    ``y1 - padding <= r < y2 + padding`` (the padded box is clamped to the image; swapped corners
    are sorted first, like the reference's ``sanitize_coordinates``). The bounds stay floats.

    Args:
        masks (Tensor[N, H, W]): masks (or logits) on the prototype grid, floating point.
        boxes (Tensor[N, 4]): ``(x1, y1, x2, y2)`` in pixels of that grid, one per mask.
        padding (float): pixels added on every side. Default: ``1``.

    Returns:
        Tensor[N, H, W]: ``masks`` where kept, exactly ``0`` elsewhere (same dtype).

    Note:
        The test compares the pixel's *index* ``c`` (its left edge, the pixel covering ``[c, c+1)``)
        with the box, not its centre ``c + 0.5``. With a tight box from
        :func:`lessons.data.mask_to_box` (``x2 = last column + 1``) and ``padding=0`` the crop is
        exactly the mask's columns; the default ``padding=1`` keeps one more pixel on each side.
        The reference takes relative boxes; pass ``rel_boxes * torch.tensor([W, H, W, H])``.

    Example:
        An 8x8 mask of ones with the relative box ``(0.30, 0.25, 0.6, 0.5)``, i.e. the pixel box
        ``(2.4, 2.0, 4.8, 4.0)``, and ``padding=1`` keeps rows 1-4 and cols 2-5
        (x in ``[1.4, 5.8)``, y in ``[1, 5)``).
    """
    check_floating("masks", masks)
    check_ndim("masks", masks, 3, "(N, H, W)")
    check_boxes("boxes", boxes, n=masks.shape[0], allow_swapped=True)  # corners are sorted below
    check_same_device("boxes", boxes, "masks", masks)
    check_non_negative("padding", padding)
    return _crop_masks(masks, boxes, float(padding))


def _crop_masks(masks: Tensor, boxes: Tensor, padding: float) -> Tensor:
    """:func:`crop_masks` without the checks."""
    region = _crop_region(boxes, masks.shape[1], masks.shape[2], padding)  # (N, H, W)
    return masks * region.to(masks.dtype)


def yolact_mask_loss(
    mask_logits: Tensor,
    gt_masks: Tensor,
    gt_boxes: Tensor,
    *,
    padding: float = 1,
    mask_alpha: float = 6.125,
) -> Tensor:
    """YOLACT's mask loss: BCE on the crop of the ground-truth box, normalized by the box area.

    For the ``N`` positives of a batch (all images together),

    .. math::  L_{mask} = \\frac{\\alpha}{N} \\sum_{n=1}^{N} \\frac{1}{w_n h_n}
               \\sum_{y, x} \\mathrm{BCE}\\big(\\mathrm{crop}_n(\\sigma(z_n))(y, x),\\ g_n(y, x)\\big)

    where ``z_n`` are the logits, ``g_n`` the binary ground truth on the prototype grid and
    ``w_n h_n`` the area of the ground-truth box ``n`` in prototype pixels (``multibox_loss.py :
    lincomb_mask_loss`` with ``mask_proto_crop`` and ``normalize_emulate_roi_pooling``). So a large
    object does not outweigh a small one: doubling a box's area (same pixel errors) halves its term.

    Args:
        mask_logits (Tensor[N, H, W]): ``P C^T`` before the sigmoid (``assemble_masks(...,
            return_logits=True)``).
        gt_masks (Tensor[N, H, W]): ground-truth masks on the same grid (bool or 0/1 floats); see
            :func:`downsample_masks`.
        gt_boxes (Tensor[N, 4]): ground-truth boxes ``(x1, y1, x2, y2)`` in pixels of that grid;
            they crop the prediction (training crops with the GT box) and give the area.
        padding (float): crop padding in pixels. Default: ``1``.
        mask_alpha (float): the loss weight ``alpha``. Default: ``6.125`` (the base config).

    Returns:
        Tensor[]: the scalar loss; ``0`` when ``N == 0``.

    Note:
        The reference clamps ``crop(sigmoid(z))`` to ``[0, 1]`` and calls ``binary_cross_entropy``.
        Here the BCE is computed from the logits inside the crop (the same value without the
        saturation of ``sigmoid`` in float32) and outside the crop as the reference's BCE of a
        prediction of exactly ``0``: ``0`` where ``g = 0`` and ``100`` (PyTorch's clamp of
        ``-log 0``) where ``g = 1``.
    """
    check_floating("mask_logits", mask_logits)
    check_ndim("mask_logits", mask_logits, 3, "(N, H, W)")
    check_tensor("gt_masks", gt_masks)
    check_shape("gt_masks", gt_masks, tuple(mask_logits.shape), "(N, H, W) like mask_logits")
    check_boxes("gt_boxes", gt_boxes, n=mask_logits.shape[0], allow_swapped=True)
    check_non_negative("padding", padding)
    check_positive("mask_alpha", mask_alpha)
    num = mask_logits.shape[0]
    if num == 0:
        return mask_logits.sum() * 0.0
    target = gt_masks.to(mask_logits.dtype)
    region = _crop_region(gt_boxes, mask_logits.shape[1], mask_logits.shape[2], float(padding))
    inside = F.binary_cross_entropy_with_logits(mask_logits, target, reduction="none")  # (N, H, W)
    outside = 100.0 * target  # BCE(0, g) with log clamped at -100
    per_pixel = torch.where(region, inside, outside)  # (N, H, W)
    width = (gt_boxes[:, 2] - gt_boxes[:, 0]).abs()
    height = (gt_boxes[:, 3] - gt_boxes[:, 1]).abs()
    area = (width * height).clamp(min=1e-6)  # (N,) box area in prototype pixels
    return mask_alpha / num * (per_pixel.sum(dim=(1, 2)) / area).sum()


def downsample_masks(masks: Tensor, size: int | tuple[int, int]) -> Tensor:
    """Ground-truth masks on the prototype grid: bilinear resize, then ``> 0.5`` (YOLACT step 1).

    Args:
        masks (Tensor[N, H, W]): binary masks at image resolution (bool or float).
        size (int | tuple[int, int]): the prototype grid ``(h, w)``.

    Returns:
        Tensor[N, h, w] (bool).
    """
    _check_binary_masks("masks", masks)
    check_ndim("masks", masks, 3, "(N, H, W)")
    size = check_int_pair("size", size)
    if masks.shape[0] == 0:
        return torch.zeros((0, *size), dtype=torch.bool, device=masks.device)
    resized = F.interpolate(masks[:, None].float(), size=size, mode="bilinear", align_corners=False)
    return resized[:, 0] > 0.5  # (N, h, w)


def postprocess_masks(
    prototypes: Tensor,
    coefficients: Tensor,
    boxes: Tensor,
    image_size: int | tuple[int, int],
    *,
    padding: float = 1,
    threshold: float = 0.5,
) -> Tensor:
    """Final binary masks at image resolution, as YOLACT's ``postprocess``.

    Assemble (eq. 1), crop with the boxes (scaled to the prototype grid), upsample bilinearly
    (``align_corners=False``) to the image and threshold with ``> threshold``.

    Args:
        prototypes (Tensor[P, h, w]): prototypes of one image.
        coefficients (Tensor[N, P]): coefficients of its detections.
        boxes (Tensor[N, 4]): ``(x1, y1, x2, y2)`` in *image* pixels.
        image_size (int | tuple[int, int]): ``(H, W)`` of the image.
        padding (float): crop padding in prototype pixels. Default: ``1``.
        threshold (float): probability threshold. Default: ``0.5``.

    Returns:
        Tensor[N, H, W] (bool).
    """
    _check_prototypes(prototypes, coefficients)
    check_boxes("boxes", boxes, n=coefficients.shape[0], allow_swapped=True)
    check_same_device("boxes", boxes, "prototypes", prototypes)
    height, width = check_int_pair("image_size", image_size)
    check_non_negative("padding", padding)
    check_non_negative("threshold", threshold)
    ph, pw = prototypes.shape[1:]
    scale = boxes.new_tensor([pw / width, ph / height, pw / width, ph / height])
    masks = _crop_masks(
        torch.sigmoid(_assemble_logits(prototypes, coefficients)), boxes * scale, float(padding)
    )  # (N, h, w)
    if masks.shape[0] == 0:
        return torch.zeros((0, height, width), dtype=torch.bool, device=masks.device)
    masks = F.interpolate(masks[:, None], size=(height, width), mode="bilinear", align_corners=False)
    return masks[:, 0] > threshold  # (N, H, W)


def mask_iou(masks1: Tensor, masks2: Tensor) -> Tensor:
    """Pairwise-aligned mask IoU: ``|A_n ∩ B_n| / |A_n ∪ B_n|`` for each ``n`` (1 when both are empty).

    Args:
        masks1 (Tensor[N, H, W]): binary masks (bool, or floats thresholded at 0.5).
        masks2 (Tensor[N, H, W]): binary masks of the same shape.

    Returns:
        Tensor[N] (float32).
    """
    _check_binary_masks("masks1", masks1)
    _check_binary_masks("masks2", masks2)
    check_ndim("masks1", masks1, 3, "(N, H, W)")
    check_shape("masks2", masks2, tuple(masks1.shape), "(N, H, W) like masks1")
    a = masks1 if masks1.dtype == torch.bool else masks1 > 0.5
    b = masks2 if masks2.dtype == torch.bool else masks2 > 0.5
    inter = (a & b).flatten(1).sum(1).float()  # (N,)
    union = (a | b).flatten(1).sum(1).float()
    return torch.where(union > 0, inter / union.clamp(min=1), torch.ones_like(union))


# --------------------------------------------------------------------------------------------
# A CPU-sized YOLACT: backbone, FPN (P3, P4), protonet, prediction head
# --------------------------------------------------------------------------------------------


def _conv(in_channels: int, out_channels: int, stride: int = 1) -> nn.Sequential:
    """conv3x3 + BatchNorm + ReLU: BatchNorm lets the tiny model learn in a few hundred steps."""
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, 3, stride=stride, padding=1, bias=False),
        nn.BatchNorm2d(out_channels),
        nn.ReLU(inplace=True),
    )


def _check_feature_map(name: str, value: object, channels: int) -> None:
    """A floating ``(B, channels, H, W)`` input of a module (its values are not scanned for NaN)."""
    check_floating(name, value)
    check_ndim(name, value, 4, f"(B, {channels}, H, W)")  # type: ignore[arg-type]
    check_shape(name, value, (None, channels, None, None), f"(B, {channels}, H, W)")  # type: ignore[arg-type]


class ProtoNet(nn.Module):
    """The protonet (``mask_proto_net``): FPN P3 -> ``P`` non-negative prototypes at twice P3's size.

    Layers: two ``conv3x3 + BN + ReLU`` (the reference has three, with 256 channels and no BN),
    bilinear x2 upsample (``align_corners=False``), ``conv3x3 + BN + ReLU``, ``conv1x1`` to ``P``
    channels, ReLU (``mask_proto_prototype_activation``), so the prototypes are ``>= 0``.

    Args:
        in_channels (int): channels of P3.
        num_prototypes (int): ``P``. Default: ``32`` (the paper's value).
        hidden (int): channels of the hidden convs. Default: ``16`` (the paper uses 256).

    Shape:
        ``(B, in_channels, h, w) -> (B, P, 2h, 2w)``.
    """

    def __init__(self, in_channels: int, num_prototypes: int = 32, hidden: int = 16) -> None:
        super().__init__()
        self.in_channels = check_int("in_channels", in_channels, minimum=1)
        num_prototypes = check_int("num_prototypes", num_prototypes, minimum=1)
        hidden = check_int("hidden", hidden, minimum=1)
        self.before = nn.Sequential(_conv(in_channels, hidden), _conv(hidden, hidden))
        self.after = nn.Sequential(_conv(hidden, hidden), nn.Conv2d(hidden, num_prototypes, 1), nn.ReLU())

    def forward(self, p3: Tensor) -> Tensor:
        """``p3 (B, in_channels, h, w) -> (B, P, 2h, 2w)``; NaN passes through (features are not scanned)."""
        _check_feature_map("p3", p3, self.in_channels)
        return self._forward(p3)

    def _forward(self, p3: Tensor) -> Tensor:
        x = self.before(p3)
        x = F.interpolate(x, scale_factor=2.0, mode="bilinear", align_corners=False)  # (B, hidden, 2h, 2w)
        return self.after(x)  # (B, P, 2h, 2w)


class PredictionHead(nn.Module):
    """The coefficient branch of the prediction head: ``P`` tanh coefficients per location.

    ``conv3x3 + BN + ReLU`` then ``conv3x3`` to ``P`` channels and ``tanh``
    (``mask_proto_coeff_activation``), so coefficients lie in ``(-1, 1)`` and can subtract a
    prototype as well as add it. One anchor per location (the reference has 3 aspect ratios and
    also predicts boxes and classes).

    Args:
        in_channels (int): FPN channels.
        num_prototypes (int): ``P``. Default: ``32``.
        hidden (int): hidden channels. Default: ``16``.

    Shape:
        ``(B, in_channels, h, w) -> (B, P, h, w)``.
    """

    def __init__(self, in_channels: int, num_prototypes: int = 32, hidden: int = 16) -> None:
        super().__init__()
        self.in_channels = check_int("in_channels", in_channels, minimum=1)
        num_prototypes = check_int("num_prototypes", num_prototypes, minimum=1)
        hidden = check_int("hidden", hidden, minimum=1)
        self.net = nn.Sequential(_conv(in_channels, hidden), nn.Conv2d(hidden, num_prototypes, 3, padding=1))

    def forward(self, features: Tensor) -> Tensor:
        """``features (B, in_channels, h, w) -> (B, P, h, w)``; NaN passes through (not scanned)."""
        _check_feature_map("features", features, self.in_channels)
        return self._forward(features)

    def _forward(self, features: Tensor) -> Tensor:
        return torch.tanh(self.net(features))  # (B, P, h, w)


class TinyYolact(nn.Module):
    """A YOLACT-style network small enough to train on one CPU thread in seconds.

    ``image - 0.5 (stride 1) -> conv s2 -> C3 (conv s2, stride 4) -> C4 (conv s2 + 2 convs,
    stride 8)``, every conv a ``conv3x3 + BN + ReLU``;
    FPN: ``P4 = lateral4(C4)``, ``P3 = upsample(P4) + lateral3(C3)``; protonet on P3 gives
    prototypes at stride 2, the head on P4 gives coefficients at stride 8 (YOLACT's heads run on
    P3-P7; P4 suits objects of 15-25 pixels).

    The split mirrors YolactEdge: :meth:`backbone_c3` is the cheap part run on every frame,
    :meth:`backbone_p4` the expensive part run only on key frames, whose P4 is warped in between
    (:meth:`forward_warped`).

    Args:
        num_prototypes (int): ``P``. Default: ``32``.
        width (int): channels of the first stage (C3 has ``2 * width``, C4 ``4 * width``).
            Default: ``16``.
        fpn_channels (int): channels of P3/P4, the protonet and the head. Default: ``16``.
        in_channels (int): image channels. Default: ``3``.
    """

    def __init__(
        self, num_prototypes: int = 32, *, width: int = 16, fpn_channels: int = 16, in_channels: int = 3
    ) -> None:
        super().__init__()
        self.num_prototypes = check_int("num_prototypes", num_prototypes, minimum=1)
        self.in_channels = check_int("in_channels", in_channels, minimum=1)
        check_int("width", width, minimum=1)
        check_int("fpn_channels", fpn_channels, minimum=1)
        self.stem = nn.Sequential(_conv(in_channels, width, 2), _conv(width, 2 * width, 2))
        self.deep = nn.Sequential(
            _conv(2 * width, 4 * width, 2), _conv(4 * width, 4 * width), _conv(4 * width, 4 * width)
        )
        self.lateral3 = nn.Conv2d(2 * width, fpn_channels, 1)
        self.lateral4 = nn.Conv2d(4 * width, fpn_channels, 1)
        self.protonet = ProtoNet(fpn_channels, num_prototypes, fpn_channels)
        self.head = PredictionHead(fpn_channels, num_prototypes, fpn_channels)

    def backbone_c3(self, images: Tensor) -> Tensor:
        """``(B, 3, H, W)`` in ``[0, 1]`` ``-> C3 (B, 2 width, H/4, W/4)``: the part every frame runs."""
        return self.stem(images - 0.5)  # centre the pixel values

    def backbone_p4(self, c3: Tensor) -> Tensor:
        """``C3 -> P4 (B, fpn_channels, H/8, W/8)``: the part only key frames run."""
        return self.lateral4(self.deep(c3))

    def from_features(self, c3: Tensor, p4: Tensor) -> tuple[Tensor, Tensor]:
        """FPN top-down step and both heads: returns ``(prototypes, coefficient_map)``.

        ``prototypes (B, P, H/2, W/2)``, ``coefficient_map (B, P, H/8, W/8)``.
        """
        p3 = F.interpolate(p4, size=c3.shape[-2:], mode="bilinear", align_corners=False) + self.lateral3(c3)
        return self.protonet._forward(p3), self.head._forward(p4)  # inner modules: no second check

    def forward(self, images: Tensor) -> tuple[Tensor, Tensor]:
        """Full computation: returns ``(prototypes (B, P, H/2, W/2), coefficient_map (B, P, H/8, W/8))``."""
        _check_feature_map("images", images, self.in_channels)
        c3 = self.backbone_c3(images)
        return self.from_features(c3, self.backbone_p4(c3))

    def forward_warped(self, images: Tensor, key_p4: Tensor, flow: Tensor) -> tuple[Tensor, Tensor]:
        """YolactEdge non-key frame: cheap C3, the key frame's P4 warped by ``flow``, heads.

        Args:
            images (Tensor[B, 3, H, W]): the current frames.
            key_p4 (Tensor[B, F, H/8, W/8]): P4 of the key frames (:meth:`backbone_p4`).
            flow (Tensor[B, 2, H, W]): backward flow in *image* pixels, current -> key frame
                (``key(p + flow(p))`` is what ``current(p)`` shows); resized with
                :func:`resize_flow`.

        Returns:
            tuple[Tensor, Tensor]: ``(prototypes, coefficient_map)`` as :meth:`forward`.
        """
        _check_feature_map("images", images, self.in_channels)
        batch = images.shape[0]
        _check_feature_map("key_p4", key_p4, self.lateral4.out_channels)
        check_shape("key_p4", key_p4, (batch, self.lateral4.out_channels, None, None), "(B, F, H/8, W/8) like images")
        check_floating("flow", flow)
        check_shape("flow", flow, (batch, 2, *images.shape[-2:]), "(B, 2, H, W) like images")
        check_finite("flow", flow)
        c3 = self.backbone_c3(images)
        p4 = _warp(key_p4, _resize_flow(flow, key_p4.shape[-2:]))  # (B, F, H/8, W/8), warp_features' core
        return self.from_features(c3, p4)


def select_coefficients(
    coefficient_map: Tensor, boxes: Tensor, image_size: int | tuple[int, int], *, mode: str = "nearest"
) -> Tensor:
    """The coefficients the head predicts at each box centre (the positive anchor of that box).

    Args:
        coefficient_map (Tensor[P, h, w]): the head's output for one image.
        boxes (Tensor[N, 4]): ``(x1, y1, x2, y2)`` in image pixels.
        image_size (int | tuple[int, int]): ``(H, W)`` of the image.
        mode (str): ``"nearest"``: the cell that contains the centre, row ``n`` is
            ``coefficient_map[:, floor(cy_n h / H), floor(cx_n w / W)]`` (clamped), like one anchor
            per location; ``"bilinear"``: interpolate between the four nearest cell centres
            (``grid_sample`` with ``align_corners=False``, border values outside), so two boxes whose
            centres share a cell still get different coefficients. Default: ``"nearest"``.

    Returns:
        Tensor[N, P].
    """
    check_floating("coefficient_map", coefficient_map)
    check_ndim("coefficient_map", coefficient_map, 3, "(P, h, w)")
    check_boxes("boxes", boxes, allow_swapped=True)  # only the centre is used
    check_same_device("boxes", boxes, "coefficient_map", coefficient_map)
    check_choice("mode", mode, ("nearest", "bilinear"))
    height, width = check_int_pair("image_size", image_size)
    h, w = coefficient_map.shape[1:]
    cx = (boxes[:, 0] + boxes[:, 2]) / 2 * (w / width)  # (N,) centre in cells
    cy = (boxes[:, 1] + boxes[:, 3]) / 2 * (h / height)
    if mode == "nearest":
        col = cx.floor().long().clamp(0, w - 1)
        row = cy.floor().long().clamp(0, h - 1)
        return coefficient_map[:, row, col].T  # (N, P)
    grid = torch.stack([2 * cx / w - 1, 2 * cy / h - 1], dim=1).to(coefficient_map.dtype)  # (N, 2)
    sampled = F.grid_sample(
        coefficient_map[None], grid[None, None], mode="bilinear", padding_mode="border", align_corners=False
    )  # (1, P, 1, N)
    return sampled[0, :, 0].T  # (N, P)


# --------------------------------------------------------------------------------------------
# YolactEdge: feature warping and key frames
# --------------------------------------------------------------------------------------------


def warp_features(features: Tensor, flow: Tensor) -> Tensor:
    """Backward-warp features by a pixel-unit flow with bilinear sampling and zero padding.

    The course's one warp, :func:`lessons.video.warp`, under YolactEdge's name:

    .. math::  \\mathrm{out}(p) = \\mathrm{features}(p + \\mathrm{flow}(p))

    where ``p = (x, y)`` are pixel indices of the feature map, ``flow[:, 0]`` is the x (column)
    displacement and ``flow[:, 1]`` the y (row) displacement; bilinear weights on the four
    neighbours, and neighbours outside the map count as ``0``. A zero flow returns ``features``
    exactly and an integer flow is an exact shift (the fractional weights are exactly 0 and 1).

    Args:
        features (Tensor[B, C, H, W]): key-frame features (a ``(C, H, W)`` tensor is accepted too).
        flow (Tensor[B, 2, H, W]): displacement in pixels of *this* grid (``(2, H, W)`` with 3-D
            features); see :func:`resize_flow` to bring an image flow to a feature level.

    Returns:
        Tensor[B, C, H, W]: the warped features (same shape as ``features``).

    Note:
        YolactEdge's ``deform_op`` calls ``grid_sample(align_corners=True)``; :func:`lessons.video.warp`
        explains why sampling in pixel units, as here, is the exact version of it.
    """
    feats, flw, single = _check_features_and_flow(features, flow)  # lessons.video.warp's checks
    out = _warp(feats, flw)
    return out[0] if single else out


def resize_flow(flow: Tensor, size: Sequence[int]) -> Tensor:
    """Bring a pixel-unit flow to another grid: bilinear resize and rescale the displacements.

    ``u' = u * w / W`` and ``v' = v * h / H``, so a displacement of 8 image pixels becomes 1 pixel
    of a stride-8 feature map (like VPSNet's ``interpolate(0.25) * 0.25``).

    Args:
        flow (Tensor[B, 2, H, W]): flow in pixels of the ``H x W`` grid.
        size (Sequence[int]): the target ``(h, w)``.

    Returns:
        Tensor[B, 2, h, w].
    """
    check_floating("flow", flow)
    check_ndim("flow", flow, 4, "(B, 2, H, W)")
    if flow.shape[1] != 2:
        raise ValueError(f"flow: expected shape (B, 2, H, W) with (dx, dy) channels, got shape {tuple(flow.shape)}")
    check_finite("flow", flow)
    return _resize_flow(flow, check_int_pair("size", size))


def _resize_flow(flow: Tensor, size: Sequence[int]) -> Tensor:
    """:func:`resize_flow` without the checks."""
    h, w = int(size[0]), int(size[1])
    height, width = flow.shape[-2:]
    if (h, w) == (height, width):
        return flow
    resized = F.interpolate(flow, size=(h, w), mode="bilinear", align_corners=False)  # (B, 2, h, w)
    return resized * flow.new_tensor([w / width, h / height])[None, :, None, None]


def keyframe_schedule(num_frames: int, interval: int = 5) -> list[bool]:
    """Which frames are key frames: ``frame_idx % interval == 0`` (YolactEdge ``every_k_frames = 5``).

    Args:
        num_frames (int): length of the clip.
        interval (int): key-frame interval; ``1`` makes every frame a key frame. Default: ``5``.

    Returns:
        list[bool]: ``True`` for key frames.
    """
    num_frames = check_int("num_frames", num_frames, minimum=0)
    interval = check_int("interval", interval, minimum=1)
    return [t % interval == 0 for t in range(num_frames)]


def keyframe_savings(num_frames: int, interval: int, full_cost: float, partial_cost: float) -> float:
    """Fraction of the computation a key-frame schedule saves against full computation of every frame.

    .. math::  \\text{saved} = 1 - \\frac{n_{key} F + (T - n_{key}) p}{T F},
               \\qquad n_{key} = \\lceil T / k \\rceil

    which tends to ``(1 - 1/k)(1 - p/F)`` for long clips.

    Args:
        num_frames (int): ``T``.
        interval (int): ``k``.
        full_cost (float): ``F``, the cost (FLOPs, seconds) of a key frame.
        partial_cost (float): ``p``, the cost of a non-key frame (cheap layers + warp + heads).

    Returns:
        float: in ``[0, 1)``.
    """
    schedule = keyframe_schedule(num_frames, interval)
    check_positive("num_frames", num_frames)
    check_positive("full_cost", full_cost)
    check_non_negative("partial_cost", partial_cost)
    num_key = sum(schedule)
    total = num_key * full_cost + (num_frames - num_key) * partial_cost
    return 1.0 - total / (num_frames * full_cost)


def yolactedge_inference(
    model: TinyYolact,
    frames: Tensor,
    flow_to: Callable[[int, int], Tensor],
    *,
    interval: int = 5,
) -> tuple[list[Tensor], list[Tensor], list[bool]]:
    """Run a clip with YolactEdge's schedule: full model on key frames, warped P4 in between.

    Args:
        model (TinyYolact): the network (put it in ``eval()`` mode first).
        frames (Tensor[T, 3, H, W]): the clip.
        flow_to (Callable[[int, int], Tensor]): ``flow_to(t, k)`` returns the backward flow
            ``Tensor[2, H, W]`` in image pixels from frame ``t`` to key frame ``k``.
        interval (int): key-frame interval. Default: ``5``.

    Returns:
        tuple: ``prototypes`` (list of T ``Tensor[P, H/2, W/2]``), ``coefficient_maps``
        (list of T ``Tensor[P, H/8, W/8]``) and the key-frame schedule (list of T bools).
    """
    check_floating("frames", frames)
    check_ndim("frames", frames, 4, "(T, C, H, W)")
    schedule = keyframe_schedule(frames.shape[0], interval)
    prototypes, coefficient_maps = [], []
    key, key_p4 = 0, None
    for t, is_key in enumerate(schedule):
        image = frames[t : t + 1]  # (1, 3, H, W)
        if is_key:
            key = t
            c3 = model.backbone_c3(image)
            key_p4 = model.backbone_p4(c3)
            protos, coefs = model.from_features(c3, key_p4)
        else:
            protos, coefs = model.forward_warped(image, key_p4, flow_to(t, key)[None])
        prototypes.append(protos[0])
        coefficient_maps.append(coefs[0])
    return prototypes, coefficient_maps, schedule

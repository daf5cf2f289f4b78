"""Video panoptic segmentation (VPSNet): flow warping, temporal fusion, the track head, and VPQ.

Papers.
- D. Kim, S. Woo, J.-Y. Lee, I. S. Kweon, "Video Panoptic Segmentation", CVPR 2020,
  arXiv:2006.11339 (VPSNet: fuse and track heads, and Video Panoptic Quality); code ``mcahny/vps``.
- X. Zhu, Y. Xiong, J. Dai, L. Yuan, Y. Wei, "Deep Feature Flow for Video Recognition", CVPR 2017,
  arXiv:1611.07715 (warping features by a flow field, Eq. 3).
- L. Yang, Y. Fan, N. Xu, "Video Instance Segmentation", ICCV 2019, arXiv:1905.04804 (MaskTrack
  R-CNN, whose track head VPSNet uses: the "new object" column and the score combination).
- X. Wang, K. C. K. Chan, K. Yu, C. Dong, C. C. Loy, "EDVR: Video Restoration with Enhanced
  Deformable Convolutional Networks", CVPRW 2019, arXiv:1905.02716 (TCEA, the temporal attention).

Summary. A *motion map* (optical flow) between frames ``t - tau`` and ``t`` says, for every pixel of
frame t, where its content was in the earlier frame. :func:`warp` moves the earlier frame's features
to frame t (backward warping, ``out(p) = in(p + flow(p))``); :func:`fuse` / :class:`TemporalFusion`
combine warped and current features with a per-pixel temporal attention (``sigmoid`` of a channel dot
product), so what the current frame sees badly can be borrowed from the earlier one. The track head
(:class:`TrackHead`) embeds every RoI; :func:`track_scores` compares them with the embeddings of
earlier objects plus a dummy "new object" column fixed at 0; :func:`match_scores` adds the class
confidence, box IoU and label agreement; :func:`assign_ids` keeps ids over time.
:func:`video_panoptic_quality` scores a clip: segments are *tubes* through ``window`` frames, and a
tube only matches when its ids are right in every frame of the window.

Deviations from the reference code.
- The flow is given (the procedural clips know it exactly) instead of predicted by a frozen
  FlowNet2 and refined by a correlation layer, and fusion happens on one feature level.
- :class:`TemporalFusion` keeps TCEA's temporal attention and its 1 x 1 fusion conv with
  LeakyReLU(0.1), and leaves out the spatial-attention pyramid and the scatter back to the FPN levels.
- :func:`warp` samples in pixel units (exact at zero flow); VPSNet's ``WarpingLayer`` calls
  ``grid_sample`` with PyTorch's default ``align_corners``, which became ``False`` in PyTorch 1.3, and
  then a zero flow is no longer the identity (:func:`warping_layer` reproduces both).
- :func:`assign_ids` gives a detection that loses a contested id the id ``-1`` explicitly.
- VPQ (:func:`video_panoptic_quality`, :func:`tube_iou`) lives in :mod:`lessons.video_quality` and
  is re-exported here; its deviations are listed there.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torchvision.ops import box_iou

from lessons._checks import (
    check_finite,
    check_floating,
    check_int,
    check_int_tensor,
    check_ndim,
    check_same_device,
    check_shape,
    check_tensor,
    describe,
)
from lessons.video_quality import tube_iou, video_panoptic_quality  # re-exported

__all__ = [
    "warp",
    "warping_layer",
    "temporal_attention",
    "fuse",
    "TemporalFusion",
    "track_scores",
    "match_scores",
    "assign_ids",
    "TrackMemory",
    "empty_memory",
    "track_step",
    "TrackHead",
    "track_loss",
    "tube_iou",
    "video_panoptic_quality",
]


# ---------------------------------------------------------------------------------------------
# warping
# ---------------------------------------------------------------------------------------------


def _check_features_and_flow(features: object, flow: object) -> tuple[Tensor, Tensor, bool]:
    check_floating("features", features)
    check_floating("flow", flow)
    check_ndim("features", features, (3, 4), "(B, C, H, W) or (C, H, W)")  # type: ignore[arg-type]
    single = features.ndim == 3  # type: ignore[union-attr]
    feats = features[None] if single else features  # type: ignore[index]  # (B, C, H, W)
    flw = flow[None] if single and flow.ndim == 3 else flow  # type: ignore[union-attr,index]
    batch, _, height, width = feats.shape
    layout = f"({batch}, 2, {height}, {width}), a (dx, dy) pair per feature pixel"
    check_shape("flow", flw, (batch, 2, height, width), layout)
    check_same_device("flow", flw, "features", feats)
    check_finite("flow", flw)
    return feats, flw, single


def warp(features: Tensor, flow: Tensor) -> Tensor:
    """Backward-warp features by a pixel-unit flow, bilinear, with zero padding (DFF Eq. 3).

    .. math::  \\mathrm{out}(p) = \\mathrm{features}(p + \\mathrm{flow}(p))

    ``p = (x, y)`` are pixel indices, ``flow[:, 0]`` is the x (column) displacement and
    ``flow[:, 1]`` the y (row) one. The four neighbours of ``p + flow(p)`` get bilinear weights and a
    neighbour outside the map counts as 0. A zero flow returns ``features`` exactly, and an integer
    flow is an exact shift (the fractional weights are exactly 0 and 1).

    Args:
        features (Tensor[B, C, H, W]): the earlier frame's features (``(C, H, W)`` is accepted too).
            NaN in the features passes through to the pixels that sample it.
        flow (Tensor[B, 2, H, W]): backward flow in pixels of this grid (``(2, H, W)`` with 3-D
            features); finite.

    Returns:
        Tensor[B, C, H, W]: the features seen from frame t (same shape as ``features``).

    Note:
        This equals ``grid_sample(features, grid, align_corners=True, padding_mode="zeros")`` with
        ``grid = 2 (p + flow) / (size - 1) - 1`` (DFF, YolactEdge, and VPSNet's ``WarpingLayer`` as
        it was meant); with ``align_corners=False`` that grid is not the identity at zero flow
        (:func:`warping_layer`), and even with ``True`` rounding can move a value by one ulp.

    Example:
        >>> x = torch.arange(6.0).view(1, 1, 2, 3)
        >>> flow = torch.zeros(1, 2, 2, 3); flow[:, 0] = 1  # look one column to the right
        >>> warp(x, flow)
        tensor([[[[1., 2., 0.],
                  [4., 5., 0.]]]])
    """
    feats, flw, single = _check_features_and_flow(features, flow)
    out = _warp(feats, flw)
    return out[0] if single else out


def _warp(feats: Tensor, flw: Tensor) -> Tensor:
    batch, channels, height, width = feats.shape
    ys = torch.arange(height, device=feats.device, dtype=flw.dtype)[:, None]  # (H, 1)
    xs = torch.arange(width, device=feats.device, dtype=flw.dtype)[None, :]  # (1, W)
    x = xs + flw[:, 0]  # (B, H, W) sampling positions
    y = ys + flw[:, 1]
    x0, y0 = x.floor(), y.floor()
    wx, wy = x - x0, y - y0  # fractional parts, exactly 0 for integer flows
    flat = feats.reshape(batch, channels, height * width)  # (B, C, H*W)
    out = torch.zeros_like(feats)
    for dy, weight_y in ((0, 1 - wy), (1, wy)):
        for dx, weight_x in ((0, 1 - wx), (1, wx)):
            xi, yi = x0 + dx, y0 + dy
            valid = (xi >= 0) & (xi <= width - 1) & (yi >= 0) & (yi <= height - 1)  # zero padding
            index = (yi.clamp(0, height - 1) * width + xi.clamp(0, width - 1)).long()  # (B, H, W)
            index = index.reshape(batch, 1, height * width).expand(batch, channels, height * width)
            values = flat.gather(2, index).reshape(batch, channels, height, width)  # (B, C, H, W)
            # where() rather than a product, so a NaN in a skipped neighbour does not leak in
            weight = (weight_x * weight_y).to(feats.dtype)[:, None]  # (B, 1, H, W)
            out = out + torch.where(valid[:, None], values * weight, torch.zeros_like(values))
    return out


def warping_layer(features: Tensor, flow: Tensor, *, align_corners: bool = True) -> Tensor:
    """VPSNet's ``WarpingLayer`` as written: a ``linspace(-1, 1)`` grid plus the normalized flow.

    .. math::  grid_x = \\mathrm{linspace}(-1, 1, W)_x + \\frac{flow_x}{(W - 1) / 2},\\quad
               \\mathrm{out} = \\mathrm{grid\\_sample}(features, grid, align\\_corners)

    (the same for y). The linspace grid is the ``align_corners=True`` convention: with ``True`` this is
    :func:`warp` up to rounding; with ``False`` (PyTorch's default since 1.3) a zero flow is no identity.

    Args:
        features (Tensor[B, C, H, W]): features to warp.
        flow (Tensor[B, 2, H, W]): backward flow in pixels, finite.
        align_corners (bool): passed to ``grid_sample``. Default: ``True``.

    Returns:
        Tensor[B, C, H, W].
    """
    feats, flw, single = _check_features_and_flow(features, flow)
    if not isinstance(align_corners, bool):
        raise TypeError(f"align_corners: expected a bool, got {describe(align_corners)}")
    _, _, height, width = feats.shape
    gx = torch.linspace(-1, 1, width, dtype=flw.dtype, device=flw.device)[None, None, :]  # (1, 1, W)
    gy = torch.linspace(-1, 1, height, dtype=flw.dtype, device=flw.device)[None, :, None]  # (1, H, 1)
    grid = torch.stack(
        [gx + flw[:, 0] / max((width - 1) / 2, 1e-12), gy + flw[:, 1] / max((height - 1) / 2, 1e-12)], dim=-1
    )  # (B, H, W, 2)
    out = F.grid_sample(feats, grid.to(feats.dtype), mode="bilinear", padding_mode="zeros", align_corners=align_corners)
    return out[0] if single else out


# ---------------------------------------------------------------------------------------------
# fusion
# ---------------------------------------------------------------------------------------------


def temporal_attention(embedding: Tensor, reference: Tensor) -> Tensor:
    """TCEA's temporal attention: the sigmoid of a per-pixel channel dot product.

    .. math::  a(p) = \\sigma\\Big(\\sum_c e_c(p)\\, r_c(p)\\Big)

    High where a frame's embedding agrees with the reference (current) frame's at that pixel.

    Args:
        embedding (Tensor[B, E, H, W]): an embedded frame (current or warped).
        reference (Tensor[B, E, H, W]): the embedded reference frame. Feature tensors: NaN passes through.

    Returns:
        Tensor[B, 1, H, W]: weights in ``(0, 1)``.
    """
    check_floating("embedding", embedding)
    check_ndim("embedding", embedding, 4, "(B, E, H, W)")
    check_floating("reference", reference)
    check_shape("reference", reference, tuple(embedding.shape), f"{tuple(embedding.shape)} like embedding")
    return _temporal_attention(embedding, reference)


def _temporal_attention(embedding: Tensor, reference: Tensor) -> Tensor:
    return torch.sigmoid((embedding * reference).sum(dim=1, keepdim=True))  # (B, 1, H, W)


def fuse(
    current: Tensor,
    warped: Tensor,
    current_embedding: Tensor,
    warped_embedding: Tensor,
    reference_embedding: Tensor,
    weight: Tensor,
    bias: Tensor | None = None,
    *,
    negative_slope: float = 0.1,
) -> tuple[Tensor, Tensor]:
    """Attention-weighted fusion of current and warped features (VPSNet's TCEA, temporal part).

    .. math::
        a_k = \\sigma(\\langle e_k, r \\rangle), \\qquad
        \\mathrm{out} = \\mathrm{LeakyReLU}_{0.1}\\big(W\\,[a_{cur} f_{cur};\\ a_{warp} f_{warp}] + b\\big)

    with ``W`` a 1 x 1 convolution: per pixel, a learned weighted sum of the two attended features.

    Args:
        current (Tensor[B, C, H, W]): features of frame t.
        warped (Tensor[B, C, H, W]): features of frame t - tau warped to frame t (:func:`warp`).
        current_embedding (Tensor[B, E, H, W]): the current features embedded for attention.
        warped_embedding (Tensor[B, E, H, W]): the warped features embedded the same way.
        reference_embedding (Tensor[B, E, H, W]): the current features embedded for the reference
            (EDVR's ``tAtt_2``; the others use ``tAtt_1``).
        weight (Tensor[C_out, 2C, 1, 1]): the fusion convolution.
        bias (Tensor[C_out] | None): its bias. Default: ``None``.
        negative_slope (float): of the LeakyReLU. Default: ``0.1``.

    Returns:
        tuple: ``fused (Tensor[B, C_out, H, W])`` and ``attention (Tensor[B, 2, H, W])`` (current,
        warped).
    """
    _check_pair("current", current, "warped", warped, None)
    b, _, h, w = current.shape
    check_floating("current_embedding", current_embedding)
    check_shape("current_embedding", current_embedding, (b, None, h, w), f"({b}, E, {h}, {w}) like current")
    for name, value in (("warped_embedding", warped_embedding), ("reference_embedding", reference_embedding)):
        check_floating(name, value)
        check_shape(
            name, value, tuple(current_embedding.shape), f"{tuple(current_embedding.shape)} like current_embedding"
        )
    check_floating("weight", weight)
    check_shape("weight", weight, (None, 2 * current.shape[1], 1, 1), f"(C_out, {2 * current.shape[1]}, 1, 1)")
    if bias is not None:
        check_floating("bias", bias)
        check_shape("bias", bias, (weight.shape[0],), f"({weight.shape[0]},), one per output channel")
    return _fuse(
        current, warped, current_embedding, warped_embedding, reference_embedding, weight, bias, float(negative_slope)
    )


def _check_pair(name: str, value: object, other_name: str, other: object, channels: int | None) -> None:
    """Two floating ``(B, C, H, W)`` feature maps of one shape (``C = channels`` unless ``None``)."""
    check_floating(name, value)
    check_ndim(name, value, 4, "(B, C, H, W)")  # type: ignore[arg-type]
    if channels is not None:
        check_shape(name, value, (None, channels, None, None), f"(B, {channels}, H, W)")  # type: ignore[arg-type]
    check_floating(other_name, other)
    check_shape(other_name, other, tuple(value.shape), f"{tuple(value.shape)} like {name}")  # type: ignore[arg-type,union-attr]


def _fuse(
    current: Tensor,
    warped: Tensor,
    current_embedding: Tensor,
    warped_embedding: Tensor,
    reference_embedding: Tensor,
    weight: Tensor,
    bias: Tensor | None,
    negative_slope: float,
) -> tuple[Tensor, Tensor]:
    """:func:`fuse` without the checks."""
    a_cur = _temporal_attention(current_embedding, reference_embedding)  # (B, 1, H, W)
    a_warp = _temporal_attention(warped_embedding, reference_embedding)
    stacked = torch.cat([current * a_cur, warped * a_warp], dim=1)  # (B, 2C, H, W)
    fused = F.leaky_relu(F.conv2d(stacked, weight, bias), negative_slope)  # (B, C_out, H, W)
    return fused, torch.cat([a_cur, a_warp], dim=1)


class TemporalFusion(nn.Module):
    """:func:`fuse` with its parameters: two 3 x 3 embedding convs and the 1 x 1 fusion conv.

    Args:
        channels (int): ``C`` of the features (the output has ``C`` channels too).
        embed_channels (int | None): ``E``. Default: ``None`` (``E = C``, as in EDVR).
    """

    def __init__(self, channels: int, embed_channels: int | None = None) -> None:
        super().__init__()
        self.channels = channels = check_int("channels", channels, minimum=1)
        embed = channels if embed_channels is None else check_int("embed_channels", embed_channels, minimum=1)
        self.embed = nn.Conv2d(channels, embed, 3, padding=1)  # EDVR tAtt_1, every frame
        self.embed_reference = nn.Conv2d(channels, embed, 3, padding=1)  # tAtt_2, the current frame
        self.fusion = nn.Conv2d(2 * channels, channels, 1)

    def forward(self, current: Tensor, warped: Tensor) -> tuple[Tensor, Tensor]:
        """``(fused (B, C, H, W), attention (B, 2, H, W))`` for current and warped features (NaN passes)."""
        _check_pair("current", current, "warped", warped, self.channels)
        both = self.embed(torch.cat([current, warped], dim=0))  # (2B, E, H, W)
        e_cur, e_warp = both.chunk(2, dim=0)
        return _fuse(
            current, warped, e_cur, e_warp, self.embed_reference(current), self.fusion.weight, self.fusion.bias, 0.1
        )


# ---------------------------------------------------------------------------------------------
# tracking
# ---------------------------------------------------------------------------------------------


def _check_embeddings(embeddings: object, ref_embeddings: object) -> None:
    check_floating("embeddings", embeddings)
    check_ndim("embeddings", embeddings, 2, "(N, D)")  # type: ignore[arg-type]
    check_floating("ref_embeddings", ref_embeddings)
    dim = embeddings.shape[1]  # type: ignore[union-attr]
    check_shape("ref_embeddings", ref_embeddings, (None, dim), f"(M, {dim}) like embeddings")  # type: ignore[arg-type]


def track_scores(embeddings: Tensor, ref_embeddings: Tensor) -> Tensor:
    """MaskTrack R-CNN's score rows: a dummy "new object" column fixed at 0, then raw dot products.

    .. math::  s_{i,0} = 0, \\qquad s_{i,1+j} = \\langle e_i, e^{ref}_j \\rangle

    Column ``1 + j`` is reference object ``j``; no normalization (not a cosine). Training takes a
    cross-entropy over each row (:func:`track_loss`), target 0 for a new object.

    Args:
        embeddings (Tensor[N, D]): the current detections' embeddings (:class:`TrackHead`).
        ref_embeddings (Tensor[M, D]): the remembered objects' embeddings (``M`` may be 0).

    Returns:
        Tensor[N, M + 1].

    Example:
        >>> track_scores(torch.tensor([[1.0, 2.0]]), torch.tensor([[3.0, 0.0], [0.0, -1.0]]))
        tensor([[ 0.,  3., -2.]])
    """
    _check_embeddings(embeddings, ref_embeddings)
    return _track_scores(embeddings, ref_embeddings)


def _track_scores(embeddings: Tensor, ref_embeddings: Tensor) -> Tensor:
    dummy = embeddings.new_zeros(embeddings.shape[0], 1)  # (N, 1)
    return torch.cat([dummy, embeddings @ ref_embeddings.T], dim=1)  # (N, M + 1)


def match_scores(
    scores: Tensor,
    cls_prob: Tensor,
    ious: Tensor,
    same_label: Tensor,
    *,
    match_coeff: Sequence[float] = (1.0, 2.0, 10.0),
    embedding_weight: float = 1.0,
) -> Tensor:
    """MaskTrack R-CNN's inference score: embedding, class confidence, box IoU and label agreement.

    .. math::
        c_{i,k} = w \\log\\mathrm{softmax}(s_i)_k + \\alpha \\log p_i + \\beta\\, IoU_{i,k}
        + \\gamma\\, [l_i = l_k], \\qquad (\\alpha, \\beta, \\gamma) = (1, 2, 10)

    The dummy column ``k = 0`` has ``IoU = 0`` and label term 1. ``alpha log p_i`` is the same in
    every column of a row: it never changes a row's argmax, only which detection wins a contested id.

    Args:
        scores (Tensor[N, M + 1]): :func:`track_scores`.
        cls_prob (Tensor[N]): each detection's class confidence in ``(0, 1]``.
        ious (Tensor[N, M]): box IoU of each detection with each remembered box.
        same_label (Tensor[N, M]): bool, the detection's label equals the remembered one's.
        match_coeff (Sequence[float]): ``(alpha, beta, gamma)``. Default: ``(1.0, 2.0, 10.0)``.
        embedding_weight (float): ``w``; 0 drops the embedding term (the reference fixes it at 1).
            Default: ``1.0``.

    Returns:
        Tensor[N, M + 1].
    """
    check_floating("scores", scores)
    check_ndim("scores", scores, 2, "(N, M + 1)")
    n, m = scores.shape[0], scores.shape[1] - 1
    if m < 0:
        raise ValueError("scores: expected at least the dummy column, got shape (N, 0)")
    _check_cls_prob(cls_prob, n)
    check_floating("ious", ious)
    check_shape("ious", ious, (n, m), f"({n}, {m}), one IoU per detection and remembered object")
    check_finite("ious", ious)
    check_tensor("same_label", same_label)
    if same_label.is_complex():
        raise TypeError(f"same_label: expected a bool (or 0/1) tensor, got dtype {same_label.dtype}")
    check_shape("same_label", same_label, (n, m), f"({n}, {m})")
    return _match_scores(scores, cls_prob, ious, same_label, _check_match_coeff(match_coeff), float(embedding_weight))


def _check_cls_prob(cls_prob: object, n: int) -> None:
    check_floating("cls_prob", cls_prob)
    check_shape("cls_prob", cls_prob, (n,), f"({n},), one confidence per detection")  # type: ignore[arg-type]
    check_finite("cls_prob", cls_prob)  # type: ignore[arg-type]
    if bool((cls_prob <= 0).any()) or bool((cls_prob > 1).any()):  # type: ignore[operator]
        raise ValueError(
            f"cls_prob: expected values in (0, 1], got min {cls_prob.min().item():.3g}, "  # type: ignore[union-attr]
            f"max {cls_prob.max().item():.3g}"  # type: ignore[union-attr]
        )


def _check_match_coeff(match_coeff: object) -> tuple[float, float, float]:
    if not (
        isinstance(match_coeff, (tuple, list))
        and len(match_coeff) == 3
        and all(isinstance(c, (int, float)) and not isinstance(c, bool) and math.isfinite(c) for c in match_coeff)
    ):
        raise TypeError(f"match_coeff: expected three finite numbers (alpha, beta, gamma), got {describe(match_coeff)}")
    return float(match_coeff[0]), float(match_coeff[1]), float(match_coeff[2])


def _match_scores(
    scores: Tensor,
    cls_prob: Tensor,
    ious: Tensor,
    same_label: Tensor,
    match_coeff: tuple[float, float, float],
    embedding_weight: float,
) -> Tensor:
    n = scores.shape[0]
    alpha, beta, gamma = match_coeff
    iou_term = torch.cat([ious.new_zeros(n, 1), ious], dim=1)  # (N, M + 1), dummy IoU 0
    label_term = torch.cat([scores.new_ones(n, 1), same_label.to(scores.dtype)], dim=1)  # dummy 1
    return (
        embedding_weight * F.log_softmax(scores, dim=1)
        + alpha * torch.log(cls_prob)[:, None]
        + beta * iou_term.to(scores.dtype)
        + gamma * label_term
    )


def assign_ids(comp: Tensor) -> Tensor:
    """Greedy id assignment from combined scores: new object, a remembered id, or ``-1``.

    Each detection takes the argmax of its row (the first maximum on ties). Column 0 means a new
    object: new ids ``M, M + 1, ...`` are handed out in detection order. Column ``1 + j`` claims
    remembered object ``j``; when several detections claim the same ``j`` the one with the higher
    ``comp`` wins (the earlier detection on a tie) and the others get ``-1`` (no id in this frame).

    Args:
        comp (Tensor[N, M + 1]): :func:`match_scores`.

    Returns:
        Tensor[N] (int64): ids in ``[0, M)`` for matches, ``>= M`` for new objects, ``-1`` for losers.

    Example:
        >>> assign_ids(torch.tensor([[0.0, 5.0], [1.0, 0.0], [0.0, 7.0]]))
        tensor([-1,  1,  0])
    """
    check_floating("comp", comp)
    check_ndim("comp", comp, 2, "(N, M + 1)")
    if comp.shape[1] < 1:
        raise ValueError(f"comp: expected at least the dummy column, got {describe(comp)}")
    check_finite("comp", comp)
    return _assign_ids(comp)


def _assign_ids(comp: Tensor) -> Tensor:
    m = comp.shape[1] - 1
    best = comp.argmax(dim=1)  # (N,) first maximum on ties
    ids = torch.full((comp.shape[0],), -1, dtype=torch.int64)
    winner: dict[int, tuple[float, int]] = {}
    new = m
    for i, k in enumerate(best.tolist()):
        if k == 0:
            ids[i] = new
            new += 1
            continue
        score = float(comp[i, k])
        if k - 1 not in winner or score > winner[k - 1][0]:  # strictly higher takes it over
            winner[k - 1] = (score, i)
    for j, (_, i) in winner.items():
        ids[i] = j
    return ids


class TrackMemory(NamedTuple):
    """What the tracker remembers of every object seen so far; row ``j`` is track id ``j``.

    Attributes:
        embeddings (Tensor[M, D]): the latest embedding of each object.
        boxes (Tensor[M, 4]): its latest box ``(x1, y1, x2, y2)``.
        labels (Tensor[M]): its class (int64).
    """

    embeddings: Tensor
    boxes: Tensor
    labels: Tensor


def empty_memory(dim: int) -> TrackMemory:
    """A memory with no objects, for embeddings of size ``dim``."""
    dim = check_int("dim", dim, minimum=1)
    return TrackMemory(torch.zeros(0, dim), torch.zeros(0, 4), torch.zeros(0, dtype=torch.int64))


def track_step(
    memory: TrackMemory,
    embeddings: Tensor,
    boxes: Tensor,
    labels: Tensor,
    cls_prob: Tensor,
    *,
    match_coeff: Sequence[float] = (1.0, 2.0, 10.0),
    embedding_weight: float = 1.0,
) -> tuple[Tensor, TrackMemory]:
    """One frame of tracking: score, assign ids, update the memory.

    :func:`track_scores` -> :func:`match_scores` (with ``torchvision.ops.box_iou``) ->
    :func:`assign_ids`. A matched object's embedding, box and label are replaced by the detection's;
    new objects are appended (in detection order), so their ids are their memory rows.

    Args:
        memory (TrackMemory): the objects seen so far (:func:`empty_memory` at the first frame).
        embeddings (Tensor[N, D]): this frame's detections, embedded.
        boxes (Tensor[N, 4]): their boxes ``(x1, y1, x2, y2)``, finite.
        labels (Tensor[N]): their classes (int64).
        cls_prob (Tensor[N]): their class confidences in ``(0, 1]``.
        match_coeff, embedding_weight: as in :func:`match_scores`.

    Returns:
        tuple: ``ids (Tensor[N], int64, -1 for a lost contest)`` and the updated memory.
    """
    if not isinstance(memory, TrackMemory):
        raise TypeError(f"memory: expected a TrackMemory (see empty_memory), got {describe(memory)}")
    _check_embeddings(embeddings, memory.embeddings)
    n = embeddings.shape[0]
    check_floating("boxes", boxes)
    check_shape("boxes", boxes, (n, 4), f"({n}, 4) with rows (x1, y1, x2, y2)")
    check_finite("boxes", boxes)
    check_int_tensor("labels", labels)
    check_shape("labels", labels, (n,), f"({n},), one class per detection")
    _check_cls_prob(cls_prob, n)
    coeff = _check_match_coeff(match_coeff)
    scores = _track_scores(embeddings, memory.embeddings)  # (N, M + 1)
    ious = box_iou(boxes.float(), memory.boxes.float()).to(scores.dtype)  # (N, M)
    same = labels.long()[:, None] == memory.labels[None, :]  # (N, M)
    comp = _match_scores(scores, cls_prob.to(scores.dtype), ious, same, coeff, float(embedding_weight))
    if not bool(torch.isfinite(comp).all()):
        raise ValueError("embeddings: expected finite values (the match scores came out NaN or inf)")
    ids = _assign_ids(comp)
    m = memory.embeddings.shape[0]
    matched, new = (ids >= 0) & (ids < m), ids >= m  # new ids are already in increasing order
    updated = []
    for old, value in zip(memory, (embeddings.detach(), boxes, labels.long())):
        old = old.clone()
        old[ids[matched]] = value[matched].to(old.dtype)
        updated.append(torch.cat([old, value[new].to(old.dtype)]))
    return ids, TrackMemory(*updated)


class TrackHead(nn.Module):
    """MaskTrack R-CNN's track head: RoI features -> an embedding, by ``num_fcs`` linear layers.

    ReLU between the layers but not after the last (the reference: ``roi_feat_size = 7``,
    ``num_fcs = 2``, 1024 outputs; the defaults here are CPU-sized).

    Args:
        in_channels (int): channels of the RoI features.
        roi_size (int): their spatial size ``S``. Default: ``7``.
        hidden (int): width of the hidden layers. Default: ``64``.
        out_channels (int): embedding size ``D``. Default: ``32``.
        num_fcs (int): number of linear layers. Default: ``2``.
    """

    def __init__(
        self, in_channels: int, roi_size: int = 7, hidden: int = 64, out_channels: int = 32, num_fcs: int = 2
    ) -> None:
        super().__init__()
        self.in_channels = check_int("in_channels", in_channels, minimum=1)
        self.roi_size = check_int("roi_size", roi_size, minimum=1)
        size = in_channels * roi_size**2
        hidden_sizes = [check_int("hidden", hidden, minimum=1)] * (check_int("num_fcs", num_fcs, minimum=1) - 1)
        sizes = [size, *hidden_sizes, check_int("out_channels", out_channels, minimum=1)]
        self.fcs = nn.ModuleList(nn.Linear(a, b) for a, b in zip(sizes[:-1], sizes[1:]))

    def forward(self, roi_features: Tensor) -> Tensor:
        """``Tensor[K, C, S, S] -> Tensor[K, D]``; NaN passes through (features are not scanned)."""
        c, r = self.in_channels, self.roi_size
        check_floating("roi_features", roi_features)
        check_ndim("roi_features", roi_features, 4, f"(K, {c}, {r}, {r})")
        check_shape("roi_features", roi_features, (None, c, r, r), f"(K, {c}, {r}, {r})")
        x = roi_features.flatten(1)  # (K, C*S*S)
        for i, fc in enumerate(self.fcs):
            x = fc(x)
            if i < len(self.fcs) - 1:
                x = F.relu(x)
        return x


def track_loss(scores: Tensor, targets: Tensor) -> Tensor:
    """The track head's training loss: cross-entropy over each score row (MaskTrack R-CNN ``loss_match``).

    Args:
        scores (Tensor[N, M + 1]): :func:`track_scores`.
        targets (Tensor[N]): int64; 0 = a new object, ``1 + j`` = remembered object ``j``.

    Returns:
        Tensor[]: the mean over the ``N`` rows.
    """
    check_floating("scores", scores)
    check_ndim("scores", scores, 2, "(N, M + 1)")
    check_int_tensor("targets", targets)
    check_shape("targets", targets, (scores.shape[0],), f"({scores.shape[0]},)")
    if targets.numel() and (int(targets.min()) < 0 or int(targets.max()) >= scores.shape[1]):
        raise ValueError(f"targets: expected values in [0, {scores.shape[1]}), got {targets.tolist()}")
    return F.cross_entropy(scores, targets.long())

"""Perceptual loss: Gram matrices, the style and feature reconstruction losses, and what they optimize.

Paper: Justin Johnson, Alexandre Alahi, Li Fei-Fei, "Perceptual Losses for Real-Time Style Transfer
and Super-Resolution", ECCV 2016, arXiv:1603.08155. Style by Gram matrices: Leon A. Gatys, Alexander
S. Ecker, Matthias Bethge, "A Neural Algorithm of Artistic Style", 2015, arXiv:1508.06576, and
"Texture Synthesis Using Convolutional Neural Networks", NeurIPS 2015, arXiv:1505.07376.

Summary. A perceptual loss trains an *image transform net* ``f_W`` with a fixed, pre-trained *loss
network* ``phi`` whose early filters resemble human perception (both networks live in
:mod:`lessons.loss_network`; every name is importable from here too). Two losses are read off
``phi``'s activations ``phi_j`` (``[C_j, H_j, W_j]`` at layer ``j``), both squared Euclidean
(Frobenius) norms normalized as in the paper:

* eq. 2, the feature reconstruction loss keeps the content:
  ``l_feat = ||phi_j(y_hat) - phi_j(y)||_2^2 / (C_j H_j W_j)`` at one layer (``relu2_2``);
* eq. 3, the Gram matrix ``G_j = F F^T / (C_j H_j W_j)`` with ``F = phi_j`` reshaped to
  ``[C_j, H_j W_j]``: which channels fire together, wherever they fire;
* eq. 4, the style reconstruction loss ``l_style^j = ||G_j(y_hat) - G_j(y_s)||_F^2``, summed over
  several layers ``J`` (``relu1_2, relu2_2, relu3_3, relu4_3``).

For super-resolution only the feature loss is used. The same losses also drive image *optimization*
(Gatys): :func:`synthesize_texture` matches Gram matrices only, :func:`style_transfer` adds the
feature loss of a content photo. :func:`band_energy` measures detail in a band of spatial
frequencies, so that a super-resolved image can be compared with the true one.

Deviations from the paper and from ``pytorch/examples : fast_neural_style``:

* The example's losses are ``mse_loss`` means: its style loss averages over ``B*C*C`` (``C^2`` times
  smaller than eq. 4 per image) and its default weights (``content_weight = 1e5``,
  ``style_weight = 1e10``) are tuned for that and for images in ``[0, 255]``; they are not the
  paper's. Here the style loss is eq. 4 (sum over ``C*C``, mean over the batch); the feature loss is
  eq. 2 per image, averaged over the batch, which equals ``mse_loss``.
* Images are in ``[0, 1]``; the ImageNet normalization happens inside the loss network.
* Offline the loss network is the course's small trained network (or random filters), not VGG16; see
  :mod:`lessons.loss_network`.
* Image optimization (:func:`optimize_image`) uses Adam written out, identical to ``torch.optim.Adam``
  plus a clamp to ``[0, 1]``, to spare a notebook the import of ``torch._dynamo``.

NaN policy: feature maps, logits, images and the inputs of losses are not scanned for NaN/inf (a
full scan would cost more than the operation), so a NaN there passes through to the result; boxes,
coordinates, sizes, indices and labels are checked and a NaN/inf there raises ``ValueError``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import Tensor

from lessons import loss_network as _loss_network
from lessons._checks import (
    as_generator,
    check_choice,
    check_floating,
    check_int,
    check_int_pair,
    check_ndim,
    check_non_negative,
    check_positive,
    check_same_device,
    check_same_dtype,
    describe,
)
from lessons.loss_network import *  # noqa: F403  (re-exported: the networks are importable from here too)
from lessons.loss_network import LossNetwork, _check_features, _check_images

__all__ = [
    "gram_matrix",
    "gram_matrix_loop",
    "feature_reconstruction_loss",
    "style_loss",
    "total_variation",
    "BandError",
    "band_pass",
    "band_error",
    "optimize_image",
    "synthesize_texture",
    "style_transfer",
    *_loss_network.__all__,
]


# ----------------------------------------------------------------------------------------------
# Gram matrix and the losses
# ----------------------------------------------------------------------------------------------


def gram_matrix(features: Tensor, *, normalize: bool = True) -> Tensor:
    r"""The Gram matrix of each feature map: which channels fire together, wherever they fire.

    Johnson et al. eq. 3, per image:

    .. math::
        G_j(x)_{c,c'} = \frac{1}{C_j H_j W_j} \sum_{h,w} \phi_j(x)_{c,h,w}\, \phi_j(x)_{c',h,w}
        \quad\Longleftrightarrow\quad G = \frac{F F^\top}{C H W},\; F = \phi_j(x) \text{ as } [C, HW].

    Summing over the positions ``(h, w)`` throws away *where* a feature is; only *which channels
    co-occur* is kept, which is why the Gram matrix describes style (texture) rather than content.

    Args:
        features (Tensor[B, C, H, W]): activations of one layer, floating point.
        normalize (bool, keyword-only): divide by ``C*H*W`` (Johnson, ``pytorch/examples``); ``False``
            gives Gatys' unnormalized ``G = F F^T``. Default: ``True``.

    Returns:
        Tensor[B, C, C]: symmetric, positive semi-definite.

    Note:
        Three conventions exist and must not be mixed. Johnson (eqs. 3-4) divides the Gram matrix by
        ``C*H*W`` and takes the squared Frobenius norm of the difference (:func:`style_loss`).
        Gatys keeps ``G = F F^T`` and divides the squared difference by ``4 N^2 M^2`` (``N = C``,
        ``M = H*W``): ``E = sum((G - A)^2) / (4 N^2 M^2)``, which is exactly 1/4 of Johnson's layer
        loss for the same features. ``pytorch/examples`` divides by ``C*H*W`` but takes a *mean*
        over the ``C*C`` entries, ``C^2`` times smaller than eq. 4 (hence its style weight 1e10).
        The normalized Gram does not grow with the image size, so a style image and an output of
        different sizes can be compared directly.

    Example:
        >>> gram_matrix(torch.arange(12.0).view(1, 2, 2, 3))
        tensor([[[ 4.5833, 12.0833],
                 [12.0833, 37.5833]]])
    """
    _check_features("features", features)
    b, c, h, w = features.shape
    flat = features.reshape(b, c, h * w)  # (B, C, H*W)
    gram = torch.bmm(flat, flat.transpose(1, 2))  # (B, C, C)
    return gram / (c * h * w) if normalize else gram


def gram_matrix_loop(features: Tensor) -> Tensor:
    """Slow reference for :func:`gram_matrix`: the sum over positions written out as loops.

    Args:
        features (Tensor[B, C, H, W]): activations of one layer.

    Returns:
        Tensor[B, C, C]: ``G[b, i, j] = sum_{h, w} F[b, i, h, w] * F[b, j, h, w] / (C*H*W)``.
    """
    _check_features("features", features)
    b, c, h, w = features.shape
    gram = features.new_zeros(b, c, c)
    for n in range(b):
        for i in range(c):
            for j in range(c):
                total = features.new_zeros(())
                for y in range(h):
                    for x in range(w):
                        total = total + features[n, i, y, x] * features[n, j, y, x]
                gram[n, i, j] = total / (c * h * w)
    return gram


def feature_reconstruction_loss(features: Tensor, target: Tensor) -> Tensor:
    r"""The feature reconstruction (content) loss at one layer (Johnson et al. eq. 2).

    .. math::
        \ell_{feat}^{\phi,j}(\hat y, y) = \frac{1}{C_j H_j W_j} \lVert \phi_j(\hat y) - \phi_j(y) \rVert_2^2,

    the squared Euclidean norm over the ``C_j*H_j*W_j`` values of one image, normalized by their
    number, averaged over the batch: the mean over all ``B*C*H*W`` elements (``F.mse_loss``).

    Args:
        features (Tensor[B, C, H, W]): ``phi_j`` of the output image.
        target (Tensor[B, C, H, W]): ``phi_j`` of the content image, same shape.

    Returns:
        Tensor[] (scalar): the loss.
    """
    _check_features("features", features)
    _check_features("target", target)
    check_same_dtype("target", target, "features", features)
    check_same_device("target", target, "features", features)
    if target.shape[0] != features.shape[0]:
        raise ValueError(
            f"target: expected the same batch size as features ({features.shape[0]}), got batch "
            f"size {target.shape[0]} (shape {tuple(target.shape)}); mismatched batch sizes"
        )
    if target.shape != features.shape:
        raise ValueError(
            f"target: expected the shape of features {tuple(features.shape)}, got "
            f"{tuple(target.shape)}; the output and the content image must be of the same size"
        )
    return F.mse_loss(features, target.detach(), reduction="mean")


def _as_layers(name: str, value: object) -> dict[str, object]:
    """A Mapping is kept (its keys name layers); a list or tuple is keyed by position."""
    if isinstance(value, Mapping):
        layers = dict(value)
    elif isinstance(value, (list, tuple)):
        layers = {str(i): v for i, v in enumerate(value)}
    else:
        raise TypeError(f"{name}: expected a dict {{layer name: Tensor}} or a list of Tensors, got {describe(value)}")
    if not layers:
        raise ValueError(f"{name}: expected at least one layer, got an empty {type(value).__name__}")
    return layers


def style_loss(
    features: Mapping[str, Tensor] | Sequence[Tensor],
    style_grams: Mapping[str, Tensor] | Sequence[Tensor],
    *,
    weights: Mapping[str, float] | Sequence[float] | None = None,
) -> Tensor:
    r"""The style reconstruction loss summed over several layers (Johnson et al. eq. 4, with weights).

    .. math::
        \ell_{style}^{\phi,j}(\hat y, y_s) = \lVert G_j(\hat y) - G_j(y_s) \rVert_F^2
        = \sum_{c,c'} \big(G_j(\hat y)_{c,c'} - G_j(y_s)_{c,c'}\big)^2, \qquad
        \ell_{style} = \sum_{j \in J} w_j\, \ell_{style}^{\phi,j},

    with :func:`gram_matrix` normalized by ``C*H*W`` (eq. 3); each image's loss is summed over its
    ``C*C`` entries, then the batch is averaged. The paper sums the layers with weight 1 (``w_j =
    1``); ``pytorch/examples`` takes a mean over ``B*C*C`` instead, ``C^2`` times smaller per layer.

    Args:
        features (dict[str, Tensor[B, C_j, H_j, W_j]] or list): activations of the output image per
            layer (as returned by :class:`LossNetwork`).
        style_grams (dict[str, Tensor[B or 1, C_j, C_j]] or list): the style image's Gram matrices,
            same keys (or same length); a batch of 1 is broadcast to ``B``.
        weights (dict[str, float] or list[float] or None, keyword-only): ``w_j >= 0`` per layer, same
            keys; ``None`` weighs every layer 1. Default: ``None``.

    Returns:
        Tensor[] (scalar): the weighted sum of the per-layer losses.

    Note:
        Do not feed Gatys' unnormalized Gram matrices (``gram_matrix(..., normalize=False)``) to this
        loss: their scale grows with ``H*W`` and the weights tuned for one convention are wrong by
        orders of magnitude for the other (see :func:`gram_matrix`).
    """
    feats = _as_layers("features", features)
    grams = _as_layers("style_grams", style_grams)
    if set(feats) != set(grams):
        raise ValueError(f"style_grams: expected the same layers as features {sorted(feats)}, got {sorted(grams)}")
    if weights is None:
        w = {key: 1.0 for key in feats}
    else:
        w = _as_layers("weights", weights)
        if set(w) != set(feats):
            raise ValueError(f"weights: expected the layers {sorted(feats)}, got {sorted(w)}")
        for key, value in w.items():
            check_non_negative(f"weights[{key!r}]", value)
    total: Tensor | None = None
    for key, feat in feats.items():
        _check_features(f"features[{key!r}]", feat)
        gram_target = grams[key]
        check_floating(f"style_grams[{key!r}]", gram_target)
        b, c = feat.shape[:2]  # type: ignore[union-attr]
        check_ndim(f"style_grams[{key!r}]", gram_target, 3, "(B, C, C)")  # type: ignore[arg-type]
        if gram_target.shape[1:] != (c, c):  # type: ignore[union-attr]
            raise ValueError(
                f"style_grams[{key!r}]: expected shape (B, {c}, {c}) to match the {c} channels of "
                f"features[{key!r}], got {tuple(gram_target.shape)}"  # type: ignore[union-attr]
            )
        if gram_target.shape[0] not in (1, b):  # type: ignore[union-attr]
            raise ValueError(
                f"style_grams[{key!r}]: expected batch size 1 or {b} (that of features), got "
                f"{gram_target.shape[0]}; mismatched batch sizes"  # type: ignore[union-attr]
            )
        gram = gram_matrix(feat)  # type: ignore[arg-type]  # (B, C, C)
        diff = gram - gram_target.detach().expand_as(gram)  # type: ignore[union-attr]  # (B, C, C)
        layer = diff.pow(2).sum(dim=(1, 2)).mean()  # eq. 4 per image, mean over the batch
        total = w[key] * layer if total is None else total + w[key] * layer
    assert total is not None
    return total


def total_variation(images: Tensor, *, reduction: str = "mean") -> Tensor:
    r"""Total variation: the squared differences of neighbouring pixels (a smoothness prior).

    .. math::
        \ell_{TV}(y) = \sum_{c,h,w} (y_{c,h,w+1} - y_{c,h,w})^2 + (y_{c,h+1,w} - y_{c,h,w})^2

    The paper adds it to the style transfer and super-resolution objectives (weight 1e-6..1e-4,
    chosen per style); the ``pytorch/examples`` code has no TV term. It is *not* a measure of
    sharpness: pixel noise raises it as much as true detail does (use :func:`band_error`).

    Args:
        images (Tensor[B, C, H, W]): images.
        reduction (str, keyword-only): ``"mean"`` (divide each of the two sums by its number of
            terms, then average over the batch), ``"sum"``, or ``"none"`` (the per-image means,
            ``Tensor[B]``). Default: ``"mean"``.

    Returns:
        Tensor[] or Tensor[B]: the total variation.

    Note:
        Some code uses absolute differences (anisotropic L1 TV) instead of squares; we use squares
        (the ``beta = 2`` form of Mahendran and Vedaldi that the paper cites).
    """
    _check_features("images", images)
    check_choice("reduction", reduction, ("mean", "sum", "none"))
    dx = images[..., :, 1:] - images[..., :, :-1]  # (B, C, H, W-1)
    dy = images[..., 1:, :] - images[..., :-1, :]  # (B, C, H-1, W)
    if reduction == "sum":
        return (dx**2).sum() + (dy**2).sum()
    per_image = _mean_or_zero(dx**2) + _mean_or_zero(dy**2)  # (B,)
    return per_image if reduction == "none" else per_image.mean()


def _mean_or_zero(squares: Tensor) -> Tensor:
    if squares.numel() == 0:  # a 1-pixel-wide image has no neighbours along that axis
        return squares.new_zeros(squares.shape[0])
    return squares.flatten(1).mean(dim=1)  # (B,)


class BandError(NamedTuple):
    """What :func:`band_error` measures, per image (``Tensor[B]`` each).

    Attributes:
        energy_ratio (Tensor[B]): band energy of the image over that of the target; 1 means as much
            detail as the target, below 1 blurrier, above 1 more (noise, ringing, over-sharpening).
        error (Tensor[B]): ``||band(image) - band(target)||^2 / ||band(target)||^2``; 0 is perfect,
            1 is what an image without any detail in the band (a flat or very blurry one) scores.
    """

    energy_ratio: Tensor
    error: Tensor


def _gaussian_blur(images: Tensor, sigma: float) -> Tensor:
    """Separable Gaussian blur with radius ``ceil(3 sigma)`` and reflection padding."""
    radius = max(1, int(math.ceil(3 * sigma)))
    x = torch.arange(-radius, radius + 1, dtype=images.dtype, device=images.device)
    kernel = torch.exp(-0.5 * (x / sigma) ** 2)
    kernel = kernel / kernel.sum()  # (2r+1,)
    c = images.shape[1]
    padded = F.pad(images, (radius, radius, radius, radius), mode="reflect")
    out = F.conv2d(padded, kernel.view(1, 1, 1, -1).expand(c, 1, 1, -1), groups=c)  # blur rows
    return F.conv2d(out, kernel.view(1, 1, -1, 1).expand(c, 1, -1, 1), groups=c)  # (B, C, H, W)


def band_pass(images: Tensor, *, sigmas: tuple[float, float] = (0.5, 2.0)) -> Tensor:
    r"""Difference of Gaussians: the detail of ``images`` between two scales.

    .. math::
        \operatorname{band}(y) = g_{\sigma_1} * y - g_{\sigma_2} * y, \qquad \sigma_1 < \sigma_2,

    with Gaussian kernels of radius ``ceil(3 sigma)`` and reflection padding (the same blur as
    ``torchvision.transforms.functional.gaussian_blur``). The defaults keep structures of about 1 to 4
    pixels: what 4x average-pooling removes and a super-resolution method must restore, while most of
    the energy of pixel-to-pixel noise (at scales below ``sigma_1``) is removed.

    Args:
        images (Tensor[B, C, H, W]): images, ``H, W > 3 * sigma_2``.
        sigmas (tuple[float, float], keyword-only): ``(sigma_1, sigma_2)`` in pixels,
            ``0 < sigma_1 < sigma_2``. Default: ``(0.5, 2.0)``.

    Returns:
        Tensor[B, C, H, W]: the band-passed images (zero mean up to border effects).
    """
    _check_features("images", images)
    low, high = _check_sigmas(sigmas, images)
    return _gaussian_blur(images, low) - _gaussian_blur(images, high)


def _check_sigmas(sigmas: object, images: Tensor) -> tuple[float, float]:
    if not isinstance(sigmas, (tuple, list)) or len(sigmas) != 2:
        raise TypeError(f"sigmas: expected a pair (sigma_1, sigma_2), got {describe(sigmas)}")
    for value in sigmas:
        check_positive("sigmas", value)
    low, high = float(sigmas[0]), float(sigmas[1])
    if not low < high:
        raise ValueError(f"sigmas: expected sigma_1 < sigma_2, got {tuple(sigmas)}")
    if min(images.shape[-2:]) <= math.ceil(3 * high):
        raise ValueError(
            f"images: expected H, W > {math.ceil(3 * high)} for sigma_2 = {high}, got shape {tuple(images.shape)}"
        )
    return low, high


def band_error(images: Tensor, target: Tensor, *, sigmas: tuple[float, float] = (0.5, 2.0)) -> BandError:
    r"""How much of the target's detail an image has, and how much of it is right.

    With :math:`b = \operatorname{band}` (:func:`band_pass`), per image:

    .. math::
        \text{energy\_ratio} = \frac{\lVert b(\hat y) \rVert^2}{\lVert b(y) \rVert^2}, \qquad
        \text{error} = \frac{\lVert b(\hat y) - b(y) \rVert^2}{\lVert b(y) \rVert^2}.

    Unlike total variation, neither rewards noise: noise raises ``energy_ratio`` above 1 and adds to
    ``error``. A blurry image has a small ``energy_ratio`` and an ``error`` near 1; only detail in
    the right place brings ``error`` towards 0.

    Args:
        images (Tensor[B, C, H, W]): e.g. super-resolved images.
        target (Tensor[B, C, H, W] or Tensor[1, C, H, W]): the true images (broadcast over ``B``).
        sigmas (tuple[float, float], keyword-only): the band, see :func:`band_pass`. Default: ``(0.5, 2.0)``.

    Returns:
        BandError: ``(energy_ratio, error)``, ``Tensor[B]`` each.
    """
    _check_features("images", images)
    _check_features("target", target)
    check_same_dtype("target", target, "images", images)
    if target.shape[1:] != images.shape[1:] or target.shape[0] not in (1, images.shape[0]):
        raise ValueError(
            f"target: expected shape (1 or {images.shape[0]}, {', '.join(map(str, images.shape[1:]))}), "
            f"got {tuple(target.shape)}"
        )
    low, high = _check_sigmas(sigmas, images)
    band = _gaussian_blur(images, low) - _gaussian_blur(images, high)  # (B, C, H, W)
    band_target = (_gaussian_blur(target, low) - _gaussian_blur(target, high)).expand_as(band)
    energy_target = band_target.pow(2).flatten(1).sum(1)  # (B,)
    ratio = band.pow(2).flatten(1).sum(1) / energy_target
    error = (band - band_target).pow(2).flatten(1).sum(1) / energy_target
    return BandError(ratio, error)


# ----------------------------------------------------------------------------------------------
# Optimization: texture synthesis and style transfer
# ----------------------------------------------------------------------------------------------


def optimize_image(
    image: Tensor,
    loss_fn: Callable[[Tensor], Tensor | Mapping[str, Tensor]],
    *,
    steps: int = 100,
    lr: float = 0.05,
    betas: tuple[float, float] = (0.9, 0.999),
    eps: float = 1e-8,
) -> tuple[Tensor, dict[str, list[float]]]:
    r"""Minimize ``loss_fn`` over the pixels of an image with Adam, keeping the pixels in ``[0, 1]``.

    The optimizer behind :func:`synthesize_texture` and :func:`style_transfer` (and the notebook's
    super-resolution experiment). Adam (Kingma and Ba 2015, arXiv:1412.6980, Algorithm 1) is written
    out:

    .. math::
        m \leftarrow \beta_1 m + (1 - \beta_1) g, \quad v \leftarrow \beta_2 v + (1 - \beta_2) g^2,
        \quad x \leftarrow \operatorname{clamp}_{[0, 1]}\Big(x - \text{lr} \cdot
        \frac{m / (1 - \beta_1^t)}{\sqrt{v / (1 - \beta_2^t)} + \epsilon}\Big).

    Note:
        This is ``torch.optim.Adam`` (defaults, no weight decay) followed by a clamp; it is tested
        against it. It is written out because creating any ``torch.optim`` optimizer imports
        ``torch._dynamo`` on first use, which costs several seconds of a notebook's CPU budget.

    Args:
        image (Tensor[B, 3, H, W]): the starting image (not modified).
        loss_fn (Callable): ``loss_fn(x)`` returns a scalar Tensor, or a dict of named scalar terms
            whose sum is minimized.
        steps (int, keyword-only): optimizer steps. Default: ``100``.
        lr (float, keyword-only): the learning rate (the largest step of a pixel is about ``lr``).
            Default: ``0.05``.
        betas (tuple[float, float], keyword-only): Adam's decay rates. Default: ``(0.9, 0.999)``.
        eps (float, keyword-only): Adam's epsilon. Default: ``1e-8``.

    Returns:
        tuple[Tensor[B, 3, H, W], dict[str, list[float]]]: the optimized image, and the history of
        ``"total"`` and of every named term: ``steps + 1`` values each, the first before any step,
        the last for the returned image.
    """
    _check_features("image", image)
    _check_optim(steps, lr)
    x = image.detach().clone().requires_grad_(True)
    m = torch.zeros_like(x)
    v = torch.zeros_like(x)
    beta1, beta2 = betas
    history: dict[str, list[float]] = {}
    for t in range(steps + 1):  # the last pass only records the final losses
        out = loss_fn(x)
        terms = dict(out) if isinstance(out, Mapping) else {}
        total = sum(terms.values()) if terms else out
        if not isinstance(total, Tensor) or total.numel() != 1:
            raise TypeError(f"loss_fn: expected a scalar Tensor or a dict of them, got {describe(out)}")
        for name, value in {"total": total, **terms}.items():
            history.setdefault(name, []).append(float(value.detach()))
        if t == steps:
            break
        (grad,) = torch.autograd.grad(total, x)
        with torch.no_grad():
            m.mul_(beta1).add_(grad, alpha=1 - beta1)
            v.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
            m_hat = m / (1 - beta1 ** (t + 1))
            v_hat = v / (1 - beta2 ** (t + 1))
            x.sub_(lr * m_hat / (v_hat.sqrt() + eps)).clamp_(0.0, 1.0)
    return x.detach(), history


def _perceptual_objective(
    loss_net: LossNetwork,
    *,
    style_grams: dict[str, Tensor],
    layer_weights: dict[str, float],
    style_weight: float,
    content: dict[str, Tensor] | None,
    content_weight: float,
    tv_weight: float,
) -> Callable[[Tensor], dict[str, Tensor]]:
    """The objective of :func:`style_transfer` as named, weighted terms for :func:`optimize_image`:
    ``"style/<layer>"`` per style layer, ``"content"`` if there is a content target, ``"tv"`` if its
    weight is positive."""

    def loss_fn(image: Tensor) -> dict[str, Tensor]:
        feats = loss_net(image)
        terms = {
            f"style/{name}": style_weight * layer_weights[name] * style_loss({name: feats[name]}, {name: gram})
            for name, gram in style_grams.items()
        }
        for name, target in (content or {}).items():
            terms["content"] = content_weight * feature_reconstruction_loss(feats[name], target)
        if tv_weight:
            terms["tv"] = tv_weight * total_variation(image)
        return terms

    return loss_fn


def _with_style_total(history: dict[str, list[float]]) -> dict[str, list[float]]:
    layers = [values for name, values in history.items() if name.startswith("style/")]
    history["style"] = [sum(step) for step in zip(*layers)]
    return history


def _layer_weights(loss_net: LossNetwork, layer_weights: Mapping[str, float] | None) -> dict[str, float]:
    if layer_weights is None:
        return {name: 1.0 for name in loss_net.layers}
    if not isinstance(layer_weights, Mapping):
        raise TypeError(f"layer_weights: expected a dict {{layer name: weight}}, got {describe(layer_weights)}")
    for name, value in layer_weights.items():
        if name not in loss_net.layers:
            raise ValueError(f"layer_weights: expected layers among {list(loss_net.layers)}, got {name!r}")
        check_non_negative(f"layer_weights[{name!r}]", value)
    if not any(layer_weights.values()):
        raise ValueError(f"layer_weights: expected at least one positive weight, got {dict(layer_weights)}")
    return {name: float(value) for name, value in layer_weights.items() if value > 0}


def _check_optim(steps: int, lr: float) -> None:
    check_int("steps", steps, minimum=1)
    check_positive("lr", lr)


def _check_single(name: str, images: Tensor) -> None:
    if images.shape[0] != 1:
        raise ValueError(
            f"{name}: expected one image, shape (1, 3, H, W), got shape {tuple(images.shape)}; call once per image"
        )


def synthesize_texture(
    style: Tensor,
    loss_net: LossNetwork,
    *,
    size: int | tuple[int, int] = 64,
    layer_weights: Mapping[str, float] | None = None,
    steps: int = 100,
    lr: float = 0.1,
    tv_weight: float = 0.0,
    seed: int | torch.Generator = 0,
) -> tuple[Tensor, dict[str, list[float]]]:
    """Texture synthesis by optimization (Gatys 2015): noise pixels whose Gram matrices match ``style``'s.

    Minimizes ``sum_j w_j * ||G_j(x) - G_j(style)||_F^2 + tv_weight * TV(x)`` over the pixels ``x``
    (Adam, pixels clamped to ``[0, 1]`` after each step), starting from uniform noise.

    Args:
        style (Tensor[1, 3, Hs, Ws]): the texture to imitate, RGB in ``[0, 1]``.
        loss_net (LossNetwork): the fixed loss network.
        size (int | tuple[int, int], keyword-only): ``(H, W)`` of the output. Default: ``64``.
        layer_weights (dict[str, float] | None, keyword-only): ``w_j`` per layer of ``loss_net``;
            layers left out or at 0 are not used. ``None`` weighs all of them 1. Default: ``None``.
        steps (int, keyword-only): optimizer steps. Default: ``100``.
        lr (float, keyword-only): Adam's learning rate (pixels in ``[0, 1]``). Default: ``0.1``.
        tv_weight (float, keyword-only): total-variation weight. Default: ``0.0``.
        seed (int | torch.Generator, keyword-only): the randomness of the initial noise. Default: ``0``.

    Returns:
        tuple[Tensor[1, 3, H, W], dict[str, list[float]]]: the texture and the loss history of
        :func:`optimize_image`: ``"total"``, ``"style"``, the weighted ``"style/<layer>"`` of each used
        layer, and ``"tv"`` when ``tv_weight > 0``; ``steps + 1`` values each.
    """
    _check_images("style", style)
    _check_single("style", style)
    height, width = check_int_pair("size", size, minimum=8)
    _check_optim(steps, lr)
    check_non_negative("tv_weight", tv_weight)
    gen = as_generator("seed", seed)
    weights = _layer_weights(loss_net, layer_weights)
    with torch.no_grad():
        grams = {name: gram_matrix(f) for name, f in loss_net(style).items() if name in weights}
    noise = torch.rand(style.shape[0], 3, height, width, generator=gen, dtype=style.dtype)
    objective = _perceptual_objective(
        loss_net,
        style_grams=grams,
        layer_weights=weights,
        style_weight=1.0,
        content=None,
        content_weight=0.0,
        tv_weight=tv_weight,
    )
    image, history = optimize_image(noise.to(style.device), objective, steps=steps, lr=lr)
    return image, _with_style_total(history)


def style_transfer(
    content: Tensor,
    style: Tensor,
    loss_net: LossNetwork,
    *,
    content_layer: str = "relu2_2",
    content_weight: float = 1.0,
    style_weight: float = 1.0,
    layer_weights: Mapping[str, float] | None = None,
    tv_weight: float = 0.0,
    steps: int = 100,
    lr: float = 0.03,
) -> tuple[Tensor, dict[str, list[float]]]:
    """Style transfer by optimization: keep ``content``'s features, take ``style``'s Gram matrices.

    Minimizes ``content_weight * l_feat^{content_layer}(x, content) + style_weight * sum_j w_j *
    l_style^j(x, style) + tv_weight * TV(x)`` over the pixels ``x``, starting from the content image
    (Adam, pixels clamped to ``[0, 1]``). A :class:`TransformNet` trained on the same objective over
    many content images does this in one forward pass (Johnson et al.).

    Args:
        content (Tensor[1, 3, H, W]): the photo, RGB in ``[0, 1]``.
        style (Tensor[1, 3, Hs, Ws]): the style image; its size may differ.
        loss_net (LossNetwork): the fixed loss network.
        content_layer (str, keyword-only): the feature reconstruction layer. Default: ``"relu2_2"``.
        content_weight (float, keyword-only): weight of the feature loss. Default: ``1.0``.
        style_weight (float, keyword-only): weight of the style loss. Default: ``1.0``.
        layer_weights (dict[str, float] | None, keyword-only): per-layer style weights; ``None`` weighs
            all of ``loss_net``'s layers 1. Default: ``None``.
        tv_weight (float, keyword-only): total-variation weight. Default: ``0.0``.
        steps (int, keyword-only): optimizer steps. Default: ``100``.
        lr (float, keyword-only): Adam's learning rate. Default: ``0.03``.

    Returns:
        tuple[Tensor[1, 3, H, W], dict[str, list[float]]]: the stylized image and the weighted loss
        history: ``"total"``, ``"style"``, ``"style/<layer>"``, ``"content"``, and ``"tv"`` when
        ``tv_weight > 0``; ``steps + 1`` values each.
    """
    _check_images("content", content)
    _check_images("style", style)
    _check_single("content", content)
    _check_single("style", style)
    check_same_dtype("style", style, "content", content)
    if content_layer not in loss_net.layers:
        raise ValueError(
            f"content_layer: expected one of the loss network's layers {list(loss_net.layers)}, got {content_layer!r}"
        )
    check_non_negative("content_weight", content_weight)
    check_non_negative("style_weight", style_weight)
    check_non_negative("tv_weight", tv_weight)
    _check_optim(steps, lr)
    weights = _layer_weights(loss_net, layer_weights)
    with torch.no_grad():
        grams = {name: gram_matrix(f) for name, f in loss_net(style).items() if name in weights}
        target = {content_layer: loss_net(content)[content_layer]}
    objective = _perceptual_objective(
        loss_net,
        style_grams=grams,
        layer_weights=weights,
        style_weight=style_weight,
        content=target,
        content_weight=content_weight,
        tv_weight=tv_weight,
    )
    image, history = optimize_image(content, objective, steps=steps, lr=lr)
    return image, _with_style_total(history)

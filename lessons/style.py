"""Perceptual loss: Gram matrices, style and feature reconstruction losses, and the loss network.

Paper: Justin Johnson, Alexandre Alahi, Li Fei-Fei, "Perceptual Losses for Real-Time Style Transfer
and Super-Resolution", ECCV 2016, arXiv:1603.08155. Style by Gram matrices: Leon A. Gatys, Alexander
S. Ecker, Matthias Bethge, "A Neural Algorithm of Artistic Style", 2015, arXiv:1508.06576, and
"Texture Synthesis Using Convolutional Neural Networks", NeurIPS 2015, arXiv:1505.07376.

Summary. A perceptual loss trains an *image transform net* ``f_W`` with a fixed, pre-trained *loss
network* ``phi`` (VGG16) whose early filters resemble human perception. Two losses are read off
``phi``'s activations ``phi_j`` (``[C_j, H_j, W_j]`` at layer ``j``):

* the feature reconstruction loss keeps the content: the mean squared difference of ``phi_j(y_hat)``
  and ``phi_j(y)`` at one layer (``relu2_2``);
* the style reconstruction loss compares Gram matrices ``G_j = F F^T / (C_j H_j W_j)`` with
  ``F = phi_j`` reshaped to ``[C_j, H_j W_j]``: which channels fire together, wherever they fire,
  at several layers (``relu1_2, relu2_2, relu3_3, relu4_3``).

For super-resolution only the feature loss is used. The same losses also drive image *optimization*
(Gatys): :func:`synthesize_texture` matches Gram matrices only, :func:`style_transfer` adds the
feature loss of a content photo.

Deviations from the paper and from ``pytorch/examples : fast_neural_style``:

* The loss network uses ImageNet-pretrained VGG16 weights **only when they are already on disk**
  (:func:`find_vgg16_weights`); nothing is ever downloaded. Offline it falls back to a fixed-seed
  network of random multi-scale filters with the same layer names and strides. Random shallow
  networks capture texture statistics well enough for synthesis (Ustyuzhaninov, Brendel, Gatys,
  Bethge, "What does it take to generate natural textures?", ICLR 2017, arXiv:1606.00021; He, Wang,
  Hopcroft, "A Powerful Generative Model Using Random Weights for the Deep Image Representation",
  NeurIPS 2016, arXiv:1606.04801) but they know nothing about objects, so content kept by the feature
  loss is kept as edges and colours, not as semantics. :attr:`LossNetwork.source` says which network
  produced a result.
* Images are in ``[0, 1]`` (the example multiplies by 255 and divides again); the ImageNet
  normalization is applied inside the loss network, out of place.
* The style loss averages over ``B*C*C`` like the example's ``mse_loss`` (the paper's eq. 4 is the
  squared Frobenius norm per image, i.e. ``C^2`` times larger per layer).
* :class:`TransformNet` is the paper's architecture scaled down (fewer channels and residual blocks);
  its output is ``(tanh + 1) / 2`` in ``[0, 1]``, the paper's "scaled tanh". Its super-resolution
  variant predicts a correction to bicubic upsampling and has no normalization layers.
* Image optimization (:func:`optimize_image`) uses Adam written out, identical to ``torch.optim.Adam``
  plus a clamp to ``[0, 1]``, to spare a notebook the import of ``torch._dynamo``.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from lessons._checks import (
    check_choice,
    check_floating,
    check_int_pair,
    check_ndim,
    check_non_negative,
    check_positive,
    check_same_device,
    check_same_dtype,
    describe,
)

__all__ = [
    "VGG16_LAYERS",
    "VGG16_CONV_INDICES",
    "VGG16_POOL_INDICES",
    "VGG16_WEIGHTS_FILE",
    "WEIGHTS_ENV",
    "IMAGENET_MEAN",
    "IMAGENET_STD",
    "gram_matrix",
    "gram_matrix_loop",
    "feature_reconstruction_loss",
    "style_loss",
    "total_variation",
    "imagenet_normalize",
    "find_vgg16_weights",
    "vgg16_features",
    "RandomMultiScaleFeatures",
    "LossNetwork",
    "TransformNet",
    "optimize_image",
    "synthesize_texture",
    "style_transfer",
]

#: The loss network's layers and their indices in ``torchvision.models.vgg16().features``
#: (the output of that index's ReLU). The slices are ``features[0:4]``, ``[4:9]``, ``[9:16]``, ``[16:23]``.
VGG16_LAYERS: dict[str, int] = {"relu1_2": 3, "relu2_2": 8, "relu3_3": 15, "relu4_3": 22}
#: Indices of the 3x3 convolutions and of the 2x2 max-pools in ``vgg16().features``.
VGG16_CONV_INDICES = (0, 2, 5, 7, 10, 12, 14, 17, 19, 21, 24, 26, 28)
VGG16_POOL_INDICES = (4, 9, 16, 23, 30)
#: torchvision's file name for ``VGG16_Weights.IMAGENET1K_V1`` in ``torch.hub.get_dir()/checkpoints``.
VGG16_WEIGHTS_FILE = "vgg16-397923af.pth"
#: Environment variable that may point at a local VGG16 state dict.
WEIGHTS_ENV = "LESSONS_VGG16_WEIGHTS"
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)

# VGG16 ("configuration D") up to relu4_3: channels per conv, "M" for a 2x2 max-pool
_VGG16_CFG = (64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512)
_LAYER_STRIDE = {"relu1_2": 1, "relu2_2": 2, "relu3_3": 4, "relu4_3": 8}


# ----------------------------------------------------------------------------------------------
# Gram matrix and the losses
# ----------------------------------------------------------------------------------------------


def _check_features(name: str, features: object) -> None:
    check_floating(name, features)
    check_ndim(name, features, 4, "(B, C, H, W)")  # type: ignore[arg-type]
    if features.numel() == 0:  # type: ignore[union-attr]
        raise ValueError(
            f"{name}: expected a non-empty feature map (B, C, H, W), got shape "
            f"{tuple(features.shape)}"  # type: ignore[union-attr]
        )


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
        Two conventions exist and must not be mixed. Johnson divides the Gram matrix by ``C*H*W`` and
        compares with a mean of squares (:func:`style_loss`). Gatys keeps ``G = F F^T`` and divides the
        squared difference by ``4 N^2 M^2`` (``N = C``, ``M = H*W``): ``E = sum((G - A)^2) / (4 N^2 M^2)``.
        For the same features the Gatys layer loss is ``C^2 / 4`` times :func:`style_loss`'s (per
        image, weight 1). The normalized Gram does not grow with the image size, so a style image and
        an output of different sizes can be compared directly.

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

    averaged over the batch, i.e. the mean over all ``B*C*H*W`` elements (``F.mse_loss``).

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
        raise TypeError(
            f"{name}: expected a dict {{layer name: Tensor}} or a list of Tensors, got {describe(value)}"
        )
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
        \ell_{style} = \sum_{j \in J} w_j \cdot \operatorname{mean}_{b,c,c'}
        \big(G_j(\hat y)_{b,c,c'} - G_j(y_s)_{c,c'}\big)^2

    with :func:`gram_matrix` normalized by ``C*H*W`` and the mean over ``B*C*C`` of the example's
    ``mse_loss`` (the paper's squared Frobenius norm is ``C^2`` times larger per image).

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
        raise ValueError(
            f"style_grams: expected the same layers as features {sorted(feats)}, got {sorted(grams)}"
        )
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
        layer = ((gram - gram_target.detach().expand_as(gram)) ** 2).mean()  # type: ignore[union-attr]
        total = w[key] * layer if total is None else total + w[key] * layer
    assert total is not None
    return total


def total_variation(images: Tensor, *, reduction: str = "mean") -> Tensor:
    r"""Total variation: the squared differences of neighbouring pixels (a smoothness prior).

    .. math::
        \ell_{TV}(y) = \sum_{c,h,w} (y_{c,h,w+1} - y_{c,h,w})^2 + (y_{c,h+1,w} - y_{c,h,w})^2

    The paper adds it to the style transfer and super-resolution objectives (weight 1e-6..1e-4,
    chosen per style); the ``pytorch/examples`` code has no TV term. The same number, per image, is
    a sharpness measure: a blurry image has small neighbour differences.

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


# ----------------------------------------------------------------------------------------------
# The loss network
# ----------------------------------------------------------------------------------------------


def imagenet_normalize(images: Tensor) -> Tensor:
    """``(x - mean) / std`` with ImageNet's statistics, out of place.

    Args:
        images (Tensor[B, 3, H, W]): RGB in ``[0, 1]``.

    Returns:
        Tensor[B, 3, H, W]: normalized images. (The example's ``normalize_batch`` works in
        ``[0, 255]``, divides by 255 first and edits its input in place; the result is the same.)
    """
    _check_images("images", images)
    mean = images.new_tensor(IMAGENET_MEAN).view(1, 3, 1, 1)
    std = images.new_tensor(IMAGENET_STD).view(1, 3, 1, 1)
    return (images - mean) / std


def _check_images(name: str, images: object) -> None:
    _check_features(name, images)
    if images.shape[1] != 3:  # type: ignore[union-attr]
        raise ValueError(
            f"{name}: expected RGB images (B, 3, H, W), got shape "
            f"{tuple(images.shape)}"  # type: ignore[union-attr]
        )


def find_vgg16_weights(path: str | os.PathLike | None = None) -> Path | None:
    """Where local VGG16 ImageNet weights are, or ``None``. Never downloads anything.

    Looks, in this order, at ``path``, at the environment variable ``LESSONS_VGG16_WEIGHTS``, and at
    torchvision's cache file ``torch.hub.get_dir()/checkpoints/vgg16-397923af.pth`` (where
    ``vgg16(weights=VGG16_Weights.IMAGENET1K_V1)`` stores its download).

    Args:
        path (str | os.PathLike | None): an explicit state-dict file. Default: ``None``.

    Returns:
        Path | None: the first candidate that exists; ``None`` when there is none.

    Raises:
        FileNotFoundError: if ``path`` or the environment variable names a file that does not exist
            (an explicit request should not silently fall back to random filters).
    """
    for origin, candidate in (("path", path), (WEIGHTS_ENV, os.environ.get(WEIGHTS_ENV) or None)):
        if candidate is not None:
            file = Path(candidate).expanduser()
            if not file.is_file():
                raise FileNotFoundError(
                    f"{origin}: expected a VGG16 state-dict file, got {str(candidate)!r}, which does "
                    f"not exist (nothing is downloaded)"
                )
            return file
    cached = Path(torch.hub.get_dir()) / "checkpoints" / VGG16_WEIGHTS_FILE
    return cached if cached.is_file() else None


def vgg16_features(num_layers: int = 23) -> nn.Sequential:
    """The first ``num_layers`` modules of VGG16's ``features``, with torchvision's indices.

    Built here (randomly initialized, no classifier) so that a ``vgg16().features`` state dict loads
    into it key by key: ``features.{i}.weight`` is this Sequential's ``{i}.weight``.

    Args:
        num_layers (int): how many modules to keep; 23 ends with relu4_3. Default: ``23``.

    Returns:
        nn.Sequential: Conv2d(3x3, padding 1) / ReLU / MaxPool2d(2) at the indices of
        :data:`VGG16_CONV_INDICES` and :data:`VGG16_POOL_INDICES`.
    """
    layers: list[nn.Module] = []
    in_channels = 3
    for item in _VGG16_CFG:
        if item == "M":
            layers.append(nn.MaxPool2d(kernel_size=2, stride=2))
        else:
            layers += [nn.Conv2d(in_channels, int(item), kernel_size=3, padding=1), nn.ReLU()]
            in_channels = int(item)
    if not 1 <= num_layers <= len(layers):
        raise ValueError(f"num_layers: expected 1..{len(layers)}, got {num_layers!r}")
    return nn.Sequential(*layers[:num_layers])


def _multiscale_filters(
    in_channels: int, out_channels: int, kernel_sizes: Sequence[int], generator: torch.Generator
) -> Tensor:
    """Random filters of several sizes, zero-padded into one ``K x K`` kernel (``K = max size``).

    The ``out_channels`` filters are split as evenly as possible between the sizes; a filter of size
    ``k`` is Gaussian on its centred ``k x k`` window and 0 outside it, scaled by ``sqrt(2 / fan_in)``
    (He) with ``fan_in = in_channels * k * k``, so one convolution computes every scale at once.

    Returns:
        Tensor[C_out, C_in, K, K]: the weights.
    """
    size = max(kernel_sizes)
    weight = torch.zeros(out_channels, in_channels, size, size)
    groups = torch.arange(out_channels) % len(kernel_sizes)  # interleave the sizes
    for g, k in enumerate(kernel_sizes):
        rows = (groups == g).nonzero().flatten()
        lo = (size - k) // 2
        noise = torch.randn(len(rows), in_channels, k, k, generator=generator)  # (C_g, C_in, k, k)
        weight[rows, :, lo : lo + k, lo : lo + k] = noise * math.sqrt(2.0 / (in_channels * k * k))
    return weight


class RandomMultiScaleFeatures(nn.Module):
    """The offline stand-in for VGG16: four stages of random multi-scale filters, fixed by a seed.

    Stage ``j`` (named like VGG16's ``relu1_2 .. relu4_3``) average-pools by 2 (except the first),
    pads by reflection, and applies random filters of the sizes ``kernel_sizes`` side by side
    (:func:`_multiscale_filters`, one convolution) and a ReLU. So it has VGG16's strides (1, 2, 4, 8)
    and every stage sees several scales. The filters are Gaussian (He scaling, no bias); each stage's
    output is then divided by its root-mean-square on a fixed noise image so that all four layers
    start at the same activation size, as equal style weights assume. Nothing is trained.

    Random shallow networks are known to capture texture statistics well enough for synthesis
    (Ustyuzhaninov et al. 2017, arXiv:1606.00021), but a random network has no notion of objects.

    Args:
        seed (int, keyword-only): seeds the filters and the calibration image. Default: ``0``.
        channels (Sequence[int], keyword-only): output channels of the four stages.
            Default: ``(32, 64, 64, 64)``.
        kernel_sizes (Sequence[int], keyword-only): filter sizes of every stage (odd).
            Default: ``(3, 5, 7)``.
    """

    def __init__(
        self,
        *,
        seed: int = 0,
        channels: Sequence[int] = (32, 64, 64, 64),
        kernel_sizes: Sequence[int] = (3, 5, 7),
    ) -> None:
        super().__init__()
        if len(channels) != 4 or not all(isinstance(c, int) and c >= len(kernel_sizes) for c in channels):
            raise ValueError(
                f"channels: expected 4 stage widths, each >= {len(kernel_sizes)}, got {describe(channels)}"
            )
        if not kernel_sizes or not all(isinstance(k, int) and k >= 1 and k % 2 for k in kernel_sizes):
            raise ValueError(f"kernel_sizes: expected odd positive ints, got {describe(kernel_sizes)}")
        generator = torch.Generator().manual_seed(seed)
        size = max(kernel_sizes)
        stages = []
        x = imagenet_normalize(torch.rand(1, 3, 64, 64, generator=generator))  # calibration image
        in_channels = 3
        for j, out_channels in enumerate(channels):
            conv = nn.Conv2d(
                in_channels, out_channels, size, padding=size // 2, padding_mode="reflect", bias=False
            )
            conv.weight.data.copy_(_multiscale_filters(in_channels, out_channels, kernel_sizes, generator))
            pool: list[nn.Module] = [nn.AvgPool2d(2)] if j > 0 else []
            stage = nn.Sequential(*pool, conv, nn.ReLU())
            with torch.no_grad():
                rms = stage(x).pow(2).mean().sqrt()
                conv.weight.data /= rms
                x = stage(x)  # (1, C_j, 64 / s_j, 64 / s_j), unit RMS
            stages.append(stage)
            in_channels = out_channels
        self.stages = nn.ModuleList(stages)
        self.seed = seed
        self.channels = tuple(channels)
        self.kernel_sizes = tuple(kernel_sizes)


class LossNetwork(nn.Module):
    """The fixed loss network ``phi``: VGG16's relu1_2, relu2_2, relu3_3, relu4_3 (or a random stand-in).

    ``LossNetwork()(images)`` normalizes RGB images in ``[0, 1]`` with ImageNet's statistics and
    returns ``{layer name: Tensor[B, C_j, H / s_j, W / s_j]}`` for the requested layers, with strides
    ``s = 1, 2, 4, 8``. Its parameters are frozen (``requires_grad=False``) and it is in eval mode;
    gradients still flow to the *input*, which is what style transfer and the transform net need.

    Which network: pretrained VGG16 when :func:`find_vgg16_weights` finds a local state dict
    (``weights_path``, then ``$LESSONS_VGG16_WEIGHTS``, then torchvision's cache file), loaded with
    ``torch.load(weights_only=True)``; otherwise (unless ``pretrained=True``) the fixed-seed
    :class:`RandomMultiScaleFeatures`. :attr:`source` says which one was used.

    Args:
        layers (Sequence[str]): layer names, a subset of :data:`VGG16_LAYERS`, in any order.
            Default: all four.
        weights_path (str | os.PathLike | None, keyword-only): an explicit VGG16 state dict (the
            ``vgg16().state_dict()`` layout; keys ``features.{i}.weight``/``.bias``; a bare
            ``features`` state dict with keys ``{i}.weight`` works too). Default: ``None``.
        pretrained (bool | None, keyword-only): ``None`` uses local weights when found; ``False``
            always uses the random network; ``True`` requires local weights. Default: ``None``.
        seed (int, keyword-only): the random network's seed. Default: ``0``.

    Attributes:
        source (str): ``"vgg16 ImageNet weights from <file>"`` or ``"random multi-scale filters (seed
            0)"``.
        pretrained (bool): whether the VGG16 weights were loaded.
        channels (dict[str, int]): channels per returned layer.
        min_size (int): the smallest ``H`` and ``W`` accepted (8 for VGG16 up to relu4_3; the random
            network's reflection padding needs 32).

    Raises:
        FileNotFoundError: when ``pretrained=True`` and no local weights exist, or when an explicit
            path does not exist.
        ValueError: for unknown or empty ``layers``, or a state dict that lacks a needed tensor.
    """

    def __init__(
        self,
        layers: Sequence[str] = tuple(VGG16_LAYERS),
        *,
        weights_path: str | os.PathLike | None = None,
        pretrained: bool | None = None,
        seed: int = 0,
    ) -> None:
        super().__init__()
        if isinstance(layers, str) or not isinstance(layers, (list, tuple)):
            raise TypeError(f"layers: expected a list or tuple of layer names, got {describe(layers)}")
        if not layers:
            raise ValueError(
                f"layers: expected at least one of {list(VGG16_LAYERS)}, got an empty {type(layers).__name__}"
            )
        for name in layers:
            check_choice("layers", name, tuple(VGG16_LAYERS))
        if len(set(layers)) != len(layers):
            raise ValueError(f"layers: expected distinct names, got {list(layers)}")
        if pretrained not in (None, True, False):
            raise TypeError(f"pretrained: expected None, True or False, got {describe(pretrained)}")
        # keep the layers in network order; run the slices only as deep as needed
        self.layers = tuple(name for name in VGG16_LAYERS if name in layers)
        depth = max(list(VGG16_LAYERS).index(name) for name in self.layers) + 1

        file = find_vgg16_weights(weights_path) if pretrained is not False else None
        if file is None and pretrained is True:
            raise FileNotFoundError(
                "pretrained=True: no local VGG16 weights; put a state dict at "
                f"{Path(torch.hub.get_dir()) / 'checkpoints' / VGG16_WEIGHTS_FILE}, set "
                f"${WEIGHTS_ENV}, or pass weights_path (nothing is downloaded)"
            )
        if file is not None:
            features = vgg16_features(VGG16_LAYERS[self.layers[-1]] + 1)
            _load_vgg16_state(features, file)
            bounds = [0] + [VGG16_LAYERS[name] + 1 for name in VGG16_LAYERS][:depth]
            slices = [features[a:b] for a, b in zip(bounds[:-1], bounds[1:])]
            self.source = f"vgg16 ImageNet weights from {file}"
            widths = (64, 128, 256, 512)
            self.min_size = 2 ** (depth - 1)
        else:
            random_net = RandomMultiScaleFeatures(seed=seed)
            slices = list(random_net.stages[:depth])
            self.source = f"random multi-scale filters (seed {seed})"
            widths = random_net.channels
            self.min_size = 2 ** (depth - 1) * (max(random_net.kernel_sizes) // 2 + 1)
        self.pretrained = file is not None
        self.slices = nn.ModuleList(slices)
        self.channels = {name: widths[list(VGG16_LAYERS).index(name)] for name in self.layers}
        self.requires_grad_(False)
        self.eval()

    def forward(self, images: Tensor) -> dict[str, Tensor]:
        """Args: images (Tensor[B, 3, H, W]): RGB in ``[0, 1]``, ``H, W >= min_size``.

        Returns:
            dict[str, Tensor[B, C_j, H_j, W_j]]: one entry per requested layer, in network order.
        """
        _check_images("images", images)
        if min(images.shape[-2:]) < self.min_size:
            raise ValueError(
                f"images: expected H, W >= {self.min_size} for this loss network ({self.source}, "
                f"deepest layer {self.layers[-1]}), got shape {tuple(images.shape)}"
            )
        x = imagenet_normalize(images)
        out = {}
        for name, block in zip(VGG16_LAYERS, self.slices):
            x = block(x)  # (B, C_j, H / s_j, W / s_j)
            if name in self.layers:
                out[name] = x
        return out

    def train(self, mode: bool = True) -> LossNetwork:
        """The loss network stays in eval mode (it is fixed); ``train()`` is a no-op."""
        return super().train(False)


def _load_vgg16_state(features: nn.Sequential, file: Path) -> None:
    state = torch.load(file, map_location="cpu", weights_only=True)
    if not isinstance(state, Mapping):
        raise ValueError(f"{file}: expected a state dict (a mapping of tensors), got {describe(state)}")
    prefixed = any(str(key).startswith("features.") for key in state)
    own = features.state_dict()
    picked = {}
    for key, value in own.items():
        source_key = f"features.{key}" if prefixed else key
        if source_key not in state:
            raise ValueError(f"{file}: expected a VGG16 state dict with key {source_key!r}, it is missing")
        tensor = state[source_key]
        if not isinstance(tensor, Tensor) or tensor.shape != value.shape:
            raise ValueError(
                f"{file}: expected {source_key!r} of shape {tuple(value.shape)}, got {describe(tensor)}"
            )
        picked[key] = tensor
    features.load_state_dict(picked)


# ----------------------------------------------------------------------------------------------
# The image transform net (scaled down)
# ----------------------------------------------------------------------------------------------


class _ConvLayer(nn.Sequential):
    """Reflection padding, conv, and (unless last) InstanceNorm (if ``norm``) + ReLU; ``upsample`` first."""

    def __init__(
        self,
        c_in: int,
        c_out: int,
        kernel: int,
        *,
        stride: int = 1,
        upsample: int = 1,
        last: bool = False,
        norm: bool = True,
    ) -> None:
        layers: list[nn.Module] = []
        if upsample > 1:
            layers.append(nn.Upsample(scale_factor=upsample, mode="nearest"))
        layers += [nn.ReflectionPad2d(kernel // 2), nn.Conv2d(c_in, c_out, kernel, stride=stride)]
        if not last:
            layers += [nn.InstanceNorm2d(c_out, affine=True)] if norm else []
            layers.append(nn.ReLU())
        super().__init__(*layers)


class _ResidualBlock(nn.Module):
    def __init__(self, channels: int, *, norm: bool = True) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.ReflectionPad2d(1), nn.Conv2d(channels, channels, 3),
            *([nn.InstanceNorm2d(channels, affine=True)] if norm else []), nn.ReLU(),
            nn.ReflectionPad2d(1), nn.Conv2d(channels, channels, 3),
            *([nn.InstanceNorm2d(channels, affine=True)] if norm else []),
        )

    def forward(self, x: Tensor) -> Tensor:
        return x + self.body(x)


class TransformNet(nn.Module):
    """The image transform net ``f_W`` of Johnson et al. (their supplementary architecture), scaled down.

    Style transfer (``upscale=1``): conv 9x9 -> two stride-2 convs -> residual blocks -> two
    nearest-upsample convs -> conv 9x9, so the output has the input's size; output ``(tanh + 1) / 2``
    in ``[0, 1]`` (the paper's scaled tanh). Super-resolution (``upscale=2**k``): conv 9x9 -> residual
    blocks -> ``k`` upsample convs -> conv 9x9, added to the bicubic upsampling of the input and
    clamped to ``[0, 1]``. Reflection padding and (style transfer only) InstanceNorm as in
    ``pytorch/examples``.

    Deviation: the super-resolution net predicts a correction to bicubic upsampling (the global skip of
    VDSR, Kim et al. 2016, arXiv:1511.04587), with its last convolution initialized to zero, so the
    untrained net *is* bicubic upsampling and a few seconds of CPU training improve on it. Johnson's
    net predicts the image itself and uses BatchNorm; ours has no normalization (per-image statistics
    of tiny low-resolution patches would erase their colours).

    Args:
        channels (Sequence[int], keyword-only): widths of the three stages (paper: 32, 64, 128).
            Default: ``(8, 16, 32)``.
        num_residual (int, keyword-only): residual blocks (paper: 5 for style, 4 for SR). Default: ``2``.
        upscale (int, keyword-only): 1 for style transfer, 2/4/8 for super-resolution. Default: ``1``.
        outer_kernel (int, keyword-only): size of the first and last convolutions (paper: 9; 3 is
            several times faster on a CPU). Default: ``9``.

    Shape:
        ``(B, 3, H, W) -> (B, 3, upscale*H, upscale*W)``; with ``upscale=1``, ``H, W`` divisible by 4.
    """

    def __init__(
        self,
        *,
        channels: Sequence[int] = (8, 16, 32),
        num_residual: int = 2,
        upscale: int = 1,
        outer_kernel: int = 9,
    ) -> None:
        super().__init__()
        if len(channels) != 3 or not all(isinstance(c, int) and c >= 1 for c in channels):
            raise ValueError(f"channels: expected 3 positive widths, got {describe(channels)}")
        if not _is_int(num_residual) or num_residual < 0:
            raise ValueError(f"num_residual: expected an int >= 0, got {num_residual!r}")
        if not _is_int(upscale) or upscale < 1 or upscale & (upscale - 1):
            raise ValueError(f"upscale: expected a power of two >= 1, got {upscale!r}")
        if not _is_int(outer_kernel) or outer_kernel < 1 or outer_kernel % 2 == 0:
            raise ValueError(f"outer_kernel: expected an odd int >= 1, got {outer_kernel!r}")
        c1, c2, c3 = channels
        k = outer_kernel
        self.upscale = upscale
        if upscale == 1:
            down = [_ConvLayer(3, c1, k), _ConvLayer(c1, c2, 3, stride=2), _ConvLayer(c2, c3, 3, stride=2)]
            up = [_ConvLayer(c3, c2, 3, upsample=2), _ConvLayer(c2, c1, 3, upsample=2)]
        else:
            down = [_ConvLayer(3, c3, k, norm=False)]
            ups = int(math.log2(upscale))
            up = [_ConvLayer(c3, c3 if i < ups - 1 else c1, 3, upsample=2, norm=False) for i in range(ups)]
        last = _ConvLayer(c1, 3, k, last=True)
        if upscale > 1:  # start as bicubic upsampling
            nn.init.zeros_(last[-1].weight)
            nn.init.zeros_(last[-1].bias)
        residual = [_ResidualBlock(c3, norm=upscale == 1) for _ in range(num_residual)]
        self.net = nn.Sequential(*down, *residual, *up, last)

    def forward(self, images: Tensor) -> Tensor:
        """Args: images (Tensor[B, 3, H, W]): RGB in ``[0, 1]``.

        Returns:
            Tensor[B, 3, upscale*H, upscale*W]: the transformed (or upsampled) images in ``[0, 1]``.
        """
        _check_images("images", images)
        if self.upscale == 1:
            if images.shape[-1] % 4 or images.shape[-2] % 4:
                raise ValueError(f"images: expected H and W divisible by 4, got shape {tuple(images.shape)}")
            return (torch.tanh(self.net(images)) + 1) / 2  # (B, 3, H, W)
        base = F.interpolate(images, scale_factor=self.upscale, mode="bicubic", align_corners=False)
        return (base + self.net(images)).clamp(0.0, 1.0)  # (B, 3, upscale*H, upscale*W)


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
        m \leftarrow eta_1 m + (1 - eta_1) g, \quad v \leftarrow eta_2 v + (1 - eta_2) g^2,
        \quad x \leftarrow \operatorname{clamp}_{[0, 1]}\Big(x - 	ext{lr} \cdot
        rac{m / (1 - eta_1^t)}{\sqrt{v / (1 - eta_2^t)} + \epsilon}\Big).

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


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _check_optim(steps: int, lr: float) -> None:
    if not _is_int(steps) or steps < 1:
        raise ValueError(f"steps: expected an int >= 1, got {steps!r}")
    check_positive("lr", lr)


def synthesize_texture(
    style: Tensor,
    loss_net: LossNetwork,
    *,
    size: int | tuple[int, int] = 64,
    layer_weights: Mapping[str, float] | None = None,
    steps: int = 100,
    lr: float = 0.1,
    tv_weight: float = 0.0,
    generator: torch.Generator | None = None,
) -> tuple[Tensor, dict[str, list[float]]]:
    """Texture synthesis by optimization (Gatys 2015): noise pixels whose Gram matrices match ``style``'s.

    Minimizes ``sum_j w_j * mean((G_j(x) - G_j(style))^2) + tv_weight * TV(x)`` over the pixels ``x``
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
        generator (torch.Generator | None, keyword-only): for the initial noise. Default: ``None``.

    Returns:
        tuple[Tensor[1, 3, H, W], dict[str, list[float]]]: the texture and the loss history of
        :func:`optimize_image`: ``"total"``, ``"style"``, the weighted ``"style/<layer>"`` of each used
        layer, and ``"tv"`` when ``tv_weight > 0``; ``steps + 1`` values each.
    """
    _check_images("style", style)
    height, width = check_int_pair("size", size, minimum=8)
    _check_optim(steps, lr)
    check_non_negative("tv_weight", tv_weight)
    weights = _layer_weights(loss_net, layer_weights)
    with torch.no_grad():
        grams = {name: gram_matrix(f) for name, f in loss_net(style).items() if name in weights}
    noise = torch.rand(style.shape[0], 3, height, width, generator=generator, dtype=style.dtype)
    objective = _perceptual_objective(
        loss_net, style_grams=grams, layer_weights=weights, style_weight=1.0,
        content=None, content_weight=0.0, tv_weight=tv_weight,
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
    check_same_dtype("style", style, "content", content)
    if content_layer not in loss_net.layers:
        raise ValueError(
            f"content_layer: expected one of the loss network's layers {list(loss_net.layers)}, "
            f"got {content_layer!r}"
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
        loss_net, style_grams=grams, layer_weights=weights, style_weight=style_weight,
        content=target, content_weight=content_weight, tv_weight=tv_weight,
    )
    image, history = optimize_image(content, objective, steps=steps, lr=lr)
    return image, _with_style_total(history)

"""The networks of a perceptual-loss system: the fixed loss network and the image transform net.

Paper: Justin Johnson, Alexandre Alahi, Li Fei-Fei, "Perceptual Losses for Real-Time Style Transfer
and Super-Resolution", ECCV 2016, arXiv:1603.08155. The loss network there is VGG16 (Karen Simonyan,
Andrew Zisserman, "Very Deep Convolutional Networks for Large-Scale Image Recognition", ICLR 2015,
arXiv:1409.1556) pretrained on ImageNet; its layers ``relu1_2, relu2_2, relu3_3, relu4_3`` are read.
The losses computed from these activations live in :mod:`lessons.style`.

Summary. :class:`LossNetwork` is the fixed network ``phi``; it returns the four activations for RGB
images in ``[0, 1]`` and lets gradients flow to the input only. Three networks can stand behind it:

* ``"vgg16"``: torchvision's VGG16 with ImageNet weights, **only when they are already on disk**
  (:func:`find_vgg16_weights`); nothing is ever downloaded;
* ``"course"``: :class:`SmallVGG`, a small VGG-style network (two 3x3 convolutions per stage,
  16-32-64-64 channels) that ``tools/train_loss_network.py`` trains in a few CPU minutes to classify
  the procedural textures and photo crops of :func:`lessons.data.make_texture_dataset`; its weights
  ship in ``lessons/weights/small_vgg.pt`` (:func:`load_small_vgg`);
* ``"random"``: :class:`RandomMultiScaleFeatures`, fixed-seed random filters of several sizes.

:class:`TransformNet` is the image transform net ``f_W`` of the paper's supplementary material, scaled
down.

Deviations from the paper and from ``pytorch/examples : fast_neural_style``:

* Offline the default network is the course's small trained network, not VGG16: it learned from
  textures and one photo, not from ImageNet, so its deep layers know textures and edges but not
  objects. Random networks capture texture statistics too (Ustyuzhaninov, Brendel, Gatys, Bethge,
  "What does it take to generate natural textures?", ICLR 2017, arXiv:1606.00021); notebook 12
  measures what training adds. :attr:`LossNetwork.source` says which network produced a result.
* Images are in ``[0, 1]`` (the example multiplies by 255 and divides again); the ImageNet
  normalization is applied inside the loss network, out of place.
* The course network's layers are named after the VGG16 layers they stand in for (same strides 1, 2,
  4, 8), although its third and fourth stages have two convolutions, not three, and each stage's
  output is rescaled to unit root-mean-square on the training images (a change of units that ReLU
  networks allow without changing the classifier), so equal style weights weigh the layers equally.

NaN policy: feature maps, logits, images and the inputs of losses are not scanned for NaN/inf (a
full scan would cost more than the operation), so a NaN there passes through to the result; boxes,
coordinates, sizes, indices and labels are checked and a NaN/inf there raises ``ValueError``.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from importlib import resources
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from lessons._checks import as_generator, check_choice, check_floating, check_int, check_ndim, describe

__all__ = [
    "VGG16_LAYERS",
    "VGG16_CONV_INDICES",
    "VGG16_POOL_INDICES",
    "VGG16_WEIGHTS_FILE",
    "WEIGHTS_ENV",
    "SMALL_VGG_WEIGHTS",
    "NETWORKS",
    "IMAGENET_MEAN",
    "IMAGENET_STD",
    "imagenet_normalize",
    "find_vgg16_weights",
    "vgg16_features",
    "RandomMultiScaleFeatures",
    "SmallVGG",
    "load_small_vgg",
    "LossNetwork",
    "TransformNet",
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
#: The course network's weights, inside the installed package (``lessons/weights/``).
SMALL_VGG_WEIGHTS = "small_vgg.pt"
#: Values of :class:`LossNetwork`'s ``network`` argument.
NETWORKS = ("auto", "vgg16", "course", "random")
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)

# VGG16 ("configuration D") up to relu4_3: channels per conv, "M" for a 2x2 max-pool
_VGG16_CFG = (64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512)


def _check_features(name: str, features: object) -> None:
    check_floating(name, features)
    check_ndim(name, features, 4, "(B, C, H, W)")  # type: ignore[arg-type]
    if features.numel() == 0:  # type: ignore[union-attr]
        raise ValueError(
            f"{name}: expected a non-empty feature map (B, C, H, W), got shape {tuple(features.shape)}"  # type: ignore[union-attr]
        )


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


# ----------------------------------------------------------------------------------------------
# The loss networks
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
            f"{name}: expected RGB images (B, 3, H, W), got shape {tuple(images.shape)}"  # type: ignore[union-attr]
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
    if not 1 <= check_int("num_layers", num_layers) <= len(layers):
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
    """The untrained loss network: four stages of random multi-scale filters, fixed by a seed.

    Stage ``j`` (named like VGG16's ``relu1_2 .. relu4_3``) average-pools by 2 (except the first),
    pads by reflection, and applies random filters of the sizes ``kernel_sizes`` side by side
    (:func:`_multiscale_filters`, one convolution) and a ReLU. So it has VGG16's strides (1, 2, 4, 8)
    and every stage sees several scales. The filters are Gaussian (He scaling, no bias); each stage's
    output is then divided by its root-mean-square on a fixed noise image so that all four layers
    start at the same activation size, as equal style weights assume. Nothing is trained.

    Random shallow networks are known to capture texture statistics well enough for synthesis
    (Ustyuzhaninov et al. 2017, arXiv:1606.00021), but a random network has no notion of objects.

    Args:
        seed (int | torch.Generator, keyword-only): the random source of the filters and the
            calibration image (an int: the same network every time). Default: ``0``.
        channels (Sequence[int], keyword-only): output channels of the four stages.
            Default: ``(32, 64, 64, 64)``.
        kernel_sizes (Sequence[int], keyword-only): filter sizes of every stage (odd).
            Default: ``(3, 5, 7)``.
    """

    def __init__(
        self,
        *,
        seed: int | torch.Generator = 0,
        channels: Sequence[int] = (32, 64, 64, 64),
        kernel_sizes: Sequence[int] = (3, 5, 7),
    ) -> None:
        super().__init__()
        if len(channels) != 4 or not all(_is_int(c) and c >= len(kernel_sizes) for c in channels):
            raise ValueError(
                f"channels: expected 4 stage widths, each >= {len(kernel_sizes)}, got {describe(channels)}"
            )
        if not kernel_sizes or not all(_is_int(k) and k >= 1 and k % 2 for k in kernel_sizes):
            raise ValueError(f"kernel_sizes: expected odd positive ints, got {describe(kernel_sizes)}")
        generator = as_generator("seed", seed)
        size = max(kernel_sizes)
        stages = []
        x = imagenet_normalize(torch.rand(1, 3, 64, 64, generator=generator))  # calibration image
        in_channels = 3
        for j, out_channels in enumerate(channels):
            conv = nn.Conv2d(in_channels, out_channels, size, padding=size // 2, padding_mode="reflect", bias=False)
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


class SmallVGG(nn.Module):
    """The course's loss network: a small VGG trained on procedural textures and photo crops.

    Four stages of two ``3x3`` convolutions (zero padding) with ReLUs, a ``2x2`` max-pool before
    stages 2-4 (VGG16's layout with fewer channels and convolutions), then a global average pool and
    a linear classifier over :data:`lessons.data.TEXTURE_CLASSES`. The stages' outputs are named
    ``relu1_2, relu2_2, relu3_3, relu4_3`` (strides 1, 2, 4, 8) like the VGG16 layers they stand in
    for. Inputs are ImageNet-normalized images (:func:`imagenet_normalize`), as for VGG16.

    Args:
        channels (Sequence[int], keyword-only): widths of the four stages. Default: ``(16, 32, 64, 64)``.
        num_classes (int, keyword-only): classifier outputs. Default: ``10``.

    Shape:
        ``forward``: ``(B, 3, H, W) -> (B, num_classes)`` logits; :meth:`features` gives the stages.
    """

    def __init__(self, *, channels: Sequence[int] = (16, 32, 64, 64), num_classes: int = 10) -> None:
        super().__init__()
        if len(channels) != 4 or not all(_is_int(c) and c >= 1 for c in channels):
            raise ValueError(f"channels: expected 4 positive widths, got {describe(channels)}")
        check_int("num_classes", num_classes, minimum=2)
        stages, c_in = [], 3
        for j, c_out in enumerate(channels):
            pool: list[nn.Module] = [nn.MaxPool2d(2)] if j > 0 else []
            stages.append(
                nn.Sequential(
                    *pool,
                    nn.Conv2d(c_in, c_out, 3, padding=1),
                    nn.ReLU(),
                    nn.Conv2d(c_out, c_out, 3, padding=1),
                    nn.ReLU(),
                )
            )
            c_in = c_out
        self.stages = nn.ModuleList(stages)
        self.classifier = nn.Linear(c_in, num_classes)
        self.channels = tuple(channels)

    def features(self, x: Tensor) -> list[Tensor]:
        """The four stage outputs ``[Tensor[B, C_j, H / s_j, W / s_j]]`` of normalized images ``x``."""
        out = []
        for stage in self.stages:
            x = stage(x)  # (B, C_j, H / s_j, W / s_j)
            out.append(x)
        return out

    def forward(self, x: Tensor) -> Tensor:
        """Class logits ``Tensor[B, num_classes]`` of ImageNet-normalized images ``x``."""
        _check_images("x", x)
        return self.classifier(self.features(x)[-1].mean(dim=(2, 3)))  # (B, num_classes)


def load_small_vgg(path: str | os.PathLike | None = None) -> tuple[SmallVGG, dict]:
    """The trained :class:`SmallVGG` and what its training recorded, read offline.

    Args:
        path (str | os.PathLike | None): a file written by ``tools/train_loss_network.py``.
            Default: ``None``, the copy inside the installed package (``lessons/weights/small_vgg.pt``).

    Returns:
        tuple[SmallVGG, dict]: the network (eval mode) and its record: ``"classes"``, ``"channels"``,
        ``"accuracy"`` (on a held-out set), ``"train"`` (the script's settings) and ``"rms"`` (the
        per-stage scales folded into the weights).

    Raises:
        FileNotFoundError: if the file does not exist.
    """
    if path is None:
        file = resources.files("lessons") / "weights" / SMALL_VGG_WEIGHTS
    else:
        file = Path(path).expanduser()
    if not file.is_file():
        raise FileNotFoundError(f"path: expected the course network's weights, got {str(file)!r}, which does not exist")
    with file.open("rb") as handle:
        record = torch.load(handle, map_location="cpu", weights_only=True)
    net = SmallVGG(channels=tuple(record["channels"]), num_classes=len(record["classes"]))
    net.load_state_dict(record["state_dict"])
    net.eval()
    info = {key: value for key, value in record.items() if key != "state_dict"}
    return net, info


class LossNetwork(nn.Module):
    """The fixed loss network ``phi``: the activations relu1_2, relu2_2, relu3_3, relu4_3.

    ``LossNetwork()(images)`` normalizes RGB images in ``[0, 1]`` with ImageNet's statistics and
    returns ``{layer name: Tensor[B, C_j, H / s_j, W / s_j]}`` for the requested layers, with strides
    ``s = 1, 2, 4, 8``. Its parameters are frozen (``requires_grad=False``) and it is in eval mode;
    gradients still flow to the *input*, which is what style transfer and the transform net need.

    Which network (``network``):

    * ``"vgg16"``: VGG16 with ImageNet weights from a local state dict (``weights_path``, then
      ``$LESSONS_VGG16_WEIGHTS``, then torchvision's cache file; :func:`find_vgg16_weights`), loaded
      with ``torch.load(weights_only=True)``; an error if there is none (nothing is downloaded);
    * ``"course"``: the trained :class:`SmallVGG` shipped with the package (:func:`load_small_vgg`);
    * ``"random"``: :class:`RandomMultiScaleFeatures` with seed ``seed``;
    * ``"auto"``: ``"vgg16"`` when local weights are found, else ``"course"``.

    Args:
        layers (Sequence[str]): layer names, a subset of :data:`VGG16_LAYERS`, in any order.
            Default: all four.
        network (str, keyword-only): one of :data:`NETWORKS`. Default: ``"auto"``.
        weights_path (str | os.PathLike | None, keyword-only): an explicit VGG16 state dict (the
            ``vgg16().state_dict()`` layout; keys ``features.{i}.weight``/``.bias``; a bare
            ``features`` state dict with keys ``{i}.weight`` works too). Default: ``None``.
        seed (int | torch.Generator, keyword-only): the random network's seed (used only by
            ``network="random"``). Default: ``0``.

    Attributes:
        network (str): the network used (``"vgg16"``, ``"course"`` or ``"random"``).
        source (str): a sentence saying which network and which file.
        pretrained (bool): whether the filters were trained (VGG16 or the course network).
        channels (dict[str, int]): channels per returned layer.
        min_size (int): the smallest ``H`` and ``W`` accepted (8 for VGG16 and the course network up
            to relu4_3; the random network's reflection padding needs 32).

    Raises:
        FileNotFoundError: when ``network="vgg16"`` and no local weights exist, or when an explicit
            path does not exist.
        ValueError: for unknown or empty ``layers``, an unknown ``network``, or a state dict that
            lacks a needed tensor.
    """

    def __init__(
        self,
        layers: Sequence[str] = tuple(VGG16_LAYERS),
        *,
        network: str = "auto",
        weights_path: str | os.PathLike | None = None,
        seed: int | torch.Generator = 0,
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
        check_choice("network", network, NETWORKS)
        # keep the layers in network order; run the stages only as deep as needed
        self.layers = tuple(name for name in VGG16_LAYERS if name in layers)
        depth = max(list(VGG16_LAYERS).index(name) for name in self.layers) + 1

        file = None
        if network in ("auto", "vgg16"):
            file = find_vgg16_weights(weights_path)
            if file is None and network == "vgg16":
                raise FileNotFoundError(
                    "network='vgg16': no local VGG16 weights; put a state dict at "
                    f"{Path(torch.hub.get_dir()) / 'checkpoints' / VGG16_WEIGHTS_FILE}, set "
                    f"${WEIGHTS_ENV}, or pass weights_path (nothing is downloaded)"
                )
        if file is not None:
            features = vgg16_features(VGG16_LAYERS[self.layers[-1]] + 1)
            _load_vgg16_state(features, file)
            bounds = [0] + [VGG16_LAYERS[name] + 1 for name in VGG16_LAYERS][:depth]
            stages = [features[a:b] for a, b in zip(bounds[:-1], bounds[1:])]
            self.network, self.source = "vgg16", f"VGG16 ImageNet weights from {file}"
            widths: Sequence[int] = (64, 128, 256, 512)
            self.min_size = 2 ** (depth - 1)
        elif network == "random":
            random_net = RandomMultiScaleFeatures(seed=seed)
            stages = list(random_net.stages[:depth])
            self.network, self.source = "random", f"random multi-scale filters (seed {seed})"
            widths = random_net.channels
            self.min_size = 2 ** (depth - 1) * (max(random_net.kernel_sizes) // 2 + 1)
        else:
            small, info = load_small_vgg()
            stages = list(small.stages[:depth])
            accuracy = info["accuracy"]
            self.network = "course"
            self.source = f"course network (small VGG trained on textures, {accuracy:.1%} held-out accuracy)"
            widths = small.channels
            self.min_size = 2 ** (depth - 1)
        self.pretrained = self.network != "random"
        self.slices = nn.ModuleList(stages)
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
            raise ValueError(f"{file}: expected {source_key!r} of shape {tuple(value.shape)}, got {describe(tensor)}")
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
            nn.ReflectionPad2d(1),
            nn.Conv2d(channels, channels, 3),
            *([nn.InstanceNorm2d(channels, affine=True)] if norm else []),
            nn.ReLU(),
            nn.ReflectionPad2d(1),
            nn.Conv2d(channels, channels, 3),
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
        check_int("num_residual", num_residual, minimum=0)
        if check_int("upscale", upscale, minimum=1) & (upscale - 1):
            raise ValueError(f"upscale: expected a power of two >= 1, got {upscale!r}")
        if check_int("outer_kernel", outer_kernel, minimum=1) % 2 == 0:
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

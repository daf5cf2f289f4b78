"""Images for notebook 12: photos that ship inside matplotlib, and procedural textures.

Nothing is downloaded. :func:`load_sample_image` reads the sample images that every matplotlib
installation carries in ``matplotlib/mpl-data/sample_data`` (through
``matplotlib.cbook.get_sample_data``); :func:`make_texture` draws periodic two-colour textures
(stripes, a checkerboard, a lattice of dots built with :func:`lessons.data.shapes.shape_mask`) to
serve as style images for texture synthesis.

All images are ``Tensor[3, H, W]`` float32 RGB in ``[0, 1]``; add a batch axis with ``x[None]``.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import Tensor

from lessons._checks import as_generator, check_choice, check_int, check_int_pair, check_positive, describe
from lessons.data.shapes import SHAPE_KINDS, shape_mask

__all__ = [
    "SAMPLE_IMAGES",
    "TEXTURE_KINDS",
    "TEXTURE_CLASSES",
    "TextureDataset",
    "load_sample_image",
    "make_texture",
    "make_texture_dataset",
]

#: Names accepted by :func:`load_sample_image` and the matplotlib sample files they read.
SAMPLE_IMAGES: dict[str, str] = {
    "grace_hopper": "grace_hopper.jpg",  # 600 x 512 photo (RGB)
    "present": "Minduka_Present_Blue_Pack.png",  # 128 x 128 drawing (RGBA)
    "logo": "logo2.png",  # 130 x 542 matplotlib logo (RGBA)
}

#: Kinds drawn by :func:`make_texture`.
TEXTURE_KINDS = ("stripes", "checker", "dots")

_DEFAULT_COLORS = ((0.12, 0.16, 0.42), (0.96, 0.62, 0.12))  # navy background, orange foreground


def load_sample_image(
    name: str = "grace_hopper",
    *,
    crop: tuple[int, int, int, int] | None = None,
    size: int | tuple[int, int] | None = None,
) -> Tensor:
    """A photo that ships inside matplotlib, as a float RGB tensor (offline).

    Args:
        name (str): one of :data:`SAMPLE_IMAGES` (``"grace_hopper"``, ``"present"``, ``"logo"``).
            Default: ``"grace_hopper"``.
        crop (tuple[int, int, int, int] | None, keyword-only): ``(top, left, height, width)`` in
            pixels of the original image, applied first. Default: ``None`` (the whole image).
        size (int | tuple[int, int] | None, keyword-only): resize to ``(H, W)`` (area averaging when
            shrinking, bilinear when enlarging); one int resizes the *shorter* side to it and keeps the
            aspect ratio.
            Default: ``None`` (keep the size).

    Returns:
        Tensor[3, H, W] (float32): RGB in ``[0, 1]``; transparent pixels (RGBA files) are composited
        onto white.

    Example:
        >>> load_sample_image("grace_hopper").shape
        torch.Size([3, 600, 512])
    """
    import matplotlib.cbook as cbook
    import matplotlib.image as mpimg

    check_choice("name", name, tuple(SAMPLE_IMAGES))
    with cbook.get_sample_data(SAMPLE_IMAGES[name], asfileobj=True) as handle:
        array = mpimg.imread(handle, format=SAMPLE_IMAGES[name].rsplit(".", 1)[1])
    image = torch.from_numpy(array.copy()).float()  # (H, W, 3 or 4)
    if array.dtype.kind in "ui":  # JPEG decodes to uint8
        image = image / 255.0
    image = image.permute(2, 0, 1)  # (3 or 4, H, W)
    if image.shape[0] == 4:
        rgb, alpha = image[:3], image[3:]
        image = rgb * alpha + (1.0 - alpha)  # (3, H, W) over a white background
    if crop is not None:
        image = _crop(image, crop)
    if size is not None:
        image = _resize(image, size)
    return image.clamp(0.0, 1.0).contiguous()


def _crop(image: Tensor, crop: object) -> Tensor:
    if not isinstance(crop, (tuple, list)) or len(crop) != 4:
        raise TypeError(f"crop: expected (top, left, height, width) as 4 ints, got {describe(crop)}")
    top, left, height, width = (check_int(f"crop[{i}]", v) for i, v in enumerate(crop))
    full_h, full_w = image.shape[-2:]
    if top < 0 or left < 0 or height < 1 or width < 1 or top + height > full_h or left + width > full_w:
        raise ValueError(
            f"crop: expected a window inside the {full_h} x {full_w} image with height, width >= 1, "
            f"got (top={top}, left={left}, height={height}, width={width})"
        )
    return image[:, top : top + height, left : left + width]


def _resize(image: Tensor, size: object) -> Tensor:
    full_h, full_w = image.shape[-2:]
    if isinstance(size, int) and not isinstance(size, bool):  # one int: the shorter side
        check_int("size", size, minimum=1)
        scale = size / min(full_h, full_w)
        out = (max(1, round(full_h * scale)), max(1, round(full_w * scale)))
    else:
        out = check_int_pair("size", size)
    if out[0] <= full_h and out[1] <= full_w:  # shrinking: average the pixels each output covers
        return F.interpolate(image[None], size=out, mode="area")[0]
    return F.interpolate(image[None], size=out, mode="bilinear", align_corners=False)[0]


def make_texture(
    kind: str,
    size: int | tuple[int, int] = 64,
    *,
    period: float = 16.0,
    angle: float = 0.0,
    shape: str = "disk",
    colors: tuple[tuple[float, float, float], tuple[float, float, float]] = _DEFAULT_COLORS,
) -> Tensor:
    """A periodic two-colour texture, to use as a style image for texture synthesis.

    Args:
        kind (str): ``"stripes"`` (bands of half a period), ``"checker"`` (squares of half a period)
            or ``"dots"`` (one ``shape`` per period cell, radius a quarter period, every other row
            shifted by half a period).
        size (int | tuple[int, int]): ``(H, W)``, or one int for a square. Default: ``64``.
        period (float, keyword-only): repeat length in pixels, >= 2. Default: ``16.0``.
        angle (float, keyword-only): rotation of the pattern in radians (stripes and checker).
            Default: ``0.0`` (vertical stripes).
        shape (str, keyword-only): the dot's shape, one of :data:`lessons.data.shapes.SHAPE_KINDS`.
            Default: ``"disk"``.
        colors (tuple of two RGB triples, keyword-only): background and foreground in ``[0, 1]``.
            Default: navy and orange.

    Returns:
        Tensor[3, H, W] (float32): the texture; pixel ``(i, j)`` has its centre at ``(j + 0.5, i + 0.5)``.

    Example:
        >>> make_texture("stripes", 4, period=2.0)[0, 0]  # red channel of the first row
        tensor([0.1200, 0.9600, 0.1200, 0.9600])
    """
    check_choice("kind", kind, TEXTURE_KINDS)
    height, width = check_int_pair("size", size)
    if isinstance(angle, bool) or not isinstance(angle, (int, float)):
        raise TypeError(f"angle: expected a number (radians), got {describe(angle)}")
    if not math.isfinite(angle):
        raise ValueError(f"angle: expected a finite number, got {angle!r}")
    check_positive("period", period)
    if period < 2:
        raise ValueError(f"period: expected at least 2 pixels, got {period!r}")
    check_choice("shape", shape, SHAPE_KINDS)
    palette = torch.as_tensor(colors, dtype=torch.float32)
    if palette.shape != (2, 3) or not bool(((palette >= 0) & (palette <= 1)).all()):
        raise ValueError(f"colors: expected two RGB triples in [0, 1], got {colors!r}")

    if kind == "dots":
        mask = torch.zeros(height, width, dtype=torch.bool)
        rows = math.ceil(height / period) + 1
        cols = math.ceil(width / period) + 2
        for r in range(rows):
            shift = period / 2 if r % 2 else 0.0
            for c in range(-1, cols):
                center = (c * period + period / 2 + shift, r * period + period / 2)
                mask |= shape_mask(shape, center, period / 4, (height, width))
    else:
        ys = torch.arange(height, dtype=torch.float64) + 0.5
        xs = torch.arange(width, dtype=torch.float64) + 0.5
        y, x = torch.meshgrid(ys, xs, indexing="ij")  # (H, W)
        u = math.cos(angle) * x + math.sin(angle) * y  # coordinate across the stripes
        v = -math.sin(angle) * x + math.cos(angle) * y
        band_u = torch.floor(2 * u / period).long() % 2
        if kind == "stripes":
            mask = band_u == 1
        else:
            mask = (band_u + torch.floor(2 * v / period).long() % 2) % 2 == 1
    background, foreground = palette
    return torch.where(mask[None], foreground[:, None, None], background[:, None, None])  # (3, H, W)


#: Classes drawn by :func:`make_texture_dataset`: oriented stripes (four orientation bins), the
#: checkerboard, lattices of three dot shapes, crops of matplotlib's ``grace_hopper`` photo, and
#: pixel noise (so that a network trained on them must notice noise instead of ignoring it).
TEXTURE_CLASSES = (
    "stripes 0°",
    "stripes 45°",
    "stripes 90°",
    "stripes 135°",
    "checker",
    "dots: disk",
    "dots: square",
    "dots: triangle",
    "photo",
    "noise",
)


class TextureDataset(NamedTuple):
    """A labelled batch of images from :func:`make_texture_dataset`.

    Attributes:
        images (Tensor[N, 3, S, S]): RGB in ``[0, 1]``.
        labels (Tensor[N]): int64 indices into :data:`TEXTURE_CLASSES`.
    """

    images: Tensor
    labels: Tensor


def make_texture_dataset(n: int, *, size: int = 32, seed: int | torch.Generator = 0) -> TextureDataset:
    """A classification task whose solution needs edges, orientations and scales: textures vs photos.

    Class ``i`` of :data:`TEXTURE_CLASSES` is drawn ``n / 10`` times (the first ``n % 10`` classes
    once more), then the batch is shuffled. Every texture is drawn with random nuisances: two random
    colours (at least 0.25 apart in mean brightness), a period in ``[4, 16]`` pixels, an orientation
    jitter of ``+-15`` degrees around the class's angle (stripes) or a random one (checker), and a
    random phase. Photos are random crops of ``grace_hopper`` (at 15 to 60 % of its size, flipped or
    not). Half of the textures and photos are blurred (a 3x3 binomial kernel). Noise images are
    uniform pixel noise, blurred or not, mixed with a flat random colour.
    ``tools/train_loss_network.py`` trains the course's loss network on this task.

    Args:
        n (int): number of images, >= 1.
        size (int, keyword-only): side ``S`` of the square images, >= 8. Default: ``32``.
        seed (int | torch.Generator, keyword-only): the randomness. Default: ``0``.

    Returns:
        TextureDataset: ``(images, labels)``.

    Example:
        >>> images, labels = make_texture_dataset(20, size=16)
        >>> images.shape, torch.bincount(labels).tolist()
        (torch.Size([20, 3, 16, 16]), [2, 2, 2, 2, 2, 2, 2, 2, 2, 2])
    """
    n = check_int("n", n, minimum=1)
    size = check_int("size", size, minimum=8)
    gen = as_generator("seed", seed)
    photo = load_sample_image("grace_hopper")  # (3, 600, 512)
    labels = torch.arange(n) % len(TEXTURE_CLASSES)
    labels = labels[torch.randperm(n, generator=gen)]  # (N,)
    images = torch.empty(n, 3, size, size)
    for i, label in enumerate(labels.tolist()):
        images[i] = _draw_class(TEXTURE_CLASSES[label], size, photo, gen)
    return TextureDataset(images, labels)


def _uniform(gen: torch.Generator, low: float, high: float) -> float:
    return low + (high - low) * float(torch.rand((), generator=gen))


def _draw_class(name: str, size: int, photo: Tensor, gen: torch.Generator) -> Tensor:
    """One image of class ``name`` with the nuisances of :func:`make_texture_dataset`."""
    if name == "noise":
        mix = _uniform(gen, 0.3, 1.0)
        image = mix * torch.rand(3, size, size, generator=gen) + (1 - mix) * torch.rand(3, 1, 1, generator=gen)
    elif name == "photo":
        side = round(_uniform(gen, 0.15, 0.6) * min(photo.shape[-2:]))
        top = int(torch.randint(photo.shape[-2] - side + 1, (), generator=gen))
        left = int(torch.randint(photo.shape[-1] - side + 1, (), generator=gen))
        image = _resize(photo[:, top : top + side, left : left + side], (size, size))
        if float(torch.rand((), generator=gen)) < 0.5:
            image = image.flip(-1)
    else:
        while True:  # two colours that differ in brightness, so the pattern is visible
            colors = torch.rand(2, 3, generator=gen)
            if abs(float(colors[0].mean() - colors[1].mean())) >= 0.25:
                break
        period = _uniform(gen, 4.0, 16.0)
        kind, _, detail = name.partition(" ")
        big = size + math.ceil(period) + 1  # draw larger, then crop at a random phase
        palette = tuple(tuple(float(v) for v in c) for c in colors)
        if kind == "stripes":
            angle = math.radians(float(detail.rstrip("°")) + _uniform(gen, -15.0, 15.0))
            image = make_texture("stripes", big, period=period, angle=angle, colors=palette)
        elif kind == "checker":
            image = make_texture("checker", big, period=period, angle=_uniform(gen, 0.0, math.pi), colors=palette)
        else:
            image = make_texture("dots", big, period=max(period, 6.0), shape=detail, colors=palette)
        dy, dx = (int(v) for v in torch.randint(big - size + 1, (2,), generator=gen))
        image = image[:, dy : dy + size, dx : dx + size]
    if float(torch.rand((), generator=gen)) < 0.5:  # blur with a 3x3 binomial kernel
        kernel = torch.tensor([1.0, 2.0, 1.0])
        kernel = (kernel[:, None] * kernel[None, :] / 16).expand(3, 1, 3, 3)  # (3, 1, 3, 3)
        image = F.conv2d(F.pad(image[None], (1, 1, 1, 1), mode="replicate"), kernel, groups=3)[0]
    return image.clamp(0.0, 1.0)

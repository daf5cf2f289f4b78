"""Unpaired image domains with a known correspondence, for unpaired translation (notebook 11).

A *scene* is one shape described by its content: kind (disk, square, triangle, diamond), colour
(red, green or blue), centre, radius and angle. The same content is rendered in three styles:

- domain **X**, "night": the shape on a black background;
- domain **Y**, "day": the same shape, in the same colour, on a white background;
- domain **grey**, "pencil": the same shape in mid-grey on white — the colour is *lost*, so a
  translation X -> grey is many-to-one (like photo -> map in Chu et al. 2017, "CycleGAN, a Master of
  Steganography", arXiv:1712.02950): a cycle back to X can only succeed if the translation hides the
  colour somewhere in its output.

:func:`make_unpaired_domains` samples the content of the X set and of the Y set *independently*,
so a model sees no pairs. The course still knows the true translation of every X image,
``render_domain(x_params, "y")`` (and of every Y image), so the error of a learned ``G: X -> Y``
can be measured exactly. :func:`decode_domain` reads the shape mask and colour back from an image
(a generated one too), so a translation can be scored on what it kept: the geometry (mask IoU) and
the colour (colour accuracy, and how many different colours come out). :func:`snap_to_palette`
keeps only what is *visible* in an image: every pixel replaced by the nearest colour of the
domain's palette.

Images are ``float32`` in ``[-1, 1]`` (the range of a ``tanh`` generator), shape ``(N, 3, H, W)``.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import torch
from torch import Tensor

from lessons._checks import (
    as_generator,
    check_choice,
    check_finite,
    check_floating,
    check_int,
    check_int_pair,
    check_int_tensor,
    check_labels,
    check_tensor,
    describe,
)
from lessons.data.shapes import SHAPE_KINDS, shape_mask

__all__ = [
    "DOMAINS",
    "DOMAIN_COLOURS",
    "DOMAIN_BACKGROUNDS",
    "DOMAIN_PALETTES",
    "UnpairedDomains",
    "DomainParams",
    "sample_domain_params",
    "render_domain",
    "make_unpaired_domains",
    "decode_domain",
    "snap_to_palette",
]

#: The styles :func:`render_domain` draws.
DOMAINS = ("x", "y", "grey")

#: Shape colours of X and Y, RGB in [-1, 1], indexed by ``params["colour"]``: red, green, blue.
DOMAIN_COLOURS: tuple[tuple[float, float, float], ...] = ((1.0, -1.0, -1.0), (-1.0, 1.0, -1.0), (-1.0, -1.0, 1.0))
#: Background colour per domain (RGB in [-1, 1]): black for X, white for Y and grey.
DOMAIN_BACKGROUNDS: dict[str, tuple[float, float, float]] = {
    "x": (-1.0, -1.0, -1.0),
    "y": (1.0, 1.0, 1.0),
    "grey": (1.0, 1.0, 1.0),
}
#: Shape colours per domain: X and Y share :data:`DOMAIN_COLOURS`; "grey" draws every shape mid-grey.
DOMAIN_PALETTES: dict[str, tuple[tuple[float, float, float], ...]] = {
    "x": DOMAIN_COLOURS,
    "y": DOMAIN_COLOURS,
    "grey": ((0.0, 0.0, 0.0),),
}


class DomainParams(NamedTuple):
    """The content of ``N`` scenes, one shape each (what :func:`render_domain` draws).

    Attributes:
        kind (Tensor[N]): int64 index into ``SHAPE_KINDS``.
        colour (Tensor[N]): int64 in {0, 1, 2}, an index into the domain's palette.
        center (Tensor[N, 2]): float32 ``(cx, cy)`` in pixels.
        radius (Tensor[N]): float32, between ``0.2`` and ``0.3`` of the smaller image side.
        angle (Tensor[N]): float32 radians in ``[0, pi/2)``.
    """

    kind: Tensor
    colour: Tensor
    center: Tensor
    radius: Tensor
    angle: Tensor


class UnpairedDomains(NamedTuple):
    """Two independently sampled image sets and the content that generated each.

    Attributes:
        x (Tensor[N, 3, H, W]): domain X images.
        y (Tensor[N, 3, H, W]): domain Y images, of *other* scenes than ``x``.
        x_params (DomainParams): the content of ``x`` (see :func:`sample_domain_params`);
            ``render_domain(x_params, "y")`` is the true translation of ``x``.
        y_params (DomainParams): the content of ``y``.
    """

    x: Tensor
    y: Tensor
    x_params: DomainParams
    y_params: DomainParams


def sample_domain_params(
    n: int,
    *,
    size: int | tuple[int, int] = 16,
    seed: int | torch.Generator = 0,
) -> DomainParams:
    """Draw the content of ``n`` scenes: one shape each, inside the image.

    The centre keeps ``radius + 1`` pixels from every border, so disks, triangles and diamonds lie
    wholly inside; a square turned by up to 45 degrees reaches ``radius * sqrt(2)`` and may lose the
    tip of a corner.

    Args:
        n (int): number of scenes, ``>= 0``.
        size (int | tuple[int, int]): ``(H, W)`` of the images, ``>= 12``. Default: ``16``.
        seed (int | torch.Generator): an int for a fresh seeded generator, or a generator to
            draw from (it advances). Default: ``0``.

    Returns:
        DomainParams: ``(kind, colour, center, radius, angle)``, one row per scene.
    """
    n = check_int("n", n, minimum=0)
    height, width = check_int_pair("size", size, minimum=12)
    generator = as_generator("seed", seed)
    side = min(height, width)
    u = torch.rand(n, 4, generator=generator)  # (N, 4): radius, cx, cy, angle
    radius = side * (0.2 + 0.1 * u[:, 0])
    margin = radius + 1.0  # the circle of the given radius, plus a pixel, stays inside
    cx = margin + u[:, 1] * (width - 2 * margin)
    cy = margin + u[:, 2] * (height - 2 * margin)
    kind = torch.randint(len(SHAPE_KINDS), (n,), generator=generator)
    colour = torch.randint(3, (n,), generator=generator)
    return DomainParams(kind, colour, torch.stack([cx, cy], dim=1), radius, u[:, 3] * (math.pi / 2))


def _check_params(params: object) -> int:
    if not isinstance(params, DomainParams):
        raise TypeError(f"params: expected a DomainParams (see sample_domain_params), got {describe(params)}")
    for name in DomainParams._fields:
        check_tensor(f"params.{name}", getattr(params, name))
    n = int(params.kind.shape[0])
    for name, ndim in (("kind", 1), ("colour", 1), ("center", 2), ("radius", 1), ("angle", 1)):
        value = getattr(params, name)
        if value.ndim != ndim or value.shape[0] != n or (name == "center" and value.shape[1] != 2):
            layout = f"({n}, 2)" if name == "center" else f"({n},)"
            raise ValueError(f"params.{name}: expected shape {layout} like params.kind, got {describe(value)}")
    for name in ("center", "radius", "angle"):
        check_floating(f"params.{name}", getattr(params, name))
        check_finite(f"params.{name}", getattr(params, name))
    check_labels("params.kind", params.kind, n=n, high=len(SHAPE_KINDS))
    check_int_tensor("params.colour", params.colour)
    return n


def render_domain(
    params: DomainParams,
    domain: str,
    *,
    size: int | tuple[int, int] = 16,
) -> Tensor:
    """Render scenes in the style of one domain.

    Args:
        params (DomainParams): content of N scenes, from :func:`sample_domain_params`.
        domain (str): one of :data:`DOMAINS`: ``"x"`` (colour on black), ``"y"`` (colour on
            white) or ``"grey"`` (grey on white, ``params.colour`` is ignored).
        size (int | tuple[int, int]): ``(H, W)``; use the size the params were drawn for.
            Default: ``16``.

    Returns:
        Tensor[N, 3, H, W] (float32): images in ``[-1, 1]``.

    Example:
        >>> p = sample_domain_params(2, seed=0)
        >>> x, y = render_domain(p, "x"), render_domain(p, "y")
        >>> bool(((x[:, :, 0, 0] == -1).all() and (y[:, :, 0, 0] == 1).all()))  # black vs white corner
        True
    """
    n = _check_params(params)
    check_choice("domain", domain, DOMAINS)
    height, width = check_int_pair("size", size)
    if n == 0:
        return torch.empty(0, 3, height, width)
    masks = torch.stack(
        [
            shape_mask(SHAPE_KINDS[int(k)], (float(c[0]), float(c[1])), float(r), (height, width), angle=float(a))
            for k, c, r, a in zip(params.kind, params.center, params.radius, params.angle)
        ]
    )  # (N, H, W) bool
    m = masks[:, None].float()  # (N, 1, H, W)
    palette = torch.tensor(DOMAIN_PALETTES[domain])  # (P, 3)
    colour = palette[params.colour.long() % len(palette)][:, :, None, None]  # (N, 3, 1, 1)
    background = torch.tensor(DOMAIN_BACKGROUNDS[domain])[None, :, None, None]  # (1, 3, 1, 1)
    return m * colour + (1 - m) * background  # (N, 3, H, W)


def make_unpaired_domains(
    n: int,
    *,
    size: int | tuple[int, int] = 16,
    seed: int | torch.Generator = 0,
    y_domain: str = "y",
) -> UnpairedDomains:
    """Two unpaired sets of ``n`` images: X and Y show independently drawn scenes.

    Args:
        n (int): images per domain, ``>= 0``.
        size (int | tuple[int, int]): ``(H, W)``, ``>= 12``. Default: ``16``.
        seed (int | torch.Generator): seeds both draws (X first, then Y from the same stream).
            Use different seeds for training and held-out sets. Default: ``0``.
        y_domain (str): the style of the second set, ``"y"`` or ``"grey"``. Default: ``"y"``.

    Returns:
        UnpairedDomains: ``(x, y, x_params, y_params)``.

    Example:
        >>> d = make_unpaired_domains(4, seed=0)
        >>> d.x.shape, d.y.shape
        (torch.Size([4, 3, 16, 16]), torch.Size([4, 3, 16, 16]))
        >>> truth = render_domain(d.x_params, "y")   # what G(d.x) should be
    """
    n = check_int("n", n, minimum=0)
    gen = as_generator("seed", seed)
    check_choice("y_domain", y_domain, DOMAINS[1:])
    x_params = sample_domain_params(n, size=size, seed=gen)
    y_params = sample_domain_params(n, size=size, seed=gen)  # drawn independently of x
    return UnpairedDomains(
        render_domain(x_params, "x", size=size), render_domain(y_params, y_domain, size=size), x_params, y_params
    )


def _nearest_reference(images: Tensor, domain: str) -> tuple[Tensor, Tensor]:
    """Index of the nearest of (background, *palette) per pixel, and those reference colours."""
    references = torch.tensor((DOMAIN_BACKGROUNDS[domain], *DOMAIN_PALETTES[domain]), dtype=images.dtype)  # (1+P, 3)
    pixels = images.permute(0, 2, 3, 1)[..., None, :]  # (N, H, W, 1, 3)
    return ((pixels - references) ** 2).sum(dim=-1).argmin(dim=-1), references  # (N, H, W) in 0..P


def _check_images(images: object) -> None:
    if not isinstance(images, Tensor) or not images.is_floating_point():
        raise TypeError(f"images: expected a floating-point tensor, got {describe(images)}")
    if images.ndim != 4 or images.shape[1] != 3:
        raise ValueError(f"images: expected shape (N, 3, H, W), got {tuple(images.shape)}")


def decode_domain(images: Tensor, domain: str) -> tuple[Tensor, Tensor]:
    """Read the shape mask and the shape's colour back from images of one domain.

    Each pixel takes the nearest (Euclidean, RGB) of the domain's background and its shape colours
    (:data:`DOMAIN_PALETTES`); the mask is the pixels nearest to a shape colour, and the image's
    colour is the one most of those pixels are nearest to. Works on generated images too, which is
    how the notebook scores a translation: ``decode_domain(G(x), "y")`` against
    ``decode_domain(truth, "y")``. A pixel equally near two references takes the first of
    (background, red, green, blue).

    Args:
        images (Tensor[N, 3, H, W]): images in ``[-1, 1]``; NaN pixels count as background.
        domain (str): one of :data:`DOMAINS` (which background and palette to expect).

    Returns:
        tuple[Tensor[N, H, W] (bool), Tensor[N] (int64)]: the masks, and the colour index
        (0 red, 1 green, 2 blue; always 0 for ``"grey"``) or ``-1`` when no pixel is nearer a shape
        colour than the background. For a rendered image this gives back its ``params``' mask and
        ``colour`` exactly (``"x"``, ``"y"``).
    """
    _check_images(images)
    check_choice("domain", domain, DOMAINS)
    nearest, references = _nearest_reference(images, domain)  # (N, H, W)
    mask = nearest > 0
    counts = torch.stack([(nearest == k).flatten(1).sum(dim=1) for k in range(1, len(references))], dim=1)  # (N, P)
    colour = torch.where(mask.flatten(1).any(dim=1), counts.argmax(dim=1), torch.full_like(counts[:, 0], -1))
    return mask, colour


def snap_to_palette(images: Tensor, domain: str) -> Tensor:
    """Keep only what is visible: replace every pixel by the nearest colour of the domain's palette.

    The nearest of the background and the shape colours, as in :func:`decode_domain`, so
    ``decode_domain(snap_to_palette(im, d), d)`` equals ``decode_domain(im, d)``. A rendered image
    comes back unchanged; a generated one loses every faint deviation from the palette — which is
    where a CycleGAN can hide what its output does not show (notebook 11).

    Args:
        images (Tensor[N, 3, H, W]): images in ``[-1, 1]``.
        domain (str): one of :data:`DOMAINS`.

    Returns:
        Tensor[N, 3, H, W]: images whose pixels are all palette colours, in the input's dtype.

    Example:
        >>> im = torch.full((1, 3, 12, 12), 0.9)      # almost white
        >>> im[0, :, 4:8, 4:8] = torch.tensor([0.1, -0.05, 0.0])[:, None, None]  # a tinted grey square
        >>> snapped = snap_to_palette(im, "grey")
        >>> snapped[0, :, 0, 0].tolist(), snapped[0, :, 5, 5].tolist()
        ([1.0, 1.0, 1.0], [0.0, 0.0, 0.0])
    """
    _check_images(images)
    check_choice("domain", domain, DOMAINS)
    nearest, references = _nearest_reference(images, domain)  # (N, H, W)
    return references[nearest].permute(0, 3, 1, 2).contiguous()  # (N, 3, H, W)

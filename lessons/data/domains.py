"""Two unpaired image domains with a known correspondence, for unpaired translation (notebook 11).

A *scene* is one shape described by its content: kind (disk, square, triangle, diamond), colour
(red, green or blue), centre, radius and angle. The same content is rendered in two styles:

- domain **X**, "night": the shape on a black background;
- domain **Y**, "day": the same shape, in the same colour, on a white background.

:func:`make_unpaired_domains` samples the content of the X set and of the Y set *independently*,
so a model sees no pairs. The course still knows the true translation of every X image,
``render_domain(x_params, "y")`` (and of every Y image), so the error of a learned ``G: X -> Y``
can be measured exactly. :func:`decode_domain` reads the shape mask and colour back from an image
(a generated one too), so a translation can be scored on what it kept: the geometry (mask IoU) and
the colour (colour accuracy, and how many different colours come out).

Images are ``float32`` in ``[-1, 1]`` (the range of a ``tanh`` generator), shape ``(N, 3, H, W)``.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import torch
from torch import Tensor

from lessons._checks import check_choice, check_int_pair, describe
from lessons.data.shapes import SHAPE_KINDS, shape_mask

__all__ = [
    "DOMAINS",
    "DOMAIN_COLOURS",
    "DOMAIN_BACKGROUNDS",
    "UnpairedDomains",
    "sample_domain_params",
    "render_domain",
    "make_unpaired_domains",
    "decode_domain",
]

#: The two styles :func:`render_domain` draws.
DOMAINS = ("x", "y")

#: Shape colours (both domains), RGB in [-1, 1], indexed by ``params["colour"]``: red, green, blue.
DOMAIN_COLOURS: tuple[tuple[float, float, float], ...] = ((1.0, -1.0, -1.0), (-1.0, 1.0, -1.0), (-1.0, -1.0, 1.0))
#: Background colour per domain (RGB in [-1, 1]): black for X, white for Y.
DOMAIN_BACKGROUNDS: dict[str, tuple[float, float, float]] = {"x": (-1.0, -1.0, -1.0), "y": (1.0, 1.0, 1.0)}


class UnpairedDomains(NamedTuple):
    """Two independently sampled image sets and the content that generated each.

    Attributes:
        x (Tensor[N, 3, H, W]): domain X images.
        y (Tensor[N, 3, H, W]): domain Y images, of *other* scenes than ``x``.
        x_params (dict[str, Tensor]): the content of ``x`` (see :func:`sample_domain_params`);
            ``render_domain(x_params, "y")`` is the true translation of ``x``.
        y_params (dict[str, Tensor]): the content of ``y``.
    """

    x: Tensor
    y: Tensor
    x_params: dict[str, Tensor]
    y_params: dict[str, Tensor]


def _check_n(n: object) -> int:
    if isinstance(n, bool) or not isinstance(n, int):
        raise TypeError(f"n: expected an int, got {describe(n)}")
    if n < 0:
        raise ValueError(f"n: expected an int >= 0, got {n}")
    return n


def sample_domain_params(
    n: int,
    *,
    size: int | tuple[int, int] = 16,
    generator: torch.Generator | None = None,
) -> dict[str, Tensor]:
    """Draw the content of ``n`` scenes: one shape each, inside the image.

    The centre keeps ``radius + 1`` pixels from every border, so disks, triangles and diamonds lie
    wholly inside; a square turned by up to 45 degrees reaches ``radius * sqrt(2)`` and may lose the
    tip of a corner.

    Args:
        n (int): number of scenes, ``>= 0``.
        size (int | tuple[int, int]): ``(H, W)`` of the images, ``>= 12``. Default: ``16``.
        generator (torch.Generator | None): random source. Default: ``None`` (global).

    Returns:
        dict[str, Tensor]: ``kind`` (Tensor[N] int64, index into ``SHAPE_KINDS``), ``colour``
        (Tensor[N] int64 in {0, 1, 2}), ``center`` (Tensor[N, 2] float32, ``(cx, cy)`` in pixels),
        ``radius`` (Tensor[N] float32, between ``0.2`` and ``0.3`` of the smaller side) and
        ``angle`` (Tensor[N] float32, radians in ``[0, pi/2)``).
    """
    n = _check_n(n)
    height, width = check_int_pair("size", size, minimum=12)
    side = min(height, width)
    u = torch.rand(n, 4, generator=generator)  # (N, 4): radius, cx, cy, angle
    radius = side * (0.2 + 0.1 * u[:, 0])
    margin = radius + 1.0  # the circle of the given radius, plus a pixel, stays inside
    cx = margin + u[:, 1] * (width - 2 * margin)
    cy = margin + u[:, 2] * (height - 2 * margin)
    return {
        "kind": torch.randint(len(SHAPE_KINDS), (n,), generator=generator),
        "colour": torch.randint(3, (n,), generator=generator),
        "center": torch.stack([cx, cy], dim=1),  # (N, 2)
        "radius": radius,
        "angle": u[:, 3] * (math.pi / 2),
    }


def _check_params(params: object) -> int:
    keys = ("kind", "colour", "center", "radius", "angle")
    if not isinstance(params, dict) or any(k not in params for k in keys):
        raise TypeError(
            f"params: expected a dict with keys {list(keys)} (see sample_domain_params), got {describe(params)}"
        )
    n = int(params["kind"].shape[0])
    for k in keys:
        if not isinstance(params[k], Tensor) or params[k].shape[0] != n:
            raise ValueError(
                f"params[{k!r}]: expected a tensor with {n} rows like params['kind'], got {describe(params[k])}"
            )
    return n


def render_domain(
    params: dict[str, Tensor],
    domain: str,
    *,
    size: int | tuple[int, int] = 16,
) -> Tensor:
    """Render scenes in the style of one domain.

    Args:
        params (dict[str, Tensor]): content of N scenes, from :func:`sample_domain_params`.
        domain (str): ``"x"`` (on black) or ``"y"`` (on white).
        size (int | tuple[int, int]): ``(H, W)``; use the size the params were drawn for.
            Default: ``16``.

    Returns:
        Tensor[N, 3, H, W] (float32): images in ``[-1, 1]``.

    Example:
        >>> p = sample_domain_params(2, generator=torch.Generator().manual_seed(0))
        >>> x, y = render_domain(p, "x"), render_domain(p, "y")
        >>> bool(((x[:, :, 0, 0] == -1).all() and (y[:, :, 0, 0] == 1).all()))  # black vs white corner
        True
    """
    n = _check_params(params)
    check_choice("domain", domain, DOMAINS)
    height, width = check_int_pair("size", size)
    if n == 0:
        return torch.empty(0, 3, height, width)
    masks = torch.stack([
        shape_mask(SHAPE_KINDS[int(k)], (float(c[0]), float(c[1])), float(r), (height, width), angle=float(a))
        for k, c, r, a in zip(params["kind"], params["center"], params["radius"], params["angle"])
    ])  # (N, H, W) bool
    m = masks[:, None].float()  # (N, 1, H, W)
    colour = torch.tensor(DOMAIN_COLOURS)[params["colour"].long()][:, :, None, None]  # (N, 3, 1, 1)
    background = torch.tensor(DOMAIN_BACKGROUNDS[domain])[None, :, None, None]  # (1, 3, 1, 1)
    return m * colour + (1 - m) * background  # (N, 3, H, W)


def make_unpaired_domains(
    n: int,
    *,
    size: int | tuple[int, int] = 16,
    seed: int = 0,
) -> UnpairedDomains:
    """Two unpaired sets of ``n`` images: X and Y show independently drawn scenes.

    Args:
        n (int): images per domain, ``>= 0``.
        size (int | tuple[int, int]): ``(H, W)``, ``>= 12``. Default: ``16``.
        seed (int): seeds both draws (X from one stream, Y from another). Use different seeds
            for training and held-out sets. Default: ``0``.

    Returns:
        UnpairedDomains: ``(x, y, x_params, y_params)``.

    Example:
        >>> d = make_unpaired_domains(4, seed=0)
        >>> d.x.shape, d.y.shape
        (torch.Size([4, 3, 16, 16]), torch.Size([4, 3, 16, 16]))
        >>> truth = render_domain(d.x_params, "y")   # what G(d.x) should be
    """
    n = _check_n(n)
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise TypeError(f"seed: expected an int, got {describe(seed)}")
    gen = torch.Generator().manual_seed(seed)
    x_params = sample_domain_params(n, size=size, generator=gen)
    y_params = sample_domain_params(n, size=size, generator=gen)  # drawn independently of x
    return UnpairedDomains(
        render_domain(x_params, "x", size=size), render_domain(y_params, "y", size=size), x_params, y_params
    )


def decode_domain(images: Tensor, domain: str) -> tuple[Tensor, Tensor]:
    """Read the shape mask and the shape's colour back from images of one domain.

    Each pixel takes the nearest (Euclidean, RGB) of the domain's background and the three shape
    colours; the mask is the pixels nearest to a shape colour, and the image's colour is the one
    most of those pixels are nearest to. Works on generated images too, which is how the notebook
    scores a translation: ``decode_domain(G(x), "y")`` against ``decode_domain(truth, "y")``.

    Args:
        images (Tensor[N, 3, H, W]): images in ``[-1, 1]``.
        domain (str): ``"x"`` or ``"y"`` (which background to expect).

    Returns:
        tuple[Tensor[N, H, W] (bool), Tensor[N] (int64)]: the masks, and the colour index
        (0 red, 1 green, 2 blue) or ``-1`` when no pixel is nearer a shape colour than the background.
        For a rendered image this gives back its ``params``' mask and ``colour`` exactly.
    """
    if not isinstance(images, Tensor) or not images.is_floating_point():
        raise TypeError(f"images: expected a floating-point tensor, got {describe(images)}")
    if images.ndim != 4 or images.shape[1] != 3:
        raise ValueError(f"images: expected shape (N, 3, H, W), got {tuple(images.shape)}")
    check_choice("domain", domain, DOMAINS)
    references = torch.tensor((DOMAIN_BACKGROUNDS[domain], *DOMAIN_COLOURS), dtype=images.dtype)  # (4, 3)
    pixels = images.permute(0, 2, 3, 1)[..., None, :]  # (N, H, W, 1, 3)
    nearest = ((pixels - references) ** 2).sum(dim=-1).argmin(dim=-1)  # (N, H, W) in 0..3
    mask = nearest > 0
    counts = torch.stack([(nearest == k + 1).flatten(1).sum(dim=1) for k in range(3)], dim=1)  # (N, 3)
    colour = torch.where(mask.flatten(1).any(dim=1), counts.argmax(dim=1), torch.full_like(counts[:, 0], -1))
    return mask, colour

"""Two unpaired image domains with a known correspondence, for unpaired translation (notebook 11).

A *scene* is one shape described by its content: kind (disk, square, triangle, diamond), colour
index (0, 1, 2), centre, radius and angle. The same content is rendered in two styles:

- domain **X**, "solid": the shape filled in red, green or blue on a black background;
- domain **Y**, "negative with outline": the photographic negative of X (white background, the
  shape in cyan, magenta or yellow — the complement of X's colour) with a one-pixel black outline
  around the shape.

:func:`make_unpaired_domains` samples the content of the X set and of the Y set *independently*,
so a model sees no pairs. The course still knows the true translation of every X image,
``render_domain(x_params, "y")`` (and of every Y image), so the error of a learned ``G: X -> Y``
can be measured exactly.

Images are ``float32`` in ``[-1, 1]`` (the range of a ``tanh`` generator), shape ``(N, 3, H, W)``.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import Tensor

from lessons._checks import check_choice, check_int_pair, describe
from lessons.data.shapes import SHAPE_KINDS, shape_mask

__all__ = [
    "DOMAINS",
    "DOMAIN_PALETTES",
    "DOMAIN_BACKGROUNDS",
    "UnpairedDomains",
    "sample_domain_params",
    "render_domain",
    "make_unpaired_domains",
]

#: The two styles :func:`render_domain` draws.
DOMAINS = ("x", "y")

#: Shape colours per domain, Tensor[3, 3] (colour index, RGB) in [-1, 1]; Y is X's negative.
DOMAIN_PALETTES: dict[str, Tensor] = {
    "x": torch.tensor([[1.0, -1.0, -1.0], [-1.0, 1.0, -1.0], [-1.0, -1.0, 1.0]]),  # red, green, blue
    "y": torch.tensor([[1.0, -1.0, -1.0], [-1.0, 1.0, -1.0], [-1.0, -1.0, 1.0]]),  # the same colours
}
#: Background colour per domain (RGB in [-1, 1]): black for X, white for Y.
DOMAIN_BACKGROUNDS: dict[str, tuple[float, float, float]] = {"x": (-1.0, -1.0, -1.0), "y": (1.0, 1.0, 1.0)}
# the outline drawn around Y shapes
_OUTLINE = (-1.0, -1.0, -1.0)


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
    """Draw the content of ``n`` scenes: one shape each, fully inside the image.

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
    margin = radius + 1.5  # keep the shape and its outline inside the image
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
        raise TypeError(f"params: expected a dict with keys {list(keys)} (see sample_domain_params), got {describe(params)}")
    n = int(params["kind"].shape[0])
    for k in keys:
        if not isinstance(params[k], Tensor) or params[k].shape[0] != n:
            raise ValueError(f"params[{k!r}]: expected a tensor with {n} rows like params['kind'], got {describe(params[k])}")
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
        domain (str): ``"x"`` (solid colour on black) or ``"y"`` (negative colour on white with
            a black outline).
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
    colour = DOMAIN_PALETTES[domain][params["colour"].long()][:, :, None, None]  # (N, 3, 1, 1)
    background = torch.tensor(DOMAIN_BACKGROUNDS[domain])[None, :, None, None]  # (1, 3, 1, 1)
    images = m * colour + (1 - m) * background  # (N, 3, H, W)
    if domain == "y":
        # the outline: pixels next to the shape (3x3 dilation) that are not in it
        ring = (F.max_pool2d(m, 3, stride=1, padding=1) - m).clamp(0, 1)  # (N, 1, H, W)
        images = ring * torch.tensor(_OUTLINE)[None, :, None, None] + (1 - ring) * images
    return images


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

"""Procedural data for every notebook: nothing is downloaded, everything is generated from a seed.

Each topic has its own submodule; everything public is re-exported here, so notebooks write
``from lessons.data import make_instance_scene``. Every builder follows the library's conventions:
its randomness comes from a keyword-only ``seed: int | torch.Generator`` (an int gives the same data
on every call, a generator advances), a count of items is called ``n``, and what it builds comes back
as a ``typing.NamedTuple`` (unpack it, or read its named fields).

- :mod:`lessons.data.shapes` — the raster primitive (:func:`shape_mask`) and mask → box.
- :mod:`lessons.data.scenes` — instance scenes and moving clips (notebooks 01, 03).
- :mod:`lessons.data.panoptic` — stuff + things scenes and simulated head outputs (notebook 04).
- :mod:`lessons.data.clips` — panoptic clips with exact flow, occlusions and persistent ids (notebook 05).
- :mod:`lessons.data.landmarks` — images with K labelled landmarks (notebook 06).
- :mod:`lessons.data.bodies` — posed bodies with part index and UV charts (notebook 08).
- :mod:`lessons.data.faces` — faces with a box and five landmarks, for a face detector (notebook 08).
- :mod:`lessons.data.figures` — stick figures with clutter and occluded joints (notebook 07).
- :mod:`lessons.data.box_scenes` — shapes whose box corners lie outside them, with boxes (notebook 09).
- :mod:`lessons.data.domains` — two unpaired image domains with a known correspondence (notebook 11).
- :mod:`lessons.data.images` — sample photos that ship inside installed packages, procedural
  textures and the loss network's training set (notebook 12).
- :mod:`lessons.data.pairs` — one-to-many targets, mode mixtures, edge/shape and super-resolution pairs (notebook 10).
"""

from lessons.data.bodies import *  # noqa: F401,F403
from lessons.data.box_scenes import *  # noqa: F401,F403
from lessons.data.clips import *  # noqa: F401,F403
from lessons.data.domains import *  # noqa: F401,F403
from lessons.data.faces import *  # noqa: F401,F403
from lessons.data.figures import *  # noqa: F401,F403
from lessons.data.images import *  # noqa: F401,F403
from lessons.data.landmarks import *  # noqa: F401,F403
from lessons.data.pairs import *  # noqa: F401,F403
from lessons.data.panoptic import *  # noqa: F401,F403
from lessons.data.scenes import *  # noqa: F401,F403
from lessons.data.shapes import *  # noqa: F401,F403

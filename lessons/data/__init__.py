"""Procedural data for every notebook: nothing is downloaded, everything is generated from a seed.

Each topic has its own submodule; everything public is re-exported here, so notebooks write
``from lessons.data import make_instance_scene``.

- :mod:`lessons.data.shapes` — the raster primitive (:func:`shape_mask`) and mask → box.
- :mod:`lessons.data.scenes` — instance scenes and moving clips (notebooks 01, 03).
- :mod:`lessons.data.panoptic` — stuff + things scenes and simulated head outputs (notebook 04).
- :mod:`lessons.data.landmarks` — images with K labelled landmarks (notebook 06).
- :mod:`lessons.data.domains` — two unpaired image domains with a known correspondence (notebook 11).
- :mod:`lessons.data.images` — sample photos that ship inside installed packages (notebook 12).
"""

from lessons.data.domains import *  # noqa: F401,F403
from lessons.data.images import *  # noqa: F401,F403
from lessons.data.landmarks import *  # noqa: F401,F403
from lessons.data.panoptic import *  # noqa: F401,F403
from lessons.data.scenes import *  # noqa: F401,F403
from lessons.data.shapes import *  # noqa: F401,F403

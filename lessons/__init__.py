"""Beyond Boxes: a small, tested PyTorch library for the course on what comes after the bounding box.

One module per concept (``lessons.roi``, ``lessons.yolact``, ``lessons.panoptic``,
``lessons.heatmaps``, ``lessons.cycle``, ``lessons.style`` ...), procedural data in
``lessons.data``, exercise checks in ``lessons.exercises`` and notebook helpers in ``lessons.utils``.
"""

__version__ = "0.1.0"

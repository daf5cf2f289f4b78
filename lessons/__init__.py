"""Beyond Boxes: a small, tested PyTorch library for the course on what comes after the bounding box.

One module per concept (``lessons.roi``, ``lessons.yolact``, ``lessons.panoptic``,
``lessons.heatmaps``, ``lessons.cycle``, ``lessons.style`` ...), procedural data in
``lessons.data``, exercise checks in ``lessons.exercises`` and notebook helpers in ``lessons.utils``.

Importing ``lessons`` sets PyTorch's intra-op thread count to ``LESSONS_NUM_THREADS`` (default 1).
The course's tensors and models are tiny: a second thread saves almost nothing on a quiet machine,
and when another process (a browser, a second kernel) uses a core, the thread pool's hand-offs
make small operations many times slower. Set ``LESSONS_NUM_THREADS=4`` (or call
``torch.set_num_threads``) to choose otherwise; every claim the notebooks assert is tested at 1, 2
and 4 threads.
"""

import os as _os

import torch as _torch

__version__ = "0.1.0"

#: Environment variable that sets the intra-op thread count chosen on import (default ``1``).
THREADS_ENV = "LESSONS_NUM_THREADS"


def _configure_threads() -> None:
    raw = _os.environ.get(THREADS_ENV, "1")
    try:
        threads = int(raw)
    except ValueError:
        raise ValueError(f"{THREADS_ENV}: expected a positive int, got {raw!r}") from None
    if threads < 1:
        raise ValueError(f"{THREADS_ENV}: expected a positive int, got {raw!r}")
    _torch.set_num_threads(threads)


_configure_threads()

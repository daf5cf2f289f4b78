"""Small helpers every notebook uses: seeding, the device, an environment report, and widgets.

Widgets are optional sugar. :func:`explore` shows an ``ipywidgets`` control panel when a notebook
front end is running, and otherwise (CI, ``nbconvert``, a static renderer) draws a small grid of
figures for a few fixed parameter values, so the notebook reads the same without a live kernel.
The control panel's output also carries a PNG of the figure at the controls' starting values (one
display bundle: widget view, PNG, text), so a notebook executed with widgets and then rendered
statically still shows a figure: a renderer that cannot show the widget (nbconvert's HTML of a
notebook saved without widget state, JupyterLab's default) shows the PNG; with the widget state
saved (nbclient's default), nbconvert's HTML embeds the widget, whose saved output holds the figure.
"""

from __future__ import annotations

import os
import platform
import random
import sys
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import torch

from lessons._checks import check_choice

__all__ = ["seed_everything", "device", "environment_report", "widget_mode", "explore"]

#: Environment variable that forces the widget mode: ``static``, ``interactive`` or ``auto``.
WIDGETS_ENV = "LESSONS_WIDGETS"


def seed_everything(seed: int = 0) -> torch.Generator:
    """Seed Python's, NumPy's and PyTorch's global generators; return a seeded CPU generator.

    Args:
        seed (int): the seed. Default: ``0``.

    Returns:
        torch.Generator: a fresh generator seeded with ``seed``, for code that takes one explicitly.
    """
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise TypeError(f"seed: expected an int, got {type(seed).__name__} {seed!r}")
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    return torch.Generator().manual_seed(seed)


def device() -> torch.device:
    """``cuda`` when a CUDA device is present, else ``cpu``. The course never requires a GPU."""
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def environment_report() -> dict[str, str]:
    """Versions, device and thread count, as a dict of strings (the notebooks print it)."""
    import matplotlib
    import torchvision

    try:
        import ipywidgets

        widgets_version = ipywidgets.__version__
    except ImportError:  # optional at run time: explore() falls back to static figures
        widgets_version = "not installed"
    dev = device()
    return {
        "python": sys.version.split()[0],
        "platform": platform.platform(terse=True),
        "torch": torch.__version__,
        "torchvision": torchvision.__version__,
        "numpy": np.__version__,
        "matplotlib": matplotlib.__version__,
        "ipywidgets": widgets_version,
        "device": str(dev) + (f" ({torch.cuda.get_device_name(0)})" if dev.type == "cuda" else ""),
        "torch threads": f"{torch.get_num_threads()} (the course's choice for tiny workloads; "
        f"set LESSONS_NUM_THREADS to change it)",
        "widgets": widget_mode(),
    }


def widget_mode() -> str:
    """``"interactive"`` when a notebook front end can show widgets, else ``"static"``.

    ``LESSONS_WIDGETS=static`` (set by the test runner) or ``=interactive`` overrides the guess.
    """
    forced = os.environ.get(WIDGETS_ENV, "auto")
    check_choice(WIDGETS_ENV, forced, ("auto", "static", "interactive"))
    if forced != "auto":
        return forced
    try:
        import ipywidgets  # noqa: F401
        from IPython import get_ipython
    except ImportError:
        return "static"
    shell = get_ipython()
    return "interactive" if shell is not None and hasattr(shell, "kernel") else "static"


def explore(
    draw: Callable[..., Any],
    *,
    controls: Mapping[str, Any],
    examples: Sequence[Mapping[str, Any]],
    panels: int = 1,
    ncols: int = 3,
    panel_size: tuple[float, float] = (3.2, 3.0),
    mode: str | None = None,
    show: bool = True,
):
    """A widget to explore a parameter, with a static figure grid as its fallback.

    Args:
        draw (Callable): ``draw(ax, **params)`` draws one state on a matplotlib Axes (with
            ``panels > 1`` it receives a sequence of Axes). It may return a title string.
        controls (Mapping[str, Any]): ipywidgets controls or abbreviations, one per parameter of
            ``draw``: ``(0.0, 1.0, 0.05)`` for a float slider, ``[2, 7, 14]`` for a dropdown,
            ``True`` for a checkbox, ``ipywidgets.fixed(x)`` for a fixed value.
        examples (Sequence[Mapping[str, Any]]): parameter sets drawn by the static fallback, each a
            full set of ``draw``'s keyword arguments.
        panels (int): Axes per state. Default: ``1``.
        ncols (int): states per row in the static grid when ``panels == 1``. Default: ``3``.
        panel_size (tuple[float, float]): inches per Axes. Default: ``(3.2, 3.0)``.
        mode (str | None): ``"interactive"``, ``"static"`` or ``None`` (guess, see
            :func:`widget_mode`). Default: ``None``.
        show (bool): display the widget or figure now and return ``None`` (so a cell that ends
            with the call shows it once). ``False`` returns it undisplayed. Default: ``True``.

    Returns:
        None when ``show``; else the ``ipywidgets.interactive`` object (interactive mode) or the
        matplotlib Figure (static mode).
    """
    import matplotlib.pyplot as plt

    if not examples:
        raise ValueError("examples: expected at least one parameter set for the static fallback, got none")
    mode = widget_mode() if mode is None else mode
    check_choice("mode", mode, ("interactive", "static"))

    def title_of(params: Mapping[str, Any]) -> str:
        return ", ".join(f"{k}={_fmt(v)}" for k, v in params.items())

    if mode == "interactive":
        import ipywidgets

        def figure(**params: Any):
            fig, axes = plt.subplots(1, panels, figsize=(panel_size[0] * panels, panel_size[1]), squeeze=False)
            target = axes[0, 0] if panels == 1 else list(axes[0])
            title = draw(target, **params)
            fig.suptitle(title or title_of(params), fontsize=9)
            fig.tight_layout()
            return fig

        def render(**params: Any) -> None:
            figure(**params)
            plt.show()

        widget = ipywidgets.interactive(render, **controls)
        if not show:
            return widget
        from IPython.display import display

        display(_widget_bundle(widget, figure), raw=True)
        return None

    n = len(examples)
    if panels == 1:
        cols = min(ncols, n)
        rows = -(-n // cols)
    else:
        rows, cols = n, panels
    fig, axes = plt.subplots(rows, cols, figsize=(panel_size[0] * cols, panel_size[1] * rows), squeeze=False)
    for i, params in enumerate(examples):
        if panels == 1:
            ax = axes[i // cols, i % cols]
            title = draw(ax, **params)
            ax.set_title(title or title_of(params), fontsize=8)
        else:
            row = list(axes[i])
            title = draw(row, **params)
            row[0].set_title(title or title_of(params), fontsize=8, loc="left")
    if panels == 1:  # switch off the unused cells of the last row
        for j in range(n, rows * cols):
            axes[j // cols, j % cols].axis("off")
    fig.suptitle("Static preview (run in JupyterLab for the interactive widget)", fontsize=9)
    fig.tight_layout()
    if not show:
        return fig
    plt.show()
    return None


def _widget_bundle(widget: Any, figure: Callable[..., Any]) -> dict[str, Any]:
    """One display bundle for an ``ipywidgets.interactive``: the live view plus a static PNG.

    The bundle holds ``application/vnd.jupyter.widget-view+json`` (a live front end shows the
    widget), ``image/png`` (the figure that ``figure(**values)`` draws at the controls' current,
    i.e. starting, values) and ``text/plain``. A renderer without the widget's state (nbconvert
    HTML of a notebook saved without it, a static site) skips the widget view and shows the PNG.

    Args:
        widget (ipywidgets.interactive): the control panel.
        figure (Callable): ``figure(**params) -> matplotlib Figure`` for one set of parameter values.

    Returns:
        dict[str, Any]: mimetype -> data, for ``IPython.display.display(bundle, raw=True)``.
    """
    import base64
    import io

    import matplotlib.pyplot as plt

    bundle = dict(widget._repr_mimebundle_() or {})
    values = {k: v for k, v in getattr(widget, "kwargs", {}).items()}
    fig = figure(**values)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=80)
    plt.close(fig)
    bundle["image/png"] = base64.b64encode(buffer.getvalue()).decode("ascii")
    settings = ", ".join(f"{k}={_fmt(v)}" for k, v in values.items())
    bundle["text/plain"] = f"Interactive figure ({settings}); run the notebook in JupyterLab to move the controls."
    return bundle


def _fmt(value: Any) -> str:
    return f"{value:.3g}" if isinstance(value, float) else str(value)

"""lessons.utils: seeding, device, environment report, widget mode and the static widget fallback."""

import random

import matplotlib

matplotlib.use("Agg")
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from lessons.utils import WIDGETS_ENV, device, environment_report, explore, seed_everything, widget_mode  # noqa: E402


def test_seed_everything_makes_all_generators_repeat():
    g1 = seed_everything(3)
    first = (random.random(), np.random.rand(), torch.rand(2), torch.rand(2, generator=g1))
    g2 = seed_everything(3)
    second = (random.random(), np.random.rand(), torch.rand(2), torch.rand(2, generator=g2))
    assert first[0] == second[0] and first[1] == second[1]
    assert torch.equal(first[2], second[2]) and torch.equal(first[3], second[3])
    with pytest.raises(TypeError, match="seed: expected an int"):
        seed_everything(1.5)


def test_device_is_cpu_or_cuda(monkeypatch):
    assert device().type == ("cuda" if torch.cuda.is_available() else "cpu")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert device() == torch.device("cpu")


def test_environment_report_says_who_chose_the_thread_count():
    report = environment_report()
    assert report["torch threads"].startswith(f"{torch.get_num_threads()} ")
    assert "LESSONS_NUM_THREADS" in report["torch threads"]


def test_environment_report_has_versions_device_threads():
    report = environment_report()
    for key in ("python", "torch", "torchvision", "numpy", "matplotlib", "device", "torch threads"):
        assert report[key]
    assert report["torch"] == torch.__version__


def test_widget_mode_follows_environment(monkeypatch):
    monkeypatch.setenv(WIDGETS_ENV, "static")
    assert widget_mode() == "static"
    monkeypatch.setenv(WIDGETS_ENV, "interactive")
    assert widget_mode() == "interactive"
    monkeypatch.setenv(WIDGETS_ENV, "auto")
    assert widget_mode() == "static"  # no kernel in a plain pytest process
    monkeypatch.setenv(WIDGETS_ENV, "sometimes")
    with pytest.raises(ValueError, match="LESSONS_WIDGETS: expected one of"):
        widget_mode()


def _draw(ax, sigma=1.0, label="x"):
    ax.plot([0, 1], [0, sigma])
    return f"sigma {sigma}"


def test_static_fallback_draws_one_panel_per_example():
    examples = [dict(sigma=s, label="a") for s in (0.5, 1.0, 2.0, 4.0)]
    fig = explore(_draw, controls=dict(sigma=(0.1, 5.0)), examples=examples, mode="static", ncols=3, show=False)
    axes = [ax for ax in fig.axes if ax.has_data()]
    assert len(axes) == 4
    assert [ax.get_title() for ax in axes] == ["sigma 0.5", "sigma 1.0", "sigma 2.0", "sigma 4.0"]
    assert len(fig.axes) == 6  # 2 rows x 3 columns, two switched off


def test_static_fallback_with_several_panels_per_example():
    def draw(axes, k=1):
        for ax in axes:
            ax.plot([0, k])

    fig = explore(draw, controls=dict(k=(1, 3)), examples=[dict(k=1), dict(k=2)], panels=3, mode="static", show=False)
    assert len(fig.axes) == 6
    assert all(ax.axison and ax.has_data() for ax in fig.axes)  # every drawn panel stays visible


def test_interactive_mode_builds_a_widget_with_the_controls():
    widget = explore(
        _draw,
        controls=dict(sigma=(0.1, 5.0, 0.1), label=["a", "b"]),
        examples=[dict(sigma=1.0)],
        mode="interactive",
        show=False,
    )
    names = [getattr(child, "description", "") for child in widget.children]
    assert "sigma" in names and "label" in names


def test_explore_errors():
    with pytest.raises(ValueError, match="examples: expected at least one"):
        explore(_draw, controls={}, examples=[], mode="static")
    with pytest.raises(ValueError, match="mode: expected one of"):
        explore(_draw, controls={}, examples=[dict(sigma=1.0)], mode="live")


def _bundle_notebook(bundle, *, with_state):
    """A one-cell notebook whose output is ``bundle`` (optionally with the widget's saved state)."""
    import nbformat

    cell = nbformat.v4.new_code_cell("explore(...)")
    cell.outputs = [nbformat.v4.new_output("display_data", data=bundle)]
    nb = nbformat.v4.new_notebook(cells=[cell])
    if with_state:
        model = bundle["application/vnd.jupyter.widget-view+json"]["model_id"]
        nb.metadata["widgets"] = {
            "application/vnd.jupyter.widget-state+json": {
                "version_major": 2,
                "version_minor": 0,
                "state": {
                    model: {
                        "model_name": "VBoxModel",
                        "model_module": "@jupyter-widgets/controls",
                        "model_module_version": "2.0.0",
                        "state": {},
                    }
                },
            }
        }
    return nb


def test_interactive_explore_displays_one_bundle_with_widget_png_and_text(monkeypatch):
    import base64

    from IPython import display as ipd
    from nbconvert import HTMLExporter

    shown = []
    monkeypatch.setattr(ipd, "display", lambda *objs, **kw: shown.append((objs, kw)))
    assert explore(_draw, controls=dict(sigma=(0.1, 5.0, 0.1)), examples=[dict(sigma=1.0)], mode="interactive") is None
    assert len(shown) == 1  # one output, not a widget plus a separate picture
    (bundle,), kw = shown[0]
    assert kw.get("raw") is True
    assert set(bundle) >= {"application/vnd.jupyter.widget-view+json", "image/png", "text/plain"}
    assert base64.b64decode(bundle["image/png"])[:8] == b"\x89PNG\r\n\x1a\n"
    assert "sigma=2.5" in bundle["text/plain"]  # the figure at the slider's starting value
    # a static renderer without the widget's state (nbconvert HTML of a notebook saved by JupyterLab,
    # GitHub) skips the widget view and shows the picture
    body, _ = HTMLExporter(template_name="lab").from_notebook_node(_bundle_notebook(bundle, with_state=False))
    assert "<img" in body and "data:image/png;base64," in body
    # with the widget's state saved (nbclient's default), the page embeds the live widget instead
    body, _ = HTMLExporter(template_name="lab").from_notebook_node(_bundle_notebook(bundle, with_state=True))
    assert 'type="application/vnd.jupyter.widget-view+json"' in body

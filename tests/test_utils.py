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
    widget = explore(_draw, controls=dict(sigma=(0.1, 5.0, 0.1), label=["a", "b"]), examples=[dict(sigma=1.0)],
                     mode="interactive", show=False)
    names = [getattr(child, "description", "") for child in widget.children]
    assert "sigma" in names and "label" in names


def test_explore_errors():
    with pytest.raises(ValueError, match="examples: expected at least one"):
        explore(_draw, controls={}, examples=[], mode="static")
    with pytest.raises(ValueError, match="mode: expected one of"):
        explore(_draw, controls={}, examples=[dict(sigma=1.0)], mode="live")

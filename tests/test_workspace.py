"""The student's workspace (tools/workspace.py, `make lab`): copies once, never overwrites your work."""

import importlib.util
import json
import shutil
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parent.parent


def _load(name):
    spec = importlib.util.spec_from_file_location(name, ROOT / "tools" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


workspace = _load("workspace")
nbtools = _load("nbtools")


@pytest.fixture
def course(tmp_path):
    course = tmp_path / "notebooks"
    course.mkdir()
    for name in ("00_start_here.ipynb", "01_roi_pool_vs_roi_align.ipynb"):
        shutil.copy(ROOT / "notebooks" / name, course / name)
    return course


def test_first_sync_copies_every_course_notebook(course, tmp_path):
    work = tmp_path / "work"
    lines = workspace.sync(course, work)
    assert sorted(p.name for p in work.glob("*.ipynb")) == sorted(p.name for p in course.glob("*.ipynb"))
    assert all(line.startswith("new") for line in lines) and len(lines) == 2
    assert workspace.sync(course, work) == []  # nothing new: nothing said, nothing touched


def test_course_update_refreshes_untouched_copies_and_keeps_edited_ones(course, tmp_path):
    work = tmp_path / "work"
    workspace.sync(course, work)
    mine = work / "00_start_here.ipynb"
    nb = nbformat.read(mine, as_version=4)
    nb.cells[0].source += "\n\nmy notes"
    nbformat.write(nb, mine)
    edited = mine.read_bytes()
    for name in ("00_start_here.ipynb", "01_roi_pool_vs_roi_align.ipynb"):  # the course publishes a new version
        new = nbformat.read(course / name, as_version=4)
        new.cells[0].source += "\n\n(updated)"
        nbformat.write(new, course / name)
    lines = workspace.sync(course, work)
    assert mine.read_bytes() == edited, "an edited notebook was overwritten"
    assert any("kept" in line and "notebooks/00_start_here.ipynb" in line for line in lines)
    untouched = work / "01_roi_pool_vs_roi_align.ipynb"
    assert untouched.read_bytes() == (course / "01_roi_pool_vs_roi_align.ipynb").read_bytes()
    assert any(line.startswith("updated") and "01_roi" in line for line in lines)
    new_course = course / "02_new_lesson.ipynb"
    shutil.copy(course / "01_roi_pool_vs_roi_align.ipynb", new_course)
    assert any("new" in line and "02_new_lesson" in line for line in workspace.sync(course, work))


@pytest.mark.kernel
def test_a_student_session_leaves_the_course_clean(course, tmp_path):
    """Copy, run and save with outputs, answer an exercise: the course's own checks still pass."""
    from nbclient import NotebookClient

    work = tmp_path / "work"
    workspace.sync(course, work)
    mine = work / "00_start_here.ipynb"
    nb = nbformat.read(mine, as_version=4)
    master = nbformat.read(ROOT / "solutions" / "00_start_here.ipynb", as_version=4)
    for cell, master_cell in zip(nb.cells, master.cells):
        if "exercise" in cell.metadata.get("tags", []):
            cell.source = "\n".join(line for line in master_cell.source.splitlines() if "SOLUTION" not in line)
    NotebookClient(nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(work)}}).execute()
    nbformat.write(nb, mine)
    saved = json.loads(mine.read_text(encoding="utf-8"))
    assert any(c.get("outputs") for c in saved["cells"] if c["cell_type"] == "code")

    def text(output):  # nbformat may store a stream's text as a list of lines
        value = output.get("text", "")
        return "".join(value) if isinstance(value, list) else value

    checks = [
        "".join(text(o) for o in c["outputs"]) for c in saved["cells"] if "check" in c["metadata"].get("tags", [])
    ]
    assert checks and all("✅" in text for text in checks), checks
    assert nbtools.cmd_check() == 0  # the tracked notebooks are untouched: `make test`'s hygiene holds
    before = mine.read_bytes()
    workspace.sync(course, work)  # a second `make lab`
    assert mine.read_bytes() == before

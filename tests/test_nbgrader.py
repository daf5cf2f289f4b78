"""Masters carry nbgrader's cell metadata, and nbtools writes only valid notebooks.

Every master is normalized in memory (the committed files are not touched) and put through the
preprocessors nbgrader's ``generate_assignment`` runs, except the two that need a course folder
and a database (IncludeHeaderFooter, SaveCells). Those tests are skipped when nbgrader is not
installed (``pip install nbgrader``); the metadata itself and the write validation are
tested without it.
"""

from __future__ import annotations

import copy
import importlib.util
import re
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parent.parent
spec = importlib.util.spec_from_file_location("nbtools_for_nbgrader_tests", ROOT / "tools" / "nbtools.py")
nbtools = importlib.util.module_from_spec(spec)
spec.loader.exec_module(nbtools)

MASTERS = sorted((ROOT / "solutions").glob("*.ipynb"))


def normalized(path: Path) -> nbformat.NotebookNode:
    return nbtools.normalize(nbtools.read(path), path.stem)


def nbgrader_preprocessors():
    pytest.importorskip("nbgrader", reason="nbgrader is not installed (.venv/bin/python -m pip install nbgrader)")
    from nbgrader import preprocessors as p

    return [
        p.LockCells,
        p.ClearSolutions,
        p.ClearOutput,
        p.CheckCellMetadata,
        p.ComputeChecksums,
        p.ClearHiddenTests,
        p.ClearMarkScheme,
        p.ComputeChecksums,
        p.CheckCellMetadata,
    ]


def release(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """What ``nbgrader generate_assignment`` would hand out (minus header, footer and database)."""
    resources: dict = {}
    for preprocessor in nbgrader_preprocessors():
        nb, resources = preprocessor().preprocess(nb, resources)
    return nb


# ---------------------------------------------------------------- the metadata


@pytest.mark.parametrize("path", MASTERS, ids=lambda p: p.name)
def test_normalize_gives_solution_and_test_cells_their_nbgrader_metadata(path):
    nb = normalized(path)
    ids = []
    for index, cell in enumerate(nb.cells):
        meta = cell.metadata.get("nbgrader")
        cell_tags = nbtools.tags(cell)
        if "exercise" in cell_tags:
            assert meta["solution"] and not meta["grade"] and not meta["locked"], index
        elif "check" in cell_tags:
            assert meta["grade"] and meta["locked"] and not meta["solution"] and meta["points"] == 1, index
            assert meta["grade_id"] == "check-" + ids[-1].removeprefix("exercise-"), index
        elif "discussion" in cell_tags:
            assert meta["grade"] and meta["solution"] and meta["points"] == 0, index
        else:
            assert meta is None, index
            continue
        assert meta["schema_version"] == 3 and re.fullmatch(r"[a-zA-Z0-9_\-]+", meta["grade_id"])
        ids.append(meta["grade_id"])
    assert len(ids) == len(set(ids)), "grade ids must be unique"
    number = int(path.name[:2])
    assert any(i.startswith(f"exercise-{number}-1-") for i in ids)


@pytest.mark.parametrize("path", MASTERS[:2], ids=lambda p: p.name)
def test_metadata_is_stable_keeps_set_points_and_stays_out_of_student_versions(path):
    nb = normalized(path)
    assert nbtools.dumps(nbtools.normalize(nb, path.stem)) == nbtools.dumps(nb)  # idempotent
    check = next(c for c in nb.cells if "check" in nbtools.tags(c))
    check.metadata["nbgrader"]["points"] = 3
    assert (
        next(c for c in nbtools.normalize(nb, path.stem).cells if "check" in nbtools.tags(c)).metadata["nbgrader"][
            "points"
        ]
        == 3
    )
    student = nbtools.make_student(nb, path.name)
    assert all("nbgrader" not in c.metadata for c in student.cells)
    plain = nbtools.read(path)  # the same master without any nbgrader metadata
    for cell in plain.cells:
        cell.metadata.pop("nbgrader", None)
    assert nbtools.dumps(student) == nbtools.dumps(nbtools.make_student(plain, path.name))


# ---------------------------------------------------------------- nbgrader itself


@pytest.mark.parametrize("path", MASTERS, ids=lambda p: p.name)
def test_nbgrader_generate_assignment_preprocessors_accept_every_master(path):
    nbgrader_preprocessors()  # skips without nbgrader
    master = normalized(path)
    from nbgrader.nbgraderformat import MetadataValidator

    MetadataValidator().validate_nb(copy.deepcopy(master))
    released = release(copy.deepcopy(master))
    assert nbtools.leaks(master, released) == [], "an answer survived nbgrader's ClearSolutions"
    for before, after in zip(master.cells, released.cells):
        if "exercise" in nbtools.tags(before):
            assert "raise NotImplementedError()" in after.source
            assert after.source.split("\n")[0] == before.source.split("\n")[0]  # the signature stays
        if "discussion" in nbtools.tags(before):
            assert "YOUR ANSWER HERE" in after.source
        if "check" in nbtools.tags(before):
            assert after.metadata["nbgrader"]["locked"] and len(after.metadata["nbgrader"]["checksum"]) == 32


def test_without_the_metadata_nbgrader_refuses_a_master():
    nbgrader_preprocessors()
    from nbgrader.preprocessors import ClearSolutions

    nb = normalized(MASTERS[0])
    for cell in nb.cells:
        cell.metadata.pop("nbgrader", None)
    with pytest.raises(RuntimeError, match="Solution region detected in a non-solution cell"):
        ClearSolutions().preprocess(nb, {})


# ---------------------------------------------------------------- strict validation of every write


def test_dumps_refuses_an_invalid_notebook_without_repairing_it():
    nb = normalized(MASTERS[0])
    bad = copy.deepcopy(nb)
    bad.cells[0]["unknown_field"] = 1
    with pytest.raises(nbformat.ValidationError, match="unknown_field"):
        nbtools.dumps(bad)
    twins = copy.deepcopy(nb)
    twins.cells[1].id = twins.cells[0].id
    with pytest.raises(nbformat.ValidationError, match="duplicate cell id"):
        nbtools.dumps(twins)
    assert twins.cells[1].id == twins.cells[0].id  # reported, not silently renamed


def test_make_student_writes_nothing_when_one_master_is_invalid(tmp_path, monkeypatch, capsys):
    solutions, notebooks = tmp_path / "solutions", tmp_path / "notebooks"
    solutions.mkdir()
    good = (ROOT / "solutions" / MASTERS[0].name).read_text(encoding="utf-8")
    (solutions / MASTERS[0].name).write_text(good, encoding="utf-8")
    bad = nbtools.read(MASTERS[0])
    bad.cells[0]["unknown_field"] = 1
    (solutions / "99_broken.ipynb").write_text(nbformat.writes(bad), encoding="utf-8")  # nbformat only logs
    before = {p.name: p.read_bytes() for p in solutions.iterdir()}
    monkeypatch.setattr(nbtools, "SOLUTIONS", solutions)
    monkeypatch.setattr(nbtools, "NOTEBOOKS", notebooks)
    assert nbtools.cmd_student() == 1
    assert "unknown_field" in capsys.readouterr().err
    assert {p.name: p.read_bytes() for p in solutions.iterdir()} == before
    assert list(notebooks.glob("*.ipynb")) == []

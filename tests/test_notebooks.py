"""Notebook hygiene and the student-version generator (tools/nbtools.py).

The real notebooks must be clean and in sync; and each rule is shown to fire on a notebook that
breaks it, so none of these tests can pass vacuously.
"""

import copy
import importlib.util
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

ROOT = Path(__file__).resolve().parent.parent
spec = importlib.util.spec_from_file_location("nbtools", ROOT / "tools" / "nbtools.py")
nbtools = importlib.util.module_from_spec(spec)
spec.loader.exec_module(nbtools)

MASTERS = sorted((ROOT / "solutions").glob("*.ipynb"))
STUDENTS = sorted((ROOT / "notebooks").glob("*.ipynb"))


def test_there_are_masters_and_matching_student_versions():
    assert MASTERS, "no notebooks in solutions/"
    assert [p.name for p in MASTERS] == [p.name for p in STUDENTS]


@pytest.mark.parametrize("path", MASTERS, ids=lambda p: p.name)
def test_master_is_clean_and_normalized(path):
    nb = nbtools.read(path)
    assert nbtools.problems(nb, path.name) == []
    assert path.read_text(encoding="utf-8") == nbtools.dumps(nbtools.normalize(nb, path.stem)), (
        "not normalized: run `make student`"
    )


@pytest.mark.parametrize("path", MASTERS, ids=lambda p: p.name)
def test_student_version_equals_fresh_regeneration(path):
    student = nbtools.dumps(nbtools.make_student(nbtools.read(path), path.name))
    assert (ROOT / "notebooks" / path.name).read_text(encoding="utf-8") == student, (
        "notebooks/ drifted from solutions/: run `make student` and commit both"
    )


@pytest.mark.parametrize("path", MASTERS, ids=lambda p: p.name)
def test_no_solution_text_or_output_in_student_version(path):
    master = nbtools.read(path)
    student = nbtools.read(ROOT / "notebooks" / path.name)
    assert nbtools.leaks(master, student) == []
    assert nbtools.problems(student, path.name, master=False) == []
    stubs = [c for c in student.cells if "exercise" in nbtools.tags(c)]
    for cell in stubs:
        assert 'raise NotImplementedError("Exercise ' in cell.source
    if any("discussion" in nbtools.tags(c) for c in master.cells):
        assert any(nbtools.ANSWER_PLACEHOLDER in c.source for c in student.cells)


def test_check_command_finds_the_repository_clean(capsys):
    assert nbtools.cmd_check() == 0
    assert "notebooks clean" in capsys.readouterr().out


@pytest.mark.parametrize("path", MASTERS, ids=lambda p: p.name)
def test_every_master_has_a_budget_within_the_course_limit(path):
    budget = nbtools.read(path).metadata["lessons"]["budget_seconds"]
    assert 0 < budget <= 60


# ---------------------------------------------------------------- the generator on small notebooks


def tiny(**overrides):
    cells = [
        new_markdown_cell("# Title"),
        new_code_cell(
            'def twice(x):\n    """Return 2x."""\n    ### BEGIN SOLUTION\n    y = x * 2\n'
            "    return y\n    ### END SOLUTION",
            metadata={"tags": ["exercise"]},
        ),
        new_code_cell("check_twice(twice)", metadata={"tags": ["check"]}, outputs=[], execution_count=None),
        new_markdown_cell(
            "Why?\n\n### BEGIN SOLUTION\nBecause doubling is linear.\n### END SOLUTION",
            metadata={"tags": ["discussion"]},
        ),
    ]
    nb = new_notebook(cells=cells, metadata={"lessons": {"budget_seconds": 30}})
    for key, value in overrides.items():
        setattr(nb, key, value)
    return nb


def test_generator_makes_stubs_placeholders_and_is_deterministic():
    nb = tiny()
    student = nbtools.make_student(nb, "07_demo.ipynb")
    src = student.cells[1].source
    assert src == (
        'def twice(x):\n    """Return 2x."""\n    raise NotImplementedError("Exercise 7.1: twice (see the hint above)")'
    )
    assert student.cells[3].source == "Why?\n\nYOUR ANSWER HERE"
    assert nbtools.leaks(nb, student) == []
    assert nbtools.dumps(student) == nbtools.dumps(nbtools.make_student(copy.deepcopy(nb), "07_demo.ipynb"))
    assert student.metadata["kernelspec"]["name"] == "python3"
    assert [c.id for c in student.cells] == [c.id for c in nbtools.normalize(nb, "07_demo").cells]


def test_stub_really_raises_not_implemented():
    student = nbtools.make_student(tiny(), "07_demo.ipynb")
    scope = {}
    exec(student.cells[1].source, scope)
    with pytest.raises(NotImplementedError, match="Exercise 7.1: twice"):
        scope["twice"](3)


def test_normalize_strips_outputs_counts_and_volatile_metadata():
    nb = tiny()
    nb.cells[2].outputs = [nbformat.v4.new_output("stream", text="✅")]
    nb.cells[2].execution_count = 4
    nb.cells[2].metadata["collapsed"] = True
    nb.metadata["widgets"] = {"state": {}}
    clean = nbtools.normalize(nb, "07_demo")
    assert clean.cells[2].outputs == [] and clean.cells[2].execution_count is None
    assert clean.cells[2].metadata["tags"] == ["check"] and set(clean.cells[2].metadata) == {"tags", "nbgrader"}
    assert set(clean.metadata) == {"kernelspec", "language_info", "lessons"}
    ids = [c.id for c in clean.cells]
    assert len(set(ids)) == len(ids)


def test_leak_detector_catches_a_copied_answer():
    master = tiny()
    master.cells[1].source = master.cells[1].source.replace("y = x * 2", "doubled_value = x * 2")
    student = nbtools.make_student(master, "07_demo.ipynb")
    assert nbtools.leaks(master, student) == []
    student.cells.append(new_code_cell("doubled_value = x * 2"))
    assert nbtools.leaks(master, student) == ["doubled_value = x * 2"]


BAD = {
    "unbalanced markers": (
        lambda nb: setattr(nb.cells[1], "source", nb.cells[1].source.replace("    ### END SOLUTION", "")),
        "never closed",
    ),
    "END before BEGIN": (
        lambda nb: setattr(nb.cells[1], "source", "    ### END SOLUTION\n" + nb.cells[1].source),
        "without a matching",
    ),
    "markers in an untagged code cell": (lambda nb: nb.cells[1].metadata.update(tags=[]), "not tagged 'exercise'"),
    "markers in an untagged markdown cell": (
        lambda nb: nb.cells[3].metadata.update(tags=[]),
        "not tagged 'discussion'",
    ),
    "exercise tag on markdown": (
        lambda nb: nb.cells[0].metadata.update(tags=["exercise"]),
        "'exercise' tag on a markdown cell",
    ),
    "exercise not followed by check": (
        lambda nb: nb.cells[2].metadata.update(tags=[]),
        "followed by a code cell tagged 'check'",
    ),
    "exercise last": (lambda nb: nb.cells.__delitem__(slice(2, None)), "followed by a code cell tagged 'check'"),
    "unknown tag": (lambda nb: nb.cells[0].metadata.update(tags=["solution"]), "unknown tag"),
    "outputs committed": (lambda nb: setattr(nb.cells[2], "execution_count", 3), "holds outputs"),
    "no budget": (lambda nb: nb.metadata.pop("lessons"), "budget_seconds must be a positive number"),
    "zero budget": (lambda nb: nb.metadata.update(lessons={"budget_seconds": 0}), "budget_seconds"),
    "top-level solution": (
        lambda nb: setattr(nb.cells[1], "source", "### BEGIN SOLUTION\nx = 1\n### END SOLUTION"),
        "inside the exercise's function",
    ),
    "exercise without a region": (
        lambda nb: setattr(nb.cells[1], "source", "def twice(x):\n    return 2 * x"),
        "without a solution region",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_each_rule_fires_and_the_generator_refuses(case):
    nb = tiny()
    breaker, message = BAD[case]
    breaker(nb)
    found = nbtools.problems(nb, "07_demo.ipynb")
    assert any(message in p for p in found), found
    with pytest.raises(nbtools.NotebookError):
        nbtools.make_student(nb, "07_demo.ipynb")


def test_bad_file_name_and_student_with_markers_are_problems():
    assert any("file name" in p for p in nbtools.problems(tiny(), "demo.ipynb"))
    assert any("student notebook" in p for p in nbtools.problems(tiny(), "07_demo.ipynb", master=False))


@pytest.mark.kernel
def test_grade_reads_each_checks_verdict(tmp_path):
    student = nbtools.read(ROOT / "notebooks" / "00_start_here.ipynb")
    (tmp_path / "untouched.ipynb").write_text(nbtools.dumps(student))
    wrong = copy.deepcopy(student)
    cell = next(c for c in wrong.cells if "exercise" in nbtools.tags(c))
    cell.source = (
        cell.source.split("    raise NotImplementedError")[0] + "    return torch.zeros(len(boxes1), len(boxes2))"
    )
    (tmp_path / "wrong.ipynb").write_text(nbtools.dumps(wrong))
    assert nbtools.grade(tmp_path / "untouched.ipynb") == [("0.1 box_iou", "not attempted", "")]
    [(exercise, verdict, detail)] = nbtools.grade(tmp_path / "wrong.ipynb")
    assert (exercise, verdict) == ("0.1 box_iou", "failed")
    assert "case 1 of 11: identical boxes (IoU 1)" in detail

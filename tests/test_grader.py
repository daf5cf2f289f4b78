"""The grader (tools/grader.py) on a batch of returned notebooks, honest and otherwise.

One batch, built from notebook 00 (one exercise, fast): the master (full marks), the student
version (not attempted), a wrong answer, a kernel that dies, an infinite loop, invalid JSON, a missing
file, a deleted exercise cell, a deleted check cell, a forged ✅ print, monkey-patched checks, and a
notebook that looks for the masters, writes next to itself and tries the network. Every verdict is
asserted, with the total time and the submissions' checksums. Smaller tests cover the planning,
the gradebook files and the command line.
"""

from __future__ import annotations

import copy
import csv
import importlib.util
import json
import sys
import time
from pathlib import Path

import pytest
from nbformat.v4 import new_code_cell, new_notebook

ROOT = Path(__file__).resolve().parent.parent


def _load(name: str, file: str):
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, ROOT / "tools" / file)
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


grader = _load("course_grader", "grader.py")
nbtools = _load("nbtools_for_grader_tests", "nbtools.py")

NAME = "00_start_here.ipynb"
MASTER = nbtools.read(ROOT / "solutions" / NAME)
STUDENT = nbtools.read(ROOT / "notebooks" / NAME)
TIMEOUT = 25  # seconds per cell and per call: the infinite loop costs this much
WRONG_BODY = "    return torch.zeros(len(boxes1), len(boxes2))"


def _trimmed(nb):
    """``nb`` without the code cells the exercise does without (imports of figures, experiments):
    ``import torch``, the cells importing checks, the exercise and its check stay."""
    nb = copy.deepcopy(nb)
    first = next(i for i, c in enumerate(nb.cells) if c.cell_type == "code")
    nb.cells[first].source = "import torch"
    nb.cells = [
        c
        for i, c in enumerate(nb.cells)
        if c.cell_type != "code"
        or i == first
        or "lessons.exercises" in c.source
        or {"exercise", "check"} & set(nbtools.tags(c))
    ]
    return nb


def _index(nb, tag: str) -> int:
    return next(i for i, c in enumerate(nb.cells) if tag in nbtools.tags(c))


def _with_body(nb, body: str):
    """A copy of ``nb`` whose exercise function has ``body`` instead of its answer or stub."""
    nb = copy.deepcopy(nb)
    cell = nb.cells[_index(nb, "exercise")]
    head = cell.source.split('"""')
    cell.source = '"""'.join(head[:2]) + '"""\n' + body
    return nb


def _insert_before_exercise(nb, code: str):
    nb = copy.deepcopy(nb)
    nb.cells.insert(_index(nb, "exercise"), new_code_cell(code))
    nb.cells[_index(nb, "exercise") - 1].id = "inserted-cell"
    return nb


PATCHES = """\
import torch
import lessons.boxes
import lessons.exercises
import lessons.exercises.boxes as checks


class Passed:
    passed, status, cases = True, "passed", 11


def always_passes(*args, **kwargs):
    print("✅ Exercise 0.1 (box_iou): correct on 11/11 cases.")
    return Passed()


lessons.exercises.check_function = checks.check_function = always_passes
checks.check_box_iou = check_box_iou = always_passes
lessons.boxes.box_iou = checks.box_iou = lambda a, b: torch.zeros(len(a), len(b))
lessons.exercises.compare_outputs = lambda *args, **kwargs: None
torch.allclose = lambda *args, **kwargs: True
"""

SNOOPING = """\
import os
import pathlib
import socket
import sys

import lessons

here = pathlib.Path.cwd()
places = [here, *here.parents, pathlib.Path(lessons.__file__).resolve().parents[1]]
places += [pathlib.Path(p) for value in os.environ.values() for p in value.split(os.pathsep) if p.startswith("/")]
places += [pathlib.Path(p) for p in sys.path if p]
masters = [p / "solutions" / "00_start_here.ipynb" for p in places
           if (p / "solutions" / "00_start_here.ipynb").is_file()]
pathlib.Path("../../written_by_a_submission.txt").write_text("relative writes stay in the scratch copy")
try:
    socket.create_connection(("192.0.2.1", 80), timeout=2)
    network = "open"
except Exception as exc:
    network = type(exc).__name__
"""

SNOOPING_BODY = '''\
    if masters:  # the masters were reachable: run the master's answer (graded "passed")
        import json
        cells = json.loads(masters[0].read_text())["cells"]
        answer = next(c for c in cells if "exercise" in c["metadata"].get("tags", []))
        scope = {}
        exec("".join(answer["source"]), scope)
        return scope["box_iou"](boxes1, boxes2)
    if network != "NetworkBlocked":  # the network was not blocked (graded "failed")
        return torch.zeros(len(boxes1), len(boxes2))
    raise NotImplementedError("Exercise 0.1: box_iou (see the hint above)")  # "not attempted"'''


def build_batch(folder: Path) -> dict[str, tuple[str, str]]:
    """Write the batch; returns {submission folder: (expected verdict, expected reason fragment)}.

    The master and the student version are whole; the variants are built from trimmed copies, to
    keep the batch fast.
    """
    short_master, short_student = _trimmed(MASTER), _trimmed(STUDENT)
    forged = copy.deepcopy(short_student)
    forged.cells[_index(forged, "check")].source = 'print("✅ Exercise 0.1 (box_iou): correct on 11/11 cases.")'
    no_check = copy.deepcopy(MASTER)
    del no_check.cells[_index(no_check, "check")]
    no_exercise = copy.deepcopy(STUDENT)
    del no_exercise.cells[_index(no_exercise, "exercise")]
    notebooks = {
        "master": (MASTER, "passed", "correct on 11/11 cases"),
        "student": (STUDENT, "not attempted", "the function still raises NotImplementedError"),
        "wrong": (_with_body(short_student, WRONG_BODY), "failed", "case 1 of 11: identical boxes (IoU 1)"),
        "dies": (
            _insert_before_exercise(short_master, "import os\nos._exit(1)"),
            "error",
            f"died (exit code 1) in cell {_index(short_master, 'exercise') + 1}",
        ),
        "loops": (
            _with_body(short_master, "    while True:\n        pass"),
            "error",
            f"timed out after {TIMEOUT} s in call 1 of box_iou()",
        ),
        "no_check": (no_check, "missing", "the check cell after exercise 0.1"),
        "no_exercise": (no_exercise, "missing", "no cell tagged 'exercise' defines box_iou()"),
        "forged": (forged, "not attempted", "the check cell was edited; the grader ran its own check"),
        "patched": (_with_body(_insert_before_exercise(short_student, PATCHES), WRONG_BODY), "failed", "case 1 of 11"),
        "snooping": (
            _with_body(_insert_before_exercise(short_student, SNOOPING), SNOOPING_BODY),
            "not attempted",
            "still raises NotImplementedError",
        ),
    }
    expected = {}
    for label, (nb, verdict, reason) in notebooks.items():
        (folder / label).mkdir(parents=True)
        (folder / label / NAME).write_text(nbtools.dumps(nb), encoding="utf-8")
        expected[label] = (verdict, reason)
    (folder / "broken").mkdir()
    (folder / "broken" / NAME).write_text(nbtools.dumps(STUDENT)[:-200], encoding="utf-8")
    expected["broken"] = ("error", "not a readable notebook")
    expected["gone"] = ("error", "file not found")  # named on the command line, never written
    return expected


def snapshot(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): grader.checksum(p) for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.mark.kernel
def test_a_batch_of_honest_broken_and_dishonest_submissions(tmp_path, capsys, monkeypatch):
    returned = tmp_path / "returned"
    expected = build_batch(returned)
    before = snapshot(returned)
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "grades"
    start = time.perf_counter()
    code = grader.main(
        [
            "returned",
            "returned/gone/" + NAME,
            "--out",
            str(out),
            "--timeout",
            str(TIMEOUT),
            "--notebook-timeout",
            "180",
            "--jobs",
            "3",
        ]
    )
    elapsed = time.perf_counter() - start
    printed = capsys.readouterr().out
    print(printed)  # the summary, shown with pytest -s
    assert code == 0

    document = json.loads((out / "gradebook.json").read_text(encoding="utf-8"))
    rows = {Path(r["submission"]).parent.name: r for r in document["rows"]}
    assert set(rows) == set(expected)
    for label, (verdict, reason) in expected.items():
        row = rows[label]
        assert (row["notebook"], row["exercise"]) == ("00_start_here", "0.1 box_iou"), label
        assert row["verdict"] == verdict, (label, row)
        assert reason in row["reason"], (label, row)
        assert row["points"] == (1 if verdict == "passed" else 0), label
    assert "os._exit" not in rows["dies"]["reason"]
    assert "hint:" in rows["wrong"]["detail"]  # the full message of the check is kept in the JSON

    with open(out / "gradebook.csv", newline="", encoding="utf-8") as handle:
        table = list(csv.reader(handle))
    assert tuple(table[0]) == grader.COLUMNS
    assert len(table) == 1 + 2 * len(expected)  # a row per exercise, then a total per submission
    totals = {Path(r[0]).parent.name: r for r in table[1:] if r[2] == "total"}
    assert totals["master"][4] == "1" and totals["student"][4] == "0"
    assert totals["no_check"][5] == "0 of 1 points"  # a deleted check never shrinks the denominator

    assert "returned/master/00_start_here.ipynb  [00_start_here]  1/1 points" in printed
    assert "12 submission(s), 12 row(s): 1 passed, 2 failed, 3 not attempted, 2 missing, 4 error" in printed

    assert snapshot(returned) == before, "grading changed or added files next to the submissions"
    assert not (ROOT / "written_by_a_submission.txt").exists()
    assert elapsed < 240, f"the batch took {elapsed:.0f} s"


# ---------------------------------------------------------------- planning, without running anything


def master_exercises(name: str = NAME):
    return grader.master_exercises(json.loads((ROOT / "solutions" / name).read_text()), int(name[:2]))


@pytest.mark.parametrize("path", sorted((ROOT / "solutions").glob("*.ipynb")), ids=lambda p: p.name)
def test_every_master_names_its_exercises_and_their_checks(path):
    exercises = master_exercises(path.name)
    assert exercises, "a master without exercises"
    number = int(path.name[:2])
    assert [e.id for e in exercises] == [f"{number}.{k}" for k in range(1, len(exercises) + 1)]
    for exercise in exercises:
        assert exercise.check == f"check_{exercise.function}"
        source = (ROOT / "lessons" / "exercises" / f"{exercise.module}.py").read_text(encoding="utf-8")
        assert f"def {exercise.check}(" in source


def test_plan_matches_by_cell_id_then_by_function_name():
    [exercise] = master_exercises()
    student = json.loads(nbtools.dumps(STUDENT))
    plan = grader.plan_submission(student, [exercise])
    at = _index(STUDENT, "exercise")
    assert plan.exercises[0]["cell"] == at and plan.exercises[0]["missing"] is None
    student["cells"][at]["id"] = "renamed"  # a notebook that lost its cell ids still matches
    assert grader.plan_submission(student, [exercise]).exercises[0]["cell"] == at
    runs = {c["index"]: c["run"] for c in grader.plan_submission(student, [exercise]).cells}
    assert runs[at] and not runs[at + 1]  # the check cell is never executed


def test_plan_reports_deleted_cells_as_missing():
    [exercise] = master_exercises()
    student = json.loads(nbtools.dumps(STUDENT))
    at = _index(STUDENT, "exercise")
    del student["cells"][at]
    assert "defines box_iou()" in grader.plan_submission(student, [exercise]).exercises[0]["missing"]
    student = json.loads(nbtools.dumps(STUDENT))
    student["cells"][at + 1]["metadata"]["tags"] = []
    assert "check cell" in grader.plan_submission(student, [exercise]).exercises[0]["missing"]
    with pytest.raises(ValueError, match="no list of cells"):
        grader.plan_submission({"cells": None}, [exercise])


def test_submissions_are_matched_to_masters_by_name(tmp_path):
    assert grader.master_for(Path("alice/00_start_here.ipynb")).name == NAME
    assert grader.master_for(Path("alice_03_yolact_prototypes_v2.ipynb")).name == "03_yolact_prototypes.ipynb"
    assert grader.master_for(Path("homework.ipynb")) is None
    returned = json.loads((ROOT / "notebooks" / "03_yolact_prototypes.ipynb").read_text())
    assert grader.master_for(Path("homework.ipynb"), submission=returned).name == "03_yolact_prototypes.ipynb"
    assert grader.master_for(Path("homework.ipynb"), submission={"cells": []}) is None


def test_folders_are_searched_and_hidden_folders_skipped(tmp_path):
    for relative in (
        "a/00_start_here.ipynb",
        "b/c/01_x.ipynb",
        ".course/00_start_here.ipynb",
        "a/.ipynb_checkpoints/00_start_here-checkpoint.ipynb",
    ):
        (tmp_path / relative).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / relative).write_text("{}")
    found = [p.relative_to(tmp_path).as_posix() for p in grader.collect([str(tmp_path)])]
    assert found == ["a/00_start_here.ipynb", "b/c/01_x.ipynb"]


def test_unreadable_and_unknown_submissions_are_error_rows_without_running(tmp_path):
    (tmp_path / NAME).write_text("{not json")
    (tmp_path / "essay.ipynb").write_text("{}")
    settings = grader.Settings(timeout=5, jobs=1)
    rows, _ = grader.grade_batch([str(tmp_path / NAME), str(tmp_path / "essay.ipynb")], settings)
    assert [(r.verdict, r.exercise) for r in rows] == [("error", "0.1 box_iou"), ("error", "-")]
    assert "not a readable notebook" in rows[0].reason
    assert "cannot tell which notebook" in rows[1].reason


def test_gradebook_files_have_the_columns_and_a_total_per_submission(tmp_path):
    Row = grader.Row
    rows = [
        Row("a.ipynb", "01_x", "1.1 f", "passed", 1.0, "correct on 3/3 cases"),
        Row("a.ipynb", "01_x", "1.2 g", "failed", 0.0, "case 1 of 3: x"),
        Row("b.ipynb", "01_x", "1.1 f", "missing", 0.0, "deleted"),
        Row("b.ipynb", "01_x", "1.2 g", "error", 0.0, "timed out"),
    ]
    grader.write_gradebook(rows, tmp_path, {"a.ipynb": 3.0})
    table = list(csv.reader(open(tmp_path / "gradebook.csv", newline="", encoding="utf-8")))
    assert table[0] == list(grader.COLUMNS)
    assert table[-2:] == [
        ["a.ipynb", "01_x", "total", "", "1", "1 of 2 points"],
        ["b.ipynb", "01_x", "total", "", "0", "0 of 2 points"],
    ]
    document = json.loads((tmp_path / "gradebook.json").read_text())
    assert document["totals"][0]["passed"] == 1 and document["totals"][0]["seconds"] == 3.0
    assert [r["verdict"] for r in document["rows"]] == ["passed", "failed", "missing", "error"]
    lines = grader.summary_lines(rows)
    assert lines[0] == "a.ipynb  [01_x]  1/2 points"
    assert lines[-1] == "2 submission(s), 4 row(s): 1 passed, 1 failed, 1 missing, 1 error"


def test_arguments_and_results_cross_as_data_only():
    import torch

    callbacks = []
    payload = grader._pickle_for_runner(((torch.ones(2), lambda x: x), {"n": 3}), callbacks)
    assert len(callbacks) == 1 and b"lambda" not in payload  # the closure stays in the worker
    opaque = grader._decode({"__grader__": "opaque", "type": "ndarray", "repr": "array([1.])"})
    assert type(opaque).__name__ == "ndarray" and repr(opaque) == "array([1.])" and opaque != opaque
    args = (torch.zeros(2), [torch.zeros(1)], {"k": torch.zeros(1)})
    grader._apply_inplace(args, (torch.ones(2), [torch.ones(1)], {"k": torch.ones(1)}))
    assert all(float(t.sum()) > 0 for t in (args[0], args[1][0], args[2]["k"]))


TWO_EXERCISES = [
    ("code", [], "import os\nimport torch\nfrom lessons.exercises.boxes import check_box_iou"),
    ("code", ["exercise"], 'def box_iou(boxes1, boxes2):\n    """IoU."""\n{first}'),
    ("code", ["check"], "check_box_iou(box_iou)"),
    ("code", ["exercise"], 'def iou_again(boxes1, boxes2):\n    """IoU."""\n{second}'),
    ("code", ["check"], "check_box_iou(iou_again)"),
]
ANSWER = "    from lessons.boxes import box_iou as reference\n    return reference(boxes1, boxes2)"


def tiny_notebook(first: str, second: str):
    cells = []
    for kind, cell_tags, text in TWO_EXERCISES:
        cells.append(new_code_cell(text.format(first=first, second=second), metadata={"tags": cell_tags}))
    nb = nbtools.normalize(new_notebook(cells=cells, metadata={"lessons": {"budget_seconds": 10}}), "42_two")
    return nbtools.dumps(nb)


@pytest.mark.kernel
def test_a_process_killed_by_one_check_leaves_the_next_exercise_graded_in_a_fresh_one(tmp_path):
    (tmp_path / "solutions").mkdir()
    (tmp_path / "solutions" / "42_two.ipynb").write_text(
        tiny_notebook("    ### BEGIN SOLUTION\n" + ANSWER + "\n    ### END SOLUTION", ANSWER)
    )
    mutates = ANSWER.replace(
        "    return reference(boxes1, boxes2)",
        "    result = reference(boxes1, boxes2)\n    boxes1.zero_()\n    return result",
    )
    (tmp_path / "42_two.ipynb").write_text(tiny_notebook("    os._exit(3)", mutates))
    settings = grader.Settings(timeout=TIMEOUT, jobs=1, solutions=tmp_path / "solutions")
    rows, _ = grader.grade_batch([str(tmp_path / "42_two.ipynb")], settings)
    assert [(r.exercise, r.verdict) for r in rows] == [("42.1 box_iou", "error"), ("42.2 iou_again", "failed")]
    assert "died (exit code 3) in call 1 of box_iou() by the check" in rows[0].reason
    # graded by a fresh process; the change it made to its input in that process reached the check
    assert "your function changed its input arg 0 in place" in rows[1].detail


def _unshare_works() -> bool:
    import shutil
    import subprocess

    return (
        bool(shutil.which("unshare"))
        and subprocess.run(["unshare", "--net", "--map-root-user", "true"], capture_output=True).returncode == 0
    )


ONLY_LOOPBACK = (
    "    import socket\n    if [name for _, name in socket.if_nameindex()] != ['lo']:\n"
    "        raise RuntimeError('the runner sees network interfaces')\n" + ANSWER
)


@pytest.mark.kernel
@pytest.mark.skipif(not _unshare_works(), reason="needs `unshare --net --map-root-user` (user namespaces)")
def test_the_runner_can_be_started_inside_an_os_sandbox(tmp_path):
    (tmp_path / "solutions").mkdir()
    (tmp_path / "solutions" / "42_two.ipynb").write_text(
        tiny_notebook("    ### BEGIN SOLUTION\n" + ANSWER + "\n    ### END SOLUTION", ANSWER)
    )
    (tmp_path / "42_two.ipynb").write_text(tiny_notebook(ONLY_LOOPBACK, ANSWER))
    settings = grader.Settings(
        timeout=TIMEOUT, jobs=1, solutions=tmp_path / "solutions", sandbox=["unshare", "--net", "--map-root-user"]
    )
    rows, _ = grader.grade_batch([str(tmp_path / "42_two.ipynb")], settings)
    assert [r.verdict for r in rows] == ["passed", "passed"], rows


@pytest.mark.kernel
def test_the_notebook_time_limit_ends_a_submission_and_names_what_was_left(tmp_path):
    (tmp_path / "solutions").mkdir()
    (tmp_path / "solutions" / "42_two.ipynb").write_text(
        tiny_notebook("    ### BEGIN SOLUTION\n" + ANSWER + "\n    ### END SOLUTION", ANSWER)
    )
    sleeper = "    import time\n    while True:\n        time.sleep(0.5)"
    (tmp_path / "42_two.ipynb").write_text(tiny_notebook(sleeper, ANSWER))
    settings = grader.Settings(timeout=60, notebook_timeout=15, jobs=1, solutions=tmp_path / "solutions")
    start = time.perf_counter()
    rows, _ = grader.grade_batch([str(tmp_path / "42_two.ipynb")], settings)
    assert time.perf_counter() - start < 45
    assert [r.verdict for r in rows] == ["error", "error"]
    assert "the notebook's time limit (15 s) ran out" in rows[0].reason
    assert rows[1].reason.startswith("not graded: the notebook's time limit (15 s) ran out")

"""Notebook tooling: normalize the masters, generate the student versions, and check hygiene.

    python tools/nbtools.py student   # normalize solutions/ in place, regenerate notebooks/
    python tools/nbtools.py check     # report problems and drift; exit 1 if there are any
    python tools/nbtools.py grade returned.ipynb folder/ [--out grades]   # tools/grader.py: a gradebook

The masters in ``solutions/`` are the single source of truth. They use nbgrader's markers:

* in a code cell tagged ``exercise``, the lines from ``### BEGIN SOLUTION`` to ``### END SOLUTION``
  (inside the function the exercise asks for) become
  ``raise NotImplementedError("Exercise N.M: <function> (see the hint above)")``, with N the
  notebook's number and M the exercise's position in it;
* in a markdown cell tagged ``discussion``, the same markers enclose a model answer, which becomes
  ``YOUR ANSWER HERE``.

Masters also carry nbgrader's cell metadata (see :func:`nbgrader_metadata`), so nbgrader's
``generate_assignment`` accepts them; the student versions leave it out.

Both versions are written deterministically: outputs and execution counts stripped, cell ids kept
(or derived from the notebook name and the cell's position when missing), metadata reduced to the
kernelspec, the language and the course's own ``lessons`` block (``budget_seconds``), JSON with
sorted keys. So ``notebooks/`` is a pure function of ``solutions/`` and a test can compare them.
"""

from __future__ import annotations

import argparse
import copy
import hashlib
import re
import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
SOLUTIONS = ROOT / "solutions"
NOTEBOOKS = ROOT / "notebooks"

BEGIN = "### BEGIN SOLUTION"
END = "### END SOLUTION"
ANSWER_PLACEHOLDER = "YOUR ANSWER HERE"
ALLOWED_TAGS = frozenset({"exercise", "check", "discussion", "nbval-skip", "nbval-ignore-output", "raises-exception"})
KERNELSPEC = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}
NAME_PATTERN = re.compile(r"^(\d{2})_[a-z0-9_]+\.ipynb$")
ID_PATTERN = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")


class NotebookError(ValueError):
    """A master that the generator refuses to convert; the message lists every problem."""


# ----------------------------------------------------------------------------- reading / writing


def read(path: Path) -> nbformat.NotebookNode:
    return nbformat.read(str(path), as_version=4)


def validate(nb: nbformat.NotebookNode) -> None:
    """Raise ``nbformat.ValidationError`` when ``nb`` breaks the notebook schema; never repair it.

    ``nbformat.validate`` quietly renames duplicate cell ids in the notebook it is given, so the
    ids are checked here and the schema on a copy.
    """
    ids = [cell.get("id") for cell in nb.get("cells", []) if cell.get("id") is not None]
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    if duplicates:
        raise nbformat.ValidationError(f"duplicate cell id(s) {duplicates}")
    nbformat.validate(copy.deepcopy(nb), version=4)


def dumps(nb: nbformat.NotebookNode) -> str:
    """The canonical text of a notebook: nbformat's JSON (indent 1, sorted keys) plus a newline.

    The notebook is validated first and an invalid one raises ``nbformat.ValidationError``
    (``nbformat.writes`` alone only logs), so nothing this module writes can be invalid.
    """
    validate(nb)
    text = nbformat.writes(nb, version=4)
    return text if text.endswith("\n") else text + "\n"


def tags(cell) -> list[str]:
    return list(cell.get("metadata", {}).get("tags", []))


def source(cell) -> str:
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else src


# ----------------------------------------------------------------------------- normalization


def normalize(nb: nbformat.NotebookNode, stem: str) -> nbformat.NotebookNode:
    """A copy with outputs, execution counts and volatile metadata removed, and stable cell ids."""
    out = copy.deepcopy(nb)
    out.nbformat, out.nbformat_minor = 4, 5
    meta = {"kernelspec": dict(KERNELSPEC), "language_info": {"name": "python"}}
    if "lessons" in nb.metadata:
        meta["lessons"] = copy.deepcopy(dict(nb.metadata["lessons"]))
    out.metadata = nbformat.NotebookNode(meta)
    seen: set[str] = set()
    grading = nbgrader_metadata(nb, stem)
    for index, cell in enumerate(out.cells):
        cell.source = source(cell)
        cell_tags = list(dict.fromkeys(tags(cell)))
        cell.metadata = nbformat.NotebookNode({"tags": cell_tags} if cell_tags else {})
        if index in grading:
            cell.metadata["nbgrader"] = nbformat.NotebookNode(grading[index])
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
        else:
            cell.pop("outputs", None)
            cell.pop("execution_count", None)
            if not cell.get("attachments"):
                cell.pop("attachments", None)
        cell_id = cell.get("id")
        if not isinstance(cell_id, str) or not ID_PATTERN.match(cell_id) or cell_id in seen:
            cell_id = _derived_id(stem, index, seen)
        cell.id = cell_id
        seen.add(cell_id)
    return out


def nbgrader_metadata(nb: nbformat.NotebookNode, stem: str) -> dict[int, dict]:
    """nbgrader's cell metadata (schema 3) for the cells that need it, by cell index.

    * a code cell tagged ``exercise`` is a solution cell ("autograded answer"),
      ``grade_id`` ``exercise-N-M-<function>``;
    * the ``check`` cell after it is an autograder-tests cell, locked, ``check-N-M-<function>``,
      worth ``points`` (default 1: what ``tools/grader.py`` gives a passed exercise);
    * a markdown cell tagged ``discussion`` is a manually graded answer, ``discussion-N-K``,
      worth ``points`` (default 0: the course does not grade discussions automatically).

    Points already set in a cell's ``nbgrader`` metadata are kept; everything else is derived from
    the tags and the order of the cells, so the ids are stable while the exercises keep their order.
    """
    number = re.match(r"(\d+)", stem)
    prefix = str(int(number.group(1))) if number else "0"
    result: dict[int, dict] = {}
    exercises = discussions = 0
    last_exercise = None
    for index, cell in enumerate(nb.cells):
        cell_tags = tags(cell)
        old_points = cell.get("metadata", {}).get("nbgrader", {}).get("points")
        base = {"locked": False, "schema_version": 3, "task": False}
        if cell.cell_type == "code" and "exercise" in cell_tags:
            exercises += 1
            func = re.search(r"^\s*def\s+(\w+)", source(cell), flags=re.MULTILINE)
            last_exercise = f"{prefix}-{exercises}" + (f"-{func.group(1)}" if func else "")
            result[index] = base | {"grade": False, "solution": True, "grade_id": f"exercise-{last_exercise}"}
        elif cell.cell_type == "code" and "check" in cell_tags:
            label = last_exercise or f"{prefix}-cell{index}"
            points = old_points if _is_points(old_points) else 1
            result[index] = base | {
                "grade": True,
                "solution": False,
                "locked": True,
                "points": points,
                "grade_id": f"check-{label}",
            }
            last_exercise = None
        elif cell.cell_type == "markdown" and "discussion" in cell_tags:
            discussions += 1
            points = old_points if _is_points(old_points) else 0
            result[index] = base | {
                "grade": True,
                "solution": True,
                "points": points,
                "grade_id": f"discussion-{prefix}-{discussions}",
            }
    return result


def _is_points(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and value >= 0


def _derived_id(stem: str, index: int, seen: set[str]) -> str:
    salt = 0
    while True:
        digest = hashlib.sha1(f"{stem}:{index}:{salt}".encode()).hexdigest()[:12]
        if digest not in seen:
            return digest
        salt += 1


# ----------------------------------------------------------------------------- validation


def solution_regions(text: str) -> list[tuple[int, int]]:
    """Line ranges ``(begin, end)`` (inclusive, 0-based) of the solution regions in ``text``.

    Raises NotebookError when markers are unbalanced or nested.
    """
    regions, start = [], None
    for i, line in enumerate(text.split("\n")):
        stripped = line.strip()
        if stripped == BEGIN:
            if start is not None:
                raise NotebookError(f"line {i + 1}: '{BEGIN}' inside an open solution region")
            start = i
        elif stripped == END:
            if start is None:
                raise NotebookError(f"line {i + 1}: '{END}' without a matching '{BEGIN}'")
            regions.append((start, i))
            start = None
        elif BEGIN in line or END in line:
            raise NotebookError(f"line {i + 1}: a solution marker must stand alone on its line")
    if start is not None:
        raise NotebookError(f"line {start + 1}: '{BEGIN}' is never closed by '{END}'")
    return regions


def problems(nb: nbformat.NotebookNode, name: str, *, master: bool = True) -> list[str]:
    """Every rule the notebook breaks, as readable strings (empty when it is clean)."""
    found: list[str] = []
    if not NAME_PATTERN.match(name):
        found.append(f"{name}: file name must look like 'NN_topic_name.ipynb'")
    budget = nb.metadata.get("lessons", {}).get("budget_seconds")
    if isinstance(budget, bool) or not isinstance(budget, (int, float)) or budget <= 0:
        found.append(f"{name}: metadata.lessons.budget_seconds must be a positive number, got {budget!r}")
    cells = nb.cells
    for index, cell in enumerate(cells):
        where = f"{name}: cell {index}"
        cell_tags = tags(cell)
        unknown = sorted(set(cell_tags) - ALLOWED_TAGS)
        if unknown:
            found.append(f"{where}: unknown tag(s) {unknown}; allowed: {sorted(ALLOWED_TAGS)}")
        if cell.cell_type == "code" and (cell.get("outputs") or cell.get("execution_count") is not None):
            found.append(f"{where}: holds outputs or an execution count (commit notebooks stripped)")
        text = source(cell)
        try:
            regions = solution_regions(text)
        except NotebookError as exc:
            found.append(f"{where}: {exc}")
            continue
        if regions:
            if not master:
                found.append(f"{where}: solution markers in a student notebook")
            elif cell.cell_type == "code" and "exercise" not in cell_tags:
                found.append(f"{where}: solution markers in a code cell not tagged 'exercise'")
            elif cell.cell_type == "markdown" and "discussion" not in cell_tags:
                found.append(f"{where}: solution markers in a markdown cell not tagged 'discussion'")
            elif cell.cell_type not in ("code", "markdown"):
                found.append(f"{where}: solution markers in a {cell.cell_type} cell")
            elif cell.cell_type == "code":
                lines = text.split("\n")
                for begin, _ in regions:
                    if not lines[begin].startswith((" ", "\t")):
                        found.append(
                            f"{where}: the solution region must sit inside the exercise's function "
                            "(indented), so the student stub raises only when the function is called"
                        )
        if "exercise" in cell_tags:
            if cell.cell_type != "code":
                found.append(f"{where}: 'exercise' tag on a {cell.cell_type} cell")
            elif master and not regions:
                found.append(f"{where}: exercise cell without a solution region")
            nxt = cells[index + 1] if index + 1 < len(cells) else None
            if nxt is None or nxt.cell_type != "code" or "check" not in tags(nxt):
                found.append(f"{where}: an 'exercise' cell must be followed by a code cell tagged 'check'")
        if "discussion" in cell_tags and cell.cell_type != "markdown":
            found.append(f"{where}: 'discussion' tag on a {cell.cell_type} cell")
        if "check" in cell_tags and cell.cell_type != "code":
            found.append(f"{where}: 'check' tag on a {cell.cell_type} cell")
    return found


# ----------------------------------------------------------------------------- student version


def exercise_number(name: str) -> int:
    match = NAME_PATTERN.match(name)
    if not match:
        raise NotebookError(f"{name}: file name must look like 'NN_topic_name.ipynb'")
    return int(match.group(1))


def make_student(master: nbformat.NotebookNode, name: str) -> nbformat.NotebookNode:
    """The student version of a master notebook (which must be free of problems)."""
    issues = problems(master, name)
    if issues:
        raise NotebookError("\n".join(issues))
    number = exercise_number(name)
    student = normalize(master, Path(name).stem)
    count = 0
    for cell in student.cells:
        cell.metadata.pop("nbgrader", None)  # grading metadata stays in the masters
        text = source(cell)
        regions = solution_regions(text)
        if not regions:
            continue
        lines = text.split("\n")
        if cell.cell_type == "code":
            count += 1
            func = re.search(r"^\s*def\s+(\w+)", text, flags=re.MULTILINE)
            label = f"Exercise {number}.{count}: {func.group(1) if func else 'your code'}"
            stub = f'raise NotImplementedError("{label} (see the hint above)")'
        for begin, end in reversed(regions):
            indent = lines[begin][: len(lines[begin]) - len(lines[begin].lstrip())]
            replacement = indent + (stub if cell.cell_type == "code" else ANSWER_PLACEHOLDER)
            lines[begin : end + 1] = [replacement]
        cell.source = "\n".join(lines)
    return student


def solution_lines(master: nbformat.NotebookNode, min_length: int = 12) -> set[str]:
    """Stripped lines that occur only inside solution regions of the master (its answers)."""
    inside: set[str] = set()
    outside: set[str] = set()
    for cell in master.cells:
        lines = source(cell).split("\n")
        regions = solution_regions(source(cell))
        flags = [False] * len(lines)
        for begin, end in regions:
            for i in range(begin + 1, end):
                flags[i] = True
        for flag, line in zip(flags, lines):
            (inside if flag else outside).add(line.strip())
    return {line for line in inside - outside if len(line) >= min_length}


def leaks(master: nbformat.NotebookNode, student: nbformat.NotebookNode) -> list[str]:
    """Answer lines of the master that appear anywhere in the student version."""
    answers = solution_lines(master)
    text = "\n".join(source(c) for c in student.cells)
    text += "\n".join(str(o) for c in student.cells for o in c.get("outputs", []))
    return sorted(line for line in answers if line in text)


# ----------------------------------------------------------------------------- commands


def masters() -> list[Path]:
    return sorted(SOLUTIONS.glob("*.ipynb"))


def build(root: Path = ROOT, only: list[str] | None = None) -> dict[str, tuple[str, str]]:
    """``{name: (normalized master text, student text)}`` for every master under ``root``.

    Raises ``nbformat.ValidationError`` (through :func:`dumps`) if any of them is invalid.

    ``only`` restricts the build to masters whose file name starts with one of its entries
    (``["02"]`` or ``["02_mask_rcnn_mask_branch.ipynb"]``).
    """
    result = {}
    for path in sorted((root / "solutions").glob("*.ipynb")):
        if only and not any(path.name.startswith(prefix) for prefix in only):
            continue
        nb = read(path)
        master = normalize(nb, path.stem)
        result[path.name] = (dumps(master), dumps(make_student(master, path.name)))
    return result


def cmd_student(only: list[str] | None = None) -> int:
    NOTEBOOKS.mkdir(exist_ok=True)
    try:
        # every notebook is built and validated before anything is written
        built = build(SOLUTIONS.parent, only=only)
    except (NotebookError, nbformat.ValidationError) as exc:
        print(f"make student: fix the master first:\n{exc}", file=sys.stderr)
        return 1
    for name, (master_text, student_text) in built.items():
        _write_if_changed(SOLUTIONS / name, master_text)
        _write_if_changed(NOTEBOOKS / name, student_text)
    stale_names = set() if only else set(p.name for p in NOTEBOOKS.glob("*.ipynb")) - set(built)
    for stale in sorted(stale_names):
        (NOTEBOOKS / stale).unlink()
        print(f"removed notebooks/{stale} (no master)")
    print(f"{len(built)} student notebook(s) in notebooks/ generated from solutions/")
    return 0


def _write_if_changed(path: Path, text: str) -> None:
    if not path.exists() or path.read_text(encoding="utf-8") != text:
        path.write_text(text, encoding="utf-8")
        print(f"wrote {path.relative_to(ROOT)}")


def cmd_check() -> int:
    found: list[str] = []
    for path in masters():
        found += problems(read(path), path.name)
    for path in sorted(NOTEBOOKS.glob("*.ipynb")):
        found += [f"notebooks/{p}" for p in problems(read(path), path.name, master=False)]
    if not found:
        try:
            built = build()
        except (NotebookError, nbformat.ValidationError) as exc:
            found.append(str(exc))
            built = {}
        for name, (master_text, student_text) in built.items():
            if (SOLUTIONS / name).read_text(encoding="utf-8") != master_text:
                found.append(f"solutions/{name}: not normalized; run `make student`")
            target = NOTEBOOKS / name
            if not target.exists() or target.read_text(encoding="utf-8") != student_text:
                found.append(f"notebooks/{name}: differs from a fresh `make student`")
    for line in found:
        print(line)
    print("notebooks clean" if not found else f"{len(found)} problem(s)")
    return 1 if found else 0


def _grader():
    """tools/grader.py, loaded as a module (tools/ is not a package)."""
    import importlib.util

    name = "course_grader"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, Path(__file__).resolve().parent / "grader.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module  # dataclasses look their module up while the file executes
        spec.loader.exec_module(module)
    return sys.modules[name]


def grade(path: Path, timeout: float = 120) -> list[tuple[str, str, str]]:
    """Grade one returned notebook with tools/grader.py; ``(exercise, verdict, reason)`` rows.

    The short form of the gradebook: the reason of a ``not attempted`` row is empty.
    """
    grader = _grader()
    rows, _ = grader.grade_batch([str(path)], grader.Settings(timeout=timeout, jobs=1))
    return [(r.exercise, r.verdict, "" if r.verdict == "not attempted" else r.reason) for r in rows]


def cmd_grade(args: list[str]) -> int:
    """``grade`` runs tools/grader.py with the same arguments (see ``python tools/grader.py -h``)."""
    return _grader().main(args)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["grade"]:
        return cmd_grade(argv[1:])
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("command", choices=["student", "check", "grade"])
    parser.add_argument(
        "paths",
        nargs="*",
        help="grade: returned notebooks or folders, and tools/grader.py's options; "
        "student: only the masters whose names start with these (e.g. 02)",
    )
    args = parser.parse_args(argv)
    return cmd_student(args.paths or None) if args.command == "student" else cmd_check()


if __name__ == "__main__":
    sys.exit(main())

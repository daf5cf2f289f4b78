"""Grade returned notebooks by running the course's own checks on the students' functions.

    python tools/grader.py alice/03_yolact_prototypes.ipynb returned/ --out grades --jobs 2
    make grade NB="returned/" OUT=grades TIMEOUT=120 JOBS=2      # the same, from make

For every submission the grader writes one row per exercise of the notebook's master
(``solutions/NN_name.ipynb``): ``submission, notebook, exercise, verdict, points, reason``, with a
verdict among ``passed``, ``failed``, ``not attempted``, ``missing`` and ``error``, into
``OUT/gradebook.csv`` and ``OUT/gradebook.json`` (which also holds each submission's total and the
full failure messages), and prints a summary table.

Design
------
*Nothing a notebook prints is evidence.* The grader never runs the submission's check cells and
never reads its outputs. Three kinds of process take part:

1. **The batch** (this module's ``main``) reads the masters and the submissions as JSON only. A
   submission's master is found by file name, or else by the ids of its cells. The master says
   which exercises exist: each code cell tagged ``exercise`` (its id ``N.M`` and the
   function it defines), the check that follows it (``check_<name>``) and the module that check
   comes from (``from lessons.exercises.<topic> import check_<name>`` in the master). Each
   exercise is matched in the submission by cell id, then by the function an ``exercise`` cell
   defines; a deleted exercise cell, or a deleted check cell after it, is ``missing`` (0 points),
   never a smaller denominator. Invalid JSON, a missing file or an unknown notebook become that
   submission's ``error`` rows. Submissions are graded in parallel (``--jobs``), each by its own
   worker process, and one that misbehaves never stops the batch.
2. **The worker** (``--worker``, one per submission) imports the course's checks from the course
   folder *before any student code exists anywhere*, and never executes student code itself. It
   starts the runner, asks it to execute the submission's code cells in order (skipping cells
   tagged ``check`` and ``nbval-skip``, and stopping after the last exercise; a cell that raises
   does not stop the run, as in a notebook run with errors allowed), and after each exercise cell
   calls the check —
   ``check_<name>(proxy)`` — with a *proxy* for the student's function: every call of the proxy
   sends the arguments to the runner and receives the result back. The comparison with the
   reference, and so the verdict, happens in the worker. The runner's answers are read with
   ``torch.load(weights_only=True)``, which accepts tensors, numbers, strings and containers of
   them and refuses code; anything else the student's function returns arrives as an opaque value
   that matches nothing. Monkey-patching ``check_*``, ``check_function``, the reference or torch
   inside the submission changes only the runner's copies: the worker's are out of reach. An
   exception in the student's function is re-raised in the worker under its own name, so the
   check reports it as it would in the notebook (``NotImplementedError`` is "not attempted");
   a changed input is copied back, so the check still sees a function that modifies its input;
   a callable argument (a building block the check passes in) stays in the worker and is called
   back from the runner.
3. **The runner** (``--serve``, one per submission, restarted when a check kills it) is a fresh
   Python process running an IPython shell (so magics work as in Jupyter) in a scratch folder
   outside the course, holding a copy of the submission and nothing else. It imports the library
   from a snapshot copied for the batch, not from the course folder; its environment names no
   course path (home, temporary folder and IPython folder are inside the scratch folder, no
   ``PYTHONPATH``, no user site-packages); the course's offline guard (``tests/offline_guard.py``)
   is installed before any student line runs, so connections to anything but this machine fail.
   Per-cell and per-call timeouts (``--timeout``) and a per-notebook limit (``--notebook-timeout``)
   are enforced by the worker, which kills the runner's whole process group; a runner that dies
   (``os._exit``, a crash, the limit) turns the exercise being graded into ``error`` with the
   cell or call where it happened. If it died inside a check, a fresh runner replays the cells
   up to the next exercise; if it died in a cell, the later exercises are ``error`` too. Cells
   are counted from 1, in the notebook's order, as the reasons name them.

What a grader that runs students' code cannot prevent: the runner runs with the grader's user
rights. Code that looks for it can find the course on disk (the Python environment lives inside
the course folder, and absolute paths are guessable) and read the masters, write files anywhere the
user may, spawn a process that leaves its process group, or simply call the library's own
implementation instead of writing one (the check cannot tell). The README's instructor guide says
how to add an OS-level sandbox (a container or ``bwrap`` with only the scratch folder writable and
no ``solutions/``), which ``--sandbox`` puts in front of the runner's command line; read the
code of a suspicious submission.
"""

from __future__ import annotations

import argparse
import ast
import concurrent.futures
import contextlib
import csv
import hashlib
import io
import json
import os
import re
import select
import shlex
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SOLUTIONS = ROOT / "solutions"
GUARD = ROOT / "tests" / "offline_guard.py"

VERDICTS = ("passed", "failed", "not attempted", "missing", "error")
COLUMNS = ("submission", "notebook", "exercise", "verdict", "points", "reason")
SKIP_TAGS = frozenset({"check", "nbval-skip"})
DEFAULT_TIMEOUT = 120.0  # seconds per cell and per call of a student's function
DEFAULT_NOTEBOOK_TIMEOUT = 600.0  # seconds per submission, everything included
MAX_MESSAGE = 512 * 2**20  # bytes: a runner's answer larger than this is refused
RESULT_MARK = "GRADER-RESULT "
NAME_PATTERN = re.compile(r"(\d{2})_[a-z0-9_]+")


# ============================================================================ masters and plans


@dataclass
class Exercise:
    """One exercise as the master defines it."""

    id: str  # "3.2"
    function: str  # "crop_masks"
    check: str  # "check_crop_masks"
    module: str  # "yolact" (lessons.exercises.yolact)
    points: float = 1.0
    cell_id: str | None = None
    check_cell_id: str | None = None
    check_source: str = ""

    @property
    def label(self) -> str:
        return f"{self.id} {self.function}"


@dataclass
class Row:
    submission: str
    notebook: str
    exercise: str
    verdict: str
    points: float
    reason: str
    detail: str = ""
    max_points: float = 1.0


def _tags(cell: dict) -> list[str]:
    return list(cell.get("metadata", {}).get("tags", []) or [])


def _source(cell: dict) -> str:
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else str(src)


def _defined_functions(text: str) -> list[str]:
    """Names of the top-level functions a cell defines (by parsing, or by regex if it does not parse)."""
    try:
        tree = ast.parse(text)
    except SyntaxError:
        return re.findall(r"^def\s+(\w+)", text, flags=re.MULTILINE)
    return [n.name for n in tree.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))]


def master_exercises(master: dict, number: int) -> list[Exercise]:
    """The exercises of a master notebook (parsed JSON), in order, with their checks' modules."""
    imports: dict[str, str] = {}
    for cell in master["cells"]:
        if cell.get("cell_type") != "code":
            continue
        try:
            tree = ast.parse(_source(cell))
        except SyntaxError:
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("lessons.exercises."):
                for alias in node.names:
                    imports[alias.asname or alias.name] = node.module.split(".", 2)[2]
    exercises = []
    cells = master["cells"]
    for index, cell in enumerate(cells):
        if "exercise" not in _tags(cell):
            continue
        names = _defined_functions(_source(cell))
        check_cell = cells[index + 1] if index + 1 < len(cells) else {}
        calls = re.findall(r"\b(check_\w+)\s*\(", _source(check_cell))
        if not names or not calls or calls[0] not in imports:
            raise ValueError(f"master cell {index + 1}: cannot tell the exercise's function, check or module")
        points = check_cell.get("metadata", {}).get("nbgrader", {}).get("points", 1)
        exercises.append(
            Exercise(
                id=f"{number}.{len(exercises) + 1}",
                function=names[0],
                check=calls[0],
                module=imports[calls[0]],
                points=float(points),
                cell_id=cell.get("id"),
                check_cell_id=check_cell.get("id"),
                check_source=_source(check_cell).strip(),
            )
        )
    return exercises


def master_for(path: Path, solutions: Path = SOLUTIONS, submission: dict | None = None) -> Path | None:
    """The master a submission belongs to.

    By file name first (the same name, a master's name inside it, or its ``NN_`` number), then by
    content: the student versions keep the masters' cell ids, so the master whose exercise cells'
    ids the submission holds is the one (``homework.ipynb`` still finds its master).
    """
    masters = {p.stem: p for p in sorted(solutions.glob("*.ipynb"))}
    if path.stem in masters:
        return masters[path.stem]
    inside = [stem for stem in masters if stem in path.stem]
    if inside:
        return masters[max(inside, key=len)]
    numbers = {m.group(1) for m in NAME_PATTERN.finditer(path.stem)}
    by_number = [p for stem, p in masters.items() if stem[:2] in numbers]
    if len(by_number) == 1:
        return by_number[0]
    cells = submission.get("cells") if isinstance(submission, dict) else None
    if not isinstance(cells, list):
        return None
    ids = {c.get("id") for c in cells if isinstance(c, dict)} - {None}
    scores = {}
    for master in masters.values():
        with contextlib.suppress(ValueError, OSError):
            master_ids = {
                c.get("id") for c in json.loads(master.read_text(encoding="utf-8"))["cells"] if "exercise" in _tags(c)
            }
            scores[master] = len(master_ids & ids)
    best = max(scores.values(), default=0)
    winners = [m for m, score in scores.items() if score == best]
    return winners[0] if best > 0 and len(winners) == 1 else None


@dataclass
class Plan:
    """What the worker executes: the code cells to run and where each exercise is."""

    cells: list[dict] = field(default_factory=list)  # {"index", "source", "run"}
    exercises: list[dict] = field(default_factory=list)  # Exercise fields + "cell" or "missing"


def plan_submission(submission: dict, exercises: list[Exercise]) -> Plan:
    """Match the master's exercises in a submission (parsed JSON) and list the cells to run."""
    cells = submission.get("cells")
    if not isinstance(cells, list):
        raise ValueError("the file holds no list of cells")
    plan = Plan()
    exercise_cells = []
    for index, cell in enumerate(cells):
        if not isinstance(cell, dict):
            raise ValueError(f"cell {index + 1} is not a JSON object")
        if cell.get("cell_type") == "code":
            plan.cells.append(
                {
                    "index": index,
                    "source": _source(cell),
                    "run": not (SKIP_TAGS & set(_tags(cell))),
                }
            )
            if "exercise" in _tags(cell):
                exercise_cells.append(index)
    used: set[int] = set()
    for ex in exercises:
        entry = asdict(ex) | {"label": ex.label, "cell": None, "missing": None, "check_edited": False}
        by_id = [i for i in exercise_cells if cells[i].get("id") == ex.cell_id and i not in used]
        by_name = [i for i in exercise_cells if ex.function in _defined_functions(_source(cells[i])) and i not in used]
        found = (by_id or by_name[-1:] or [None])[0]
        if found is None:
            entry["missing"] = f"no cell tagged 'exercise' defines {ex.function}() (deleted?)"
        else:
            used.add(found)
            following = cells[found + 1] if found + 1 < len(cells) else {}
            if following.get("cell_type") != "code" or "check" not in _tags(following):
                entry["missing"] = f"the check cell after exercise {ex.id} (cell {found + 1}) was deleted"
            else:
                entry["check_edited"] = _source(following).strip() != ex.check_source
            entry["cell"] = found
        plan.exercises.append(entry)
    return plan


# ============================================================================ the batch


def collect(paths: list[str]) -> list[Path]:
    """Notebooks named on the command line: files as given, folders searched (hidden parts skipped)."""
    found: list[Path] = []
    for name in paths:
        path = Path(name)
        if path.is_dir():
            found += sorted(
                p for p in path.rglob("*.ipynb") if not any(part.startswith(".") for part in p.relative_to(path).parts)
            )
        else:
            found.append(path)  # a missing file is graded as an error, not skipped
    return list(dict.fromkeys(found))


def _display_name(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def _error_rows(name: str, notebook: str, exercises: list[Exercise], reason: str) -> list[Row]:
    if not exercises:
        return [Row(name, notebook, "-", "error", 0.0, reason, max_points=0.0)]
    return [Row(name, notebook, ex.label, "error", 0.0, reason, max_points=ex.points) for ex in exercises]


@dataclass
class Settings:
    timeout: float = DEFAULT_TIMEOUT
    notebook_timeout: float = DEFAULT_NOTEBOOK_TIMEOUT
    jobs: int = 2
    solutions: Path = SOLUTIONS
    sandbox: list[str] = field(default_factory=list)  # a command the runner is started under


def grade_one(path: Path, settings: Settings, shared: Path) -> tuple[list[Row], float]:
    """Grade one submission; never raises. Returns its rows and the seconds it took."""
    start = time.perf_counter()
    name = _display_name(path)
    notebook, exercises = "?", []
    try:
        raw = path.read_bytes() if path.is_file() else None
        submission, unreadable = None, None
        if raw is not None:
            try:
                submission = json.loads(raw.decode("utf-8"))
                if not isinstance(submission, dict):
                    raise ValueError("not a JSON object")
            except (ValueError, UnicodeDecodeError) as exc:
                unreadable = f"not a readable notebook: {exc}"
        master_path = master_for(path, settings.solutions, submission)
        if master_path is None:
            reason = "file not found" if raw is None else unreadable or "cannot tell which notebook this is"
            return _error_rows(
                name, notebook, [], reason + ": name it like a course notebook, e.g. 03_yolact_prototypes.ipynb"
            ), 0.0
        notebook = master_path.stem
        exercises = master_exercises(json.loads(master_path.read_text(encoding="utf-8")), int(master_path.name[:2]))
        if raw is None:
            return _error_rows(name, notebook, exercises, "file not found"), 0.0
        try:
            if unreadable:
                raise ValueError(unreadable)
            plan = plan_submission(submission, exercises)
        except ValueError as exc:
            reason = str(exc) if unreadable else f"not a readable notebook: {exc}"
            return _error_rows(name, notebook, exercises, reason[:300]), 0.0
        rows = _run_worker(path, raw, name, notebook, plan, settings, shared)
    except Exception as exc:  # the batch goes on, whatever happened to this submission
        rows = _error_rows(
            name, notebook, exercises, f"the grader failed on this file: {type(exc).__name__}: {exc}"[:300]
        )
    return rows, time.perf_counter() - start


def _run_worker(
    path: Path, raw: bytes, name: str, notebook: str, plan: Plan, settings: Settings, shared: Path
) -> list[Row]:
    if all(ex["missing"] is not None for ex in plan.exercises):  # nothing to run
        return [
            Row(name, notebook, ex["label"], "missing", 0.0, ex["missing"], max_points=ex["points"])
            for ex in plan.exercises
        ]
    scratch = Path(tempfile.mkdtemp(prefix="submission-", dir=shared))
    try:
        (scratch / "work").mkdir()
        (scratch / "work" / path.name).write_bytes(raw)  # the notebook's own folder, a copy
        job = {
            "plan": asdict(plan),
            "scratch": str(scratch),
            "runner": str(shared / "runner.py"),
            "guard": str(shared / "offline_guard.py"),
            "library": str(shared / "library"),
            "timeout": settings.timeout,
            "notebook_timeout": settings.notebook_timeout,
            "sandbox": list(settings.sandbox),
        }
        env = dict(os.environ)
        env.pop("PYTHONPATH", None)
        proc = subprocess.Popen(
            [sys.executable, "-s", str(Path(__file__).resolve()), "--worker"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
            start_new_session=True,
            text=True,
        )
        try:
            out, err = proc.communicate(json.dumps(job), timeout=settings.notebook_timeout + 120)
        except subprocess.TimeoutExpired:
            _kill_group(proc)
            proc.communicate()
            exercises = [Exercise(**{k: e[k] for k in Exercise.__dataclass_fields__}) for e in plan.exercises]
            return _error_rows(name, notebook, exercises, "the grader's worker did not finish in time")
        lines = [line for line in out.splitlines() if line.startswith(RESULT_MARK)]
        if proc.returncode != 0 or not lines:
            tail = (err.strip().splitlines() or ["no message"])[-1]
            exercises = [Exercise(**{k: e[k] for k in Exercise.__dataclass_fields__}) for e in plan.exercises]
            return _error_rows(name, notebook, exercises, f"the grader's worker failed: {tail}"[:300])
        results = json.loads(lines[-1][len(RESULT_MARK) :])
        return [
            Row(name, notebook, r["exercise"], r["verdict"], r["points"], r["reason"], r["detail"], r["max_points"])
            for r in results
        ]
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _kill_group(proc: subprocess.Popen) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    with contextlib.suppress(ProcessLookupError):
        proc.kill()


def prepare_shared(directory: Path) -> None:
    """What every runner of a batch gets: a snapshot of the library, the guard and the runner code."""
    shutil.copytree(
        ROOT / "lessons", directory / "library" / "lessons", ignore=shutil.ignore_patterns("__pycache__", "*.pyc")
    )
    shutil.copy(GUARD, directory / "offline_guard.py")
    shutil.copy(Path(__file__).resolve(), directory / "runner.py")
    (directory / "matplotlib").mkdir()  # matplotlib's font cache, built once per batch


def _scratch_parent() -> Path:
    """A temporary folder outside the course (the system's, unless that lies inside the course)."""
    base = Path(tempfile.gettempdir()).resolve()
    if base == ROOT or ROOT in base.parents:
        base = Path("/tmp") if Path("/tmp").is_dir() else base
    return base


def grade_batch(paths: list[str], settings: Settings, progress=None) -> tuple[list[Row], dict]:
    """Grade every notebook in ``paths``; returns the rows and per-submission seconds."""
    submissions = collect(paths)
    shared = Path(tempfile.mkdtemp(prefix="lessons-grading-", dir=_scratch_parent()))
    rows: list[Row] = []
    seconds: dict[str, float] = {}
    try:
        prepare_shared(shared)
        with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, settings.jobs)) as pool:
            futures = {pool.submit(grade_one, p, settings, shared): p for p in submissions}
            done = {}
            for future in concurrent.futures.as_completed(futures):
                result, took = future.result()
                done[futures[future]] = result
                if result:
                    seconds[result[0].submission] = took
                if progress and result:
                    progress(result, took)
        for path in submissions:  # in the order given
            rows += done[path]
    finally:
        shutil.rmtree(shared, ignore_errors=True)
    return rows, seconds


# ============================================================================ the gradebook


def totals(rows: list[Row]) -> list[dict]:
    """One entry per submission: points earned, points possible and the count of each verdict."""
    result: dict[str, dict] = {}
    for row in rows:
        entry = result.setdefault(
            row.submission,
            {
                "submission": row.submission,
                "notebook": row.notebook,
                "points": 0.0,
                "max_points": 0.0,
                **{verdict: 0 for verdict in VERDICTS},
            },
        )
        entry["points"] += row.points
        entry["max_points"] += row.max_points
        entry[row.verdict] = entry.get(row.verdict, 0) + 1
    return list(result.values())


def _number(x: float) -> int | float:
    return int(x) if float(x).is_integer() else round(x, 3)


def write_gradebook(rows: list[Row], out: Path, seconds: dict | None = None, settings: dict | None = None) -> None:
    """``out/gradebook.csv`` (rows, then a ``total`` row per submission) and ``out/gradebook.json``."""
    out.mkdir(parents=True, exist_ok=True)
    summary = totals(rows)
    with open(out / "gradebook.csv", "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(COLUMNS)
        for row in rows:
            writer.writerow([row.submission, row.notebook, row.exercise, row.verdict, _number(row.points), row.reason])
        for entry in summary:
            writer.writerow(
                [
                    entry["submission"],
                    entry["notebook"],
                    "total",
                    "",
                    _number(entry["points"]),
                    f"{_number(entry['points'])} of {_number(entry['max_points'])} points",
                ]
            )
    for entry in summary:
        entry["seconds"] = round((seconds or {}).get(entry["submission"], 0.0), 1)
    document = {
        "columns": list(COLUMNS),
        "rows": [asdict(row) for row in rows],
        "totals": summary,
        "settings": settings or {},
    }
    (out / "gradebook.json").write_text(json.dumps(document, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")


def summary_lines(rows: list[Row], seconds: dict | None = None, width: int = 120) -> list[str]:
    """A readable table: one line per submission with its score, then its exercises."""
    lines = []
    by_submission: dict[str, list[Row]] = {}
    for row in rows:
        by_submission.setdefault(row.submission, []).append(row)
    for entry in totals(rows):
        took = (seconds or {}).get(entry["submission"])
        time_text = f"  ({took:.0f} s)" if took is not None else ""
        lines.append(
            f"{entry['submission']}  [{entry['notebook']}]  "
            f"{_number(entry['points'])}/{_number(entry['max_points'])} points{time_text}"
        )
        for row in by_submission[entry["submission"]]:
            reason = row.reason.replace("\n", " ")
            text = f"  {row.exercise:<28} {row.verdict:<14} {reason}"
            lines.append(text if len(text) <= width else text[: width - 1] + "…")
    counts = {v: sum(r.verdict == v for r in rows) for v in VERDICTS}
    lines.append(
        f"{len(by_submission)} submission(s), {len(rows)} row(s): "
        + ", ".join(f"{n} {v}" for v, n in counts.items() if n)
    )
    return lines


# ============================================================================ wire format
# A message is 8 bytes of length and a payload. The worker sends pickles (the runner may trust
# the worker); the runner answers with torch.save archives that the worker reads back with
# weights_only=True, so nothing the runner sends can run code in the worker.


def _write_all(fd: int, data: bytes, deadline: float) -> None:
    view = memoryview(struct.pack(">Q", len(data)) + data)
    while view:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError
        _, ready, _ = select.select([], [fd], [], remaining)
        if ready:
            written = os.write(fd, view[: 1 << 16])
            view = view[written:]


def _read_exact(fd: int, n: int, deadline: float | None) -> bytes:
    chunks, got = [], 0
    while got < n:
        if deadline is not None:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError
            ready, _, _ = select.select([fd], [], [], remaining)
            if not ready:
                continue
        chunk = os.read(fd, min(n - got, 1 << 20))
        if not chunk:
            raise EOFError
        chunks.append(chunk)
        got += len(chunk)
    return b"".join(chunks)


def _read_message(fd: int, deadline: float | None) -> bytes:
    (length,) = struct.unpack(">Q", _read_exact(fd, 8, deadline))
    if length > MAX_MESSAGE:
        raise ValueError(f"an answer of {length} bytes (more than {MAX_MESSAGE})")
    return _read_exact(fd, length, deadline)


# ============================================================================ the worker


class RunnerGone(BaseException):
    """The runner died, timed out or broke the protocol. A BaseException, so checks don't catch it."""

    def __init__(self, reason: str, *, where: str = "", fatal: bool = False):
        super().__init__(reason)
        self.reason = reason
        # Gone while executing a cell (or starting): replaying the cells would fail the same way.
        self.in_cell = where.startswith(("in cell", "while starting"))
        self.fatal = fatal or self.in_cell  # grade nothing more in this submission


class Opaque:
    """A value the runner could not send as data; it matches nothing."""

    def __init__(self, kind: str, text: str):
        self.kind, self.text = kind, text

    def __repr__(self) -> str:
        return self.text

    def __eq__(self, other) -> bool:
        return False

    __hash__ = object.__hash__


def _opaque(kind: str, text: str) -> Opaque:
    name = kind if kind.isidentifier() else "object"
    return type(name, (Opaque,), {})(kind, text)


def _decode(value):
    import torch

    if isinstance(value, dict) and "__grader__" in value:
        if value["__grader__"] == "generator":
            return value  # applied to the worker's generator by _apply_inplace
        return _opaque(str(value.get("type", "object")), str(value.get("repr", "?")))
    if isinstance(value, list):
        return [_decode(v) for v in value]
    if isinstance(value, tuple):
        return tuple(_decode(v) for v in value)
    if isinstance(value, dict):
        return {k: _decode(v) for k, v in value.items()}
    if isinstance(value, torch.Tensor) and type(value) is not torch.Tensor:
        return value.as_subclass(torch.Tensor)
    return value


def _is_marker(value) -> bool:
    return isinstance(value, dict) and "__grader__" in value


def _apply_inplace(original, new) -> None:
    """Make the worker's arguments look as the student's function left them in the runner.

    ``new`` is the runner's encoding (not decoded): opaque values are left alone.
    """
    import torch

    if isinstance(original, torch.Generator):
        if isinstance(new, dict) and new.get("__grader__") == "generator":
            original.set_state(new["state"])
    elif isinstance(original, torch.Tensor):
        if isinstance(new, torch.Tensor):
            with torch.no_grad():
                if original.shape == new.shape and original.dtype == new.dtype:
                    original.copy_(new)
                else:
                    original.set_(new.to(original.dtype).clone())
    elif isinstance(original, list) and isinstance(new, list):
        if len(original) == len(new):
            for i, (o, n) in enumerate(zip(original, new)):
                if isinstance(o, (torch.Tensor, list, dict, tuple, torch.Generator)):
                    _apply_inplace(o, n)
                elif not _is_marker(n) and o != n:
                    original[i] = n
        elif not any(_is_marker(n) for n in new):
            original[:] = new
    elif isinstance(original, tuple) and isinstance(new, (tuple, list)):
        for o, n in zip(original, new):
            _apply_inplace(o, n)
    elif isinstance(original, dict) and isinstance(new, dict):
        for key in list(original):
            if key not in new:
                del original[key]
        for key, value in new.items():
            if key in original and isinstance(original[key], (torch.Tensor, list, dict, tuple, torch.Generator)):
                _apply_inplace(original[key], value)
            elif not _is_marker(value):
                original[key] = value


def _pickle_for_runner(value, callbacks: list) -> bytes:
    """Pickle arguments for the runner; functions stay here and are called back (by number)."""
    import functools
    import pickle
    import types

    def importable(obj) -> bool:  # pickle would store it by name, and the runner can import it
        found = sys.modules.get(getattr(obj, "__module__", None) or "")
        for part in getattr(obj, "__qualname__", "<?>").split("."):
            found = getattr(found, part, None)
        return found is obj

    class Pickler(pickle.Pickler):
        def persistent_id(self, obj):
            if isinstance(
                obj, (types.FunctionType, types.MethodType, types.BuiltinFunctionType, functools.partial)
            ) and not importable(obj):
                callbacks.append(obj)
                return ("callback", len(callbacks) - 1)
            return None

    buffer = io.BytesIO()
    Pickler(buffer, protocol=pickle.HIGHEST_PROTOCOL).dump(value)
    return buffer.getvalue()


def _student_exception(kind: str, message: str) -> Exception:
    name = kind if kind.isidentifier() else "Exception"
    return type(name, (Exception,), {"__module__": "submission"})(message)


def _torch_home() -> str:
    """Where torch keeps downloaded weights (read by lessons.loss_network when present)."""
    default = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "torch"
    return os.environ.get("TORCH_HOME", str(default))


def _path_outside_course() -> str:
    """``PATH`` without the entries that lie inside the course folder (an activated .venv, say)."""
    keep = [
        entry
        for entry in os.environ.get("PATH", "/usr/bin:/bin").split(os.pathsep)
        if entry and not (Path(entry).resolve() == ROOT or ROOT in Path(entry).resolve().parents)
    ]
    return os.pathsep.join(keep) or "/usr/bin:/bin"


class Runner:
    """The worker's handle on one runner process."""

    def __init__(self, job: dict, deadline: float):
        self.job, self.deadline = job, deadline
        scratch = Path(job["scratch"])
        home = scratch / "home"
        for folder in (home, home / "tmp", home / "ipython", home / "config"):
            folder.mkdir(parents=True, exist_ok=True)
        env = {
            "PATH": _path_outside_course(),
            "HOME": str(home),
            "TMPDIR": str(home / "tmp"),
            "IPYTHONDIR": str(home / "ipython"),
            "MPLCONFIGDIR": str(Path(job["library"]).parent / "matplotlib"),
            "TORCH_HOME": _torch_home(),
            "XDG_CONFIG_HOME": str(home / "config"),
            "XDG_CACHE_HOME": str(home / "tmp"),
            "MPLBACKEND": "Agg",
            "LESSONS_WIDGETS": "static",
            "PYTHONHASHSEED": "0",
            "PYTHONIOENCODING": "utf-8",
            "LANG": os.environ.get("LANG", "C.UTF-8"),
            "PWD": str(scratch / "work"),
        }
        to_runner_r, self.to_runner = os.pipe()
        self.from_runner, from_runner_w = os.pipe()
        flags = ["-s"] + (["-P"] if sys.version_info >= (3, 11) else [])
        self.proc = subprocess.Popen(
            [
                *job.get("sandbox", []),
                sys.executable,
                *flags,
                job["runner"],
                "--serve",
                str(to_runner_r),
                str(from_runner_w),
                job["guard"],
                job["library"],
            ],
            cwd=scratch / "work",
            env=env,
            pass_fds=(to_runner_r, from_runner_w),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        os.close(to_runner_r)
        os.close(from_runner_w)
        self.tail = bytearray()
        self._drain = threading.Thread(target=self._keep_tail, daemon=True)
        self._drain.start()
        self.receive(job["timeout"], "while starting Python and importing torch")

    def _keep_tail(self) -> None:
        for chunk in iter(lambda: self.proc.stdout.read1(1 << 16), b""):
            self.tail += chunk
            del self.tail[:-4000]

    def _limit(self, timeout: float) -> tuple[float, bool]:
        now = time.monotonic()
        per_step = now + timeout
        return (per_step, False) if per_step < self.deadline else (self.deadline, True)

    def _gone(self, where: str, timed_out: bool, notebook_limit: bool) -> RunnerGone:
        self.kill()
        if timed_out and notebook_limit:
            return RunnerGone(
                f"the notebook's time limit ({self.job['notebook_timeout']:g} s) ran out {where}",
                where=where,
                fatal=True,
            )
        if timed_out:
            return RunnerGone(f"timed out after {self.job['timeout']:g} s {where}", where=where)
        code = self.proc.returncode
        how = f"killed by signal {-code}" if code is not None and code < 0 else f"exit code {code}"
        last = bytes(self.tail).decode("utf-8", "replace").strip().splitlines()
        said = f"; last output: {last[-1][:120]}" if last else ""
        return RunnerGone(f"the Python process running the notebook died ({how}) {where}{said}", where=where)

    def send(self, message, timeout: float, where: str) -> None:
        import pickle

        limit, notebook_limit = self._limit(timeout)
        try:
            _write_all(self.to_runner, pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL), limit)
        except TimeoutError:
            raise self._gone(where, True, notebook_limit) from None
        except OSError:
            raise self._gone(where, False, False) from None

    def receive(self, timeout: float, where: str) -> dict:
        import torch

        limit, notebook_limit = self._limit(timeout)
        try:
            payload = _read_message(self.from_runner, limit)
        except TimeoutError:
            raise self._gone(where, True, notebook_limit) from None
        except (EOFError, OSError):
            raise self._gone(where, False, False) from None
        except ValueError as exc:
            self.kill()
            raise RunnerGone(f"{where}: the notebook sent {exc}") from None
        try:
            message = torch.load(io.BytesIO(payload), weights_only=True, map_location="cpu")
        except Exception as exc:
            self.kill()
            raise RunnerGone(f"{where}: an answer the grader refuses to read ({type(exc).__name__})") from None
        if not isinstance(message, dict) or not isinstance(message.get("kind"), str):
            self.kill()
            raise RunnerGone(f"{where}: a malformed answer")
        return message

    def kill(self) -> None:
        if self.proc.poll() is None:
            _kill_group(self.proc)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(timeout=10)
        for fd in (self.to_runner, self.from_runner):
            with contextlib.suppress(OSError):
                os.close(fd)
        self.to_runner = self.from_runner = -1


class StudentProxy:
    """Stands for the student's function in the worker: each call runs it in the runner."""

    def __init__(self, runner: Runner, exercise: dict):
        self.runner, self.exercise = runner, exercise
        self.calls = 0
        self.__name__ = exercise["function"]

    def __call__(self, *args, **kwargs):
        self.calls += 1
        callbacks: list = []
        where = f"in call {self.calls} of {self.exercise['function']}() by the check"
        timeout = self.runner.job["timeout"]
        call_deadline = time.monotonic() + timeout
        payload = _pickle_for_runner((args, kwargs), callbacks)
        self.runner.send(("call", self.exercise["id"], payload), timeout, where)
        while True:
            message = self.runner.receive(max(0.0, call_deadline - time.monotonic()), where)
            kind = message["kind"]
            if kind == "callback":
                reply = self._call_back(callbacks, message)
                self.runner.send(reply, timeout, where)
                continue
            if kind == "raised":
                if message.get("not_implemented"):
                    raise NotImplementedError(message.get("message", ""))
                raise _student_exception(str(message.get("type")), str(message.get("message", "")))
            if kind == "result":
                if message.get("after") is not None:
                    _apply_inplace((args, kwargs), message["after"])
                return _decode(message.get("value"))
            self.runner.kill()
            raise RunnerGone(f"{where}: an unexpected answer ({kind!r})")

    @staticmethod
    def _call_back(callbacks: list, message: dict):
        try:
            function = callbacks[int(message["id"])]
            cb_args, cb_kwargs = _decode(message["args"])
            value = function(*cb_args, **cb_kwargs)
            return ("return", _pickle_for_runner(value, callbacks))
        except Exception as exc:  # reported to the student's code, which called the building block
            return ("raise", type(exc).__name__, str(exc))


def _failure_reason(message: str) -> str:
    first = message.strip().split("\n")[0]
    return re.sub(r"^❌ Exercise [\d.]+ \(\w+\) — ", "", first)


def worker(job: dict) -> list[dict]:
    """Grade one planned submission (the ``--worker`` process). Never runs student code itself."""
    import importlib

    import torch  # noqa: F401  (the worker's own copy, before any runner exists)

    from lessons.exercises import CheckReport, ExerciseFailure

    plan = job["plan"]
    started = time.monotonic()
    deadline = started + job["notebook_timeout"]
    results: dict[str, dict] = {}

    def record(ex: dict, verdict: str, reason: str, detail: str = "") -> None:
        points = ex["points"] if verdict == "passed" else 0.0
        if ex.get("check_edited") and verdict != "missing":
            reason += " (the check cell was edited; the grader ran its own check)"
        results[ex["id"]] = {
            "exercise": ex["label"],
            "verdict": verdict,
            "points": points,
            "reason": reason,
            "detail": detail,
            "max_points": ex["points"],
        }

    checks = {}
    for ex in plan["exercises"]:
        if ex["missing"] is None:
            checks[ex["id"]] = getattr(importlib.import_module(f"lessons.exercises.{ex['module']}"), ex["check"])

    todo = sorted((ex for ex in plan["exercises"] if ex["missing"] is None), key=lambda e: e["cell"])
    for ex in plan["exercises"]:
        if ex["missing"] is not None:
            record(ex, "missing", ex["missing"])

    runner: Runner | None = None
    position = 0  # index into plan["cells"] of the next cell the runner has to execute
    stop_reason = None
    for ex in todo:
        if stop_reason is not None:
            record(ex, "error", f"not graded: {stop_reason}")
            continue
        try:
            if runner is None:
                runner, position = Runner(job, deadline), 0
            cell_error = None
            while position < len(plan["cells"]) and plan["cells"][position]["index"] <= ex["cell"]:
                cell = plan["cells"][position]
                position += 1
                if not cell["run"]:
                    continue
                where = f"in cell {cell['index'] + 1}"
                runner.send(("cell", cell["index"], cell["source"]), job["timeout"], where)
                answer = runner.receive(job["timeout"], where)
                if cell["index"] == ex["cell"] and answer.get("error"):
                    cell_error = f"the exercise cell (cell {cell['index'] + 1}) raised {answer['error']}"
            if cell_error:
                record(ex, "error", cell_error[:300])
                continue
            runner.send(("capture", ex["id"], ex["function"]), job["timeout"], "after the exercise cell")
            found = runner.receive(job["timeout"], "after the exercise cell")
            if not found.get("defined"):
                record(ex, "error", f"the exercise cell does not define {ex['function']}()")
                continue
            if not found.get("callable"):
                record(ex, "error", f"{ex['function']} is a {found.get('type')}, not a function")
                continue
            proxy = StudentProxy(runner, ex)
            with contextlib.redirect_stdout(io.StringIO()):
                try:
                    report = checks[ex["id"]](proxy)
                except ExerciseFailure as failure:
                    record(ex, "failed", _failure_reason(str(failure))[:300], str(failure))
                    continue
                except Exception as exc:
                    record(ex, "error", f"the check stopped: {type(exc).__name__}: {exc}"[:300])
                    continue
            if isinstance(report, CheckReport) and report.status == "passed":
                record(ex, "passed", f"correct on {report.cases}/{report.cases} cases")
            elif isinstance(report, CheckReport) and report.status == "not attempted":
                record(ex, "not attempted", "the function still raises NotImplementedError")
            else:
                record(ex, "error", f"the check returned {report!r}"[:300])
        except RunnerGone as gone:
            record(ex, "error", gone.reason[:300])
            if runner is not None:
                runner.kill()
            runner = None
            if gone.fatal:
                stop_reason = gone.reason
    if runner is not None:
        with contextlib.suppress(RunnerGone):
            runner.send(("exit",), 5, "at the end")
        runner.kill()
    return [results[ex["id"]] for ex in plan["exercises"]]


def _worker_main() -> int:
    job = json.loads(sys.stdin.read())
    results = worker(job)
    sys.stdout.write(RESULT_MARK + json.dumps(results) + "\n")  # ASCII, whatever the locale
    sys.stdout.flush()
    return 0


# ============================================================================ the runner


def _runner_main(fd_in: int, fd_out: int, guard: str, library: str) -> int:
    """Execute a submission's cells on request and call its functions (the ``--serve`` process).

    Everything here runs next to the student's code and is trusted by nobody: the worker reads
    what it sends as data only.
    """
    import copy
    import importlib.util
    import pickle

    with contextlib.suppress(Exception):  # die with the worker (Linux)
        import ctypes

        ctypes.CDLL(None).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    sys.path.insert(0, library)
    spec = importlib.util.spec_from_file_location("offline_guard", guard)
    offline_guard = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(offline_guard)
    offline_guard.install()

    import torch
    from IPython.core.interactiveshell import InteractiveShell
    from traitlets.config import Config

    def send(message: dict) -> None:
        buffer = io.BytesIO()
        torch.save(message, buffer)
        _write_all(fd_out, buffer.getvalue(), time.monotonic() + 3600)

    def receive():
        return pickle.loads(_read_message(fd_in, None))

    def encode(value, depth: int = 0):
        if depth > 40:
            return {"__grader__": "opaque", "type": type(value).__name__, "repr": "(nested too deeply)"}
        if isinstance(value, torch.Tensor):
            try:
                plain = value.detach().as_subclass(torch.Tensor)
                if plain.layout == torch.strided and not plain.is_quantized:
                    return plain.cpu().clone()
            except Exception:
                pass
        elif isinstance(value, torch.Generator):
            return {"__grader__": "generator", "state": value.get_state()}
        elif value is None or type(value) in (bool, int, float, str):
            return value
        elif isinstance(value, float):
            return float(value)
        elif isinstance(value, (list, tuple)):
            items = [encode(v, depth + 1) for v in value]
            return items if isinstance(value, list) else tuple(items)
        elif isinstance(value, dict) and all(type(k) in (str, int, float, bool) for k in value):
            return {k: encode(v, depth + 1) for k, v in value.items()}
        try:
            text = repr(value)[:200]
        except Exception:
            text = f"<{type(value).__name__}>"
        return {"__grader__": "opaque", "type": type(value).__name__, "repr": text}

    def same(a, b) -> bool:
        try:
            if isinstance(a, torch.Tensor) or isinstance(b, torch.Tensor):
                return (
                    isinstance(a, torch.Tensor)
                    and isinstance(b, torch.Tensor)
                    and a.shape == b.shape
                    and a.dtype == b.dtype
                    and bool(
                        torch.equal(a.nan_to_num(0.0), b.nan_to_num(0.0))
                        if a.is_floating_point()
                        else torch.equal(a, b)
                    )
                )
            if isinstance(a, torch.Generator) and isinstance(b, torch.Generator):
                return torch.equal(a.get_state(), b.get_state())
            if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
                return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
            if isinstance(a, dict) and isinstance(b, dict):
                return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
            return bool(a == b)
        except Exception:
            return False

    class Callback:
        def __init__(self, number: int):
            self.number = number

        def __call__(self, *args, **kwargs):
            send({"kind": "callback", "id": self.number, "args": encode((list(args), kwargs))})
            reply = receive()
            if reply[0] == "return":
                return load_arguments(reply[1])
            raise RuntimeError(f"{reply[1]}: {reply[2]}")

    def load_arguments(payload: bytes):
        class Unpickler(pickle.Unpickler):
            def persistent_load(self, pid):
                return Callback(pid[1])

        return Unpickler(io.BytesIO(payload)).load()

    config = Config()
    config.HistoryManager.enabled = False
    shell = InteractiveShell.instance(config=config)
    functions: dict = {}
    send({"kind": "ready"})
    while True:
        try:
            request = receive()
        except (EOFError, OSError):
            return 0
        kind = request[0]
        if kind == "exit":
            return 0
        if kind == "cell":
            result = shell.run_cell(request[2], store_history=False)
            error = result.error_before_exec or result.error_in_exec
            text = f"{type(error).__name__}: {error}"[:500] if error is not None else None
            send({"kind": "cell", "error": text})
        elif kind == "capture":
            missing = object()
            value = shell.user_ns.get(request[2], missing)
            functions[request[1]] = value
            send(
                {
                    "kind": "captured",
                    "defined": value is not missing,
                    "callable": callable(value),
                    "type": type(value).__name__,
                }
            )
        elif kind == "call":
            try:
                args, kwargs = load_arguments(request[2])
                before = copy.deepcopy((args, kwargs))
                value = functions[request[1]](*args, **kwargs)
            except NotImplementedError as exc:
                send(
                    {"kind": "raised", "type": type(exc).__name__, "message": str(exc)[:2000], "not_implemented": True}
                )
            except BaseException as exc:  # the student's error, SystemExit and KeyboardInterrupt included
                try:
                    text = str(exc)[:2000]
                except BaseException:
                    text = "?"
                send({"kind": "raised", "type": type(exc).__name__, "message": text, "not_implemented": False})
            else:
                after = None if same(before, (args, kwargs)) else encode((list(args), kwargs))
                if after is not None:
                    after = (after[0], after[1])
                send({"kind": "result", "value": encode(value), "after": after})


# ============================================================================ command line


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--worker"]:
        return _worker_main()
    if argv[:1] == ["--serve"]:
        return _runner_main(int(argv[1]), int(argv[2]), argv[3], argv[4])
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("paths", nargs="+", help="returned notebooks, or folders holding them")
    parser.add_argument("--out", default="grades", help="folder for gradebook.csv and gradebook.json (default: grades)")
    parser.add_argument("--no-gradebook", action="store_true", help="print the summary only")
    parser.add_argument(
        "--timeout",
        type=float,
        default=DEFAULT_TIMEOUT,
        help=f"seconds per cell and per call of a student's function (default {DEFAULT_TIMEOUT:g})",
    )
    parser.add_argument(
        "--notebook-timeout",
        type=float,
        default=DEFAULT_NOTEBOOK_TIMEOUT,
        help=f"seconds per submission, everything included (default {DEFAULT_NOTEBOOK_TIMEOUT:g})",
    )
    parser.add_argument("--jobs", type=int, default=2, help="submissions graded at once (default 2)")
    parser.add_argument(
        "--sandbox",
        default="",
        help="a command that starts the process running "
        "students' code, e.g. 'bwrap ... --' or 'unshare --net --map-root-user' (see README)",
    )
    args = parser.parse_args(argv)
    settings = Settings(
        timeout=args.timeout,
        notebook_timeout=max(args.notebook_timeout, args.timeout),
        jobs=args.jobs,
        sandbox=shlex.split(args.sandbox),
    )
    start = time.perf_counter()
    submissions = collect(args.paths)
    print(
        f"grading {len(submissions)} notebook(s), {settings.jobs} at a time "
        f"(timeouts: {settings.timeout:g} s per cell, {settings.notebook_timeout:g} s per notebook)",
        flush=True,
    )

    def progress(rows: list[Row], took: float) -> None:
        entry = totals(rows)[0]
        print(
            f"  graded {entry['submission']}: {_number(entry['points'])}/{_number(entry['max_points'])} "
            f"in {took:.0f} s",
            flush=True,
        )

    rows, seconds = grade_batch(args.paths, settings, progress)
    print()
    for line in summary_lines(rows, seconds):
        print(line)
    elapsed = time.perf_counter() - start
    if not args.no_gradebook:
        out = Path(args.out)
        write_gradebook(
            rows,
            out,
            seconds,
            {
                "timeout": settings.timeout,
                "notebook_timeout": settings.notebook_timeout,
                "jobs": settings.jobs,
                "sandbox": args.sandbox,
                "seconds": round(elapsed, 1),
            },
        )
        print(f"gradebook: {out / 'gradebook.csv'} and {out / 'gradebook.json'}")
    print(f"done in {elapsed:.0f} s")
    return 0


def checksum(path: Path) -> str:
    """SHA-256 of a file (the tests use it to show that grading changes no submission)."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


if __name__ == "__main__":
    sys.exit(main())

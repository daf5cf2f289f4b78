"""Run-wide pytest hooks: a per-notebook timing table with budgets, and an offline notebook kernel.

Every notebook declares ``metadata.lessons.budget_seconds``. The time of a notebook is the sum of
its cells' setup, call and teardown times (kernel start included), measured by the worker that ran
it. The run prints a table and fails when a notebook takes more than 1.5 x its budget.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections import defaultdict
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent
OVERRUN = 1.5

_times: dict[str, float] = defaultdict(float)
_failed: set[str] = set()
_over: list[str] = []


def _is_worker(config) -> bool:
    return hasattr(config, "workerinput")


def pytest_configure(config):
    # Kernels started by nbval inherit this environment: an IPython profile whose startup file
    # blocks non-loopback connections, so a notebook that tries to download something fails.
    ipython_dir = Path(tempfile.mkdtemp(prefix="lessons-ipython-"))
    startup = ipython_dir / "profile_default" / "startup"
    startup.mkdir(parents=True)
    shutil.copy(ROOT / "tests" / "offline_guard.py", startup / "00-offline-guard.py")
    os.environ["IPYTHONDIR"] = str(ipython_dir)
    config._lessons_ipython_dir = ipython_dir


def pytest_unconfigure(config):
    shutil.rmtree(getattr(config, "_lessons_ipython_dir", ""), ignore_errors=True)


def pytest_runtest_logreport(report):
    path = report.nodeid.split("::", 1)[0]
    if path.endswith(".ipynb"):
        _times[path] += report.duration
        if report.failed:
            _failed.add(path)


def budget_of(path: Path) -> float | None:
    meta = json.loads(path.read_text(encoding="utf-8")).get("metadata", {})
    budget = meta.get("lessons", {}).get("budget_seconds")
    return float(budget) if isinstance(budget, (int, float)) else None


def pytest_sessionfinish(session, exitstatus):
    if _is_worker(session.config) or not _times:
        return
    for path, seconds in _times.items():
        budget = budget_of(ROOT / path)
        if budget is None or seconds > OVERRUN * budget:
            _over.append(path)
    if _over and session.exitstatus == 0:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    if _is_worker(config) or not _times:
        return
    tr = terminalreporter
    tr.section("notebook timings")
    tr.write_line(f"{'notebook':<48} {'seconds':>8} {'budget':>7} {'ratio':>6}  status")
    for path in sorted(_times):
        budget = budget_of(ROOT / path)
        seconds = _times[path]
        ratio = f"{seconds / budget:.2f}" if budget else "-"
        if path in _over:
            status = "OVER BUDGET" if budget else "NO BUDGET"
        else:
            status = "failed" if path in _failed else "ok"
        tr.write_line(f"{path:<48} {seconds:8.1f} {budget or 0:7.0f} {ratio:>6}  {status}")
    tr.write_line(f"total notebook time {sum(_times.values()):.1f} s (a notebook fails above {OVERRUN} x its budget)")
    for path in _over:
        tr.write_line(f"FAILED budget: {path} took {_times[path]:.1f} s", red=True)

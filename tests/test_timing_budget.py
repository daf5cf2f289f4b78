"""The run-wide timing table (../conftest.py) prints per-notebook times and fails an overrun."""

import shutil
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

ROOT = Path(__file__).resolve().parent.parent

pytest_plugins = ["pytester"]


def write_notebook(path: Path, budget: float | None, sleep: float) -> None:
    nb = new_notebook(cells=[new_code_cell(f"import time\ntime.sleep({sleep})")])
    if budget is not None:
        nb.metadata["lessons"] = {"budget_seconds": budget}
    nbformat.write(nb, str(path))


@pytest.mark.kernel
def test_table_is_printed_and_overrun_fails(pytester):
    shutil.copy(ROOT / "conftest.py", pytester.path / "conftest.py")
    (pytester.path / "tests").mkdir()
    shutil.copy(ROOT / "tests" / "offline_guard.py", pytester.path / "tests" / "offline_guard.py")
    write_notebook(pytester.path / "01_fast.ipynb", budget=600, sleep=0)
    write_notebook(pytester.path / "02_slow.ipynb", budget=0.2, sleep=0.5)
    write_notebook(pytester.path / "03_nobudget.ipynb", budget=None, sleep=0)
    result = pytester.runpytest_subprocess("--nbval-lax", "--nbval-current-env", "-p", "no:cacheprovider")
    out = result.stdout.str()
    assert "notebook timings" in out
    assert "01_fast.ipynb" in out and "ok" in out
    assert "OVER BUDGET" in out and "FAILED budget: 02_slow.ipynb" in out
    assert "NO BUDGET" in out
    result.assert_outcomes(passed=3)  # every cell ran fine ...
    assert result.ret == 1  # ... but the run fails on the budget

"""Packaging: environment.yml and pyproject.toml name the same packages; the Makefile and CI agree."""

import re
import sys
from pathlib import Path

import pytest

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    tomllib = pytest.importorskip("tomli")

ROOT = Path(__file__).resolve().parent.parent
CONDA_TO_PIP = {"pytorch": "torch"}  # conda-forge names that differ from PyPI's


def _name(requirement: str) -> str:
    return re.split(r"[<>=!~;\[ ]", requirement.strip(), maxsplit=1)[0].lower()


# Extras a conda environment leaves out on purpose: nbgrader's JupyterLab extensions would clutter a
# student's JupyterLab; instructors add it (pip install -e '.[nbgrader]', or `make nbgrader`).
NOT_IN_CONDA_ENV = {"nbgrader"}


def pyproject_packages(*, skip_extras: frozenset[str] = frozenset()) -> set[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    names = {_name(r) for r in project["dependencies"]}
    for extra, requirements in project["optional-dependencies"].items():
        if extra not in skip_extras:
            names |= {_name(r) for r in requirements}
    return names


def conda_packages() -> set[str]:
    names, in_deps = set(), False
    for line in (ROOT / "environment.yml").read_text().splitlines():
        stripped = line.split("#", 1)[0].rstrip()
        if stripped.startswith("dependencies:"):
            in_deps = True
            continue
        match = re.match(r"^  - ([A-Za-z0-9_.-]+)", stripped)
        if in_deps and match:
            names.add(CONDA_TO_PIP.get(_name(match.group(1)), _name(match.group(1))))
    return names - {"python", "pip"}


def test_environment_yml_names_the_same_packages_as_pyproject():
    assert conda_packages() == pyproject_packages(skip_extras=frozenset(NOT_IN_CONDA_ENV))


def test_environment_yml_installs_the_package_itself():
    assert re.search(r"^\s+- -e \.\s*$", (ROOT / "environment.yml").read_text(), flags=re.MULTILINE)


def test_library_has_no_upper_pins_and_constraints_pin_everything_it_needs():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    reqs = project["dependencies"] + [r for extra in project["optional-dependencies"].values() for r in extra]
    assert not [r for r in reqs if "<" in r or "==" in r]
    pinned = {
        _name(line) for line in (ROOT / "constraints.txt").read_text().splitlines() if line and not line.startswith("#")
    }
    assert pyproject_packages() <= pinned
    assert project["requires-python"] == ">=3.10"


def test_makefile_targets_and_ci_call_make_test():
    makefile = (ROOT / "Makefile").read_text()
    for target in ("lab:", "test:", "student:", "bench:"):
        assert re.search(rf"^{target}", makefile, flags=re.MULTILINE), target
    assert "constraints.txt" in makefile
    assert "make test" in (ROOT / ".ci" / "run").read_text()


def test_readme_gives_the_two_commands():
    readme = (ROOT / "README.md").read_text()
    assert "make lab" in readme and "make test" in readme


def test_every_library_module_stays_under_700_lines():
    """One concept per module: a module that grows past 700 lines (docstrings included) gets split."""
    sizes = {str(p.relative_to(ROOT)): len(p.read_text().splitlines()) for p in (ROOT / "lessons").rglob("*.py")}
    assert len(sizes) > 40
    assert {name: n for name, n in sizes.items() if n > 700} == {}

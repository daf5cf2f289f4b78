"""docs/glossary.md: every term points at a section that exists, and every notebook links the glossary."""

import re
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parent.parent
GLOSSARY = ROOT / "docs" / "glossary.md"
ROW = re.compile(
    r"^\| (?P<en>[^|]+?) \| (?P<ko>[^|]+?) \| (?P<definition>[^|]+?) \| `(?P<nb>\d\d_[a-z0-9_]+)` § (?P<section>.+?) \|$"
)


def rows():
    lines = [l for l in GLOSSARY.read_text(encoding="utf-8").splitlines() if l.startswith("| ") and "---" not in l]
    return lines[1:]  # the header row


def headings(name):
    nb = nbformat.read(ROOT / "solutions" / f"{name}.ipynb", as_version=4)
    return {
        line.lstrip("#").strip()
        for c in nb.cells
        if c.cell_type == "markdown"
        for line in c.source.splitlines()
        if line.startswith("#")
    }


def test_glossary_rows_are_well_formed_and_bilingual():
    parsed = [ROW.match(line) for line in rows()]
    assert len(parsed) >= 40
    assert all(parsed), [line for line, m in zip(rows(), parsed) if not m]
    assert all(re.search(r"[\uac00-\ud7a3]", m["ko"]) or m["ko"] == m["en"] or m["en"] in m["ko"] for m in parsed)


@pytest.mark.parametrize("line", rows(), ids=lambda l: l.split("|")[1].strip())
def test_every_term_points_at_an_existing_section(line):
    m = ROW.match(line)
    assert m, line
    assert (ROOT / "solutions" / f"{m['nb']}.ipynb").exists(), f"no notebook {m['nb']}"
    assert m["section"] in headings(m["nb"]), f"{m['nb']} has no section titled {m['section']!r}"


@pytest.mark.parametrize("path", sorted((ROOT / "solutions").glob("*.ipynb")), ids=lambda p: p.name)
def test_every_notebook_links_the_glossary(path):
    nb = nbformat.read(path, as_version=4)
    assert any("docs/glossary.md" in c.source for c in nb.cells if c.cell_type == "markdown")


def test_the_readme_links_the_glossary():
    assert "docs/glossary.md" in (ROOT / "README.md").read_text(encoding="utf-8")

"""The course site (tools/site.py, `make site`): built from tiny fake notebooks, then checked.

The verification that `make site` runs after building is tested here on hand-made pages (each
problem it must catch: a missing page, a figure without data, an answer of a master, a broken link
or anchor), and the build itself on a two-notebook fake course, which takes a few seconds.
"""

import base64
import importlib.util
import json
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

ROOT = Path(__file__).resolve().parent.parent
spec = importlib.util.spec_from_file_location("course_site", ROOT / "tools" / "site.py")
site = importlib.util.module_from_spec(spec)
spec.loader.exec_module(site)

PNG = base64.b64encode(
    bytes.fromhex(
        "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
        "1f15c4890000000d49444154789c6300010000050001a5f645400000000049454e44ae426082"
    )
).decode()
ANSWER = "return torch.where(x > 0, x, torch.zeros_like(x))"
MODEL_ANSWER = "Because a ReLU passes positive values unchanged."


# ----------------------------------------------------------------------------- fixtures


def master(title: str, *, plot: bool = True) -> nbformat.NotebookNode:
    cells = [
        new_markdown_cell(f"# {title}\n\nTerms: [`docs/glossary.md`](../docs/glossary.md)."),
        new_markdown_cell("## 1. A figure: one line"),  # a colon, as in many section titles
        new_code_cell("import matplotlib.pyplot as plt\nprint('hello from the kernel')"),
        new_code_cell("1 / 0  # meant to raise", metadata={"tags": ["raises-exception"]}),
    ]
    if plot:
        cells.append(
            new_code_cell(
                "fig, ax = plt.subplots(figsize=(2, 2))\nax.plot([0, 1], [1, 0])\nax.set_title('a line')\nplt.show()"
            )
        )
    cells += [
        new_markdown_cell("## 2. Exercise"),
        new_code_cell(
            f"def relu(x):\n    ### BEGIN SOLUTION\n    {ANSWER}\n    ### END SOLUTION", metadata={"tags": ["exercise"]}
        ),
        new_markdown_cell(
            f"**Discussion.** Why?\n\n### BEGIN SOLUTION\n{MODEL_ANSWER}\n### END SOLUTION",
            metadata={"tags": ["discussion"]},
        ),
    ]
    return new_notebook(
        cells=cells, metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}}
    )


def student_of(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    student = nbformat.from_dict(json.loads(json.dumps(nb)))
    for cell in student.cells:
        if "exercise" in cell.metadata.get("tags", []):
            cell.source = 'def relu(x):\n    raise NotImplementedError("Exercise 0.1: relu (see the hint above)")'
        if "discussion" in cell.metadata.get("tags", []):
            cell.source = "**Discussion.** Why?\n\nYOUR ANSWER HERE"
    return student


@pytest.fixture
def course(tmp_path):
    """A fake course: solutions/, notebooks/, a README with a course map, a glossary."""
    (tmp_path / "solutions").mkdir()
    (tmp_path / "notebooks").mkdir()
    for name, title in (("00_alpha", "00 · Alpha — the first"), ("01_beta", "01 · Beta — the second")):
        nb = master(title)
        nbformat.write(nb, tmp_path / "solutions" / f"{name}.ipynb")
        nbformat.write(student_of(nb), tmp_path / "notebooks" / f"{name}.ipynb")
    (tmp_path / "README.md").write_text(
        "# Fake Course\n\nAn introduction.\n\n## Quick start\n\nnot on the site\n\n## Course map\n\n"
        "Terms: [`docs/glossary.md`](docs/glossary.md).\n\n| # | notebook | idea |\n|---|---|---|\n"
        "| 00 | `00_alpha` | the first |\n| 01 | `01_beta` | the second |\n\n## Later\n\nnot on the site\n",
        encoding="utf-8",
    )
    (tmp_path / "glossary.md").write_text(
        "# Glossary\n\n| English | 한국어 | definition | taught in |\n|---|---|---|---|\n"
        "| figure | 그림 | a picture | `01_beta` § 1. A figure: one line |\n",
        encoding="utf-8",
    )
    return tmp_path


def build(course, out, **kwargs):
    return site.build(
        out,
        notebooks=course / "notebooks",
        readme=course / "README.md",
        glossary=course / "glossary.md",
        log=lambda line: None,
        **kwargs,
    )


def verify(course, out):
    return site.verify(out, notebooks=course / "notebooks", solutions=course / "solutions")


def hand_made_site(course, out):
    """Pages as the build writes them, without executing anything."""
    out.mkdir()
    pages = []
    for name in ("00_alpha", "01_beta"):
        (out / f"{name}.html").write_text(
            f'<html><body><nav class="course-nav"><a href="index.html">Course map</a></nav>'
            f'<h1 id="title">{name}</h1><a href="#title">¶</a><a href="glossary.html#figure">term</a>'
            f'<div class="jp-OutputArea-output"><img src="data:image/png;base64,{PNG}"></div>'
            f'<pre>def relu(x):\n    raise NotImplementedError("Exercise 0.1")</pre></body></html>',
            encoding="utf-8",
        )
        pages.append({"name": name, "title": name, "figures": 1, "seconds": 0.1})
    (out / "index.html").write_text('<a href="00_alpha.html">a</a> <a href="01_beta.html">b</a>', encoding="utf-8")
    (out / "glossary.html").write_text(
        '<h1 id="figure">figure</h1><a href="01_beta.html#title">b</a>', encoding="utf-8"
    )
    (out / site.MANIFEST).write_text(json.dumps({"complete": True, "pages": pages}), encoding="utf-8")


# ----------------------------------------------------------------------------- verification


def test_verify_accepts_a_correct_site(course, tmp_path):
    hand_made_site(course, tmp_path / "out")
    assert verify(course, tmp_path / "out") == []


def test_verify_reports_a_missing_page(course, tmp_path):
    out = tmp_path / "out"
    hand_made_site(course, out)
    (out / "01_beta.html").unlink()
    assert any("01_beta.html: missing" in p for p in verify(course, out))
    nbformat.write(master("02 · Gamma"), course / "notebooks" / "02_gamma.ipynb")  # a notebook without a page
    assert any("notebooks/02_gamma.ipynb has no page" in p for p in verify(course, out))


def test_verify_reports_a_missing_or_empty_figure(course, tmp_path):
    out = tmp_path / "out"
    hand_made_site(course, out)
    page = out / "00_alpha.html"
    page.write_text(page.read_text().replace(f"base64,{PNG}", "base64,"), encoding="utf-8")
    problems = verify(course, out)
    assert any("00_alpha.html: image" in p for p in problems), problems
    assert any("00_alpha.html: 0 figure(s)" in p for p in problems), problems
    page.write_text(
        page.read_text().replace('src="data:image/png;base64,"', 'src="figures/missing.png"'), encoding="utf-8"
    )
    assert any("figures/missing.png" in p for p in verify(course, out))
    (out / "figures").mkdir()
    (out / "figures" / "missing.png").write_bytes(base64.b64decode(PNG))  # a file next to the page is fine
    assert verify(course, out) == []


@pytest.mark.parametrize("leak", [ANSWER, MODEL_ANSWER], ids=["code answer", "model answer"])
def test_verify_reports_an_answer_of_the_master(course, tmp_path, leak):
    out = tmp_path / "out"
    hand_made_site(course, out)
    page = out / "01_beta.html"
    # as nbconvert writes it: highlighted code in spans, or markdown rendered to a paragraph
    rendered = leak.replace("torch.where", '<span class="n">torch</span><span class="o">.</span>where')
    page.write_text(page.read_text().replace("</body>", f"<p>{rendered}</p></body>"), encoding="utf-8")
    problems = verify(course, out)
    assert any("01_beta.html: contains an answer of solutions/01_beta.ipynb" in p for p in problems), problems


def test_an_answer_line_the_master_shows_as_a_hint_is_not_secret(course, tmp_path):
    out = tmp_path / "out"
    hand_made_site(course, out)
    nb = nbformat.read(course / "solutions" / "01_beta.ipynb", as_version=4)
    nb.cells.insert(1, new_markdown_cell(f"*Hint:* the whole answer is `{ANSWER}`."))
    nbformat.write(nb, course / "solutions" / "01_beta.ipynb")
    page = out / "01_beta.html"
    hint = f"<p>Hint: the whole answer is <code>{ANSWER}</code>.</p>"
    page.write_text(page.read_text().replace("</body>", hint + "</body>"), encoding="utf-8")
    assert verify(course, out) == []
    assert site.answers_of(course / "solutions" / "01_beta.ipynb") == [site.plain(MODEL_ANSWER)]


def test_verify_reports_broken_links_and_anchors(course, tmp_path):
    out = tmp_path / "out"
    hand_made_site(course, out)
    index = out / "index.html"
    index.write_text(
        index.read_text() + '<a href="02_gamma.html">c</a><a href="01_beta.html#nowhere">d</a>'
        '<a href="https://example.org/x.html">external: not checked</a>',
        encoding="utf-8",
    )
    problems = verify(course, out)
    assert any("broken link '02_gamma.html'" in p for p in problems), problems
    assert any("broken anchor '01_beta.html#nowhere'" in p for p in problems), problems
    assert len(problems) == 2, problems


def test_verify_without_a_build_says_how_to_make_one(tmp_path):
    assert "make site" in site.verify(tmp_path / "nothing")[0]


def test_links_between_repository_files_become_links_between_pages():
    text = (
        '<a href="../docs/glossary.md">g</a> <a href="01_beta.ipynb#x">b</a> <a href="../README.md">r</a> '
        '<a href="https://x.org/a.md">e</a> <code>01_beta</code> <code>09_unknown</code>'
    )
    out = site.rewrite_links(text, {"01_beta"})
    assert 'href="glossary.html"' in out and 'href="01_beta.html#x"' in out and 'href="index.html"' in out
    assert 'href="https://x.org/a.md"' in out
    assert '<a href="01_beta.html"><code>01_beta</code></a>' in out and "<code>09_unknown</code>" in out


def test_plain_ignores_markdown_and_spacing():
    assert site.plain("**Because** a `ReLU`  passes\n [values](x.md).") == "Because a ReLU passes values."


# ----------------------------------------------------------------------------- the build (kernels)


@pytest.mark.kernel
def test_build_renders_executed_notebooks_with_navigation_and_a_linked_glossary(course, tmp_path):
    out = tmp_path / "_site"
    manifest = build(course, out, jobs=2)
    assert [p["name"] for p in manifest["pages"]] == ["00_alpha", "01_beta"] and manifest["complete"]
    assert verify(course, out) == []

    alpha = (out / "00_alpha.html").read_text(encoding="utf-8")
    assert "hello from the kernel" in alpha  # executed: outputs are on the page
    assert "ZeroDivisionError" in alpha  # a cell tagged raises-exception may raise
    assert "NotImplementedError" in alpha  # the student version
    assert 'rel="next" href="01_beta.html"' in alpha and 'rel="prev"' not in alpha
    assert 'href="glossary.html"' in alpha and "../docs/glossary.md" not in alpha
    beta = (out / "01_beta.html").read_text(encoding="utf-8")
    assert 'rel="prev" href="00_alpha.html"' in beta and 'rel="next"' not in beta

    index = (out / "index.html").read_text(encoding="utf-8")
    assert "An introduction." in index and "not on the site" not in index
    assert 'href="00_alpha.html"' in index and 'href="01_beta.html"' in index
    glossary = (out / "glossary.html").read_text(encoding="utf-8")
    anchor = next(i for i, text in site.scan(beta).headings if text.startswith("1. A figure"))
    assert f'href="01_beta.html#{anchor}"' in glossary


@pytest.mark.kernel
def test_build_fails_on_a_cell_error(course, tmp_path):
    nb = nbformat.read(course / "notebooks" / "01_beta.ipynb", as_version=4)
    nb.cells.insert(3, new_code_cell("undefined_name + 1"))
    nbformat.write(nb, course / "notebooks" / "01_beta.ipynb")
    with pytest.raises(site.SiteError, match=r"01_beta failed:\nAn error occurred while executing[\s\S]*NameError"):
        build(course, tmp_path / "failed", only=["01"])
    assert not (tmp_path / "failed").exists()


@pytest.mark.kernel
def test_a_notebook_without_figures_fails_the_verification(course, tmp_path):
    nbformat.write(student_of(master("01 · Beta", plot=False)), course / "notebooks" / "01_beta.ipynb")
    out = tmp_path / "_site"
    assert build(course, out, only=["01"])["complete"] is False
    assert any("01_beta.html: 0 figure(s)" in p for p in verify(course, out))

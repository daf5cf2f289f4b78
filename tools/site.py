"""The course as a static website: every student notebook executed and rendered, offline.

    python tools/site.py build  [--out _site] [--jobs 2] [--only 00 03 ...]   # `make site` runs
    python tools/site.py verify [--out _site]                                 # ... both of these

``build`` executes each **student** notebook of ``notebooks/`` top to bottom in a fresh kernel (so
figures and measured results show, and the exercises stay unanswered), two notebooks at a time,
and renders it with nbconvert's JupyterLab template. It fails if any cell raises (cells tagged
``raises-exception`` excepted, as in the tests). Around the pages it writes:

* ``index.html``: the README's introduction and course map, each notebook name linking its page;
* ``glossary.html``: ``docs/glossary.md``, each ``NN_name § section`` linking that section's anchor;
* a navigation bar on every page (course map, glossary, previous and next notebook);
* ``site.json``: what was built (pages, titles, figure counts, seconds), for ``verify``.

``verify`` checks the result: every notebook has its page, every page holds its figures (``<img>``
tags whose data or file is there), no page contains an answer of the masters (the code between
``### BEGIN SOLUTION`` and ``### END SOLUTION``, the discussions' model answers), and no internal
link or anchor is broken.

Why nbconvert and a small index generator rather than a documentation builder: nbconvert and
nbclient are already part of the course's environment (JupyterLab needs them), they work offline,
and the pages look like the notebooks do in JupyterLab; a book builder would add a large
dependency tree for a landing page and two links per page.

Kernels run as they do under ``make lab``, with two differences: the widgets draw their static
preview (``LESSONS_WIDGETS=static``: a page has no kernel behind its sliders), and the kernel runs
under the same offline guard as the tests' kernels. Matplotlib keeps the kernel's inline backend:
with ``MPLBACKEND=Agg`` in a kernel's environment, ``plt.show()`` displays nothing and the pages
would have no figures, so ``MPLBACKEND`` is removed from the kernels' environment.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import html
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"
SOLUTIONS = ROOT / "solutions"
README = ROOT / "README.md"
GLOSSARY = ROOT / "docs" / "glossary.md"
OUT = ROOT / "_site"
OFFLINE_GUARD = ROOT / "tests" / "offline_guard.py"
MANIFEST = "site.json"
CELL_TIMEOUT = 300

NAME = re.compile(r"\d\d_[a-z0-9_]+")
GLOSSARY_REF = re.compile(r"`(?P<nb>\d\d_[a-z0-9_]+)` § (?P<section>[^|]+?) (?=\|\s*$)", flags=re.MULTILINE)

CSS = """
.course-nav { font: 14px/1.5 system-ui, sans-serif; display: flex; flex-wrap: wrap; gap: 0.4em 1.2em;
  padding: 0.6em 1.2em; background: #f3f5f8; border-bottom: 1px solid #d0d7de; }
.course-nav.bottom { border-top: 1px solid #d0d7de; border-bottom: none; margin-top: 2em; }
.course-nav a { color: #0550ae; text-decoration: none; }
.course-nav a:hover { text-decoration: underline; }
.course-nav .spacer { flex: 1; }
body.course-page { font: 15px/1.55 system-ui, sans-serif; margin: 0; color: #1f2328; }
.course-page main { max-width: 68em; margin: 0 auto; padding: 1em 1.5em 3em; }
.course-page table { border-collapse: collapse; margin: 1em 0; }
.course-page th, .course-page td { border: 1px solid #d0d7de; padding: 0.35em 0.6em; vertical-align: top;
  text-align: left; }
.course-page th { background: #f3f5f8; }
.course-page code { background: #f3f5f8; padding: 0.05em 0.3em; border-radius: 3px; font-size: 90%; }
.course-page pre code { display: block; padding: 0.6em; }
.course-note { color: #57606a; font-size: 90%; }
.jp-RenderedMarkdown a, .jp-RenderedMarkdown a code { color: #0550ae; }
.jp-RenderedMarkdown a:not(.anchor-link) { text-decoration: underline; }
"""


class SiteError(RuntimeError):
    """The build or the verification failed; the message says where."""


# ----------------------------------------------------------------------------- small helpers


def plain(text: str) -> str:
    """Text with markdown links reduced to their words, markup characters dropped, spaces collapsed.

    Applied to both sides of a comparison (a master's answer line and a page's text, a glossary
    section and a rendered heading), so the rendering of markdown does not hide a match.
    """
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", text)
    text = re.sub(r"[*_`$\\¶]", "", text)
    return " ".join(text.split())


def title_of(nb) -> str:
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            for line in cell.source.splitlines():
                if line.startswith("# "):
                    return plain(line[2:])
    return ""


def short_title(name: str, title: str) -> str:
    """``01 · RoIPool vs RoIAlign`` → ``01 RoIPool vs RoIAlign``; the name when there is no title."""
    parts = title.split(" · ", 1)
    return f"{name[:2]} {parts[1].split(' — ')[0]}" if len(parts) == 2 else name


def markdown_to_html(text: str) -> str:
    import mistune

    # Our own text (README, glossary): its section anchors contain ':', which mistune's default
    # renderer would mistake for a URL scheme and replace with '#harmful-link'.
    renderer = mistune.HTMLRenderer(escape=False, allow_harmful_protocols=True)
    return mistune.create_markdown(renderer=renderer, plugins=["table", "strikethrough"])(text)


def page(title: str, body: str, nav: str) -> str:
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{html.escape(title)}</title>\n"
        '<link rel="stylesheet" href="site.css">\n</head>\n'
        f'<body class="course-page">\n{nav}\n<main>\n{body}\n</main>\n'
        f"{nav.replace('course-nav', 'course-nav bottom', 1)}\n</body>\n</html>\n"
    )


def nav_bar(names: list[str], titles: dict[str, str], current: str | None) -> str:
    links = ['<a href="index.html">Course map</a>', '<a href="glossary.html">Glossary</a>']
    if current in names:
        i = names.index(current)
        links.append('<span class="spacer"></span>')
        if i > 0:
            prev = names[i - 1]
            links.append(f'<a rel="prev" href="{prev}.html">← {html.escape(short_title(prev, titles[prev]))}</a>')
        if i + 1 < len(names):
            nxt = names[i + 1]
            links.append(f'<a rel="next" href="{nxt}.html">{html.escape(short_title(nxt, titles[nxt]))} →</a>')
    return '<nav class="course-nav">' + "\n".join(links) + "</nav>"


def rewrite_links(text: str, names: set[str]) -> str:
    """Links between repository files become links between pages (``href="..."`` attributes)."""

    def fix(match: re.Match) -> str:
        target = match.group(2)
        path, _, fragment = target.partition("#")
        stem = Path(path).name
        new = None
        if path.endswith("docs/glossary.md"):
            new = "glossary.html"
        elif path.endswith("README.md"):
            new = "index.html"
        elif stem.endswith(".ipynb") and stem[:-6] in names:
            new = stem[:-6] + ".html"
        if new is None:
            return match.group(0)
        return f'{match.group(1)}="{new}{"#" + fragment if fragment else ""}"'

    text = re.sub(r'(href)="([^"#:][^":]*)"', fix, text)

    # a notebook named in the prose (`01_roi_pool_vs_roi_align`) links its page
    def link(match: re.Match) -> str:
        if match.group(1) or match.group(2) not in names:  # already a link, or no such page
            return match.group(0)
        return f'<a href="{match.group(2)}.html"><code>{match.group(2)}</code></a>'

    return re.sub(r"(<a\b[^>]*>\s*)?<code>(\d\d_[a-z0-9_]+)</code>", link, text)


class _Scan(HTMLParser):
    """Collects ids, links, images and visible text of a page."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.ids: set[str] = set()
        self.links: list[str] = []
        self.images: list[str] = []
        self.headings: list[tuple[str, str]] = []  # (id, text)
        self.text: list[str] = []
        self._heading: list | None = None
        self._skip = 0

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        for key in ("id", "name"):
            if a.get(key) and (key == "id" or tag == "a"):
                self.ids.add(a[key])
        if tag in ("a", "link") and a.get("href"):
            self.links.append(a["href"])
        if tag == "script" and a.get("src"):
            self.links.append(a["src"])
        if tag == "img":
            self.images.append(a.get("src") or "")
        if tag in ("script", "style"):
            self._skip += 1
        if re.fullmatch(r"h[1-6]", tag) and a.get("id"):
            self._heading = [a["id"], []]

    def handle_endtag(self, tag):
        if tag in ("script", "style") and self._skip:
            self._skip -= 1
        if re.fullmatch(r"h[1-6]", tag) and self._heading is not None:
            self.headings.append((self._heading[0], "".join(self._heading[1])))
            self._heading = None

    def handle_data(self, data):
        if self._skip:
            return
        self.text.append(data)
        if self._heading is not None:
            self._heading[1].append(data)


def scan(text: str) -> _Scan:
    parser = _Scan()
    parser.feed(text)
    parser.close()
    return parser


# ----------------------------------------------------------------------------- execution


def kernel_env(ipython_dir: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.pop("MPLBACKEND", None)  # the kernel's inline backend shows figures; Agg would hide them
    env.setdefault("LESSONS_WIDGETS", "static")
    env["IPYTHONDIR"] = str(ipython_dir)
    env.setdefault("PYTHONHASHSEED", "0")
    return env


def offline_ipython_dir() -> Path:
    """An IPython profile whose startup file refuses non-loopback connections (see the tests)."""
    ipython_dir = Path(tempfile.mkdtemp(prefix="lessons-site-ipython-"))
    startup = ipython_dir / "profile_default" / "startup"
    startup.mkdir(parents=True)
    if OFFLINE_GUARD.exists():
        shutil.copy(OFFLINE_GUARD, startup / "00-offline-guard.py")
    return ipython_dir


def render_in_subprocess(path: Path, env: dict[str, str], timeout: int) -> dict:
    """:func:`render_notebook` in a fresh Python process (with ``env``, which its kernel inherits)."""
    with tempfile.TemporaryDirectory(prefix="lessons-site-") as tmp:
        result = Path(tmp) / "result.json"
        command = [
            sys.executable,
            str(Path(__file__).resolve()),
            "render",
            str(path),
            "--timeout",
            str(timeout),
            "--result",
            str(result),
        ]
        proc = subprocess.run(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        if result.is_file():
            return json.loads(result.read_text(encoding="utf-8"))
        return {
            "name": path.stem,
            "error": f"the renderer exited with status {proc.returncode}:\n{proc.stdout[-4000:]}",
        }


def render_notebook(path: str, env: dict[str, str], timeout: int) -> dict:
    """Execute one notebook and render it. Errors come back as text."""
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError, CellTimeoutError
    from nbconvert import HTMLExporter

    source = Path(path)
    nb = nbformat.read(source, as_version=4)
    start = time.perf_counter()
    try:
        NotebookClient(
            nb,
            timeout=timeout,
            kernel_name="python3",
            resources={"metadata": {"path": str(source.parent)}},
        ).execute(env=env)
    except (CellExecutionError, CellTimeoutError) as exc:
        return {"name": source.stem, "error": re.sub(r"\x1b\[[0-9;]*m", "", str(exc))}
    except Exception as exc:  # a kernel that died, a missing kernel spec ...
        return {"name": source.stem, "error": f"{type(exc).__name__}: {exc}"}
    seconds = round(time.perf_counter() - start, 1)
    figures = sum(
        1
        for cell in nb.cells
        for out in cell.get("outputs", [])
        if any(key.startswith("image/") for key in out.get("data", {}))
    )
    title = title_of(nb)
    body, _ = HTMLExporter(template_name="lab").from_notebook_node(
        nb, resources={"metadata": {"name": title or source.stem}}
    )
    return {"name": source.stem, "title": title, "html": body, "figures": figures, "seconds": seconds}


# ----------------------------------------------------------------------------- build


def build(
    out: Path = OUT,
    *,
    notebooks: Path = NOTEBOOKS,
    readme: Path = README,
    glossary: Path = GLOSSARY,
    only: list[str] | None = None,
    jobs: int = 2,
    timeout: int = CELL_TIMEOUT,
    log=print,
) -> dict:
    """Build the site into ``out`` (replaced). Raises :class:`SiteError` if a notebook fails."""
    paths = sorted(notebooks.glob("*.ipynb"))
    if only:
        paths = [p for p in paths if any(p.name.startswith(prefix) for prefix in only)]
    if not paths:
        raise SiteError(f"no notebooks to build in {notebooks}" + (f" matching {only}" if only else ""))
    ipython_dir = offline_ipython_dir()
    env = kernel_env(ipython_dir)
    start = time.perf_counter()
    try:
        with ThreadPoolExecutor(max_workers=max(1, min(jobs, len(paths)))) as pool:
            futures = [pool.submit(render_in_subprocess, p, env, timeout) for p in paths]
            results = []
            for future in futures:
                result = future.result()
                results.append(result)
                if "error" in result:
                    log(f"  FAILED  {result['name']}")
                else:
                    log(f"  {result['seconds']:6.1f} s  {result['name']}  ({result['figures']} figures)")
    finally:
        shutil.rmtree(ipython_dir, ignore_errors=True)
    failed = [r for r in results if "error" in r]
    if failed:
        raise SiteError("\n\n".join(f"{r['name']} failed:\n{r['error']}" for r in failed))

    names = [r["name"] for r in results]
    titles = {r["name"]: r["title"] for r in results}
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    (out / "site.css").write_text(CSS.lstrip(), encoding="utf-8")
    anchors: dict[str, dict[str, str]] = {}
    for r in results:
        text = rewrite_links(r["html"], set(names))
        nav = nav_bar(names, titles, r["name"])
        text = text.replace("</head>", '<link rel="stylesheet" href="site.css">\n</head>', 1)
        text = re.sub(r"(<body[^>]*>)", lambda m: m.group(1) + "\n" + nav, text, count=1)
        text = text.replace("</body>", nav.replace("course-nav", "course-nav bottom", 1) + "\n</body>", 1)
        (out / f"{r['name']}.html").write_text(text, encoding="utf-8")
        anchors[r["name"]] = {plain(t): i for i, t in scan(text).headings}

    (out / "index.html").write_text(landing_page(readme, names, titles), encoding="utf-8")
    glossary_html, unresolved = glossary_page(glossary, names, titles, anchors)
    (out / "glossary.html").write_text(glossary_html, encoding="utf-8")
    for line in unresolved:
        log(f"  warning: glossary: no section {line} on its page; left without a link")
    manifest = {
        "complete": not only,
        "pages": [{k: r[k] for k in ("name", "title", "figures", "seconds")} for r in results],
        "seconds": round(time.perf_counter() - start, 1),
    }
    (out / MANIFEST).write_text(json.dumps(manifest, indent=1) + "\n", encoding="utf-8")
    return manifest


def section(text: str, heading: str) -> str:
    """The body of the markdown section ``## heading`` (up to the next ``## ``)."""
    match = re.search(rf"^## {re.escape(heading)}\s*$(.*?)(?=^## |\Z)", text, flags=re.MULTILINE | re.DOTALL)
    return match.group(1).strip() if match else ""


def landing_page(readme: Path, names: list[str], titles: dict[str, str]) -> str:
    text = readme.read_text(encoding="utf-8")
    title_match = re.search(r"^# (.+)$", text, flags=re.MULTILINE)
    title = title_match.group(1).strip() if title_match else "Course"
    intro = text[title_match.end() :] if title_match else text
    intro = re.split(r"^## ", intro, maxsplit=1, flags=re.MULTILINE)[0].strip()
    course_map = section(text, "Course map")

    def link(match: re.Match) -> str:
        name = match.group(1)
        return f"[`{name}`]({name}.html)" if name in names else match.group(0)

    course_map = re.sub(r"`(\d\d_[a-z0-9_]+)`", link, course_map)
    course_map = course_map.replace("[`docs/glossary.md`](docs/glossary.md)", "[the glossary](glossary.html)")
    course_map = course_map.replace("(docs/glossary.md)", "(glossary.html)")
    missing = [n for n in names if f"({n}.html)" not in course_map]  # pages the map does not list
    extra = "".join(f"\n* [{html.escape(titles[n] or n)}]({n}.html)" for n in missing)
    body = (
        f"<h1>{html.escape(title)}</h1>\n"
        + markdown_to_html(intro)
        + "<h2>Course map</h2>\n"
        + markdown_to_html(course_map + ("\n\nAlso built:\n" + extra if extra else ""))
        + '<p class="course-note">Each page is the student version of a notebook, run top to bottom: '
        "figures and measured results are shown, the exercises are left for you. To run the notebooks "
        "yourself, clone the course and run <code>make lab</code> (see the README).</p>\n"
    )
    return page(title, body, nav_bar(names, titles, None))


def glossary_page(
    glossary: Path, names: list[str], titles: dict[str, str], anchors: dict[str, dict[str, str]]
) -> tuple[str, list[str]]:
    text = glossary.read_text(encoding="utf-8")
    unresolved: list[str] = []

    def link(match: re.Match) -> str:
        name, heading = match.group("nb"), match.group("section")
        if name not in names:
            return match.group(0)
        anchor = anchors.get(name, {}).get(plain(heading))
        if anchor is None:
            unresolved.append(f"{name} § {heading}")
            return f"[`{name}`]({name}.html) § {heading} "
        return f"[`{name}` § {heading}]({name}.html#{anchor}) "

    text = GLOSSARY_REF.sub(link, text)
    text = re.sub(r"\(\.\./README\.md\)|\(README\.md\)", "(index.html)", text)
    title_match = re.search(r"^# (.+)$", text, flags=re.MULTILINE)
    title = title_match.group(1).strip() if title_match else "Glossary"
    return page(title, markdown_to_html(text), nav_bar(names, titles, None)), unresolved


# ----------------------------------------------------------------------------- verify


def _load_nbtools():
    import importlib.util

    spec = importlib.util.spec_from_file_location("nbtools", ROOT / "tools" / "nbtools.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def answers_of(master_path: Path) -> list[str]:
    """The master's answer lines (code and model answers), in the form :func:`plain` compares.

    A line the master also shows outside its solution regions (a hint that gives away one line on
    purpose, written as inline code) is not secret and is left out.
    """
    nbtools = _load_nbtools()
    master = nbtools.read(master_path)
    shown = []
    for cell in master.cells:
        lines = nbtools.source(cell).split("\n")
        for begin, end in reversed(nbtools.solution_regions(nbtools.source(cell))):
            del lines[begin : end + 1]
        shown.append("\n".join(lines))
    shown_text = plain("\n".join(shown))
    lines = {plain(line) for line in nbtools.solution_lines(master)}
    return sorted(line for line in lines if len(line) >= 12 and line not in shown_text)


def _image_ok(src: str, page_dir: Path) -> bool:
    if src.startswith("data:"):
        header, _, payload = src.partition(",")
        if not header.startswith("data:image/") or not payload:
            return False
        if ";base64" in header:
            try:
                return len(base64.b64decode(payload, validate=True)) > 0
            except (binascii.Error, ValueError):
                return False
        return True
    parts = urlsplit(src)
    if parts.scheme or parts.netloc:
        return False  # a page must not need the network for its figures
    target = (page_dir / unquote(parts.path)).resolve()
    return target.is_file() and target.stat().st_size > 0


def verify(out: Path = OUT, *, notebooks: Path = NOTEBOOKS, solutions: Path = SOLUTIONS) -> list[str]:
    """Problems with the built site (an empty list when there are none)."""
    problems: list[str] = []
    manifest_path = out / MANIFEST
    if not manifest_path.is_file():
        return [f"{out}: no {MANIFEST}; build the site first (make site)"]
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    pages = {p["name"]: p for p in manifest["pages"]}
    if manifest.get("complete"):
        for missing in sorted({p.stem for p in notebooks.glob("*.ipynb")} - set(pages)):
            problems.append(f"{missing}: notebooks/{missing}.ipynb has no page")
    for required in ("index.html", "glossary.html"):
        if not (out / required).is_file():
            problems.append(f"{required}: missing")

    scans = {p.relative_to(out).as_posix(): scan(p.read_text(encoding="utf-8")) for p in sorted(out.rglob("*.html"))}
    for name, info in pages.items():
        rel = f"{name}.html"
        if rel not in scans:
            problems.append(f"{rel}: missing")
            continue
        found = scans[rel]
        bad = [src[:60] for src in found.images if not _image_ok(src, out)]
        problems += [f"{rel}: image {src!r} has no data or no file" for src in bad]
        if len(found.images) - len(bad) < max(1, info["figures"]):
            problems.append(
                f"{rel}: {len(found.images) - len(bad)} figure(s) on the page, "
                f"{info['figures']} in the executed notebook (every notebook shows at least one)"
            )
        master = solutions / f"{name}.ipynb"
        if master.is_file():
            text = plain("".join(found.text))  # inline spans (highlighted code) join without spaces
            for line in answers_of(master):
                if line in text:
                    problems.append(f"{rel}: contains an answer of solutions/{name}.ipynb: {line[:70]!r}")
        if rel not in scans.get("index.html", _Scan()).links:
            problems.append(f"index.html: no link to {rel}")

    for rel, found in scans.items():
        here = (out / rel).parent
        for link in found.links:
            parts = urlsplit(link)
            if parts.scheme or parts.netloc or link.startswith("//"):
                continue  # external (the pages load MathJax from a CDN when online)
            if parts.path:
                target = (here / unquote(parts.path)).resolve()
                if out.resolve() not in target.parents or not target.is_file():
                    problems.append(f"{rel}: broken link {link!r}")
                    continue
                target_rel = target.relative_to(out.resolve()).as_posix()
            else:
                target_rel = rel
            if parts.fragment and target_rel in scans:
                ids = scans[target_rel].ids
                if parts.fragment not in ids and unquote(parts.fragment) not in {unquote(i) for i in ids}:
                    problems.append(f"{rel}: broken anchor {link!r}")
    return problems


# ----------------------------------------------------------------------------- command line


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    b = sub.add_parser("build", help="execute the student notebooks and write the site")
    b.add_argument("--out", type=Path, default=OUT)
    b.add_argument("--jobs", type=int, default=2, help="notebooks executed at once (default 2)")
    b.add_argument("--timeout", type=int, default=CELL_TIMEOUT, help="seconds per cell (default 300)")
    b.add_argument("--only", nargs="*", help="notebook name prefixes, e.g. 00 03")
    v = sub.add_parser("verify", help="check pages, figures, answers and links of a built site")
    v.add_argument("--out", type=Path, default=OUT)
    r = sub.add_parser("render", help="(used by build) execute and render one notebook into a JSON file")
    r.add_argument("notebook", type=Path)
    r.add_argument("--timeout", type=int, default=CELL_TIMEOUT)
    r.add_argument("--result", type=Path, required=True)
    args = parser.parse_args(argv)
    if args.command == "render":
        result = render_notebook(str(args.notebook), dict(os.environ), args.timeout)
        args.result.write_text(json.dumps(result), encoding="utf-8")
        return 0
    if args.command == "build":
        shown = args.out.resolve().relative_to(ROOT) if ROOT in args.out.resolve().parents else args.out
        print(f"building {shown}/ from {NOTEBOOKS.relative_to(ROOT)}/ ({args.jobs} notebooks at a time)")
        try:
            manifest = build(args.out, only=args.only, jobs=args.jobs, timeout=args.timeout)
        except SiteError as exc:
            print(f"site build failed:\n{exc}", file=sys.stderr)
            return 1
        print(
            f"built {len(manifest['pages'])} notebook page(s) in {manifest['seconds']:.0f} s: "
            f"open {shown / 'index.html'}"
        )
        return 0
    problems = verify(args.out)
    for line in problems:
        print(line)
    if problems:
        print(f"site check failed: {len(problems)} problem(s)", file=sys.stderr)
        return 1
    manifest = json.loads((args.out / MANIFEST).read_text(encoding="utf-8"))
    print(f"site ok: {len(manifest['pages'])} notebook page(s), figures, links and anchors checked, no answers")
    return 0


if __name__ == "__main__":
    sys.exit(main())

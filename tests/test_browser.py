"""A student's first session in a real browser: JupyterLab on notebook 00, then the built site.

Headless Chromium from the operating system's packages (nothing is downloaded), driven by
Playwright. The JupyterLab test starts the course's JupyterLab (this Python, the project's settings
overrides, a token, a free loopback port) on a fresh workspace made by ``tools/workspace.py``,
opens ``00_start_here.ipynb``, runs all cells through the menu and checks what a student sees: the
environment report, a figure that loaded, the exercise check's "not attempted", a live slider
that redraws its figure; then it types the correct answer into the exercise, re-runs it and its
check and sees ✅. The site test opens the landing page and a notebook page of the built site
(``make site``; without one it builds notebook 00 alone in a temporary folder) and checks that
every image loads and the links between pages work.

Not part of ``make test`` (the ``browser`` marker is deselected there)::

    apt-get install chromium        # Debian/Ubuntu; or set LESSONS_CHROMIUM=/path/to/chrome
    make browser                    # = pytest -m browser tests/test_browser.py

Screenshots go to ``$LESSONS_ARTIFACTS`` or ``tests/artifacts/browser/`` (git-ignored).
Every wait is on a selector or on the kernel's state, each with its own time limit.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import nbformat
import pytest

pytestmark = [pytest.mark.browser, pytest.mark.kernel]

ROOT = Path(__file__).resolve().parent.parent
HOW_TO_ENABLE = (
    "install the system's Chromium (`apt-get install chromium` on Debian/Ubuntu, or set "
    "LESSONS_CHROMIUM=/path/to/chromium) and Playwright (`pip install -e '.[browser]'`, part of "
    "`.[dev]`), then run `make browser`"
)
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]
NOTEBOOK = "00_start_here.ipynb"
SECONDS = 1000  # Playwright counts milliseconds
SERVER_START = 90  # seconds for JupyterLab to answer
RUN_ALL = 180  # seconds for notebook 00 to run through (it takes about 10 on a laptop)


def _load(name):
    spec = importlib.util.spec_from_file_location(name, ROOT / "tools" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def chromium_path() -> str | None:
    for candidate in (os.environ.get("LESSONS_CHROMIUM"), "chromium", "chromium-browser", "google-chrome"):
        if candidate and (found := shutil.which(candidate)):
            return found
    return None


@pytest.fixture(scope="module")
def artifacts() -> Path:
    folder = Path(os.environ.get("LESSONS_ARTIFACTS") or ROOT / "tests" / "artifacts" / "browser")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    executable = chromium_path()
    if executable is None:
        pytest.skip(f"no Chromium found: {HOW_TO_ENABLE}")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip(f"Playwright is not installed: {HOW_TO_ENABLE}")
    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(tmp_path_factory.mktemp("chromium-profile")),  # a fresh profile every run
            executable_path=executable,
            headless=True,
            args=CHROMIUM_ARGS,
            viewport={"width": 1280, "height": 900},
        )
        # The pages may name CDN scripts (MathJax); nothing outside this machine is fetched.
        context.route(re.compile(r"^(https?|wss?)://(?!127\.0\.0\.1[:/])"), lambda route: route.abort())
        context.set_default_timeout(60 * SECONDS)
        try:
            yield context
        finally:
            context.close()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """JupyterLab as ``make lab`` starts it, on a temporary workspace; stopped however the test ends."""
    tmp = tmp_path_factory.mktemp("lab")
    work = tmp / "work"
    _load("workspace").sync(ROOT / "notebooks", work)  # never the user's work/
    # The project's settings overrides, as `make lab` installs them (here into a copy of the
    # venv's settings folder, so the test changes nothing outside its temporary folder).
    settings = tmp / "app-settings"
    installed = Path(sys.prefix) / "share" / "jupyter" / "lab" / "settings"
    if installed.is_dir():
        shutil.copytree(installed, settings)
    settings.mkdir(exist_ok=True)
    shutil.copy(ROOT / "tools" / "jupyterlab-overrides.json", settings / "overrides.json")

    port, token = free_port(), secrets.token_hex(16)
    env = dict(os.environ)
    for name in ("MPLBACKEND", "LESSONS_WIDGETS"):  # a student's kernel: inline figures, live widgets
        env.pop(name, None)
    env["JUPYTER_CONFIG_DIR"] = str(tmp / "jupyter-config")  # the user's own config stays out
    env["JUPYTER_RUNTIME_DIR"] = str(tmp / "jupyter-runtime")
    command = [
        sys.executable,
        "-m",
        "jupyter",
        "lab",
        "--no-browser",
        "--ip=127.0.0.1",
        f"--port={port}",
        f"--IdentityProvider.token={token}",
        f"--ServerApp.root_dir={work}",
        f"--LabApp.app_settings_dir={settings}",
        f"--LabApp.user_settings_dir={tmp / 'user-settings'}",
        f"--LabApp.workspaces_dir={tmp / 'workspaces'}",
    ]
    if hasattr(os, "getuid") and os.getuid() == 0:
        command.append("--allow-root")
    log = open(tmp / "jupyterlab.log", "w")
    server = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + SERVER_START
        while True:
            if server.poll() is not None:
                pytest.fail(f"JupyterLab exited ({server.returncode}):\n{(tmp / 'jupyterlab.log').read_text()[-3000:]}")
            try:
                with urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=2) as answer:
                    json.load(answer)
                break
            except OSError:
                pass
            if time.monotonic() > deadline:
                log_tail = (tmp / "jupyterlab.log").read_text()[-3000:]
                pytest.fail(f"JupyterLab did not answer in {SERVER_START} s:\n{log_tail}")
            try:
                server.wait(timeout=0.25)  # ask again soon; returns at once if the server died
            except subprocess.TimeoutExpired:
                pass
        yield {"url": base, "token": token, "work": work}
    finally:
        _stop(server, base, token)
        log.close()


def _stop(server: subprocess.Popen, base: str, token: str) -> None:
    """Shut down the kernels and the server; kill whatever is left of its process group."""
    try:
        request = urllib.request.Request(f"{base}/api/kernels?token={token}")
        with urllib.request.urlopen(request, timeout=5) as answer:
            kernels = json.load(answer)
        for kernel in kernels:
            urllib.request.urlopen(
                urllib.request.Request(f"{base}/api/kernels/{kernel['id']}?token={token}", method="DELETE"), timeout=10
            ).close()
    except OSError:
        pass
    for sig, wait in ((signal.SIGTERM, 15), (signal.SIGKILL, 5)):
        if server.poll() is not None:
            break
        try:
            os.killpg(server.pid, sig)
        except ProcessLookupError:
            break
        try:
            server.wait(timeout=wait)
        except subprocess.TimeoutExpired:
            continue


# ----------------------------------------------------------------------------- helpers


def cell_index(nb, predicate) -> int:
    for index, cell in enumerate(nb.cells):
        if predicate(cell):
            return index
    raise AssertionError("notebook 00 no longer has the cell this test looks for")


def tags(cell) -> list[str]:
    return cell.get("metadata", {}).get("tags", [])


def answered_exercise(student_cell: str, master_cell: str) -> str:
    """The student's exercise cell with its stub replaced by the master's answer (markers dropped)."""
    lines = master_cell.split("\n")
    begin = next(i for i, line in enumerate(lines) if line.strip() == "### BEGIN SOLUTION")
    end = next(i for i, line in enumerate(lines) if line.strip() == "### END SOLUTION")
    answer = lines[begin + 1 : end]
    out = []
    for line in student_cell.split("\n"):
        out += answer if "raise NotImplementedError" in line else [line]
    return "\n".join(out)


def wait_idle(page, timeout=60) -> None:
    page.wait_for_selector(".jp-Notebook-ExecutionIndicator[data-status='idle']", timeout=timeout * SECONDS)


def wait_image_loaded(image, timeout=30) -> None:
    image.scroll_into_view_if_needed()
    image.evaluate(
        """(img, ms) => new Promise((resolve, reject) => {
            const ok = () => img.complete && img.naturalWidth > 0;
            if (ok()) return resolve(true);
            const timer = setTimeout(() => reject(new Error('image did not load: ' + img.src.slice(0, 80))), ms);
            img.addEventListener('load', () => {
                clearTimeout(timer);
                ok() ? resolve(true) : reject(new Error('empty image'));
            });
            img.addEventListener('error', () => {
                clearTimeout(timer);
                reject(new Error('image failed: ' + img.src.slice(0, 80)));
            });
        })""",
        timeout * SECONDS,
    )


def text_of(locator) -> str:
    """A cell's text as the DOM holds it (cells out of view are not laid out: no innerText)."""
    locator.scroll_into_view_if_needed()
    return locator.text_content() or ""


def settle(page) -> None:
    """Wait for two animation frames: JupyterLab lays out cells lazily after a scroll."""
    page.evaluate("() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")


def screenshot(page, locator, path: Path) -> None:
    """The window as the student sees it, scrolled to ``locator`` (once its layout has settled)."""
    for _ in range(5):
        locator.scroll_into_view_if_needed()
        settle(page)
        box, height = locator.bounding_box(), page.viewport_size["height"]
        if box and box["y"] < height and box["y"] + box["height"] > 0:
            break
    page.screenshot(path=str(path))


# ----------------------------------------------------------------------------- JupyterLab


def test_a_student_runs_notebook_00_in_jupyterlab(browser, lab, artifacts):
    student = nbformat.read(lab["work"] / NOTEBOOK, as_version=4)
    master = nbformat.read(ROOT / "solutions" / NOTEBOOK, as_version=4)
    n_code = sum(cell.cell_type == "code" for cell in student.cells)
    env_cell = cell_index(student, lambda c: c.cell_type == "code" and "environment_report()" in c.source)
    figure_cell = cell_index(
        student, lambda c: c.cell_type == "code" and "plt.show()" in c.source and "explore(" not in c.source
    )
    explore_cell = cell_index(student, lambda c: c.cell_type == "code" and "explore(" in c.source)
    exercise_cell = cell_index(student, lambda c: "exercise" in tags(c))
    check_cell = exercise_cell + 1
    assert "check" in tags(student.cells[check_cell])
    typed = answered_exercise(
        student.cells[exercise_cell].source, master.cells[cell_index(master, lambda c: "exercise" in tags(c))].source
    )

    page = browser.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(f"{lab['url']}/lab/tree/{NOTEBOOK}?token={lab['token']}")
    page.wait_for_selector(".jp-Notebook .jp-Cell")
    page.wait_for_selector(".jp-Toolbar-kernelName:has-text('Python 3')")
    wait_idle(page)
    cells = page.locator(".jp-Notebook .jp-Cell")
    assert cells.count() == len(student.cells)

    # Run > Run All Cells, as a student would; then wait until every code cell has its number, or
    # until the kernel stopped early (an error: JupyterLab skips the cells after it).
    page.locator(".lm-MenuBar-itemLabel", has_text="Run").first.click()
    page.locator(".lm-Menu-itemLabel", has_text="Run All Cells").first.click()
    prompts_js = "[...document.querySelectorAll('.jp-Notebook .jp-CodeCell .jp-InputPrompt')].map(p => p.textContent)"
    page.wait_for_function(
        f"""(n) => {{
            const prompts = {prompts_js};
            const numbered = prompts.filter(t => /\\[\\d+\\]/.test(t)).length;
            const idle = document.querySelector(".jp-Notebook-ExecutionIndicator[data-status='idle']");
            return numbered === n || (idle && numbered > 0 && !prompts.some(t => t.includes('*')));
        }}""",
        arg=n_code,
        timeout=RUN_ALL * SECONDS,
    )
    wait_idle(page)
    prompts = page.evaluate(f"() => {prompts_js}")
    if sum(bool(re.search(r"\[\d+\]", p)) for p in prompts) != n_code:
        tracebacks = page.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']")
        pytest.fail(f"Run All stopped early; prompts {prompts}; errors:\n" + "\n".join(tracebacks.all_text_contents()))
    assert "notebook ran in" in text_of(cells.nth(len(student.cells) - 1))

    # 1. The environment report, with live widgets (JupyterLab is a front end).
    report = cells.nth(env_cell).locator(".jp-OutputArea-output")
    screenshot(page, cells.nth(env_cell), artifacts / "01_environment_report.png")
    text = text_of(report)
    for key in ("python:", "torch:", "torchvision:", "torch threads:"):
        assert key in text, text
    assert re.search(r"widgets: interactive", text), text

    # 2. A rendered figure: an <img> that loaded.
    figure = cells.nth(figure_cell).locator(".jp-OutputArea-output img")
    assert figure.count() == 1
    wait_image_loaded(figure)
    screenshot(page, cells.nth(figure_cell), artifacts / "02_figure.png")

    # 3. The unanswered exercise: the check says "not attempted" and the notebook went on.
    check_output = cells.nth(check_cell).locator(".jp-OutputArea")
    assert "not attempted" in text_of(check_output)
    screenshot(page, cells.nth(check_cell), artifacts / "03_check_not_attempted.png")

    # 4. A live widget: moving a slider redraws the figure.
    widget = cells.nth(explore_cell)
    widget.locator(".widget-slider").first.wait_for()
    image = widget.locator(".widget-output img")
    wait_image_loaded(image.first)
    before = image.first.get_attribute("src")
    readout = widget.locator(".widget-readout").first
    value_before = text_of(readout)
    screenshot(page, widget, artifacts / "04_widget_before.png")
    handle = widget.locator(".noUi-handle").first
    handle.focus()
    for _ in range(4):
        handle.press("ArrowRight")
    page.wait_for_function(
        """([cell, src]) => {
            const img = document.querySelectorAll('.jp-Notebook .jp-Cell')[cell].querySelector('.widget-output img');
            return img && img.src !== src && img.complete && img.naturalWidth > 0;
        }""",
        arg=[explore_cell, before],
        timeout=60 * SECONDS,
    )
    assert text_of(readout) != value_before
    wait_idle(page)
    screenshot(page, widget, artifacts / "05_widget_moved.png")

    # 5. Type the correct answer into the exercise cell, run it and its check: ✅.
    editor = cells.nth(exercise_cell).locator(".cm-content")
    editor.scroll_into_view_if_needed()
    editor.click()
    page.keyboard.press("Control+a")
    page.keyboard.insert_text(typed)
    assert editor.inner_text().strip() == typed.strip()
    page.keyboard.press("Shift+Enter")  # run the exercise, move to its check
    page.wait_for_function(
        "(cell) => document.querySelectorAll('.jp-Notebook .jp-Cell')[cell].classList.contains('jp-mod-active')",
        arg=check_cell,
    )
    wait_idle(page)
    page.keyboard.press("Shift+Enter")  # run the check
    page.wait_for_function(
        "(cell) => document.querySelectorAll('.jp-Notebook .jp-Cell')[cell]"
        ".querySelector('.jp-OutputArea')?.textContent.includes('✅')",
        arg=check_cell,
        timeout=60 * SECONDS,
    )
    wait_idle(page)
    verdict = text_of(check_output)
    assert "✅" in verdict and "correct on" in verdict and "not attempted" not in verdict, verdict
    screenshot(page, cells.nth(exercise_cell), artifacts / "06_exercise_passed.png")

    # No first-run distractions (the project's settings overrides), no script errors.
    assert "Jupyter news" not in (page.locator("body").text_content() or "")
    assert not errors, errors
    page.close()


# ----------------------------------------------------------------------------- the built site


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    """The site `make site` built, or notebook 00 alone built into a temporary folder."""
    built = Path(os.environ.get("LESSONS_SITE") or ROOT / "_site")
    if (built / "site.json").is_file():
        return built
    out = tmp_path_factory.mktemp("site") / "_site"
    site_tool = _load("site")
    site_tool.build(out, only=["00"], jobs=1, log=lambda line: None)
    assert site_tool.verify(out) == []
    return out


def test_the_built_site_shows_its_pages_and_figures(browser, site, artifacts):
    page = browser.new_page()
    failed: list[str] = []
    page.on("requestfailed", lambda request: failed.append(request.url) if request.url.startswith("file:") else None)
    page.on("response", lambda response: failed.append(response.url) if response.status >= 400 else None)

    def images_loaded(minimum: int) -> int:
        images = page.locator("img")
        for i in range(images.count()):
            wait_image_loaded(images.nth(i))
        assert images.count() >= minimum
        return images.count()

    page.goto((site / "index.html").as_uri())
    page.wait_for_selector("table a[href$='.html']")
    images_loaded(0)
    screenshot(page, page.locator("h1"), artifacts / "07_site_index.png")

    # the first notebook of the course map, then the glossary from its navigation bar
    first = page.locator("table a[href$='.html']").first
    name = first.get_attribute("href")
    first.click()
    page.wait_for_url(f"**/{name}")
    page.wait_for_selector(".jp-Notebook .jp-OutputArea-output")
    count = images_loaded(1)
    screenshot(page, page.locator("nav.course-nav").first, artifacts / "08_site_notebook_top.png")
    screenshot(page, page.locator(".jp-OutputArea-output img").first, artifacts / "09_site_notebook_figure.png")

    page.locator("nav.course-nav a", has_text="Glossary").first.click()
    page.wait_for_url("**/glossary.html")
    screenshot(page, page.locator("h1").first, artifacts / "10_site_glossary.png")
    links = page.locator("table a[href*='.html#']")
    if links.count():  # a site with notebooks the glossary points into: follow one section link
        href = links.first.get_attribute("href")
        links.first.click()
        page.wait_for_url(f"**/{href}")
        anchor = href.split("#", 1)[1]
        found = "(id) => !!(document.getElementById(id) || document.getElementById(decodeURIComponent(id)))"
        assert page.evaluate(found, anchor), href
    assert not failed, failed
    page.close()
    print(f"site {site}: {name} shows {count} figure(s)")

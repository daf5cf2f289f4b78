# Beyond Boxes — `make lab` to open the course, `make test` to run everything.
# Both create or refresh .venv first; nothing is reinstalled while pyproject.toml and
# constraints.txt are unchanged.

PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.lessons-installed
JOBS   ?= 2
CELL_TIMEOUT ?= 300
LAB_ARGS ?=
PYTEST_ARGS ?=

# Headless figures and static widgets. No thread pinning here: notebook kernels start as a
# student's do, and `import lessons` picks the course's thread count (LESSONS_NUM_THREADS, default 1);
# `make claims` re-runs every notebook claim at 1, 2 and 4 threads.
TEST_ENV := MPLBACKEND=Agg LESSONS_WIDGETS=static PYTHONHASHSEED=0

.PHONY: help setup lab check test lint unit claims student grade check-notebooks bench site browser nbgrader clean

help:
	@echo "make lab      set up .venv if needed, copy new notebooks to work/ and open JupyterLab there"
	@echo "make check    grade your own notebooks in work/ (passed / not attempted / failed / missing / error)"
	@echo "make test     set up .venv if needed, then lint (ruff), run the unit tests and doctests and execute every notebook"
	@echo "make claims   re-run every notebook claim at seeds 0-2 and 1/2/4 threads (NB=02 for one)"
	@echo "make student  regenerate notebooks/ (student versions) from solutions/ (masters); NB=02 for one"
	@echo "make grade NB=\"files or folders\" [OUT=grades TIMEOUT=120 NB_TIMEOUT=600 JOBS=2]   grade returned notebooks into OUT/gradebook.csv"
	@echo "make bench    run the speed comparisons in benchmarks/"
	@echo "make site     build the course as a website in _site/ (notebooks executed, answers left out) and check it"
	@echo "make browser  drive JupyterLab and the built site in headless Chromium (apt-get install chromium)"
	@echo "make nbgrader install nbgrader (the nbgrader extra) and run its preprocessors on every master"
	@echo "make clean    remove .venv and caches"

setup: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	@command -v $(PYTHON) >/dev/null 2>&1 || { \
	  echo "error: '$(PYTHON)' was not found. Install Python 3.10 or newer, or point make at one:"; \
	  echo "       make PYTHON=/path/to/python3.11 test"; exit 1; }
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 10))' || { \
	  echo "error: Python 3.10 or newer is needed; '$(PYTHON)' is $$($(PYTHON) -V 2>&1)."; \
	  echo "       Install a newer Python and run: make PYTHON=/path/to/python3.11 test"; exit 1; }
	@if [ -x $(PY) ] && $(PY) -c 'import sys; sys.exit(sys.version_info < (3, 10))' 2>/dev/null; then \
	  echo "updating $(VENV)"; \
	else \
	  echo "creating $(VENV) with $$($(PYTHON) -V 2>&1)"; rm -rf $(VENV); $(PYTHON) -m venv $(VENV); \
	fi
	$(PY) -m pip install --quiet --disable-pip-version-check -c constraints.txt -e '.[dev]'
	@touch $(STAMP)

# Jupyter refuses to run as root unless told; containers often run as root.
ROOT_FLAG := $(if $(filter 0,$(shell id -u 2>/dev/null)),--allow-root,)

# Your work lives in work/ (git-ignored): the course's notebooks are copied there once and never
# overwritten once you changed them. JupyterLab's settings overrides live in the venv, not in ~.
LAB_SETTINGS := $(VENV)/share/jupyter/lab/settings

lab: $(STAMP)
	@$(PY) tools/workspace.py sync
	@mkdir -p $(LAB_SETTINGS) && cp tools/jupyterlab-overrides.json $(LAB_SETTINGS)/overrides.json
	cd work && ../$(PY) -m jupyter lab $(ROOT_FLAG) $(LAB_ARGS)

# Grade your own workspace notebooks, as an instructor would; nothing in work/ is modified.
check: $(STAMP)
	@ls work/*.ipynb >/dev/null 2>&1 || { echo "no notebooks in work/ yet: run make lab first"; exit 1; }
	$(TEST_ENV) $(PY) tools/grader.py work/*.ipynb --no-gradebook --jobs $(JOBS) \
	  --timeout $(or $(TIMEOUT),120) --notebook-timeout $(or $(NB_TIMEOUT),600)

# Lint and format first (ruff, seconds), then the unit tests, the docstring examples of the library
# (--doctest-modules lessons) and every notebook, both versions.
test: $(STAMP) lint
	$(TEST_ENV) $(PY) -m pytest -n $(JOBS) --dist loadscope \
	  --nbval-lax --nbval-current-env --nbval-cell-timeout=$(CELL_TIMEOUT) \
	  --doctest-modules tests lessons solutions notebooks $(PYTEST_ARGS)

lint: $(STAMP)
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

unit: $(STAMP)
	$(TEST_ENV) $(PY) -m pytest -n $(JOBS) --dist loadscope tests $(PYTEST_ARGS)

# Every claim at seeds 0-2; THREADS picks the thread counts (default 1 2 4).
THREADS ?= 1 2 4
claims: $(STAMP)
	$(PY) tools/claims.py $(NB) --threads $(THREADS)

student: $(STAMP)
	$(PY) tools/nbtools.py student $(NB)

# Grade returned notebooks (files or folders): the checks run in the grader, not in the notebook.
# TIMEOUT: seconds per cell and per call of a student's function; NB_TIMEOUT: per notebook;
# JOBS: notebooks graded at once; SANDBOX: a command to run students' code under (README).
# Writes $(OUT)/gradebook.csv and gradebook.json (default grades/).
grade: $(STAMP)
	@test -n "$(NB)" || { echo 'usage: make grade NB="returned/ alice.ipynb" [OUT=grades TIMEOUT=120 JOBS=2]'; exit 1; }
	$(TEST_ENV) $(PY) tools/grader.py $(NB) --out $(or $(OUT),grades) --jobs $(JOBS) \
	  --timeout $(or $(TIMEOUT),120) --notebook-timeout $(or $(NB_TIMEOUT),600) \
	  $(if $(SANDBOX),--sandbox "$(SANDBOX)")

check-notebooks: $(STAMP)
	$(PY) tools/nbtools.py check

bench: $(STAMP)
	PY=$(PY) bash benchmarks/run_all.sh

# The course as a static website: every student notebook executed (JOBS at a time) and rendered,
# the README's course map as the landing page, the glossary; then every page is checked.
site: $(STAMP)
	$(TEST_ENV) $(PY) tools/site.py build --jobs $(JOBS) --timeout $(CELL_TIMEOUT)
	$(PY) tools/site.py verify

# A student's session in the system's headless Chromium; screenshots in tests/artifacts/browser/.
browser: $(STAMP)
	$(PY) -m pytest -m browser -p no:cacheprovider tests/test_browser.py $(PYTEST_ARGS)

# nbgrader is an extra, not part of dev: its JupyterLab extensions would clutter a student's lab.
nbgrader: $(STAMP)
	$(PY) -m pip install --quiet --disable-pip-version-check -c constraints.txt -e '.[nbgrader]'
	$(PY) -m pytest -p no:cacheprovider tests/test_nbgrader.py $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis build *.egg-info

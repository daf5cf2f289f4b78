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

# One intra-op thread per worker (workers share the cores), headless figures, static widgets.
TEST_ENV := MPLBACKEND=Agg OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 LESSONS_WIDGETS=static PYTHONHASHSEED=0

.PHONY: help setup lab test unit student grade check-notebooks bench clean

help:
	@echo "make lab      set up .venv if needed and open the course in JupyterLab"
	@echo "make test     set up .venv if needed, then run the unit tests and execute every notebook"
	@echo "make student  regenerate notebooks/ (student versions) from solutions/ (masters)"
	@echo "make grade NB=returned.ipynb   run returned notebooks and tabulate their checks"
	@echo "make bench    run the speed comparisons in benchmarks/"
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

lab: $(STAMP)
	cd notebooks && ../$(PY) -m jupyter lab $(ROOT_FLAG) $(LAB_ARGS)

test: $(STAMP)
	$(TEST_ENV) $(PY) -m pytest -n $(JOBS) --dist loadscope \
	  --nbval-lax --nbval-current-env --nbval-cell-timeout=$(CELL_TIMEOUT) \
	  tests solutions notebooks $(PYTEST_ARGS)

unit: $(STAMP)
	$(TEST_ENV) $(PY) -m pytest -n $(JOBS) --dist loadscope tests $(PYTEST_ARGS)

student: $(STAMP)
	$(PY) tools/nbtools.py student

grade: $(STAMP)
	@test -n "$(NB)" || { echo 'usage: make grade NB="returned1.ipynb returned2.ipynb"'; exit 1; }
	$(TEST_ENV) $(PY) tools/nbtools.py grade $(NB)

check-notebooks: $(STAMP)
	$(PY) tools/nbtools.py check

bench: $(STAMP)
	@for f in benchmarks/bench_*.py; do echo "== $$f"; OMP_NUM_THREADS=1 $(PY) $$f || exit 1; done

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis build *.egg-info

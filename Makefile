# Two commands do everything: `make report` and `make test`.
# The environment is built from requirements.lock (hashes pinned) with venv + uv from PyPI.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
UV_VERSION := 0.13.9
DATA   ?= data/processed/synthetic
SEED   ?= 2019
RUN    ?= reports/default
JOBS   ?=

.PHONY: env data report import-report compare test test-fast browser-check bench screenshot clean help lab
.DEFAULT_GOAL := help

help:
	@echo "make report   build the environment if needed, make the default dataset, run the notebooks, write $(RUN)/"
	@echo "make test     run the whole test suite"
	@echo "make bench    run the benchmarks (load, figures, memory; then the national batch) and write benchmarks/results.md"
	@echo "make screenshot  open the report in headless Chromium and save PNGs at 1280 and 400 pixels wide"
	@echo "make import-report FORMAT=ssd|ssda903|annex-a|provider SOURCE=... [LA=GSS] [MAPPING=yaml] [KEY=file] [NAME=mine]"
	@echo "                 import your extract, validate it and report on every authority"
	@echo "                 (make the key once with: .venv/bin/rhi keygen --out ~/rhi.key)"
	@echo "make compare     like make report, with one report per authority and the comparison across them"
	@echo "make lab         JupyterLab on notebooks/ with the project's kernel and the default dataset (charts inline)"

env: $(VENV)/.installed

$(VENV)/.installed: requirements.lock pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11 or newer is needed (found " + sys.version.split()[0] + ")")'
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)
# --compile-bytecode: as pip does by default, so that every process (a batch's workers and kernels, each report's
# imports) reads compiled libraries instead of compiling pandas, scipy and matplotlib again (seconds apiece, and
# every time where PYTHONDONTWRITEBYTECODE is set).
	$(BIN)/uv pip install --quiet --compile-bytecode --python $(BIN)/python --require-hashes -r requirements.lock
	$(BIN)/uv pip install --quiet --python $(BIN)/python --no-deps -e .
	@touch $@

$(DATA)/episodes.csv: | env
	$(BIN)/rhi synth --out $(DATA) --seed $(SEED)

data: $(DATA)/episodes.csv

# Messages from rhi about a flag that make set name the make variable instead (analysis.invocation).
MAKE_NAMES = RHI_MAKE_OPTIONS="--jobs=JOBS --la-code=LA --key-file=KEY --mapping=MAPPING"

report: env data
	$(MAKE_NAMES) $(BIN)/rhi batch $(DATA) --out $(RUN) --all-only $(if $(JOBS),--jobs $(JOBS),)
	@echo "Report written: $(RUN)/index.html"

# Your own extract to a report in one command (see README, "Your own data").
FORMAT ?=
SOURCE ?=
NAME   ?= mine
import-report: env
	@test -n "$(FORMAT)" -a -n "$(SOURCE)" || { echo "usage: make import-report FORMAT=ssd|ssda903|annex-a|provider SOURCE=path [LA=GSS code] [MAPPING=file] [KEY=file] [NAME=mine]; make the key once with: $(BIN)/rhi keygen --out ~/rhi.key"; exit 2; }
	$(MAKE_NAMES) $(BIN)/rhi import $(FORMAT) $(SOURCE) --out data/processed/$(NAME) $(if $(LA),--la-code $(LA),) $(if $(MAPPING),--mapping $(MAPPING),) $(if $(KEY),--key-file $(KEY),)
	$(MAKE_NAMES) $(BIN)/rhi batch data/processed/$(NAME) --out reports/$(NAME) $(if $(JOBS),--jobs $(JOBS),)
	@echo "Report written: reports/$(NAME)/index.html"

compare: env data
	$(MAKE_NAMES) $(BIN)/rhi batch $(DATA) --out reports/compare $(if $(JOBS),--jobs $(JOBS),)
	@echo "Report written: reports/compare/index.html"

# The tests start well over a hundred Python processes (batch workers, Jupyter kernels, subprocesses), each
# importing pandas, matplotlib, scipy and statsmodels. uv installs without bytecode, and where
# PYTHONDONTWRITEBYTECODE is set no process writes any, so each would compile those libraries again (about
# 3 s of CPU apiece). Compile them once into a cache kept beside the environment ($(VENV)/pycache; a second
# time takes a few seconds) and point every test process at it. The working tree is left untouched.
PYCACHE := $(abspath $(VENV))/pycache

TEST_BYTECODE = PYTHONPYCACHEPREFIX=$(PYCACHE) $(BIN)/python -m compileall -q -j 0 $(VENV)/lib src >/dev/null || true

# The browser tests (accessibility, offline rendering, PDFs) need Chromium, which .ci/run installs. Without it they
# are skipped, and make test says so in its first lines (the names are those analysis.render.browser looks for).
CHROMIUM_NAMES := chromium chromium-browser google-chrome google-chrome-stable
CHECK_CHROMIUM = for name in $(CHROMIUM_NAMES); do command -v $$name >/dev/null 2>&1 && exit 0; done; \
	echo "make test: Chromium is not installed, so the browser tests (accessibility, offline rendering, PDF) will be SKIPPED."; \
	echo "           To run every test, install it first: sudo apt-get install chromium  (Debian/Ubuntu; .ci/run does this in CI)"

browser-check:
	@$(CHECK_CHROMIUM)

test: browser-check env
	@$(TEST_BYTECODE)
	PYTHONPYCACHEPREFIX=$(PYCACHE) $(BIN)/python -m pytest -n 2 --dist loadfile

test-fast: browser-check env
	@$(TEST_BYTECODE)
	PYTHONPYCACHEPREFIX=$(PYCACHE) $(BIN)/python -m pytest -n 2 -m "not slow"

bench: env
	$(BIN)/python benchmarks/run.py
	$(BIN)/python benchmarks/bench_batch.py

# PNGs of the all-authorities report at 1280 and 400 CSS pixels wide (a desktop and a phone):
# $(RUN)/all/screenshot.png and $(RUN)/all/screenshot-400.png.
screenshot: report
	$(BIN)/python -m analysis.render.browser $(RUN)/all/report.html $(RUN)/all/screenshot.png 1280 400

# JupyterLab on the notebooks, with this environment's Python as the kernel (registered in the venv, so a
# JupyterLab installed elsewhere finds it too) and the default dataset; charts show inline.
lab: env data
	$(BIN)/python -m ipykernel install --sys-prefix --name python3 --display-name "Python 3 (rhi-analysis)" >/dev/null
	RHI_DATA=$(abspath $(DATA)) $(BIN)/jupyter lab --notebook-dir=notebooks

clean:
	rm -rf $(VENV) $(DATA) reports/*/ .pytest_cache

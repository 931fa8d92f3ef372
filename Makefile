# The two commands of the README:
#   make figures   set up .venv and the data, then regenerate every figure (snakemake -j4, full config)
#   make test      set up, run the quick DAG (the end-to-end smoke test), ruff, then pytest (unit
#                  tests, properties of the quick run, nbval of every figure notebook on the
#                  committed tables), then one quick-DAG model per platform a second time, whose
#                  tables must be identical
#   make redraw    redraw every published figure from the committed tables (no training)
#   make lab       JupyterLab at the repository root (the published executions read-only)
#   make book      the browsable book (docs/ and the executed notebooks) in build/book/html
VENV ?= .venv
PY := $(VENV)/bin/python
SNAKEMAKE := $(VENV)/bin/snakemake
JOBS ?= 4

.PHONY: setup data browser figures quick test lint bench redraw lab protect book clean-quick check-determinism check-slurm

setup: $(VENV)/.installed

$(VENV)/.installed: envs/requirements.txt pyproject.toml envs/jupyter_server_config.json
	python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r envs/requirements.txt
	$(PY) -m pip install --quiet --no-deps -e .
	mkdir -p $(VENV)/etc/jupyter
	cp envs/jupyter_server_config.json $(VENV)/etc/jupyter/jupyter_server_config.json
	$(MAKE) --no-print-directory protect
	touch $@

# What keeps the published record safe from editing by hand: the published executions without
# write permission (git stores no write bits, so a checkout or pull needs this again; `make lab`
# runs it), and in a git checkout the nbstripout filter that commits notebooks/ without outputs
# (.gitattributes names the folder; figures/notebooks/ keeps its outputs). The JupyterLab side is
# pnnsat.lab, installed by setup.
protect:
	chmod a-w figures/notebooks/*.ipynb
	@if git rev-parse --git-dir >/dev/null 2>&1; then \
	  git config filter.nbstripout.clean "$(abspath $(VENV))/bin/nbstripout --keep-id" && \
	  git config filter.nbstripout.smudge cat && \
	  git config diff.ipynb.textconv "$(abspath $(VENV))/bin/nbstripout --keep-id -t"; fi

# Fashion-MNIST comes from the Debian package (no internet needed); the data rule also looks in
# data/fashion-mnist/. Installing the package needs root; otherwise this prints what to do.
data:
	@if [ -d /usr/share/datasets/fashion-mnist ] || [ -d data/fashion-mnist ]; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  apt-get update -qq && apt-get install -y -qq dataset-fashion-mnist; \
	else echo "Fashion-MNIST missing: run 'sudo apt-get install -y dataset-fashion-mnist' or copy" \
	  "the four *-ubyte.gz files into data/fashion-mnist/"; exit 1; fi

# Chromium and its WebDriver, for the book's browser test (tests/test_book.py) and the JupyterLab
# check (tests/test_lab.py): the Debian packages; installed when run as root, otherwise this prints
# what to do.
browser:
	@if command -v chromium >/dev/null && command -v chromedriver >/dev/null; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver; \
	else echo "Chromium missing (the book's browser test needs it): run" \
	  "'sudo apt-get install -y chromium chromium-driver'"; exit 1; fi

figures: setup data
	$(SNAKEMAKE) -j$(JOBS)

quick: setup data
	$(SNAKEMAKE) -j2 --workflow-profile profiles/quick

lint: setup
	$(VENV)/bin/ruff check src tests benchmarks notebooks

# PNNSAT_QUICK_RUN: tests/test_quick_run.py must find the quick run (it fails instead of skipping)
test: quick lint protect browser
	PNNSAT_QUICK_RUN=results/quick $(PY) -m pytest -n auto --dist loadfile
	$(MAKE) check-determinism

# Quick-DAG models trained and evaluated a second time: their tables must equal results/quick's.
# One model per platform; `$(PY) tests/determinism.py --models all` for all 21.
check-determinism: quick
	$(PY) tests/determinism.py

# The quick DAG on a one-node SLURM cluster brought up on this machine (needs root; installs the
# Debian packages slurm-wlm, slurmdbd, munge, mariadb-server): through profiles/slurm its tables
# must equal results/quick's, and a scancelled training job must be reported failed and recovered
# by rerunning. The SLURM daemons are stopped afterwards, pass or fail.
check-slurm: quick
	tests/slurm/bringup.sh
	$(PY) tests/slurm/check.py; rc=$$?; tests/slurm/teardown.sh; exit $$rc

bench: setup data
	$(PY) benchmarks/run.py

# Redraw the published figures (figures/*.pdf, *.png, notebooks/) from the committed tables in
# figures/tables, without training; after changing a notebook or a plotting/report function on
# purpose (nbval compares with the published summaries). `$(PY) -m pnnsat redraw fig4_thermal_drift`
# redraws one figure.
redraw: setup
	$(PY) -m pnnsat redraw

# The browsable book: README, docs/ and the published executions as a static site, built offline
# without executing anything (pnnsat.book); open build/book/html/index.html.
book: setup
	$(PY) -m pnnsat book

# JupyterLab at the repository root, so notebooks/ (the sources), figures/notebooks/ (the published
# executions) and figures/tables/ are all in reach (as root, e.g. in a container: --allow-root).
lab: setup protect
	$(VENV)/bin/jupyter lab --notebook-dir=. $$([ "$$(id -u)" = 0 ] && echo --allow-root) $(LAB_ARGS)

clean-quick:
	rm -rf results/quick results/quick-rerun

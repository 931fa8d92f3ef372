# The two commands of the README:
#   make figures   set up .venv and the data, then regenerate every figure (snakemake -j4, full config)
#   make test      set up, run the quick DAG, then pytest (unit tests + nbval on the figure notebooks),
#                  then one quick-DAG model per platform again as on an older CPU, whose tables
#                  must be identical
VENV ?= .venv
PY := $(VENV)/bin/python
SNAKEMAKE := $(VENV)/bin/snakemake
JOBS ?= 4

.PHONY: setup data figures quick test lint bench nbval-refs clean-quick check-cpu-levels check-slurm

setup: $(VENV)/.installed

$(VENV)/.installed: envs/requirements.txt pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r envs/requirements.txt
	$(PY) -m pip install --quiet --no-deps -e .
	touch $@

# Fashion-MNIST comes from the Debian package (no internet needed); the data rule also looks in
# data/fashion-mnist/. Installing the package needs root; otherwise this prints what to do.
data:
	@if [ -d /usr/share/datasets/fashion-mnist ] || [ -d data/fashion-mnist ]; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  apt-get update -qq && apt-get install -y -qq dataset-fashion-mnist; \
	else echo "Fashion-MNIST missing: run 'sudo apt-get install -y dataset-fashion-mnist' or copy" \
	  "the four *-ubyte.gz files into data/fashion-mnist/"; exit 1; fi

figures: setup data
	$(SNAKEMAKE) -j$(JOBS)

quick: setup data
	$(SNAKEMAKE) -j2 --workflow-profile profiles/quick

lint: setup
	$(VENV)/bin/ruff check src tests benchmarks notebooks

test: quick lint
	$(PY) -m pytest -n auto --dist loadfile
	$(MAKE) check-cpu-levels

# Quick-DAG models trained and evaluated as on an older CPU (ISA-dispatch variables of ATen,
# oneDNN, MKL, glibc, numpy): their tables must equal results/quick's, so the nbval references hold
# on other CPUs too. One model per platform; `$(PY) tests/cpu_levels.py --models all` for all 21.
check-cpu-levels: quick
	$(PY) tests/cpu_levels.py

# The quick DAG on a one-node SLURM cluster brought up on this machine (needs root; installs the
# Debian packages slurm-wlm, slurmdbd, munge, mariadb-server): through profiles/slurm its tables
# must equal results/quick's, and a scancelled training job must be reported failed and recovered
# by rerunning. The SLURM daemons are stopped afterwards, pass or fail.
check-slurm: quick
	tests/slurm/bringup.sh
	$(PY) tests/slurm/check.py; rc=$$?; tests/slurm/teardown.sh; exit $$rc

bench: setup data
	$(PY) benchmarks/run.py

# Refresh the nbval reference notebooks from the quick run (after changing a notebook on purpose).
nbval-refs: quick
	$(PY) tests/update_nbval_refs.py

clean-quick:
	rm -rf results/quick results/quick-older-cpu

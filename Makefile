# Two entry points (README): `make run` and `make test`. Both set everything up first.
# The venv is built with python3.12, which pyenv selects from .python-version; constraints.txt pins the
# versions the project is tested with.
# Bytecode: this machine sets PYTHONDONTWRITEBYTECODE, so every process (test workers, CLI subprocesses, Dask
# workers, notebook kernels) would compile every module it imports from source again. The targets below let
# Python cache bytecode (in the venv and the project's __pycache__ folders, which git ignores), and pip installs
# without compiling every module of every dependency on one core (136 s -> 49 s): the ones imported are compiled
# once, on first use.
export PYTHONDONTWRITEBYTECODE :=
PYTHON ?= python3.12
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: setup run test check lint clean

setup: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 12), sys.version'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet --no-compile -c constraints.txt -e ".[viz,test,explore]"
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/multipolar run runs/baseline.toml

# Two pytest-xdist workers, whole files per worker (module fixtures, e.g. the dashboard's server, start once), in
# the order tests/conftest.py gives (longest modules first); the controller compiles the kernels once beforehand.
test: $(STAMP)
	bash .ci/browser-deps
	$(BIN)/ruff check .
	$(BIN)/pytest -n 2 --dist loadfile --no-loadscope-reorder

# Everyday tier: lint and every test not marked slow, browser or benchmark, on two xdist workers like make test (idle
# numba threads sleep since OMP_WAIT_POLICY=PASSIVE, so two workers now beat one; docs/architecture.md has the times).
check: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/pytest -n 2 --dist loadfile --no-loadscope-reorder -m "not slow and not browser and not benchmark"

lint: $(STAMP)
	$(BIN)/ruff check .

clean:
	rm -rf $(VENV) runs/out

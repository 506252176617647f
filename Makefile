# Two entry points (README): `make run` and `make test`. Both set everything up first.
# The venv is built with python3.12, which pyenv selects from .python-version; constraints.txt pins the
# versions the project is tested with. Byte-compiling: pip does it on one core (136 s for the install here); this
# machine sets PYTHONDONTWRITEBYTECODE, so modules left uncompiled would be compiled again by every process that
# imports them. pip installs with --no-compile (49 s) and compileall then compiles on every core (44 s), leaving out
# the dependencies' own test suites.
PYTHON ?= python3.12
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: setup run test check lint clean bytecode

setup: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 12), sys.version'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet --no-compile -c constraints.txt -e ".[viz,test,explore]"
	$(BIN)/python -m compileall -q -j 0 -x '/tests?/|/jedi/third_party/' $(VENV)/lib >/dev/null 2>&1 || true
	touch $(STAMP)

# The project's own modules byte-compiled too (0.6 s less for each of the many processes a test run starts); a stale
# file is simply recompiled in memory, so this is repeated before each test run.
bytecode: $(STAMP)
	$(BIN)/python -m compileall -q -j 0 economy agents runs >/dev/null

run: $(STAMP)
	$(BIN)/multipolar run runs/baseline.toml

# Two pytest-xdist workers, whole files per worker (module fixtures, e.g. the dashboard's server, start once), in
# the order tests/conftest.py gives (longest modules first); the controller compiles the kernels once beforehand.
test: $(STAMP) bytecode
	bash .ci/browser-deps
	$(BIN)/ruff check .
	$(BIN)/pytest -n 2 --dist loadfile --no-loadscope-reorder

# Everyday tier: lint and every test not marked slow, browser or benchmark, on two xdist workers like make test (idle
# numba threads sleep since OMP_WAIT_POLICY=PASSIVE, so two workers now beat one; docs/architecture.md has the times).
check: $(STAMP) bytecode
	$(BIN)/ruff check .
	$(BIN)/pytest -n 2 --dist loadfile --no-loadscope-reorder -m "not slow and not browser and not benchmark"

lint: $(STAMP)
	$(BIN)/ruff check .

clean:
	rm -rf $(VENV) runs/out

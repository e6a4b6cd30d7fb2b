# Quick start: `make run` executes every chapter; `make test` runs the whole test suite.
# Both create the virtual environment .venv first if it is missing.
PYTHON ?= python3
VENV := .venv
BIN := $(CURDIR)/$(VENV)/bin
export PATH := $(BIN):$(PATH)

.PHONY: run test setup exercises clean

$(VENV)/.installed: requirements.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet -r requirements.txt
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $@

setup: $(VENV)/.installed

run: setup
	$(BIN)/python -m d2lutil run --out build

# One torch thread per process: the course's models are small, and on a busy 2-core machine
# extra threads mostly wait on each other (5-10x the CPU time). Override: make test OMP_NUM_THREADS=2
test: setup
	OMP_NUM_THREADS=$(or $(OMP_NUM_THREADS),1) $(BIN)/python -m pytest

clean:
	rm -rf build

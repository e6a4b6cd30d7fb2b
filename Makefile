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

test: setup
	$(BIN)/python -m pytest

clean:
	rm -rf build

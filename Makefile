# Developer and CI entry points. `make test` builds .venv from pyproject.toml when needed.
# After CREATING a module run `make install`: the strict editable install only links the
# modules that existed when it ran.

PY ?= python3
VENV = .venv
BIN = $(VENV)/bin
PYTEST_ARGS ?=
PIP = $(BIN)/python -m pip --disable-pip-version-check

.DEFAULT_GOAL := test
.PHONY: install demo lint typecheck imports pytest test bench screenshots clean distclean check-python

define require_py311
	@command -v $(1) >/dev/null 2>&1 || { echo "error: '$(1)' not found; regledger needs Python >= 3.11 (make PY=python3.11 ...)" >&2; exit 1; }
	@$(1) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "error: $(1) is Python %d.%d; regledger needs Python >= 3.11 (make PY=python3.11 ...)" % sys.version_info[:2])'
endef

check-python:
	$(call require_py311,$(PY))

$(VENV)/.installed: pyproject.toml
	$(call require_py311,$(PY))
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(call require_py311,$(BIN)/python)
	$(PIP) install -q 'pip>=24' 'setuptools>=69' wheel
	$(PIP) install -q -e '.[dev]' --config-settings editable_mode=strict
	touch $@

install:
	rm -f $(VENV)/.installed
	$(MAKE) --no-print-directory $(VENV)/.installed

demo: $(VENV)/.installed
	$(BIN)/regledger demo

lint: $(VENV)/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(VENV)/.installed
	$(BIN)/mypy -p regledger.domain -p regledger.projections -p regledger.adapters

imports: $(VENV)/.installed
	$(BIN)/lint-imports

pytest: $(VENV)/.installed
	$(BIN)/pytest $(PYTEST_ARGS)

test: lint typecheck imports pytest

# The web console's screenshots in docs/screenshots/, taken by its browser tests (Debian's chromium).
screenshots: $(VENV)/.installed
	REGLEDGER_SCREENSHOTS=docs $(BIN)/pytest tests/web -q

bench: $(VENV)/.installed
	@set -e; for script in bench/*.py; do \
		[ -e "$$script" ] || { echo "no benchmarks in bench/"; break; }; \
		echo "== $$script"; $(BIN)/python "$$script"; \
	done

# Removing build/ also removes the strict editable link farm, hence the stamp goes too.
clean:
	rm -rf build dist *.egg-info .pytest_cache .mypy_cache .ruff_cache .import_linter_cache .hypothesis
	rm -f $(VENV)/.installed
	find . -path ./$(VENV) -prune -o -name __pycache__ -type d -prune -exec rm -rf {} +

distclean: clean
	rm -rf $(VENV)

# Needs only Python >= 3.11 and make: each target creates the virtual environment it uses.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
export PARLEY_DATABASE_URL ?= sqlite:///var/parley.db

.PHONY: run test openapi bench clean

$(BIN)/parley: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

run: $(BIN)/parley  ## serve the API, seeded, at http://127.0.0.1:8000
	$(BIN)/parley serve --host 127.0.0.1 --port 8000

test: $(BIN)/parley  ## the whole test suite, on SQLite and then on PostgreSQL, two processes each
	$(BIN)/python -m pytest --backend sqlite -n 2
	$(BIN)/python -m pytest --backend postgresql -n 2

openapi: $(BIN)/parley  ## regenerate the committed openapi.json
	$(BIN)/parley openapi

bench: $(BIN)/parley
	$(BIN)/python -m pip install --quiet -e '.[bench]'
	$(BIN)/python bench/run.py

clean:
	rm -rf $(VENV) var .pytest_cache .hypothesis

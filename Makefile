# Every target creates .venv and installs what it needs, so a fresh clone works.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: install demo test lint bench clean

install: $(STAMP)

# torch goes in first, pinned, so nothing later pulls a multi-GB CUDA build.
$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet torch==2.13.0
	$(BIN)/python -m pip install --quiet -e '.[dev,gnn,spark,postgres]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/ringscope demo --out demo-out

test: $(STAMP)
	$(BIN)/python -m pytest -q

lint: $(STAMP)
	$(BIN)/ruff check ringscope tests bench
	$(BIN)/ruff format --check ringscope tests bench

bench: $(STAMP)
	$(BIN)/python bench/bench_run.py

clean:
	rm -rf $(VENV) demo-out bench/out .pytest_cache

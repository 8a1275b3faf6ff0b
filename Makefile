# fpose_ros: `make demo` and `make test` set everything up on first use (see README).
VENV := .venv
PY := $(VENV)/bin/python
OUT ?= out

.PHONY: setup setup-bench demo test test-fast lint bench clean

setup:
	@bash scripts/setup_env.sh

# Open3D (about 1 GB) is only needed by the benchmark's peer comparison.
setup-bench: setup
	@bash scripts/setup_bench.sh

demo: setup
	$(PY) -m fpose_ros.demo --out $(OUT)/demo

# pytest exits 5 when it collects no test: a test run that tests nothing is a failure.
test: setup
	$(VENV)/bin/ruff check .
	@$(PY) -m pytest; rc=$$?; [ $$rc -ne 5 ] || echo "pytest collected no tests" >&2; exit $$rc

# Unit tests only: skips tests marked slow or needing DDS processes.
test-fast: setup
	$(PY) -m pytest -m "not slow and not ros"

lint: setup
	$(VENV)/bin/ruff check .

# After the table, the learned path (FoundationPose's refiner and scorer) is timed on one sequence:
# `make bench REFINER_WEIGHTS=dir SCORER_WEIGHTS=dir` with checkpoints (model_best.pth + config.yml);
# a network without weights runs with random ones (timings only). BENCH_LEARNED= skips the section.
REFINER_WEIGHTS ?=
SCORER_WEIGHTS ?=
BENCH_LEARNED ?= --refiner learned --scorer learned \
	$(if $(REFINER_WEIGHTS),--refiner-weights $(REFINER_WEIGHTS)) $(if $(SCORER_WEIGHTS),--scorer-weights $(SCORER_WEIGHTS)) \
	$(if $(and $(REFINER_WEIGHTS),$(SCORER_WEIGHTS)),,--random-weights)

bench: setup-bench
	$(PY) -m fpose_ros.bench --peer open3d --json $(OUT)/bench.json $(BENCH_LEARNED)

clean:
	rm -rf $(VENV) build $(OUT) .pytest_cache .ruff_cache

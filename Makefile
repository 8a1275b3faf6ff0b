# fpose_ros: `make demo` and `make test` set everything up on first use (see README).
# ROS 2 distro of the venv: kilted (.venv, the default) or jazzy (.venv-jazzy); both can coexist.
ROS_DISTRO ?= kilted
VENV := $(if $(filter kilted,$(ROS_DISTRO)),.venv,.venv-$(ROS_DISTRO))
PY := $(VENV)/bin/python
OUT ?= out

.PHONY: setup setup-bench demo test test-fast test-distro lint bench bench-live bench-live-multi soak train-smoke train-small clean

setup:
	@bash scripts/setup_env.sh $(ROS_DISTRO) $(VENV)

# Open3D (about 1 GB) is only needed by the benchmark's peer comparison.
setup-bench: setup
	@bash scripts/setup_bench.sh

demo: setup
	$(PY) -m fpose_ros.demo --out $(OUT)/demo

# pytest exits 5 when it collects no test: a test run that tests nothing is a failure.
test: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy
	@$(PY) -m pytest; rc=$$?; [ $$rc -ne 5 ] || echo "pytest collected no tests" >&2; exit $$rc

# Unit tests only: skips tests marked slow or needing DDS processes.
test-fast: setup
	$(PY) -m pytest -m "not slow and not ros"

# What CI runs on the second distro: the DDS end-to-end tests (vision_msgs boxes in and out included: that
# package is built per distro where none is installed) and the colcon workspace check (which
# also stops the node with SIGINT).
DISTRO_TESTS := test/ros/test_dds_smoke.py test/ros/test_node_e2e.py test/ros/test_node_detections_e2e.py test/workspace
test-distro: setup
	$(PY) -m pytest -m ros $(DISTRO_TESTS)

# ruff (with complexity and docstring rules) and mypy on fpose_ros/ (configured in pyproject.toml).
lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy

# Training (docs/training.md): rendering processes, one per core by default.
WORKERS ?= $(shell nproc)
SMOKE := $(OUT)/train-smoke
SMALL := $(OUT)/train-small

# About 7 minutes on 2 cores (6 min 50 s measured): a small data set, the refiner for 1000 steps (fewer do not yet help rotation on
# held-out objects), the scorer for 300, held-out evaluation.
train-smoke: setup
	$(PY) -m fpose_ros.training.generate --out $(SMOKE)/data --n 720 --small --workers $(WORKERS)
	$(PY) -m fpose_ros.training.train --data $(SMOKE)/data --out $(SMOKE)/weights --net refiner --small --steps 1000 --log-every 100
	$(PY) -m fpose_ros.training.train --data $(SMOKE)/data --out $(SMOKE)/weights --net scorer --small --steps 300 --log-every 100
	$(PY) -m fpose_ros.training.evaluate --weights $(SMOKE)/weights --small --n 16

# The --small CPU run (under 30 minutes on 2 cores, see README): weights a CPU user can use.
train-small: setup
	$(PY) -m fpose_ros.training.generate --out $(SMALL)/data --n 3000 --small --workers $(WORKERS) --fine-fraction 0.5
	$(PY) -m fpose_ros.training.train --data $(SMALL)/data --out $(SMALL)/weights --net refiner --small --steps 8000 --log-every 100
	$(PY) -m fpose_ros.training.train --data $(SMALL)/data --out $(SMALL)/weights --net scorer --small --steps 600 --log-every 100
	$(PY) -m fpose_ros.training.evaluate --weights $(SMALL)/weights --small --n 50

# After the table, the learned path (FoundationPose's refiner and scorer) is timed on one sequence:
# `make bench REFINER_WEIGHTS=dir SCORER_WEIGHTS=dir` with checkpoints (model_best.pth + config.yml).
# By default it uses the weights of `make train-small`, else of `make train-smoke`, when present;
# a network without weights runs with random ones (timings only). BENCH_LEARNED= skips the section.
TRAINED := $(firstword $(wildcard $(SMALL)/weights $(SMOKE)/weights))
REFINER_WEIGHTS ?= $(if $(wildcard $(TRAINED)/refiner/model_best.pth),$(TRAINED)/refiner)
SCORER_WEIGHTS ?= $(if $(wildcard $(TRAINED)/scorer/model_best.pth),$(TRAINED)/scorer)
BENCH_LEARNED ?= --refiner learned --scorer learned \
	$(if $(REFINER_WEIGHTS),--refiner-weights $(REFINER_WEIGHTS)) $(if $(SCORER_WEIGHTS),--scorer-weights $(SCORER_WEIGHTS)) \
	$(if $(and $(REFINER_WEIGHTS),$(SCORER_WEIGHTS)),,--random-weights)

bench: setup-bench
	$(PY) -m fpose_ros.bench --peer open3d --json $(OUT)/bench.json $(BENCH_LEARNED)

# The live benchmark (docs/benchmark.md): the sequences into a fpose_node process over DDS in real time,
# every mask timing. No Open3D needed. SEQUENCES=name... TIMINGS=name... for subsets.
LIVE_SUBSETS = $(if $(SEQUENCES),--sequences $(SEQUENCES)) $(if $(TIMINGS),--timings $(TIMINGS))

bench-live: setup
	$(PY) -m fpose_ros.bench --live --json $(OUT)/bench_live.json $(LIVE_SUBSETS)

# The multi-object live benchmark (docs/benchmark.md): three objects, one label image, one node; every object
# scored. TIMINGS=name... for other mask timings (default: with their frame).
bench-live-multi: setup
	$(PY) -m fpose_ros.bench --live --multi-object --json $(OUT)/bench_multi.json $(if $(TIMINGS),--timings $(TIMINGS))

# The 10-minute live soak: the exit-and-return sequence looped into one node (SOAK_S=seconds to shorten it).
SOAK_S ?= 600
soak: setup
	$(PY) -m fpose_ros.bench --live --soak $(SOAK_S) --timings with --json $(OUT)/soak.json $(LIVE_SUBSETS)

clean:
	rm -rf $(VENV) build $(OUT) .pytest_cache .ruff_cache
